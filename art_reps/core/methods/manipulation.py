"""Feature manipulation (Engstrom et al. 2019): add a feature to images within a small ball."""
from __future__ import annotations

import numbers

import torch
from typing_extensions import Unpack

from .. import objectives as O
from ..checks import check_images
from ..loop import Result
from ..options import RunOptions
from .method import Batch, Call, Method, public, run


@public
def manipulate(model, images: torch.Tensor, *, layer: str, feature: O.Feature, cap: float | torch.Tensor = 1.0,
               **options: Unpack[RunOptions]) -> Result:
    """Feature addition: raise unit ``feature`` of ``layer`` (flattened index, or a (c, y, x) tuple)
    up to ``cap`` within a ball around ``images`` (N, C, H, W) (Engstrom et al.'s
    ``min(R_i - cap, 0)``). feature and cap: one for all images, or (N,) tensors (one per image).
    Defaults, ``METHODS["manipulate"].defaults()``: an L2 ball of radius 2, 200 normalised steps of 0.1, the
    fake ReLU where the model has one.

    Examples:
        >>> import art_reps
        >>> x = art_reps.data.digits_on_textures("test").images[:2]
        >>> res = art_reps.manipulate(art_reps.load_model("l2_eps1"), x, layer="avgpool", feature=7, steps=10)
        >>> bool(((res.images - x).flatten(1).norm(dim=1) <= 2.0 + 1e-4).all())
        True
    """
    return run(MANIPULATION, model, images=images, layer=layer, feature=feature, cap=cap, **options)


def _validate(call: Call) -> None:
    a = call.arguments
    index = O.feature_index(a["feature"], "neuron")
    O.check_known_width(index, "neuron", call.representation.model, a["layer"])
    cap = a["cap"]
    if not isinstance(cap, torch.Tensor) and (isinstance(cap, bool) or not isinstance(cap, numbers.Real)):
        raise ValueError(f"cap must be a number or an (N,) float tensor (one per image), got {cap!r}")


def _prepare(call: Call) -> Batch:
    a = call.arguments
    images = check_images(a["images"], "images", channels=call.representation.channels)
    n = len(images)
    index = O.feature_index(a["feature"], "neuron", n=n)
    cap = a["cap"]
    if isinstance(cap, torch.Tensor) and cap.numel() == 1:
        cap = cap.item()
    if isinstance(cap, torch.Tensor):
        if cap.shape != (n,) or not cap.is_floating_point() or not bool(torch.isfinite(cap).all()):
            raise ValueError(f"cap must be a number or a ({n},) float tensor, got {cap.dtype} {tuple(cap.shape)}")
    elif isinstance(cap, bool) or not isinstance(cap, numbers.Real):
        raise ValueError(f"cap must be a number or a ({n},) float tensor, got {cap!r}")
    per_sample: dict = {"start": images}
    shared: dict = {}
    (per_sample if O.per_sample(index) else shared)["feature"] = index
    per_cap = isinstance(cap, torch.Tensor)
    (per_sample if per_cap else shared)["cap"] = cap if per_cap else float(cap)
    return Batch(n, tuple(images.shape[1:]), per_sample, shared)


def _objective(call: Call, chunk: dict) -> O.Objective:
    return O.feature_addition(call.arguments["layer"], chunk["feature"], chunk["cap"])


MANIPULATION = Method(
    name="manipulate", summary="add a feature to images within an L2 ball (Engstrom et al.)", function=manipulate,
    prepare=_prepare, objective=_objective, validate=_validate, inputs=("images",),
    recipe=lambda a: {"geometry": "l2", "eps": 2.0, "steps": 200, "step_size": 0.1, "fake_relu": "auto"})
