"""``art-reps reproduce``: every Engstrom et al. and Aggarwal et al. result on the embedded default,
as numbers (``results.json``, the markdown tables in ``results.md``) and figures (PNG grids).

Engstrom measures compare the standard and the robust model, each scored by the two judges, which
are not under test: ``judge`` (a standard JudgeNet: another architecture and seed) and
``judge_robust`` (the same JudgeNet adversarially trained, so that, like a person, it ignores the
small non-robust features that transfer between standard networks trained on the same data).
"""
from __future__ import annotations

from pathlib import Path

import torch
from tqdm.auto import tqdm

from . import core, zoo
from .data import digits_on_textures, lfw_faces, natural_photos
from .demo import one_per_class
from .metrics import (feature_similarity, judge_accuracy, localize_model, manipulation_scores, path_scores, predict,
                      probabilities, selective_channels)
from .report import rounded, save_grid, write_json

JUDGES = ("judge", "judge_robust")
SWEEP = ("standard", "l2_eps0.02", "l2_eps0.05", "l2_eps0.1", "l2_eps0.25")
LAYER = zoo.REPRESENTATION_LAYER
SETTINGS = {
    "inversion": {"per_class": 5, "steps": 300, "step_size": 0.05},
    "feature_visualization": {"start": "noise", "steps": 200, "step_size": 0.1, "top": 10},
    "interpolation": {"pairs": 10, "n": 6, "start": "noise", "steps": 300, "step_size": 0.05},
    "manipulation": {"per_class": 4, "eps": 0.75, "steps": 100, "step_size": 0.05, "shift": 3},
    "localization": {"smooth": 1.0, "n_calibration": 1000},
}


def run_reproduce(out="art_reps_results", *, standard: str = zoo.STANDARD, robust: str = zoo.ROBUST,
                  sweep=SWEEP, device: str = "cpu", seed: int = 0, progress: bool = True) -> dict:
    """Measure every claim, write figures, ``results.json`` and ``results.md`` to ``out``; return
    the results (``results["engstrom"][measure][judge][model]``, ``results["aggarwal"][model]``)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    device = torch.device(device)
    models = {name: zoo.load_model(name, device=device) for name in (standard, robust)}
    judges = {name: zoo.load_model(name, device=device) for name in JUDGES}
    steps = tqdm(total=5 * len(models) + len(sweep), desc="art-reps reproduce", disable=not progress)
    engstrom: dict = {}
    for name, model in models.items():
        for measure, by_judge in _engstrom_one(model, name, judges, out, seed, steps).items():
            for judge, value in by_judge.items():
                engstrom.setdefault(measure, {}).setdefault(judge, {})[name] = value
    aggarwal = {}
    for name in sweep:
        aggarwal[name] = _aggarwal_one(name, device)
        steps.update(1)
    steps.close()
    engstrom["sensitivity_pointing_game"] = {"boxes": {
        name: (aggarwal[name] if name in aggarwal else _aggarwal_one(name, device))["pointing_game"] for name in models}}
    results = rounded({"models": {"standard": standard, "robust": robust, "judges": list(JUDGES)},
                        "settings": SETTINGS, "seed": seed, "engstrom": engstrom, "aggarwal": aggarwal})
    write_json(results, out / "results.json")
    (out / "results.md").write_text(results_table(results) + "\n")
    return results


def _engstrom_one(model, name: str, judges: dict, out: Path, seed: int, steps) -> dict:
    """Every Engstrom measure for one model: {measure: {judge or '-': value}}."""
    s = SETTINGS
    result: dict = {}
    images, labels = one_per_class(s["inversion"]["per_class"])
    inv = core.invert(model, images, layer=LAYER, steps=s["inversion"]["steps"], step_size=s["inversion"]["step_size"],
                      schedule=core.linear_decay(s["inversion"]["steps"]), seed=seed)
    save_grid(torch.cat([images[::5], inv.images[::5]]), out / f"inversion_{name}.png", nrow=10)
    result["inversion_recognised"] = {j: judge_accuracy(m, inv.images, labels) for j, m in judges.items()}
    result["inversion_judge_similarity"] = {j: feature_similarity(m, inv.images, images).mean().item()
                                            for j, m in judges.items()}
    result["inversion_representation_distance"] = {"-": inv.losses.mean().item()}
    steps.update(1)

    ood = torch.cat([natural_photos(), lfw_faces(n=6)])
    ood_inv = core.invert(model, ood, layer=LAYER, steps=s["inversion"]["steps"], step_size=s["inversion"]["step_size"],
                          schedule=core.linear_decay(s["inversion"]["steps"]), seed=seed)
    save_grid(torch.cat([ood, ood_inv.images]), out / f"inversion_ood_{name}.png", nrow=len(ood))
    result["ood_inversion_judge_similarity"] = {j: feature_similarity(m, ood_inv.images, ood).mean().item()
                                                for j, m in judges.items()}
    steps.update(1)

    fv = s["feature_visualization"]
    test = digits_on_textures("test")
    sel = selective_channels(model, test.images, test.labels, layer=LAYER, top=fv["top"])
    vis = core.visualize(model, layer=LAYER, feature=sel.channels.tolist(), start=fv["start"], steps=fv["steps"],
                         step_size=fv["step_size"], seed=seed)
    save_grid(torch.cat([test.images[sel.top_indices[0]], vis.images]), out / f"maximizing_inputs_{name}.png", nrow=10)
    result["maximizing_activation_vs_top_test"] = {"-": ((-vis.losses) / sel.max_activation).mean().item()}
    result["maximizing_shows_top_class"] = {j: judge_accuracy(m, vis.images, sel.top_class) for j, m in judges.items()}
    steps.update(1)

    ip = s["interpolation"]
    pairs, pair_labels = one_per_class(2)
    a, la = pairs[0::2], pair_labels[0::2]
    b, lb = pairs[1::2].roll(-1, 0), pair_labels[1::2].roll(-1, 0)  # the next class's second image
    path = core.interpolate(model, a[:ip["pairs"]], b[:ip["pairs"]], layer=LAYER, n=ip["n"], start=ip["start"],
                            steps=ip["steps"], step_size=ip["step_size"], schedule=core.linear_decay(ip["steps"]),
                            seed=seed)
    save_grid(path.images.flatten(0, 1), out / f"interpolation_{name}.png", nrow=ip["n"])
    for j, m in judges.items():
        scores = path_scores(predict(m, path.images.flatten(0, 1)).view(-1, ip["n"]), la[:ip["pairs"]],
                             lb[:ip["pairs"]])
        for key in ("single_switch", "endpoint_classes"):
            result.setdefault(f"interpolation_{key}", {})[j] = scores[key]
    steps.update(1)

    mp = s["manipulation"]
    x, y = one_per_class(mp["per_class"])
    added = (y + mp["shift"]) % 10
    res = core.manipulate(model, x, layer=LAYER, feature=sel.channels[added], cap=sel.max_activation[added],
                          eps=mp["eps"], steps=mp["steps"], step_size=mp["step_size"], seed=seed)
    save_grid(torch.cat([x, res.images]), out / f"manipulation_{name}.png", nrow=len(x))
    for j, m in judges.items():
        scores = manipulation_scores(probabilities(m, x), probabilities(m, res.images), y, added)
        for key, value in scores.items():
            result.setdefault(f"manipulation_{key}", {})[j] = value
    steps.update(1)
    return result


def _aggarwal_one(name: str, device) -> dict:
    card = zoo.model_card(name)
    model = zoo.load_model(name, device=device)
    test = digits_on_textures("test")
    pgd = {p["eps"]: p["accuracy"] for p in card["pgd_accuracy"]}
    return {"eps": card["training"]["eps"], "clean_accuracy": judge_accuracy(model, test.images, test.labels),
            "pgd_accuracy_0.25": pgd.get(0.25),
            **localize_model(model, **SETTINGS["localization"])}


MEASURES = {
    "inversion_recognised": "inversion: recognised as the target's class (chance 0.10)",
    "inversion_judge_similarity": "inversion: judge-feature cosine similarity to the target",
    "inversion_representation_distance": "inversion: relative representation distance reached (lower: closer)",
    "ood_inversion_judge_similarity": "out-of-distribution inversion (photos, faces): judge-feature similarity",
    "maximizing_activation_vs_top_test": "maximising input: activation reached / highest test activation",
    "maximizing_shows_top_class": "maximising input: shows the class of the channel's top-10 test images",
    "interpolation_single_switch": "interpolation from noise: path changes class once, a to b",
    "interpolation_endpoint_classes": "interpolation from noise: images in one of the two endpoint classes",
    "manipulation_success": "feature addition (L2 eps 0.75): feature visible and class kept",
    "manipulation_class_kept": "feature addition: class kept",
    "manipulation_feature_visible": "feature addition: added class probability rose >= 0.05",
    "manipulation_added_probability_rise": "feature addition: mean rise of the added class probability",
    "sensitivity_pointing_game": "sensitivity map: maximum inside the digit's box (1000 test images)",
}


def results_table(results: dict) -> str:
    """The two markdown tables (Engstrom measures; Aggarwal sweep) that the README shows."""
    std, rob = results["models"]["standard"], results["models"]["robust"]
    rows = [f"| measure | judge | `{std}` | `{rob}` |", "|---|---|---|---|"]
    for key, label in MEASURES.items():
        for judge, values in results["engstrom"].get(key, {}).items():
            rows.append(f"| {label} | {judge} | {values[std]:.3f} | {values[rob]:.3f} |")
    rows += ["", "| model | eps | clean acc. | PGD-20 L2 0.25 (card) | box accuracy (IoU >= 0.5) | mean IoU | "
             "pointing game | threshold |", "|---|---|---|---|---|---|---|---|"]
    for name, r in results["aggarwal"].items():
        rows.append(f"| `{name}` | {r['eps']} | {r['clean_accuracy']:.3f} | {r['pgd_accuracy_0.25']:.3f} | "
                    f"{r['box_accuracy']:.3f} | {r['mean_iou']:.3f} | {r['pointing_game']:.3f} | {r['threshold']} |")
    return "\n".join(rows)
