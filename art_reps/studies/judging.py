"""The targets and judges behind every science table, fixed before the final measurement (docs/judging.md,
"How we judge"). No judge is a model under test, and none shares a model's training:

- ``mask``, the ground-truth judge (:func:`art_reps.metrics.mask_judge`): does the structure drawn
  from the seed lie on the target digit's strokes (ten-way forced choice, chance 0.1)? For images
  made from a seed at a target's place (inversions, IRIs).
- ``judge`` (JudgeNet, VGG-style, no skip connections) and ``judge_mixer`` (a ConvMixer): trained
  with cross-entropy and Gaussian noise (sd 0.1), never adversarially, on the training digits
  drawn on nine *other* pictures than the models' (``backgrounds='judge'``). Each recognises an
  image as the class it predicts; ``1 - cos`` of its penultimate features is its distance.
- ``ssim`` and ``ms_ssim``: piq's structural similarity, as distances.
- ``mask_anywhere`` (added before the test measurement, see docs/judging.md): the ground-truth judge
  without the place, for representations that discard it (a global average pool).

Targets: the first ``per_class`` test images of each class; every test image is a distinct MNIST
digit, so N targets are N independent samples.
"""
from __future__ import annotations

import torch

from .. import zoo
from ..data import LabelledImages, digits_on_textures
from ..metrics.distances import JudgeDistance, ms_ssim_distance, ssim_distance
from ..metrics import mask_judge, predict

NETWORK_JUDGES = ("judge", "judge_mixer")
JUDGES = ("mask", "mask_anywhere") + NETWORK_JUDGES
TARGETS_PER_CLASS = 10


def balanced(per_class: int = TARGETS_PER_CLASS, split: str = "test") -> LabelledImages:
    """The first ``per_class`` images of each class of ``split``, class by class.

    Examples:
        >>> balanced(2).labels.tolist()
        [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9]
    """
    data = digits_on_textures(split)
    available = min(int((data.labels == c).sum()) for c in range(10))
    if isinstance(per_class, bool) or not isinstance(per_class, int) or not 1 <= per_class <= available:
        raise ValueError(f"per_class must be an int from 1 to {available} (the {split} split's images per class), "
                         f"got {per_class!r}")
    index = torch.cat([torch.nonzero(data.labels == c).flatten()[:per_class] for c in range(10)])
    return data[index]


def network_judges(device="cpu") -> dict:
    """name -> judge classifier (eval mode)."""
    return {name: zoo.load_model(name, device=device) for name in NETWORK_JUDGES}


def recognised(images: torch.Tensor, labels: torch.Tensor, judges: dict, *, seeds: torch.Tensor | None = None,
               targets: LabelledImages | None = None) -> dict:
    """judge name -> (N,) booleans: image i shows class ``labels[i]``. With ``seeds`` and ``targets``
    (images made from seeds for those targets) the ground-truth judges are asked too."""
    hits = {}
    if seeds is not None and targets is not None:
        hits["mask"] = mask_judge(images, seeds, targets)
        hits["mask_anywhere"] = mask_judge(images, seeds, targets, anywhere=True)
    for name, judge in judges.items():  # the template judge has its own predict; a network, its argmax
        answer = judge.predict(images) if hasattr(judge, "predict") else predict(judge, images)
        hits[name] = answer.cpu() == labels.cpu()
    return hits


def distances(judges: dict) -> dict:
    """name -> perceptual distance ``d(x, y) -> (N,)``: each network judge's, SSIM and MS-SSIM."""
    return {**{name: JudgeDistance(judge) for name, judge in judges.items()},
            "ssim": ssim_distance, "ms_ssim": ms_ssim_distance}
