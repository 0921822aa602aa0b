"""The main job: robust versus standard representations on the embedded default, as a report."""
from __future__ import annotations

from pathlib import Path

import torch
from tqdm.auto import tqdm

from . import core, zoo
from .data import digits_on_textures
from .metrics import cross_judge, localization_scores
from .report import rounded, saliency_to_image, save_grid, write_index, write_json

FEATURES = (0, 1, 2, 3, 4, 5, 6, 7)


def one_per_class(n_per_class: int = 1, *, split: str = "test", boxes: bool = False):
    """The first ``n_per_class`` images of each class: (10 * n, 3, 32, 32) images and labels
    (and their (10 * n, 4) boxes with ``boxes=True``)."""
    data = digits_on_textures(split)
    index = torch.cat([torch.nonzero(data.labels == c).flatten()[:n_per_class] for c in range(10)])
    return (data.images[index], data.labels[index]) + ((data.boxes[index],) if boxes else ())


def run_demo(out="art_reps_demo", *, standard: str = zoo.STANDARD, robust: str = zoo.ROBUST, steps: int = 400,
             n_per_class: int = 2, device: str = "cpu", seed: int = 0, progress: bool = True) -> dict:
    """Invert test images from noise, visualise features and draw sensitivity maps through the
    standard and the robust model; write PNG grids, ``metrics.json`` and ``index.html`` to ``out``.
    Returns the metrics. The judge is the separately trained ``judge`` model."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    device = torch.device(device)
    models = {"standard": zoo.load_model(standard, device=device), "robust": zoo.load_model(robust, device=device)}
    judge = zoo.load_model(zoo.JUDGE, device=device)
    images, labels, boxes = one_per_class(n_per_class, boxes=True)
    layer = zoo.REPRESENTATION_LAYER
    stages = tqdm(total=3 * len(models), desc="art-reps demo", disable=not progress)
    inversions, features, saliency, fidelity, activation, pointing = {}, {}, {}, {}, {}, {}
    for kind, model in models.items():
        res = core.invert(model, images, layer=layer, steps=steps, step_size=0.05,
                          schedule=core.linear_decay(steps), seed=seed, progress=progress)
        inversions[kind], fidelity[kind] = res.images, res.losses.mean().item()
        stages.update(1)
        vis = core.visualize(model, layer=layer, feature=list(FEATURES), steps=max(1, steps // 2), step_size=0.1,
                             seed=seed, progress=progress)
        features[kind], activation[kind] = vis.images, (-vis.losses).tolist()
        stages.update(1)
        grad = core.sensitivity(model, images, labels)
        saliency[kind] = saliency_to_image(grad)
        pointing[kind] = localization_scores(grad, boxes, smooth=1.0)["pointing_game"]
        stages.update(1)
    stages.close()
    judged = cross_judge({"judge": judge, **models}, inversions, labels)
    metrics = {
        "models": {"standard": standard, "robust": robust, "judge": zoo.JUDGE},
        "layer": layer, "steps": steps, "images": len(images), "seed": seed,
        "inversion_recognised_by_judge": judged["judge"],
        "inversion_cross_judged": judged,
        "inversion_relative_distance": fidelity,
        "feature_activation_reached": activation,
        "sensitivity_pointing_game": pointing,
    }
    rows = [
        ("Inversions from noise (targets in the first grid)",
         save_grid(inversions["standard"], out / "inversions_standard.png", nrow=10),
         save_grid(inversions["robust"], out / "inversions_robust.png", nrow=10)),
        (f"Feature visualisations (channels {list(FEATURES)} of {layer})",
         save_grid(features["standard"], out / "features_standard.png", nrow=8),
         save_grid(features["robust"], out / "features_robust.png", nrow=8)),
        ("Sensitivity maps (|d logit_y / d x|); the map's maximum falls in the digit's box for "
         f"{pointing['standard']:.0%} (standard) and {pointing['robust']:.0%} (robust) of the images",
         save_grid(saliency["standard"], out / "sensitivity_standard.png", nrow=10),
         save_grid(saliency["robust"], out / "sensitivity_robust.png", nrow=10)),
    ]
    target_png = save_grid(images, out / "targets.png", nrow=10)
    intro = (f"Targets: <br><img src='{target_png}'><br>An independent judge network recognises "
             f"<b>{judged['judge']['robust']:.0%}</b> of the robust model's inversions and "
             f"<b>{judged['judge']['standard']:.0%}</b> of the standard model's.")
    metrics = rounded(metrics)
    write_json(metrics, out / "metrics.json")
    write_index(out, "art-reps demo: robust vs standard representations", intro, rows, metrics)
    return metrics
