"""Two models side by side, as a report: ``art-reps compare`` for any two of yours, ``art-reps
demo`` for the embedded standard and robust pair.

On the same images and from the same noise seeds: each image's inversion through each model at
its layer (Engstrom's start and recipe), the first channels of that layer visualised, sensitivity
maps of the class (the given label, else the model's own prediction), the relative representation
distance each inversion reached (mean, BCa interval over the images) and STIR both ways with CKA
(Nanda et al.; mean over seeds, t interval). Where the images are the embedded digits, the
demo's judge (:func:`art_reps.zoo.load_judge`) says which inversions show the target's class
(Wilson intervals) and the pointing game scores the maps against the digits' boxes. Writes PNG
grids, ``metrics.json`` and a self-contained ``index.html`` (images inlined).
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import torch

from .. import core, zoo
from ..metrics import interval_text, localization_scores, mean_interval, predict, proportion, seeds_interval, stir
from ..metrics.recognition import recognised
from .methods import load_model_spec
from .report import rounded, saliency_to_image, save_grid, write_index, write_json

FEATURES = (0, 1, 2, 3, 4, 5, 6, 7)
CONVERGED = 0.2  # relative representation distance below which an inversion has matched its target
START = "noise"  # Engstrom's randn/20 + 0.5
STIR_SEEDS = (0, 1, 2)


def run_compare(out, models: dict, images: torch.Tensor, labels: torch.Tensor | None = None, *, layers: dict,
                steps: int | None = None, seed: int = 0, judges: dict | None = None, boxes: torch.Tensor | None = None,
                title: str = "art-reps compare", about: dict | None = None,
                progress: bool = True) -> dict:
    """Compare two ``models`` (label -> (module, reading options such as mean/std)) on ``images``
    (N, 3, H, W) in [0, 1], read at ``layers`` (label -> layer name); ``labels`` (N,) may hold -1
    where unknown. ``judges`` (name -> judge) and ``boxes`` (N, 4) where the images are the
    embedded digits; ``about`` is added to the metrics' ``models``. Returns the metrics, also written
    to ``out/metrics.json``.

    Examples:
        >>> import tempfile, art_reps
        >>> x = art_reps.data.digits_on_textures("test")[:4]
        >>> pair = {"a": (art_reps.load_model("standard"), {}), "b": (art_reps.load_model("l2_eps1"), {})}
        >>> m = run_compare(tempfile.mkdtemp(), pair, x.images, x.labels, layers={"a": "avgpool", "b": "avgpool"},
        ...                 steps=3, progress=False)
        >>> sorted(m["stir"])
        ['a_given_b', 'b_given_a', 'cka']
    """
    if len(models) != 2 or set(layers) != set(models):
        raise ValueError(f"compare takes two models, each with a layer; got models {list(models)}, layers {layers}")
    if len(images) < 2:
        raise ValueError(f"compare needs at least 2 images (STIR and CKA compare representations across inputs), "
                         f"got {len(images)}")
    recipe_steps = core.METHODS["invert"].defaults()["steps"]
    steps = recipe_steps if steps is None else steps
    shown_layers = dict(layers)
    models, layers = _reading_inside(models, layers)
    (a, (model_a, _)), (b, (model_b, _)) = models.items()
    device = images.device
    seeds = core.make_start(START, images.shape, seed=seed, device=device)
    stages = core.bar(total=3 * len(models) + 1, desc=title, show=progress)
    inversions: dict = {}
    features: dict = {}
    saliency: dict = {}
    distance: dict = {}
    judged: dict = {}
    pointing: dict = {}
    for label, (model, _) in models.items():
        res = core.invert(model, images, layer=layers[label], start=seeds, steps=steps, seed=seed, progress=False)
        inversions[label], distance[label] = res.images, mean_interval(res.losses.double())
        for judge, hits in (recognised(res.images, labels, judges) if judges and labels is not None else {}).items():
            judged.setdefault(judge, {})[label] = proportion(hits)
        stages.update(1)
        vis = core.visualize(model, layer=layers[label], feature=list(FEATURES), steps=max(1, steps // 4),
                             step_size=0.1, fake_relu=True, seed=seed, progress=False)
        features[label] = vis.images
        stages.update(1)
        # the given labels, the model's prediction where an image has none (as the method subcommands do)
        classes = predict(model, images) if labels is None else labels.where(labels >= 0, predict(model, images))
        grad = core.sensitivity(model, images, classes)
        saliency[label] = saliency_to_image(grad)
        if boxes is not None:
            pointing[label] = localization_scores(grad, boxes, smooth=1.0, intervals=True)["pointing_game"]
        stages.update(1)
    runs = [stir(model_a, model_b, images, layer_1=layers[a], layer_2=layers[b], steps=steps, seed=s)
            for s in STIR_SEEDS]
    stages.update(1)
    stages.close()
    similarity = {f"{b}_given_{a}": seeds_interval([r["m2_given_m1"] for r in runs], bounds=(0, 1)),
                  f"{a}_given_{b}": seeds_interval([r["m1_given_m2"] for r in runs], bounds=(0, 1)),
                  "cka": seeds_interval([r["cka"] for r in runs], bounds=(0, 1))}
    warning = None
    far = [label for label, d in distance.items() if d["score"] > CONVERGED]
    if far:
        reached = ", ".join(f"{label} {distance[label]['score']:.2f}" for label in far)
        warning = (f"With --steps {steps} the inversions through {' and '.join(far)} have not matched their targets "
                   f"(relative representation distance {reached} > {CONVERGED}): too few steps for the effect to "
                   f"show; the recipe uses {recipe_steps}.")
    layers = shown_layers
    metrics = rounded({"models": {a: {"layer": layers[a]}, b: {"layer": layers[b]}, **(about or {})}, "steps": steps,
                       "images": len(images), "seed": seed, "recognised": judged, "relative_distance": distance,
                       "stir": similarity, "stir_seeds": len(STIR_SEEDS), "sensitivity_pointing_game": pointing,
                       "warning": warning})
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    per_row = max(1, min(6, len(images)))
    side_by_side = torch.stack([images, inversions[a], inversions[b]], 1).flatten(0, 1)
    grid = save_grid(side_by_side, out / "inversions.png", nrow=3 * per_row)
    pointed = (f"; the map's maximum falls in the digit's box for {interval_text(pointing[a])} ({a}) and "
               f"{interval_text(pointing[b])} ({b})" if pointing else "")
    rows = [(f"Feature visualisations (channels {list(FEATURES)} of each model's layer)",
             save_grid(features[a], out / f"features_{a}.png", nrow=8),
             save_grid(features[b], out / f"features_{b}.png", nrow=8)),
            (f"Sensitivity maps (|d logit_y / d x|){pointed}",
             save_grid(saliency[a], out / f"sensitivity_{a}.png", nrow=10),
             save_grid(saliency[b], out / f"sensitivity_{b}.png", nrow=10))]
    intro = (f"{'<p><b>' + warning + '</b></p>' if warning else ''}"
             f"<p>Each triple: an image, its inversion from noise through <code>{a}</code> (at "
             f"<code>{layers[a]}</code>), and through <code>{b}</code> (at <code>{layers[b]}</code>); {steps} steps, "
             f"{len(images)} images, the same seeds for both.</p><img src='{grid}'>"
             f"<p>Relative representation distance reached (mean, BCa interval over the {len(images)} images): "
             f"{a} {interval_text(distance[a])}, {b} {interval_text(distance[b])}. STIR({b} | {a}) "
             f"{interval_text(similarity[f'{b}_given_{a}'])}, STIR({a} | {b}) "
             f"{interval_text(similarity[f'{a}_given_{b}'])}, CKA {interval_text(similarity['cka'])} "
             f"(mean over {len(STIR_SEEDS)} seeds, t interval).</p>")
    if judged:
        lines = "".join(f"<li><b>{j}</b>: {b} {interval_text(v[b])}, {a} {interval_text(v[a])}</li>"
                        for j, v in judged.items())
        intro += (f"<p>Share of inversions each judge names as the target's class (ten-way, chance 0.1), with 95% "
                  f"Wilson intervals (n = {len(images)}):</p><ul>{lines}</ul>")
    write_json(metrics, out / "metrics.json")
    write_index(out, title, intro, rows, metrics, columns=(a, b))
    return metrics


class Normalised(torch.nn.Module):
    """``model`` reading ``(x - mean) / std``: a model with its normalisation inside, so that two
    models that expect different ones read the same images (its layers are ``model.<name>``)."""

    def __init__(self, model: torch.nn.Module, mean=None, std=None):
        super().__init__()
        self.model = model
        self.register_buffer("mean", torch.as_tensor(0.0 if mean is None else mean, dtype=torch.float32).view(-1, 1, 1))
        self.register_buffer("std", torch.as_tensor(1.0 if std is None else std, dtype=torch.float32).view(-1, 1, 1))

    def forward(self, x):
        return self.model((x - self.mean) / self.std)


def _reading_inside(models: dict, layers: dict) -> tuple[dict, dict]:
    """Models with reading options (mean/std) wrapped in :class:`Normalised`, their layers renamed."""
    wrapped: dict = {}
    named: dict = {}
    for label, (model, reading) in models.items():
        unknown = set(reading) - {"mean", "std"}
        if unknown:
            raise ValueError(f"compare reads a model with mean and std only, got {sorted(unknown)} for {label}")
        if reading:
            model = Normalised(model, reading.get("mean"), reading.get("std")).to(next(model.parameters()).device)
            named[label] = f"model.{layers[label]}" if layers[label] else ""
        else:
            named[label] = layers[label]
        wrapped[label] = (model, {})
    return wrapped, named


def compare_models(specs: list, *, out, weights: Sequence = (), layers: Sequence = (), data: str | None = None,
                   labels: str | None = None, size: int | None = None, limit: int | None = 30, steps: int | None = None,
                   device: str = "cpu", seed: int = 0, progress: bool = True, **loading) -> dict:
    """``art-reps compare``: two model specifications (``weights`` given in order to those of them
    that take one; ``layers`` one for both or one each, default ``avgpool``) on a ``data`` folder
    (default: three embedded test images a class, judged by the demo's judge);
    every argument is checked, and both models loaded, before any work or folder."""
    from ..core.checks import check_count, resolve_layer
    from ..data.folders import load_items, resized
    from ..data import balanced

    if len(specs) != 2:
        raise ValueError(f"compare takes --model twice (two models), got {len(specs)}")
    if len(layers) not in (0, 1, 2):
        raise ValueError(f"--layer takes one layer for both models or one each, got {len(layers)}")
    steps = check_count(steps, "steps") if steps is not None else None
    needs = [s for s in specs if s.partition(":")[0] in ("torchvision", "timm")]
    if len(weights) != len(needs):
        raise ValueError(f"--weights: give one file for each torchvision:/timm: model, in order ({len(needs)}), "
                         f"got {len(weights)}")
    given = iter(weights)
    models, names = {}, []
    for spec in specs:
        w = next(given) if spec in needs else None
        net, reading = load_model_spec(spec, device, weights=w, **loading)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(w).stem if w else Path(spec.partition(":")[2] or spec).stem)
        names.append(name if name not in names else f"{name}_2")
        models[names[-1]] = (net, reading)
    chosen = list(layers) * 2 if len(layers) == 1 else list(layers) or ["avgpool", "avgpool"]
    layer_of = dict(zip(names, chosen))
    for name, (net, _) in models.items():
        resolve_layer(net, layer_of[name])
    judges = boxes = None
    if data is None:
        targets = balanced(3)
        x, y, boxes = resized(targets.images, size), targets.labels, targets.boxes
        judges = {zoo.DEMO_JUDGE: zoo.load_judge(device=device)} if size is None else None
    else:
        items = load_items(data, size=size, limit=limit, labels=labels)
        x, y = items.images, items.labels
    return run_compare(out, models, x.to(device), y.to(device), layers=layer_of, steps=steps, seed=seed,
                       judges=judges, boxes=None if size else boxes, progress=progress,
                       title=f"art-reps compare: {names[0]} vs {names[1]}",
                       about={"specifications": dict(zip(names, specs))})
