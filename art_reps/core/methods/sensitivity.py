"""Sensitivity maps (Engstrom et al.; perceptually aligned gradients, Aggarwal et al. 2020)."""
from __future__ import annotations

from typing import Literal

import torch
from typing_extensions import Unpack

from .. import objectives as O
from ..options import ReadOptions
from .method import Batch, Call, Method, public, run


@public
def sensitivity(model, images: torch.Tensor, target: O.Feature, *, layer: str = "",
                kind: Literal["class", "channel", "neuron", "direction"] = "class", axis: int | None = None,
                **options: Unpack[ReadOptions]) -> torch.Tensor:
    """Gradient of a class logit (``layer=''``, target: an int or one label per image) or of a feature
    (``kind`` 'channel' / 'neuron' / 'direction' at ``layer``, target as
    :func:`art_reps.core.objectives.feature_index` reads it) with respect to the input. images:
    (N, C, H, W), usually in [0, 1] (any finite values: noise tunnels add noise; any (N, ...) input
    the model takes); reading options
    (``mean``, ``std``, ``fake_relu``, ``transform``) as in :class:`Representation`. Returns
    (N, C, H, W) on the images' device. The model is read in eval mode.

    Examples:
        >>> import art_reps
        >>> x = art_reps.data.digits_on_textures("test")
        >>> art_reps.sensitivity(art_reps.load_model("l2_eps1"), x.images[:3], x.labels[:3]).shape
        torch.Size([3, 3, 32, 32])
    """
    return run(SENSITIVITY, model, images=images, target=target, layer=layer, kind=kind, axis=axis, **options)


def _feature_kind(kind: str) -> str:
    if kind not in ("class", *O.KINDS):
        raise ValueError(f"kind must be 'class', 'channel', 'neuron' or 'direction', got {kind!r}")
    return "channel" if kind == "class" else kind


def _prepare(call: Call) -> Batch:
    a = call.arguments
    images = a["images"]
    if not isinstance(images, torch.Tensor) or not images.is_floating_point() or images.dim() < 2 or not len(images):
        raise ValueError(f"images must be a non-empty float tensor (N, C, H, W) (or (N, ...) for other inputs), got "
                         f"{tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__}")
    channels = call.representation.channels
    if channels is not None and images.dim() == 4 and images.shape[1] != channels:
        raise ValueError(f"images has {images.shape[1]} channels but the model expects {channels}: "
                         f"shape {tuple(images.shape)}")
    if not bool(torch.isfinite(images).all()):
        raise ValueError("images contains NaN or Inf values")
    index = O.feature_index(a["target"], _feature_kind(a["kind"]), n=len(images), name="target")
    per_sample: dict = {"images": images}
    shared: dict = {}
    (per_sample if O.per_sample(index) else shared)["target"] = index
    return Batch(len(images), tuple(images.shape[1:]), per_sample, shared)


def _objective(call: Call, chunk: dict) -> O.Objective:
    a = call.arguments
    return O.feature(a["layer"], chunk["target"], _feature_kind(a["kind"]), a["axis"])


SENSITIVITY = Method(
    name="sensitivity", summary="sensitivity maps: the input gradient of a class logit or a feature",
    function=sensitivity, prepare=_prepare, objective=_objective, optimises=False, inputs=("images",),
    labels="target")
