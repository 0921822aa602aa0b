"""Which memory layout steps a model faster: a short timed probe at the first call, cached per
model and input (shape, dtype, device, layers).

On CUDA, channels_last lets convolutions use tensor-core kernels and is often much faster. On
the CPU the measured gain is small and close to the noise (the bare loop in channels_last took
0.87-1.02 of its default-layout time in the benchmarks of docs/speed.md), and a choice made by a timing
would let machine load decide the last bits of a result, so ``channels_last="auto"`` probes only
on CUDA and keeps the caller's layout on the CPU. Pass ``channels_last=False`` for runs that must
be bit-identical across processes on a GPU too.
"""
from __future__ import annotations

import time
import weakref
from collections.abc import Callable

import torch

PROBE_STEPS = 3
MARGIN = 0.9  # channels_last must take at most this share of the default layout's time
_CHOICES: "weakref.WeakKeyDictionary[torch.nn.Module, dict]" = weakref.WeakKeyDictionary()


def _seconds(step: Callable[[torch.Tensor], None], x: torch.Tensor) -> float:
    step(x)  # warm-up: kernel selection
    best = float("inf")
    for _ in range(PROBE_STEPS):
        if x.is_cuda:
            torch.cuda.synchronize(x.device)
        start = time.perf_counter()
        step(x)
        if x.is_cuda:
            torch.cuda.synchronize(x.device)
        best = min(best, time.perf_counter() - start)
    return best


def prefers_channels_last(model: torch.nn.Module, step: Callable[[torch.Tensor], None], x: torch.Tensor,
                          key=()) -> bool:
    """Whether ``step(images)`` (one forward and backward) runs at most ``MARGIN`` of its default
    layout time with ``x`` (N, C, H, W) in channels_last; timed once per model and ``key`` and
    input shape, dtype and device, then cached for as long as the model lives.

    Examples:
        >>> net = torch.nn.Conv2d(3, 4, 3)
        >>> prefers_channels_last(net, lambda x: net(x).sum(), torch.rand(2, 3, 8, 8)) in (True, False)
        True
    """
    cache = _CHOICES.setdefault(model, {})
    full_key = (tuple(x.shape), x.dtype, str(x.device), key)
    if full_key not in cache:
        default = _seconds(step, x.contiguous())
        last = _seconds(step, x.contiguous(memory_format=torch.channels_last))
        cache[full_key] = last <= MARGIN * default
    return cache[full_key]
