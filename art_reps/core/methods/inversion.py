"""Representation inversion (Engstrom et al. 2019): images whose representation matches a target's."""
from __future__ import annotations

from typing import Literal

import torch
from typing_extensions import Unpack

from .. import objectives as O
from ..checks import check_images
from ..loop import Result
from ..options import RunOptions
from ..starts import check_start_kind, make_start
from .method import Batch, Call, Method, public, run

StartKind = Literal["noise", "super-noise", "light-noise", "uniform", "gray", "white", "black"]


@public
def invert(model, targets: torch.Tensor | None = None, *, layer: str, start: StartKind | torch.Tensor = "noise",
           representations: torch.Tensor | None = None, regularizer: O.Objective | None = None,
           **options: Unpack[RunOptions]) -> Result:
    """Representation inversion: images whose ``layer`` representation matches that of ``targets``.

    Minimises ``||R(x) - R(x_t)|| / ||R(x_t)||`` (+ ``regularizer``, a per-sample objective such as
    total variation) from ``start``. targets: (N, C, H, W) in [0, 1], or ``representations`` (N, ...)
    of the layer given directly (then ``start`` must be images); start: a kind (default Engstrom's
    noise) or (N or 1, C, H, W) images. ``options``: :mod:`art_reps.core.options`; their defaults
    are the recipe the results were measured with, ``METHODS["invert"].defaults()``: 300 normalised steps
    of 0.2 decaying linearly, the fake ReLU where the model has one.

    Examples:
        >>> import art_reps
        >>> model = art_reps.load_model("l2_eps1")
        >>> x = art_reps.data.digits_on_textures("test").images[:4]
        >>> res = art_reps.invert(model, x, layer="avgpool", steps=10, batch_size=2)
        >>> res.images.shape, res.losses.shape
        (torch.Size([4, 3, 32, 32]), torch.Size([4]))
    """
    return run(INVERSION, model, targets=targets, layer=layer, start=start, representations=representations,
               regularizer=regularizer, **options)


def _validate(call: Call) -> None:
    a = call.arguments
    if a["regularizer"] is not None and not isinstance(a["regularizer"], O.Objective):
        raise TypeError(f"regularizer must be an art_reps Objective, got {type(a['regularizer']).__name__}")
    check_start_kind(a["start"])


def _prepare(call: Call) -> Batch:
    a = call.arguments
    targets, reps, start = a["targets"], a["representations"], a["start"]
    if (targets is None) == (reps is None):
        raise ValueError("pass exactly one of targets (images) or representations (of the layer)")
    if targets is not None:
        check_images(targets, "targets", channels=call.representation.channels)
        shape = targets.shape
    else:
        if not isinstance(reps, torch.Tensor) or reps.dim() < 2 or not reps.is_floating_point():
            raise ValueError(f"representations must be a float tensor (N, ...), got {reps!r:.80}")
        if not isinstance(start, torch.Tensor):
            raise ValueError("with representations, start must be images (N, C, H, W): the images' size is unknown")
        shape = (len(reps), *start.shape[1:])
    first = make_start(start, shape, seed=call.seed, first=call.first,
                       dtype=torch.float32 if targets is None else targets.dtype)
    per_sample = {"start": first, **({"targets": targets} if targets is not None else {"representations": reps})}
    return Batch(shape[0], tuple(shape[1:]), per_sample, {"regularizer": a["regularizer"]})


def _objective(call: Call, chunk: dict) -> O.Objective:
    layer = call.arguments["layer"]
    if "targets" in chunk:
        reps = call.representation(chunk["targets"], name="targets")[layer]
    else:
        reps = chunk["representations"].to(call.device)
        width = call.representation(chunk["start"][:1], name="start")[layer][0].numel()
        if reps[0].numel() != width:
            raise ValueError(f"representations have {reps[0].numel()} values per sample but layer {layer!r} "
                             f"has {width}")
    objective = O.inversion(layer, reps)
    return objective if chunk["regularizer"] is None else objective + chunk["regularizer"]


INVERSION = Method(
    name="invert", summary="invert images' representations from noise (Engstrom et al.)", function=invert,
    prepare=_prepare, objective=_objective, validate=_validate, inputs=("targets",),
    per_sample=("representations",),
    recipe=lambda a: {"steps": 300, "step_size": 0.2, "schedule": "linear", "fake_relu": "auto"})
