"""Large batches in chunks that fit a memory budget.

A step's memory per sample: on CUDA, measured (the peak of one step on a few samples, from
``torch.cuda.max_memory_allocated``); elsewhere, what autograd saves for the backward on one
sample (``torch.autograd.graph.saved_tensors_hooks``) times a margin for the gradients and
outputs.

Examples:
    >>> from art_reps.zoo.architectures import SmallResNet
    >>> per_sample = step_bytes(SmallResNet(), ["avgpool"], (3, 32, 32))
    >>> auto_batch_size(SmallResNet(), ["avgpool"], (3, 32, 32), budget=10 * per_sample)
    10
"""
from __future__ import annotations

import os
from collections.abc import Callable

import torch

from .checks import model_device
from .optimize import Result
from .representation import Representation, representation_options

MARGIN = 3  # off CUDA: saved tensors + their gradients + the outputs in flight
CPU_SHARE = 0.25  # of the memory available when the run starts


def step_bytes(model, layers, shape, **representation_options) -> int:
    """Bytes one sample's step to ``layers`` needs (forward, saved tensors, backward); ``shape`` (C, H, W)."""
    rep = Representation(model, list(layers), **representation_options)
    if rep.device.type == "cuda":
        return _measured_step_bytes(rep, shape)
    seen: dict[tuple, int] = {}

    def pack(t):
        seen[(t.data_ptr(), t.numel(), t.dtype)] = t.numel() * t.element_size()
        return t

    x = torch.rand(1, *shape, device=rep.device, dtype=rep.dtype, requires_grad=True)
    with rep.attached() as read, torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), torch.enable_grad():
        read(x)
    return MARGIN * (sum(seen.values()) + x.numel() * x.element_size())


def _measured_step_bytes(rep: Representation, shape, n: int = 8) -> int:
    """The CUDA peak of one forward and backward on ``n`` samples, per sample (fixed costs included)."""
    device = rep.device
    x = torch.rand(n, *shape, device=device, dtype=rep.dtype, requires_grad=True)
    torch.cuda.synchronize(device)
    before = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    with rep.attached() as read, torch.enable_grad():
        loss = sum(a.float().sum() for a in read(x).values())
        torch.autograd.grad(loss, x)
    torch.cuda.synchronize(device)
    return -(-(torch.cuda.max_memory_allocated(device) - before) // n)


def memory_budget(device: torch.device) -> int:
    """Bytes a run may use: 80 % of the free CUDA memory, or a quarter of the available RAM."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(0.8 * free)
    try:
        with open("/proc/meminfo") as f:
            available = next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:"))
    except (OSError, StopIteration):
        available = (os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")) if hasattr(os, "sysconf") else 2 ** 32
    return int(CPU_SHARE * available)


def auto_batch_size(model, layers, shape, *, budget: int | None = None, **representation_options) -> int:
    """How many samples fit ``budget`` bytes (default :func:`memory_budget`) in one step; at least 1."""
    per_sample = step_bytes(model, layers, shape, **representation_options)
    if budget is None:
        budget = memory_budget(model_device(model))
    return max(1, int(budget // per_sample))


def resolve_batch_size(batch_size, n: int, model, layers, shape, options: dict) -> int:
    """``None``: all ``n`` at once; an int; or ``'auto'``: :func:`auto_batch_size` for the model."""
    if batch_size is None:
        return n
    if batch_size == "auto":
        return auto_batch_size(model, layers, shape, **representation_options(options))
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be None, 'auto' or an int >= 1, got {batch_size!r}")
    return batch_size


def take(value, s: slice):
    """A per-sample tensor's part for the chunk ``s``; anything else is shared by every chunk."""
    return value[s] if isinstance(value, torch.Tensor) else value


def in_chunks(n: int, size: int, run: Callable[[slice], Result]) -> Result:
    """``run`` on each slice of ``size`` samples, results joined as one (histories padded with
    their last step where a chunk stopped early at ``tol``)."""
    parts = [run(slice(i, min(i + size, n))) for i in range(0, n, size)]
    steps = max(p.history.shape[0] for p in parts)
    history = [torch.cat([p.history, p.history[-1:].expand(steps - p.history.shape[0], -1)]) for p in parts]
    transparency = torch.cat([p.transparency for p in parts]) if parts[0].transparency is not None else None
    return Result(torch.cat([p.images for p in parts]), torch.cat([p.losses for p in parts]), torch.cat(history, 1),
                  transparency)
