"""The targets and judges behind every science table (docs/judging.md, "How we judge"). No judge
is a model under test, and none that decides a verdict shares a model's training:

- **Which judges decide**: those that passed their controls (:mod:`art_reps.studies.judge_controls`;
  the saved ``results/judge_controls.json`` says which). The others are still measured and shown,
  as information: ``mask`` and ``mask_anywhere`` (``||image - seed||`` on the target's ink), the
  first network judges ``judge`` and ``judge_mixer`` (which learned on the models' own digits).
- **Criteria**: ``recognised``, the judge names the target's class (ten-way, chance 0.1; verdicts
  use it); ``two-way``, in a network judge's features the image is nearer its target than a digit
  of another class drawn at the same place on the same background (chance 0.5); and Nanda et al.'s
  ``D(image, target) <= D(image, seed)`` (kept as the paper's; a model that knows no digit passes
  it, so it decides nothing).
- **Targets**: fresh ones, test images 10-19 of each class (``TARGETS_OFFSET``; the first ten of
  each class served every earlier choice), each from the noise seeds ``SEEDS``: intervals are BCa
  bootstrap intervals over the 100 targets of the per-target mean over seeds. Every test image is
  a distinct MNIST digit, so the targets are independent.
"""
from __future__ import annotations

import torch

from ..data import LabelledImages, digits_on_textures
from ..metrics.distances import JudgeDistance, ms_ssim_distance, ssim_distance
from ..metrics import mask_judge, mean_interval, predict

NETWORK_JUDGES = ("judge", "judge_mixer")  # the first network judges: information only (they share the models' digits)
JUDGES = ("mask", "mask_anywhere") + NETWORK_JUDGES
TARGETS_PER_CLASS = 10
TARGETS_OFFSET = 10
SEEDS = (0, 1, 2)


def balanced(per_class: int = TARGETS_PER_CLASS, split: str = "test", offset: int = 0) -> LabelledImages:
    """``per_class`` images of each class of ``split`` (from the ``offset``-th of the class on), class by class.

    Examples:
        >>> balanced(2).labels.tolist()
        [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9]
    """
    data = digits_on_textures(split)
    available = min(int((data.labels == c).sum()) for c in range(10)) - offset
    if isinstance(per_class, bool) or not isinstance(per_class, int) or not 1 <= per_class <= available:
        raise ValueError(f"per_class must be an int from 1 to {available} (the {split} split's images per class), "
                         f"got {per_class!r}")
    return data[targets_index(data, per_class, offset)]


def targets_index(data: LabelledImages, per_class: int, offset: int = 0) -> torch.Tensor:
    """The indices into ``data`` of :func:`balanced`'s images."""
    return torch.cat([torch.nonzero(data.labels == c).flatten()[offset:offset + per_class] for c in range(10)])


def verdict_judges() -> tuple[str, ...]:
    """The judges that passed their controls (the saved control table)."""
    from .judge_controls import validated_judges

    return validated_judges()


def network_judges(device="cpu", names=None) -> dict:
    """name -> judge classifier (eval mode): the network judges among ``names`` (default: those that
    decide verdicts)."""
    from .judge_controls import network_judges as load

    return load(verdict_judges() if names is None else names, device)


def judges(device="cpu") -> dict:
    """name -> every judge that decides verdicts (:func:`.judge_controls.deciding_judges`)."""
    from .judge_controls import deciding_judges

    return deciding_judges(device)


def answer(judge, images: torch.Tensor) -> torch.Tensor:
    """(N,) the class a judge names: its ``predict`` (the template judge) or its argmax (a network)."""
    return judge.predict(images).cpu() if hasattr(judge, "predict") else predict(judge, images).cpu()


def recognised(images: torch.Tensor, labels: torch.Tensor, judges: dict, *, seeds: torch.Tensor | None = None,
               targets: LabelledImages | None = None) -> dict:
    """judge name -> (N,) booleans: image i shows class ``labels[i]`` (ten-way). With ``seeds`` and
    ``targets`` (images made from seeds for those targets) the seed-based ``mask`` judges are asked
    too, as information."""
    hits = {}
    if seeds is not None and targets is not None:
        hits["mask"] = mask_judge(images, seeds, targets)
        hits["mask_anywhere"] = mask_judge(images, seeds, targets, anywhere=True)
    for name, judge in judges.items():
        hits[name] = answer(judge, images) == labels.cpu()
    return hits


def over_targets(hits: torch.Tensor) -> dict:
    """A share over targets and seeds, ``hits`` (S seeds, N targets) or (N,): the mean with a BCa
    interval over the N targets of each target's mean over the seeds; ``n`` targets, ``seeds`` S."""
    hits = hits.double()
    per_target = hits.mean(0) if hits.dim() == 2 else hits
    return {**mean_interval(per_target), "seeds": hits.shape[0] if hits.dim() == 2 else 1}


def distances(judges: dict) -> dict:
    """name -> perceptual distance ``d(x, y) -> (N,)``: each network judge's features (a smoothed
    judge's base network's), SSIM and MS-SSIM."""
    features = {name: JudgeDistance(getattr(judge, "base", judge)) for name, judge in judges.items()
                if isinstance(judge, torch.nn.Module)}
    return {**features, "ssim": ssim_distance, "ms_ssim": ms_ssim_distance}
