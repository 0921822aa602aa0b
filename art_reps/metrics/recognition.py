"""Judging synthesised images with a network that is not the one under test."""
from __future__ import annotations

import torch

from ..core.checks import check_images


def predict(model: torch.nn.Module, images: torch.Tensor, *, mean=None, std=None, batch_size: int = 256) -> torch.Tensor:
    """Predicted classes (N,) for images (N, C, H, W) in [0, 1]; the model comes back as it was."""
    from ..core.representation import Representation

    rep = Representation(model, "", mean=mean, std=std)
    check_images(images, "images", channels=rep.channels)
    with rep.attached() as read, torch.no_grad():
        return torch.cat([read(images[i:i + batch_size].to(rep.device, rep.dtype))[""].argmax(1).to(images.device)
                          for i in range(0, len(images), batch_size)])


def judge_accuracy(judge: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, **kwargs) -> float:
    """Share of ``images`` that ``judge`` assigns to ``labels``: recognisability of inversions."""
    if labels.shape != (images.shape[0],):
        raise ValueError(f"labels must have shape ({images.shape[0]},), got {tuple(labels.shape)}")
    return (predict(judge, images, **kwargs) == labels.to(images.device)).float().mean().item()


def cross_judge(judges: dict[str, torch.nn.Module], images: dict[str, torch.Tensor],
                labels: torch.Tensor) -> dict[str, dict[str, float]]:
    """``result[judge][source]``: accuracy of each judge on the images made through each source model."""
    return {j: {s: judge_accuracy(m, x, labels) for s, x in images.items()} for j, m in judges.items()}
