"""The main job: robust versus standard representations on the embedded default, as a report.

:func:`art_reps.cli.compare.run_compare` on the embedded pair: each target beside its inversion
through the standard model and through the robust one (Engstrom's noise start, the library's
recipe), feature visualisations, sensitivity maps with the pointing game, STIR both ways and CKA;
the demo's judge (:func:`art_reps.zoo.load_judge`, which learned no MNIST digit and passed its
controls in the papers' reproduction) says which inversions show the target's class (ten-way),
with Wilson intervals.
"""
from __future__ import annotations

import torch

from .. import core, zoo
from ..core.checks import check_count
from ..data import balanced
from .compare import run_compare


def run_demo(out="art_reps_demo", *, standard: str = zoo.STANDARD, robust: str = zoo.ROBUST,
             steps: int | None = None, n_per_class: int = 3, device: str = "cpu", seed: int = 0,
             progress: bool = True) -> dict:
    """Compare the standard and the robust embedded model on ``n_per_class`` test images of each
    class; write PNG grids, ``metrics.json`` and ``index.html`` to ``out``. Returns the metrics
    (``recognised[judge][kind]``: share with its interval). ``steps``: the inversions' (default:
    :func:`art_reps.invert`'s recipe)."""
    steps = core.METHODS["invert"].defaults()["steps"] if steps is None else check_count(steps, "steps")
    where = torch.device(device)
    models: dict = {"standard": (zoo.load_model(standard, device=where), {}),
                    "robust": (zoo.load_model(robust, device=where), {})}
    judges = {zoo.DEMO_JUDGE: zoo.load_judge(device=where)}
    targets = balanced(n_per_class)
    layer = zoo.REPRESENTATION_LAYER
    return run_compare(out, models, targets.images.to(where), targets.labels.to(where),
                       layers={"standard": layer, "robust": layer}, steps=steps, seed=seed, judges=judges,
                       boxes=targets.boxes, title="art-reps demo: robust vs standard representations",
                       about={"standard": standard, "robust": robust, "judges": list(judges)}, progress=progress)
