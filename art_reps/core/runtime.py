"""How a run executes, apart from what it computes: mixed precision, memory layout, compilation
and a progress bar. One object, so :func:`~art_reps.core.optimize` keeps the arguments that say
what is optimised and how it steps.

Examples:
    >>> Runtime(autocast=torch.bfloat16).amp(torch.device("cpu")).fast_dtype
    torch.bfloat16
    >>> Runtime(compile="max-autotune")
    Traceback (most recent call last):
    ...
    TypeError: compile must be True, False or a dict of torch.compile arguments, got 'max-autotune'
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import torch


def bar_disabled(progress: bool) -> bool:
    """Whether a progress bar stays hidden: ``progress`` False, or tqdm's ``TQDM_DISABLE`` set in the
    environment (tqdm lets an explicit ``disable=`` win over it, so every bar here asks this).

    Examples:
        >>> bar_disabled(False)
        True
    """
    return not progress or os.environ.get("TQDM_DISABLE", "").strip().lower() not in ("", "0", "false", "no")


def bar(iterable=None, *, show: bool = True, **kwargs):
    """A tqdm progress bar (hidden where :func:`bar_disabled`): a notebook widget where ipywidgets is
    installed, else tqdm's plain text bar, never tqdm's "IProgress not found" warning.

    Examples:
        >>> sum(bar(range(3), show=False))
        3
    """
    return _BAR(iterable, disable=bar_disabled(show), **kwargs)


try:  # tqdm.auto's notebook bar needs ipywidgets; outside a notebook it is the plain bar anyway
    import ipywidgets  # noqa: F401
    from tqdm.auto import tqdm as _BAR
except ImportError:
    from tqdm.std import tqdm as _BAR


@dataclass(frozen=True)
class Runtime:
    """``autocast``: ``True`` for bfloat16 on CPU (slow on CPUs without bf16 units) and float16 on
    CUDA, or the dtype itself (``torch.float16`` or ``torch.bfloat16``); the loss stays float32.
    ``channels_last=True`` steps images in that layout (faster for some models, slower for others:
    ``benchmarks/step_cost.py`` measures it), ``False`` in the layout of the start; ``"auto"`` (the
    default) on CUDA times a few steps in both layouts at the first call for a model and input
    shape and keeps the faster (:mod:`art_reps.core.memory_layout`); on the CPU it keeps the start's.
    ``compile``: ``True`` or a dict of :func:`torch.compile` arguments (e.g. ``{"mode":
    "reduce-overhead"}`` for CUDA graphs) compiles the forward and the objective, once per process
    for a given shape. ``progress`` (the default) shows a bar on runs longer than a few seconds."""

    autocast: bool | torch.dtype = False
    channels_last: bool | str = "auto"
    compile: bool | dict = False
    progress: bool = True

    def __post_init__(self):
        if not (isinstance(self.channels_last, bool) or self.channels_last == "auto"):
            raise TypeError(f"channels_last must be True, False or 'auto', got {self.channels_last!r}")
        if not (isinstance(self.autocast, bool) or self.autocast in (torch.float16, torch.bfloat16)):
            raise TypeError(f"autocast must be True, False, torch.float16 or torch.bfloat16, got {self.autocast!r}")
        if not isinstance(self.progress, bool):
            raise TypeError(f"progress must be True or False, got {self.progress!r}")
        if not isinstance(self.compile, (bool, dict)):
            raise TypeError(f"compile must be True, False or a dict of torch.compile arguments, got {self.compile!r}")

    def amp(self, device: torch.device):
        """The autocast context for ``device`` (a null context without mixed precision)."""
        dtype = self.autocast
        if dtype is True:
            dtype = torch.bfloat16 if device.type == "cpu" else torch.float16
        return torch.autocast(device.type, dtype=dtype) if dtype else contextlib.nullcontext()
