"""The targets and judges behind every science table (docs/judging.md, "How we judge"). No judge
is a model under test, and none that decides a verdict shares a model's training:

- **Which judges decide**: those that passed their controls (:mod:`reproduction.judge_controls`;
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

from art_reps.metrics import mean_interval
from art_reps.metrics.distances import JudgeDistance, ms_ssim_distance, ssim_distance

NETWORK_JUDGES = ("judge", "judge_mixer")  # the first network judges: information only (they share the models' digits)
JUDGES = ("mask", "mask_anywhere") + NETWORK_JUDGES
TARGETS_PER_CLASS = 10
TARGETS_OFFSET = 10
SEEDS = (0, 1, 2)


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
