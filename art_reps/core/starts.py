"""Start images: the kinds the papers start from, drawn sample by sample (:mod:`.rng`).

Examples:
    >>> x = make_start("noise", (4, 3, 8, 8), seed=0)
    >>> torch.equal(x[2:], make_start("noise", (2, 3, 8, 8), seed=0, first=2))   # batch-independent
    True
"""
from __future__ import annotations

import torch

from .checks import check_images
from .rng import Draws

#: kind -> one sample (C, H, W) from a CPU generator
STARTS = {
    "noise": lambda shape, g: (0.5 + torch.randn(shape, generator=g) / 20).clamp(0, 1),  # Engstrom et al.
    "super-noise": lambda shape, g: torch.randn(shape, generator=g).clamp(0, 1),  # Nanda et al.'s seeds
    "light-noise": lambda shape, g: (0.01 * torch.randn(shape, generator=g)).clamp(0, 1),
    "uniform": lambda shape, g: torch.rand(shape, generator=g),
    "gray": lambda shape, g: torch.full(shape, 0.5),
    "white": lambda shape, g: torch.ones(shape),
    "black": lambda shape, g: torch.zeros(shape),
}


def check_start_kind(start, name: str = "start", extra=()) -> None:
    """A clear error unless ``start`` is an image tensor or a kind of ``STARTS`` (or of ``extra``)."""
    if not isinstance(start, torch.Tensor) and start not in STARTS and start not in extra:
        raise ValueError(f"{name} must be an image tensor (N, C, H, W) or one of {sorted(STARTS) + list(extra)}, "
                         f"got {start!r}")


def make_start(start, shape, *, seed: int = 0, first: int = 0, device=None, dtype=None) -> torch.Tensor:
    """A start image batch of ``shape`` (N, C, H, W): a tensor (N or 1, C, H, W) used as given, or a
    kind of ``STARTS`` ('noise' is Engstrom's ``randn/20 + 0.5``; Nanda's seeds 'super-noise',
    'light-noise', ...), sample ``first + i`` drawn by its own CPU generator from ``seed`` (the same
    start on every device and in every batch), on ``device`` in ``dtype`` (default float32)."""
    if isinstance(start, torch.Tensor):
        check_images(start, "start")
        if start.shape[0] not in (1, shape[0]) or tuple(start.shape[1:]) != tuple(shape[1:]):
            raise ValueError(f"start must have shape {tuple(shape)} (or a batch of 1), got {tuple(start.shape)}")
        return start.expand(shape[0], *start.shape[1:]) if start.shape[0] == 1 else start
    check_start_kind(start)
    draws = Draws(seed, range(first, first + shape[0]))
    images = torch.stack([STARTS[start](tuple(shape[1:]), g) for g in draws.generators])
    return images.to(device or "cpu", dtype or torch.float32)
