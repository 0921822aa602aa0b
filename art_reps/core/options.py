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
from dataclasses import dataclass
from typing import Any, Literal, TypedDict, get_type_hints

import torch

from .geometry import GEOMETRIES, Geometry
from .parameterisations import PARAMETERISATIONS
from .schedules import SCHEDULES

OPTIMIZERS = ("sgd", "momentum", "adam")


class ReadingOptions(TypedDict, total=False):
    """How the model is read: ``mean``/``std`` per channel, a differentiable ``transform`` applied
    first, the fake ReLU (``True``, ``'auto'``, ``False`` or module names), ``keep_mode`` and the
    model's further positional arguments ``forward_args`` (:class:`~art_reps.core.Representation`)."""

    mean: Sequence[float] | torch.Tensor | None
    std: Sequence[float] | torch.Tensor | None
    transform: Callable[[torch.Tensor], torch.Tensor] | None
    fake_relu: bool | str | Sequence[str]
    keep_mode: bool
    forward_args: tuple


class LoopOptions(TypedDict, total=False):
    """How the loop steps: the types here, each option's default and meaning in :data:`LOOP`."""

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


@dataclass(frozen=True)
class Option:
    """A shared option's default and meaning (its type is its TypedDict's annotation); ``choices``
    and ``kind`` (int or float) for a command line, ``cli=False`` for Python callers only."""

    default: Any
    help: str
    choices: tuple | None = None
    kind: type | None = None
    cli: bool = True


#: Every loop option, declared once: :class:`~art_reps.core.loop.Settings`, :func:`~art_reps.core.optimize`,
#: the adapters and the command line read their defaults and help here; a method's recipe overrides the defaults.
LOOP: dict[str, Option] = {
    "steps": Option(200, "number of steps", kind=int),
    "step_size": Option(0.05, "a step's length in the geometry's norm (Adam: its learning rate), times the schedule",
                        kind=float),
    "geometry": Option("unconstrained", "where images may go: anywhere in the box, or a ball of radius eps "
                                        "('l2', 'linf') around the start", choices=GEOMETRIES),
    "eps": Option(None, "radius of the ball", kind=float),
    "box": Option(None, "pixel bounds (low, high): numbers or per-channel tensors (default [0, 1])", cli=False),
    "optimizer": Option("sgd", "'sgd' and 'momentum' take normalised steps, 'adam' uses step_size as its "
                               "learning rate", choices=OPTIMIZERS),
    "schedule": Option(None, "the step size's factor at step t: a name or a callable (default constant)",
                       choices=tuple(sorted(SCHEDULES))),
    "param": Option("pixel", "pixels, Lucid's Fourier or MACO, each beginning from the start as far as it can "
                             "('maco' takes the embedded training images' spectrum)", choices=PARAMETERISATIONS),
    "restarts": Option(0, "extra runs from random starts in the ball (or the parameterisation's own)", cli=False),
    "random_start": Option(False, "True begins at a random point of the ball; images (N, C, H, W) at that point",
                           cli=False),
    "use_best": Option(True, "return each sample's best iterate (else the last)", cli=False),
    "tol": Option(None, "stop once every sample's best loss is below it (checked every 10 steps)", cli=False),
    "seed": Option(0, "seeds one random generator per sample: the same draws on any device and in any batch",
                   cli=False),
    "first": Option(0, "the index of the call's first sample in a run cut into calls (its draws are those "
                       "samples' draws)", cli=False),
}


def loop_defaults() -> dict:
    """Each loop option's default (:data:`LOOP`)."""
    return {name: option.default for name, option in LOOP.items()}


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
