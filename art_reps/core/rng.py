"""Random draws that depend neither on the device nor on the batch.

Every sample has its own CPU generator, seeded from ``(seed, stream, its index in the batch)``, so
sample ``i`` gets the same start and the same random points whether it runs alone, in a chunk of
a larger batch, in the whole batch, on a CPU or on a GPU; draws are made on the CPU and moved to
the images' device. Streams keep the start images apart from the loop's own draws (random starts
in a ball, restarts).

Examples:
    >>> a = Draws(0, range(4)).randn((3,), torch.zeros(1))
    >>> b = Draws(0, range(2, 4)).randn((3,), torch.zeros(1))   # samples 2 and 3 alone
    >>> torch.equal(a[2:], b)
    True
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch

STREAMS = {"start": 0, "loop": 1}


def sample_seed(seed: int, index: int, stream: str = "start") -> int:
    """The seed of sample ``index``'s generator in ``stream`` (a 63-bit int)."""
    entropy = [int(seed) % 2 ** 64, STREAMS[stream], int(index)]
    return int(np.random.SeedSequence(entropy).generate_state(1, np.uint64)[0]) >> 1


class Draws:
    """One CPU generator per sample (``indices``: the samples' places in the whole batch).

    ``randn`` and ``rand`` return (N, *shape) draws, sample by sample, in ``like``'s dtype on its
    device; slicing gives the draws of some of the samples, sharing their generators."""

    def __init__(self, seed: int, indices: Iterable[int], stream: str = "start"):
        self.generators = [torch.Generator().manual_seed(sample_seed(seed, i, stream)) for i in indices]

    @classmethod
    def of(cls, generators: list) -> "Draws":
        draws = cls.__new__(cls)
        draws.generators = generators
        return draws

    def __len__(self) -> int:
        return len(self.generators)

    def __getitem__(self, part: slice) -> "Draws":
        return Draws.of(self.generators[part])

    def _draw(self, fn, shape, like: torch.Tensor) -> torch.Tensor:
        dtype = like.dtype if like.is_floating_point() else torch.float32
        samples = [fn(tuple(shape), generator=g, dtype=dtype) for g in self.generators]
        return torch.stack(samples).to(like.device)

    def randn(self, shape, like: torch.Tensor) -> torch.Tensor:
        return self._draw(torch.randn, shape, like)

    def rand(self, shape, like: torch.Tensor) -> torch.Tensor:
        return self._draw(torch.rand, shape, like)


def generator(seed: int) -> torch.Generator:
    """A CPU generator seeded with ``seed`` (one stream for a whole run, e.g. a training loop)."""
    return torch.Generator().manual_seed(int(seed))


def _draw(kind: str, shape, source, like: torch.Tensor) -> torch.Tensor:
    if isinstance(source, Draws):
        if len(source) != shape[0]:
            raise ValueError(f"{len(source)} per-sample generators for a batch of {shape[0]}")
        return getattr(source, kind)(shape[1:], like)
    device = source.device if source is not None else "cpu"
    fn = torch.randn if kind == "randn" else torch.rand
    return fn(tuple(shape), generator=source, device=device, dtype=like.dtype).to(like.device)


def randn(shape, source: Draws | torch.Generator | None, like: torch.Tensor) -> torch.Tensor:
    """Standard normal draws of ``shape`` (N, ...) from per-sample ``Draws`` or one generator."""
    return _draw("randn", shape, source, like)


def rand(shape, source: Draws | torch.Generator | None, like: torch.Tensor) -> torch.Tensor:
    """Uniform [0, 1) draws of ``shape`` (N, ...) from per-sample ``Draws`` or one generator."""
    return _draw("rand", shape, source, like)
