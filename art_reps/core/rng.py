"""Random draws that do not depend on the device: made by a CPU generator and moved to the
images' device, so one seed gives the same start on a CPU and on a GPU.

Examples:
    >>> g = generator(0)
    >>> randn((2, 3), g, torch.zeros(1)).shape
    torch.Size([2, 3])
"""
from __future__ import annotations

import torch


def generator(seed: int) -> torch.Generator:
    """A CPU generator seeded with ``seed``."""
    return torch.Generator().manual_seed(seed)


def _draw(fn, shape, generator, like: torch.Tensor) -> torch.Tensor:
    device = generator.device if generator is not None else "cpu"
    return fn(tuple(shape), generator=generator, device=device, dtype=like.dtype).to(like.device)


def randn(shape, generator: torch.Generator | None, like: torch.Tensor) -> torch.Tensor:
    """Standard normal draws of ``shape`` in ``like``'s dtype, on ``like``'s device."""
    return _draw(torch.randn, shape, generator, like)


def rand(shape, generator: torch.Generator | None, like: torch.Tensor) -> torch.Tensor:
    """Uniform [0, 1) draws of ``shape`` in ``like``'s dtype, on ``like``'s device."""
    return _draw(torch.rand, shape, generator, like)
