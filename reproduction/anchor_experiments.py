"""Engstrom et al.'s and Aggarwal et al.'s claims on the embedded default, measured with the
judges of :mod:`reproduction.judging`, every figure with its interval: numbers (``results.json``) and
figures (PNG grids). Through the robust models the representation is read with the fake ReLU
where Engstrom et al. used it (inversion, interpolation, visualisation, manipulation).
"""
from __future__ import annotations

from pathlib import Path

import torch

from art_reps import core, zoo
from art_reps.cli.report import save_grid
from art_reps.data import balanced, digits_on_textures, lfw_faces, natural_photos, targets_index
from art_reps.metrics import (
    alignment_hits,
    baseline_scores,
    channel_activations,
    feature_similarity,
    localize_model,
    manipulation_scores,
    mean_interval,
    path_scores,
    predict,
    probabilities,
    proportion,
    selective_channels,
)
from art_reps.metrics.recognition import answer, recognised

from .controls import other_class
from .judge_controls import earlier_judges as verdict_judges  # round 4's, until measured under round 5
from .judging import SEEDS, TARGETS_OFFSET, distances, over_targets
from .models import list_models, load_model, model_card

SWEEP = ("standard", "l2_eps0.02", "l2_eps0.05")  # Aggarwal's low-eps claim (docs/judging.md)
CANDIDATES = ("l2_eps0.5", "l2_eps1", "l2_eps2", "l2_eps3")  # registered in docs/judging.md
COLLAPSED = 0.5  # a candidate whose clean test accuracy (its card) is under this is reported, not chosen
LAYER = zoo.REPRESENTATION_LAYER
START = "noise"  # Engstrom's randn/20 + 0.5
# Each measure runs its method's recipe (core.METHODS["invert"].defaults(), ...: the methods' defaults), with
# only what is listed here changed: fewer steps in the quick run; the maximizing inputs (registered in
# docs/judging.md, "Experiments that can test the claims") from Engstrom's noise with the fake ReLU
# and 300 steps, for the channels of at least min_purity, several starts each, beside class logits.
SETTINGS = {
    "full": {"per_class": 10, "seeds": SEEDS, "inversion": {},
             "maximizing": {"per_class": 10, "min_purity": 0.8, "top": 10, "seeds": SEEDS, "class_seeds": 10,
                            "steps": 300, "fake_relu": True},
             "interpolation": {"per_class": 10, "n": 5},
             "manipulation": {"per_class": 10, "shift": 3},
             "ood": {"faces": 10}},
    "quick": {"per_class": 2, "seeds": (0, 1), "inversion": {"steps": 100},
              "maximizing": {"per_class": 1, "min_purity": 0.8, "top": 10, "seeds": (0, 1), "class_seeds": 2,
                             "steps": 40, "fake_relu": True},
              "interpolation": {"per_class": 1, "n": 3, "steps": 60},
              "manipulation": {"per_class": 1, "shift": 3, "steps": 40},
              "ood": {"faces": 2, "steps": 60}},
}


def run_reproduce(out="art_reps_results", *, quick: bool = False, standard: str = zoo.STANDARD,
                  robust: str = zoo.ROBUST, sweep=SWEEP, device: str = "cpu", seed: int = 0,
                  progress: bool = True) -> dict:
    """Measure every claim and write the figures to ``out``. Returns
    ``{"engstrom": {measure: {judge: {model: interval}}}, "aggarwal": {model: {...}}, ...}``, each
    interval ``{"score", "low", "high", "n"}``; ``quick`` runs the same code on fewer images."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    s = SETTINGS["quick" if quick else "full"]
    device = torch.device(device)
    judges = verdict_judges(device)
    models = {name: load_model(name, device=device) for name in (standard, robust)}
    bar = core.bar(total=5 * len(models) + len(sweep), desc="python -m reproduction reproduce",
               show=progress)
    maximizing = run_maximizing(models, judges, s, out, seed, bar)
    engstrom: dict = {}
    for name, model in models.items():
        for measure, by_judge in _engstrom(model, name, judges, s, out, seed, bar).items():
            for judge, value in by_judge.items():
                engstrom.setdefault(measure, {}).setdefault(judge, {})[name] = value
    aggarwal = {}
    for name in sweep:
        aggarwal[name] = _aggarwal(name, device)
        bar.update(1)
    bar.close()
    test, val = digits_on_textures("test"), digits_on_textures("val")
    return {"models": {"standard": standard, "robust": robust, "judges": list(judges)},
            "settings": s, "recipes": _recipes(s), "seed": seed, "engstrom": engstrom, "maximizing": maximizing,
            "aggarwal": aggarwal,
            "aggarwal_baselines": baseline_scores(test.boxes, val.boxes, intervals=True)}


def _recipes(s: dict) -> dict:
    """The settings each measure ran with: its method's recipe, changed by the study's settings."""
    used = {"inversion": "invert", "maximizing": "visualize", "interpolation": "interpolate",
            "manipulation": "manipulate", "ood": "invert"}
    methods = {k: core.METHODS[name] for k, name in used.items()}
    return {k: {**m.defaults(), **{o: v for o, v in s[k].items() if o in m.option_names}} for k, m in methods.items()}


def choose_robust(candidates=CANDIDATES, *, quick: bool = False, seed: int = 0) -> dict:
    """The registered choice of the robust model: on validation images (10 per class, or 2 with
    ``quick``), the candidate whose inversions from noise the deciding judges recognise most often
    on average (ties to the smaller eps). A candidate without weights, or collapsed (clean accuracy
    under ``COLLAPSED``), is listed in ``excluded`` with the reason and not measured.

    Returns ``{"scores": {name: {judge: interval}}, "mean": {name: float}, "chosen": name,
    "excluded": {name: reason}}``.
    """
    s = SETTINGS["quick" if quick else "full"]
    trained = set(list_models())
    excluded = {n: "not trained" for n in candidates if n not in trained}
    for name in candidates:
        clean = model_card(name)["clean_accuracy"] if name in trained else None
        if clean is not None and clean < COLLAPSED:
            excluded[name] = f"collapsed: clean accuracy {clean:.3f}"
    measured = [n for n in candidates if n not in excluded]
    if not measured:
        raise ValueError(f"no candidate of {list(candidates)} can be chosen: {excluded}")
    targets = balanced(s["per_class"], split="val")
    seeds = core.make_start(START, targets.images.shape, seed=seed)
    judges = verdict_judges()
    scores = {}
    for name in measured:
        res = core.invert(load_model(name), targets.images, layer=LAYER, start=seeds, seed=seed, **s["inversion"])
        hits = recognised(res.images, targets.labels, judges)
        scores[name] = {j: proportion(h) for j, h in hits.items()}
    mean = {name: sum(r["score"] for r in by_judge.values()) / len(by_judge) for name, by_judge in scores.items()}
    chosen = max(measured, key=lambda n: (round(mean[n], 6), -model_card(n)["training"]["eps"]))
    return {"scores": scores, "mean": mean, "chosen": chosen, "excluded": excluded}


def inversion_hits(model, targets, index, judges: dict, *, seeds=SEEDS, **options) -> tuple[dict, list]:
    """The inversions of ``targets`` (the test images ``index``) from Engstrom's noise, one run per
    seed: (criterion name -> (S, N) booleans, the runs' Results). Criteria: ``recognised`` under
    each judge (ten-way); ``two-way`` and ``nanda`` under each network judge's features (nearer the
    target than a digit of another class on the same background; than the seed)."""
    others = other_class(targets, index)
    dists = {j: d for j, d in distances(judges).items() if j in judges}
    hits, runs = {}, []
    for seed in seeds:
        start = core.make_start(START, targets.images.shape, seed=seed)
        res = core.invert(model, targets.images, layer=LAYER, start=start, seed=seed, progress=False, **options)
        runs.append(res)
        found = {f"{j}: recognised": h for j, h in recognised(res.images, targets.labels, judges).items()}
        for j, d in dists.items():
            found[f"{j}: two-way"] = alignment_hits(res.images, targets.images, others.images, d)
            found[f"{j}: nanda"] = alignment_hits(res.images, targets.images, start, d)
        for key, h in found.items():
            hits.setdefault(key, []).append(h)
    return {k: torch.stack(v) for k, v in hits.items()}, runs


def _engstrom(model, name: str, judges: dict, s: dict, out: Path, seed: int, bar) -> dict:
    """Every Engstrom measure for one model: {measure: {judge or '-': interval}}."""
    result: dict = {}
    test = digits_on_textures("test")
    index = targets_index(test, s["per_class"], TARGETS_OFFSET)
    targets = test[index]
    hits, runs = inversion_hits(model, targets, index.tolist(), judges, seeds=s["seeds"], **s["inversion"])
    save_grid(torch.cat([targets.images[::s["per_class"]], runs[0].images[::s["per_class"]]]),
              out / f"inversion_{name}.png", nrow=10)
    result["inversion_recognised"] = {k: over_targets(h) for k, h in hits.items()}
    result["inversion_distance"] = {"-": over_targets(torch.stack([r.losses for r in runs]))}
    bar.update(1)

    ood = torch.cat([natural_photos(), lfw_faces(n=s["ood"]["faces"])])
    ood_inv = core.invert(model, ood, layer=LAYER, start=START, seed=seed,
                          **{k: v for k, v in s["ood"].items() if k != "faces"})
    save_grid(torch.cat([ood, ood_inv.images]), out / f"inversion_ood_{name}.png", nrow=len(ood))
    result["ood_inversion_similarity"] = {j: mean_interval(feature_similarity(getattr(m, "base", m), ood_inv.images,
                                                                               ood))
                                          for j, m in judges.items() if isinstance(m, torch.nn.Module)}
    bar.update(1)

    val = digits_on_textures("val")
    ip = s["interpolation"]
    pairs = balanced(2 * ip["per_class"], offset=2 * TARGETS_OFFSET)
    a, b = pairs[0::2], pairs[1::2]
    b = b[torch.arange(len(b)).roll(-ip["per_class"])]  # each image paired with one of the next class
    for start in ("lerp", "noise"):
        path = core.interpolate(model, a.images, b.images, layer=LAYER, start=start, seed=seed,
                                **{k: v for k, v in ip.items() if k != "per_class"})
        save_grid(path.images[:10].flatten(0, 1), out / f"interpolation_{start}_{name}.png", nrow=ip["n"])
        for j, m in judges.items():
            labels = answer(m, path.images.flatten(0, 1)).view(-1, ip["n"])
            scores = path_scores(labels, a.labels, b.labels, per_item=True)
            result.setdefault(f"interpolation_{start}_single_switch", {})[j] = proportion(scores["single_switch"])
            result.setdefault(f"interpolation_{start}_endpoint_classes", {})[j] = mean_interval(
                scores["endpoint_classes"])
    bar.update(1)

    mp = s["manipulation"]
    x = balanced(mp["per_class"], offset=TARGETS_OFFSET)
    sel = selective_channels(model, val.images, val.labels, layer=LAYER)
    added = (x.labels + mp["shift"]) % 10
    res = core.manipulate(model, x.images, layer=LAYER, feature=sel.channels[added], cap=sel.max_activation[added],
                          seed=seed, **{k: v for k, v in mp.items() if k not in ("per_class", "shift")})
    save_grid(torch.cat([x.images[::mp["per_class"]], res.images[::mp["per_class"]]]), out / f"manipulation_{name}.png",
              nrow=10)
    for j, m in {k: v for k, v in judges.items() if isinstance(v, torch.nn.Module)}.items():
        scores = manipulation_scores(probabilities(m, x.images), probabilities(m, res.images), x.labels, added,
                                     per_item=True)
        for key, value in scores.items():
            result.setdefault(f"manipulation_{key}", {})[j] = (
                proportion(value) if value.dtype == torch.bool else mean_interval(value))
    bar.update(1)
    return result


def run_maximizing(models: dict, judges: dict, s: dict, out, seed: int = 0, bar=None) -> dict:
    """model name -> :func:`maximizing_inputs` with the settings ``s`` (``SETTINGS[...]``)."""
    Path(out).mkdir(parents=True, exist_ok=True)
    return {name: maximizing_inputs(model, name, judges, s["maximizing"], Path(out), seed, bar)
            for name, model in models.items()}


def maximizing_inputs(model, name: str, judges: dict, mx: dict, out: Path, seed: int = 0, bar=None) -> dict:
    """Engstrom's maximising inputs as registered: the channels of ``LAYER`` whose top validation
    images are at least ``min_purity`` of the class they are selected for, each maximised from
    ``seeds`` noise starts and judged as that class (share over channels, BCa of each channel's
    mean over its starts), clean and under the transfer control's blur; beside them each class
    logit maximised from ``class_seeds`` starts. Writes ``maximizing_inputs_<name>.png``."""
    from .judge_controls import blur

    val = digits_on_textures("val")
    sel = selective_channels(model, val.images, val.labels, layer=LAYER, per_class=mx["per_class"], top=mx["top"],
                             min_purity=mx["min_purity"])
    recipe = {"steps": mx["steps"], "fake_relu": mx["fake_relu"], "progress": False}
    result = {"channels": len(sel.channels), "of": channel_activations(model, val.images[:1], layer=LAYER).shape[1],
              "per_class": torch.bincount(sel.classes, minlength=10).tolist(),
              "purity": mean_interval(sel.purity) if len(sel.channels) else None}
    if len(sel.channels):
        runs = [core.visualize(model, layer=LAYER, feature=sel.channels.tolist(), seed=s, **recipe).images
                for s in mx["seeds"]]
        hits = {kind: [recognised(transform(images), sel.classes, judges) for images in runs]
                for kind, transform in (("clean", lambda x: x), ("blurred", blur))}
        result["channel"] = {j: {kind: over_targets(torch.stack([h[j] for h in by_seed]))
                                 for kind, by_seed in hits.items()} for j in judges}
        save_grid(torch.cat([val.images[sel.top_indices[0, :10]], runs[0][:10]]), out / f"maximizing_inputs_{name}.png",
                  nrow=10)
    classes = torch.arange(10).repeat_interleave(mx["class_seeds"])
    logits = core.visualize(model, layer="", feature=classes.tolist(), seed=seed, **recipe).images
    result["class_logits"] = {j: {kind: proportion(recognised(transform(logits), classes, judges)[j])
                                  for kind, transform in (("clean", lambda x: x), ("blurred", blur))} for j in judges}
    if bar is not None:
        bar.update(1)
    return result


def _aggarwal(name: str, device) -> dict:
    card = model_card(name)
    model = load_model(name, device=device)
    test = digits_on_textures("test")
    pgd = {p["eps"]: p["accuracy"] for p in card["pgd_accuracy"]}
    clean = proportion(predict(model, test.images).cpu() == test.labels)
    return {"eps": card["training"]["eps"], "clean_accuracy": clean, "pgd_accuracy_0.25": pgd.get(0.25),
            **localize_model(model, smooth=1.0)}
