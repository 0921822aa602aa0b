"""Judging synthesised images with a network that is not the one under test."""
from __future__ import annotations

import torch

from ..core.checks import check_images, check_same_batch
from .ground_truth import mask_judge


def probabilities(model: torch.nn.Module, images: torch.Tensor, *, mean=None, std=None,
                  batch_size: int = 256) -> torch.Tensor:
    """Softmax probabilities (N, K) for images (N, C, H, W) in [0, 1]; the model comes back as it was."""
    return activations(model, images, layer="", mean=mean, std=std, batch_size=batch_size).softmax(1)


def predict(model: torch.nn.Module, images: torch.Tensor, **kwargs) -> torch.Tensor:
    """Predicted classes (N,) for images (N, C, H, W) in [0, 1]; the model comes back as it was."""
    return probabilities(model, images, **kwargs).argmax(1)


def feature_similarity(judge: torch.nn.Module, a: torch.Tensor, b: torch.Tensor, *, layer: str = "features",
                       batch_size: int = 256) -> torch.Tensor:
    """Cosine similarity (N,) of the judge's ``layer`` features of paired images a, b (N, C, H, W):
    how much of an image's content (for the judge) a synthesised image keeps. One minus
    :class:`~art_reps.metrics.distances.JudgeDistance`, in batches and without gradients.

    Examples:
        >>> import art_reps
        >>> x = art_reps.data.digits_on_textures("test").images[:3]
        >>> feature_similarity(art_reps.load_model("judge"), x, x).round(decimals=4).tolist()
        [1.0, 1.0, 1.0]
    """
    from .distances import JudgeDistance

    check_same_batch(a, b, "a", "b")
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    distance = JudgeDistance(judge, layer)
    with torch.no_grad():
        return 1 - torch.cat([distance(a[i:i + batch_size], b[i:i + batch_size]) for i in range(0, len(a), batch_size)])


def activations(model: torch.nn.Module, images: torch.Tensor, *, layer: str = "", batch_size: int = 256,
                **representation_options) -> torch.Tensor:
    """The ``layer`` activations (N, ...) of images (N, C, H, W) in [0, 1], computed in batches without
    gradients, in float32 on the images' device (``''`` is the output); options as in
    :class:`Representation`. The model comes back as it was."""
    from ..core import Representation

    rep = Representation(model, layer, **representation_options)
    check_images(images, "images", channels=rep.channels)
    with rep.attached() as read, torch.no_grad():
        return torch.cat([read(images[i:i + batch_size].to(rep.device, rep.dtype))[layer].float().to(images.device)
                          for i in range(0, len(images), batch_size)])


def judge_accuracy(judge: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, **kwargs) -> float:
    """Share of ``images`` that ``judge`` assigns to ``labels``: recognisability of inversions."""
    if labels.shape != (images.shape[0],):
        raise ValueError(f"labels must have shape ({images.shape[0]},), got {tuple(labels.shape)}")
    return (predict(judge, images, **kwargs) == labels.to(images.device)).float().mean().item()


def answer(judge, images: torch.Tensor) -> torch.Tensor:
    """(N,) the class a judge names: its ``predict`` where it has one, else its argmax (a network)."""
    return judge.predict(images).cpu() if hasattr(judge, "predict") else predict(judge, images).cpu()


def recognised(images: torch.Tensor, labels: torch.Tensor, judges: dict, *, seeds: torch.Tensor | None = None,
               targets=None) -> dict:
    """judge name -> (N,) booleans: image i shows class ``labels[i]`` (ten-way). With ``seeds`` and
    ``targets`` (the :class:`~art_reps.data.LabelledImages` the images were made for from those
    seeds) the seed-based ``mask`` judges are asked too, as information."""
    hits = {}
    if seeds is not None and targets is not None:
        hits["mask"] = mask_judge(images, seeds, targets)
        hits["mask_anywhere"] = mask_judge(images, seeds, targets, anywhere=True)
    for name, judge in judges.items():
        hits[name] = answer(judge, images) == labels.cpu()
    return hits
