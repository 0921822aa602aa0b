"""The mean amplitude spectrum of a set of images: the magnitude that MACO keeps fixed
(:class:`art_reps.core.parameterisations.Maco`).

Examples:
    >>> mean_spectrum(torch.rand(4, 3, 32, 32)).shape
    torch.Size([3, 32, 17])
"""
from __future__ import annotations

import torch


def mean_spectrum(images: torch.Tensor) -> torch.Tensor:
    """Mean over ``images`` (N, C, H, W) of ``|rfft2|`` (orthonormal), each image's mean colour
    removed first (MACO standardises its images, so the zero frequency carries nothing): (C, H, W // 2 + 1)."""
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or images.shape[0] == 0:
        raise ValueError(f"images must be a non-empty (N, C, H, W) tensor, got {getattr(images, 'shape', images)!r}")
    centred = images.float() - images.float().mean((2, 3), keepdim=True)
    return torch.fft.rfft2(centred, norm="ortho").abs().mean(0)
