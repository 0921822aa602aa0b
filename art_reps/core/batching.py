"""Large batches in chunks that fit a memory budget, and the chunks' results joined as one.

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

import torch

from .checks import model_device
from .loop import Result
from .representation import Representation

MARGIN = 3  # off CUDA: saved tensors + their gradients + the outputs in flight
# How far a chunked run may land from the whole batch's (docs/design.md, "Chunks"): the loss reached
# (an inversion's relative distance) and the mean absolute pixel difference; measured 0.02 and 0.043
# for invert's recipe on the CPU (tests/test_chunks.py)
TOLERANCE_LOSS, TOLERANCE_PIXELS = 0.05, 0.1
CPU_SHARE = 0.25  # of the memory available when the run starts


def _representation(model, layers, reading: dict) -> Representation:
    return model.reading(list(layers)) if isinstance(model, Representation) else Representation(model, list(layers),
                                                                                                  **reading)


def step_bytes(model, layers, shape, **reading) -> int:
    """Bytes one sample's step to ``layers`` needs (forward, saved tensors, backward); ``shape``
    (C, H, W); ``model`` an ``nn.Module`` (read with ``reading``: mean, std, ...) or a Representation."""
    rep = _representation(model, layers, reading)
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


def auto_batch_size(model, layers, shape, *, budget: int | None = None, **reading) -> int:
    """How many samples fit ``budget`` bytes (default :func:`memory_budget`) in one step; at least 1."""
    per_sample = step_bytes(model, layers, shape, **reading)
    if budget is None:
        budget = memory_budget(model.device if isinstance(model, Representation) else model_device(model))
    return max(1, int(budget // per_sample))


def check_batch_size(batch_size) -> int | str | None:
    """``None`` (all at once), an int >= 1 or ``'auto'``; anything else is refused by name."""
    if batch_size is None or batch_size == "auto":
        return batch_size
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be None, 'auto' or an int >= 1, got {batch_size!r}")
    return batch_size


def chunk_size(batch_size, n: int, rep: Representation, shape) -> int:
    """Samples per chunk: all ``n`` (``None``), ``batch_size``, or what fits (``'auto'``)."""
    if batch_size is None:
        return n
    if batch_size == "auto":
        return auto_batch_size(rep, rep.layers, shape)
    return batch_size


def slices(n: int, size: int) -> list[slice]:
    """``[0, size), [size, 2 size), ...`` up to ``n``."""
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]


def join(parts: list) -> Result | torch.Tensor:
    """Chunks' results as one: tensors concatenated; Results with histories padded by their last
    step where a chunk stopped early at ``tol``."""
    if isinstance(parts[0], torch.Tensor):
        return torch.cat(parts)
    if len(parts) == 1:
        return parts[0]
    steps = max(p.history.shape[0] for p in parts)
    history = [torch.cat([p.history, p.history[-1:].expand(steps - p.history.shape[0], -1)]) for p in parts]
    transparency = torch.cat([p.transparency for p in parts]) if parts[0].transparency is not None else None
    return Result(torch.cat([p.images for p in parts]), torch.cat([p.losses for p in parts]), torch.cat(history, 1),
                  transparency)
