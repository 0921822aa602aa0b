"""The main job: robust versus standard representations on the embedded default, as a report.

Each target sits beside its inversion through the standard model and through the robust one
(Engstrom's noise start, the fake ReLU, the reproduction's settings); the judges that passed their
controls (:mod:`art_reps.studies.judge_controls`) say which inversions show the target's class
(ten-way), with Wilson intervals. While no judge has passed them, the report says so and shows the
readings of the judges that share no data with the models, as information.
"""
from __future__ import annotations

from pathlib import Path

import torch
from tqdm.auto import tqdm

from .. import core, zoo
from ..core.checks import check_count
from .judge_controls import reporting_judges
from .judging import balanced, recognised
from ..metrics import interval_text, localization_scores, proportion
from .report import rounded, saliency_to_image, save_grid, write_index, write_json
from .reproduce import START

FEATURES = (0, 1, 2, 3, 4, 5, 6, 7)
CONVERGED = 0.2  # relative representation distance below which an inversion has matched its target


def run_demo(out="art_reps_demo", *, standard: str = zoo.STANDARD, robust: str = zoo.ROBUST,
             steps: int | None = None, n_per_class: int = 3, device: str = "cpu", seed: int = 0,
             progress: bool = True) -> dict:
    """Invert test images from noise, visualise features and draw sensitivity maps through the
    standard and the robust model; write PNG grids, ``metrics.json`` and ``index.html`` to ``out``.
    Returns the metrics (``recognised[judge][model]``: share with its interval). ``steps``: the
    inversions' (default: :func:`art_reps.invert`'s recipe, as the reproduction)."""
    recipe_steps = core.INVERSION.defaults()["steps"]
    steps = recipe_steps if steps is None else check_count(steps, "steps")
    device = torch.device(device)
    models = {"standard": zoo.load_model(standard, device=device), "robust": zoo.load_model(robust, device=device)}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    judges, validated = reporting_judges(device)
    targets = balanced(n_per_class)
    seeds = core.make_start(START, targets.images.shape, seed=seed)
    layer = zoo.REPRESENTATION_LAYER
    stages = tqdm(total=3 * len(models), desc="art-reps demo", disable=not progress)
    inversions, features, saliency, distance, pointing, judged = {}, {}, {}, {}, {}, {}
    for kind, model in models.items():
        res = core.invert(model, targets.images, layer=layer, start=seeds, steps=steps, seed=seed, progress=progress)
        inversions[kind], distance[kind] = res.images, res.losses.mean().item()
        for judge, hits in recognised(res.images, targets.labels, judges).items():
            judged.setdefault(judge, {})[kind] = proportion(hits)
        stages.update(1)
        vis = core.visualize(model, layer=layer, feature=list(FEATURES), steps=max(1, steps // 4), step_size=0.1,
                             fake_relu=True, seed=seed, progress=progress)
        features[kind] = vis.images
        stages.update(1)
        grad = core.sensitivity(model, targets.images, targets.labels)
        saliency[kind] = saliency_to_image(grad)
        pointing[kind] = localization_scores(grad, targets.boxes, smooth=1.0, intervals=True)["pointing_game"]
        stages.update(1)
    stages.close()
    warning = None
    if distance["robust"] > CONVERGED:
        warning = (f"With --steps {steps} the robust model's inversions have not matched their targets (relative "
                   f"representation distance {distance['robust']:.2f} > {CONVERGED}): too few steps for the effect "
                   f"to show; the reproduction uses {recipe_steps}.")
    metrics = rounded({
        "models": {"standard": standard, "robust": robust, "judges": list(judges),
                   "judges_passed_controls": validated},
        "layer": layer, "steps": steps, "images": len(targets), "seed": seed,
        "recognised": judged, "relative_distance": distance, "sensitivity_pointing_game": pointing,
        "warning": warning,
    })
    side_by_side = torch.stack([targets.images, inversions["standard"], inversions["robust"]], 1).flatten(0, 1)
    grid = save_grid(side_by_side, out / "inversions.png", nrow=3 * 6)
    rows = [
        (f"Feature visualisations (channels {list(FEATURES)} of {layer})",
         save_grid(features["standard"], out / "features_standard.png", nrow=8),
         save_grid(features["robust"], out / "features_robust.png", nrow=8)),
        ("Sensitivity maps (|d logit_y / d x|); the map's maximum falls in the digit's box for "
         f"{interval_text(pointing['standard'])} (standard) and {interval_text(pointing['robust'])} (robust)",
         save_grid(saliency["standard"], out / "sensitivity_standard.png", nrow=10),
         save_grid(saliency["robust"], out / "sensitivity_robust.png", nrow=10)),
    ]
    lines = "".join(f"<li><b>{j}</b>: robust {interval_text(v['robust'])}, standard {interval_text(v['standard'])}</li>"
                    for j, v in judged.items())
    caveat = "" if validated else (
        "<p><b>No judge has passed its controls yet (docs/judging.md, \"Controls\"): the shares below come from "
        "judges that failed them and decide nothing.</b></p>")
    intro = (f"{'<p><b>' + warning + '</b></p>' if warning else ''}"
             f"<p>Each triple: a test image, its inversion from noise through <code>{standard}</code>, and "
             f"through <code>{robust}</code> ({steps} steps, {len(targets)} targets).</p><img src='{grid}'>"
             f"<p>Share of inversions each judge names as the target's class (ten-way, chance 0.1), with 95% "
             f"Wilson intervals (n = {len(targets)}):</p>{caveat}<ul>{lines}</ul>")
    write_json(metrics, out / "metrics.json")
    write_index(out, "art-reps demo: robust vs standard representations", intro, rows, metrics)
    return metrics
