"""The options every method takes, declared once, in three groups: how the model is read
(:class:`~art_reps.core.Representation`), how the loop steps (:class:`~art_reps.core.loop.Settings`)
and how the run executes (:class:`~art_reps.core.Runtime`), plus ``batch_size``. Public functions
take them as typed keywords (``**options: Unpack[RunOptions]``); the runner splits them once.

Examples:
    >>> split({"steps": 10, "mean": [0.5], "progress": False, "batch_size": 4})
    {'reading': {'mean': [0.5]}, 'loop': {'steps': 10}, 'runtime': {'progress': False}, 'batch': {'batch_size': 4}}
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, TypedDict, get_type_hints

import torch

from .geometry import Geometry


class ReadingOptions(TypedDict, total=False):
    """How the model is read: ``mean``/``std`` per channel, a differentiable ``transform`` applied
    first, the fake ReLU (``True``, ``'auto'``, ``False`` or module names) and ``keep_mode``."""

    mean: Sequence[float] | torch.Tensor | None
    std: Sequence[float] | torch.Tensor | None
    transform: Callable[[torch.Tensor], torch.Tensor] | None
    fake_relu: bool | str | Sequence[str]
    keep_mode: bool


class LoopOptions(TypedDict, total=False):
    """How the loop steps (:func:`art_reps.core.optimize` says what each means)."""

    steps: int
    step_size: float
    geometry: Literal["unconstrained", "l2", "linf"] | Geometry
    eps: float | None
    box: tuple | None
    optimizer: Literal["sgd", "momentum", "adam"]
    schedule: str | Callable[[int], float] | None
    param: str | object
    restarts: int
    random_start: bool | torch.Tensor
    use_best: bool
    tol: float | None
    seed: int
    first: int


class RuntimeOptions(TypedDict, total=False):
    """How the run executes (:class:`art_reps.core.Runtime`)."""

    autocast: bool | torch.dtype
    channels_last: bool | Literal["auto"]
    compile: bool | dict
    progress: bool


class ReadOptions(ReadingOptions, RuntimeOptions, total=False):
    """The options of a method without a loop (sensitivity maps): reading, runtime, ``batch_size``."""

    batch_size: int | Literal["auto"] | None


class RunOptions(ReadingOptions, LoopOptions, RuntimeOptions, total=False):
    """Every option of an optimising method; ``batch_size`` (an int, ``'auto'`` for what fits the
    device's memory, or ``None``: all at once) runs the samples in chunks, with the same random
    draws and recipe; a chunk's size can change the gradients' last bits, so long runs land
    within :data:`art_reps.core.batching.TOLERANCE_LOSS` of the whole batch's loss (docs/design.md, "Chunks")."""

    batch_size: int | Literal["auto"] | None


GROUPS = {
    "reading": tuple(get_type_hints(ReadingOptions)),
    "loop": tuple(get_type_hints(LoopOptions)),
    "runtime": tuple(get_type_hints(RuntimeOptions)),
    "batch": ("batch_size",),
}


def split(options: dict) -> dict[str, dict]:
    """``options`` by group (:data:`GROUPS`); a name of no group is a ``KeyError``."""
    groups: dict[str, dict] = {g: {} for g in GROUPS}
    home = {name: g for g, names in GROUPS.items() for name in names}
    for name, value in options.items():
        groups[home[name]][name] = value
    return groups
