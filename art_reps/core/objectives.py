"""Per-sample objectives, minimised, composable by arithmetic.

An objective maps ``(activations: dict[layer, Tensor], images: (N, C, H, W))`` to a loss of
shape (N,). Activation objectives are negated so that minimising maximises the activation.

Examples:
    >>> obj = channel("layer3", 5) + 1e-2 * total_variation()
    >>> sorted(obj.layers)
    ['layer3']
"""
from __future__ import annotations

import numbers
import typing
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F


class Objective:
    """A per-sample loss ``fn(acts, images) -> (N,)`` needing the activations of ``layers``."""

    def __init__(self, fn: Callable, layers=(), name: str = "objective"):
        self.fn = fn
        self.layers = frozenset(layers)
        self.name = name

    def __call__(self, acts: dict, images: torch.Tensor) -> torch.Tensor:
        return self.fn(acts, images)

    def __add__(self, other):
        if isinstance(other, (int, float)):
            return Objective(lambda a, x: self(a, x) + other, self.layers, f"{self.name} + {other}")
        other = _as_objective(other)
        return Objective(lambda a, x: self(a, x) + other(a, x), self.layers | other.layers,
                         f"{self.name} + {other.name}")

    __radd__ = __add__

    def __neg__(self):
        return Objective(lambda a, x: -self(a, x), self.layers, f"-({self.name})")

    def __sub__(self, other):
        return self + (-_as_objective(other) if isinstance(other, Objective) else -other)

    def __rsub__(self, other):
        return (-self) + other

    def __mul__(self, scale):
        if not isinstance(scale, (int, float)):
            raise TypeError(f"objectives are scaled by numbers, got {type(scale).__name__}")
        return Objective(lambda a, x: scale * self(a, x), self.layers, f"{scale} * {self.name}")

    __rmul__ = __mul__

    def __truediv__(self, scale):
        return self * (1.0 / scale)

    def __repr__(self) -> str:
        return f"Objective({self.name})"


def _as_objective(obj) -> Objective:
    if not isinstance(obj, Objective):
        raise TypeError(f"expected an Objective or a number, got {type(obj).__name__}")
    return obj


def _flat(t: torch.Tensor) -> torch.Tensor:
    return t.flatten(1)


def inversion(layer: str, target: torch.Tensor) -> Objective:
    """``||R(x) - R_t||_2 / ||R_t||_2`` per sample; ``target`` (N, ...) or (1, ...) representations."""
    target = _flat(target.detach())
    norm = target.norm(dim=1).clamp_min(1e-12)

    def fn(acts, images):
        return (_flat(acts[layer]) - target).norm(dim=1) / norm

    return Objective(fn, [layer], f"inversion({layer!r})")


class FeatureIndexError(ValueError):
    """A feature index outside the layer it reads (raised at the first forward, before any step)."""


def _where(layer: str) -> str:
    return "the model's output" if layer == "" else f"layer {layer!r}"


def _check_index(index, size, layer: str, what: str):
    """A clear error (before any step is taken: the first forward checks) for a feature outside the
    layer; a negative index counts from the end, as Python's and Captum's do. Returns the index with
    negatives made positive."""
    if isinstance(index, tuple) or (isinstance(index, torch.Tensor) and index.dim() == 2):
        rows = torch.as_tensor(index).view(-1, len(index) if isinstance(index, tuple) else index.shape[1])
        bound = torch.tensor(size) if rows.shape[1] == len(size) else None
        if bound is None or bool((rows < -bound).any()) or bool((rows >= bound).any()):
            shown = index if isinstance(index, tuple) else rows.tolist()
            raise FeatureIndexError(f"feature {shown} is outside {_where(layer)}, whose {what}s are indexed within "
                                    f"{size}")
        rows = rows % bound
        return tuple(int(i) for i in rows[0]) if isinstance(index, tuple) else rows.to(index.device)
    low, high = (int(index.min()), int(index.max())) if isinstance(index, torch.Tensor) else (index, index)
    if low < -size or high >= size:
        raise FeatureIndexError(f"feature {index if isinstance(index, int) else (low, high)} is outside "
                                f"{_where(layer)}, which has {size} {what}s (valid: 0 to {size - 1}, or -{size} "
                                "to -1 from the end)")
    return index % size


def check_known_width(index, kind: str, model: torch.nn.Module, layer: str) -> None:
    """Refuse, before any forward, a channel (or a unit of a linear layer) beyond ``layer``'s width
    where its module declares it (convolutions, linear and normalisation layers); other layers are
    checked at the first forward."""
    module = dict(model.named_modules()).get(layer) if layer else None
    linear = isinstance(module, torch.nn.Linear)
    width = getattr(module, "out_features" if linear else "out_channels", getattr(module, "num_features", None))
    if not isinstance(width, int) or kind == "direction" or (kind == "neuron" and not linear):
        return
    if isinstance(index, tuple) or (isinstance(index, torch.Tensor) and index.dim() == 2):
        return
    _check_index(index, width, layer, "unit" if linear else "channel")


def neuron(layer: str, index) -> Objective:
    """Minus one unit: ``index`` into the flattened activation (an int, or a (N,) tensor: one per
    sample), or a (c, y, x) tuple (or a (N, 3) tensor: one per sample)."""

    checked = False  # the index is checked on the first forward only: no host sync in later steps

    def fn(acts, images):
        nonlocal checked, index
        a = acts[layer]
        multi = isinstance(index, tuple) or (isinstance(index, torch.Tensor) and index.dim() == 2)
        if not checked:
            index = _check_index(index, tuple(a.shape[1:]) if multi else a[0].numel(), layer, "unit")
            checked = True
        if isinstance(index, tuple):
            return -a[(slice(None), *index)]
        if multi:  # one (c, y, x) per sample: its flat index
            dims = a.shape[1:]
            strides = torch.tensor([int(np.prod(dims[i + 1:])) for i in range(len(dims))], device=a.device)
            flat = (index.to(a.device) * strides).sum(1)
            return -a.reshape(len(a), -1).gather(1, flat.view(-1, 1)).squeeze(1)
        if isinstance(index, torch.Tensor):
            return -a.reshape(len(a), -1).gather(1, index.to(a.device).view(-1, 1)).squeeze(1)
        return -a.reshape(len(a), -1)[:, index]

    return Objective(fn, [layer], f"neuron({layer!r}, {index if not isinstance(index, torch.Tensor) else '...'})")


def channel(layer: str, index) -> Objective:
    """Minus the mean of channel ``index`` (an int, or a (N,) tensor: one per sample) over every
    dimension after the channel dimension 1. On a (N, K) output such as logits, the channel is the
    column ``index``. On token layers (N, tokens, dim), dimension 1 is the token: to read a hidden
    unit averaged over tokens, use :func:`direction` with a one-hot vector of ``dim`` entries."""

    checked = False  # as in neuron()

    def fn(acts, images):
        nonlocal checked, index
        a = acts[layer]
        a = a.flatten(2).mean(2) if a.dim() > 2 else a
        if not checked:
            index = _check_index(index, a.shape[1], layer, "channel")
            checked = True
        if isinstance(index, torch.Tensor):
            return -a.gather(1, index.to(a.device).view(-1, 1)).squeeze(1)
        return -a[:, index]

    return Objective(fn, [layer], f"channel({layer!r}, {index if isinstance(index, int) else '...'})")


def _direction_space(a: torch.Tensor, d: int, axis, layer: str) -> torch.Tensor:
    """The (N, d) vectors of ``a`` that a direction of ``d`` entries is read against."""
    if axis is None:  # a 3-d layer's last axis first: token layers (N, tokens, dim), also when tokens == dim
        if a.dim() == 3 and a.shape[2] == d:
            axis = -1
        elif a.dim() > 2 and a.shape[1] == d:
            axis = 1
        elif a[0].numel() == d:
            return a.reshape(len(a), -1)
        else:
            raise ValueError(f"a direction of {d} entries does not fit {_where(layer)} of shape {tuple(a.shape[1:])}: "
                             f"give one entry per channel ({a.shape[1]}), per hidden unit of a token layer "
                             f"({a.shape[-1]}) or per unit ({a[0].numel()})")
    if axis in (-1, a.dim() - 1) and a.dim() > 2:
        if a.shape[-1] != d:
            raise ValueError(f"a direction of {d} entries does not fit the last axis ({a.shape[-1]})"
                             f" of {_where(layer)}")
        return a.reshape(len(a), -1, d).mean(1)
    if axis == 1:
        if a.shape[1] != d:
            raise ValueError(f"a direction of {d} entries does not fit the {a.shape[1]} channels of {_where(layer)}")
        return a.flatten(2).mean(2) if a.dim() > 2 else a
    raise ValueError(f"axis must be None, 1 (channels) or -1 (a token layer's hidden units), got {axis!r}")


def direction(layer: str, vector: torch.Tensor, axis: int | None = None) -> Objective:
    """Minus the projection onto ``vector`` (D,), or one vector per sample (N, D), normalised: of C
    entries, the channel means of (N, C, ...) (``axis=1``); of ``dim`` entries, the token means of
    a token layer (N, tokens, dim) (``axis=-1``); else the flattened activation. ``axis=None``
    decides by shape and reads a 3-d layer's last axis first (so a token layer with as many tokens
    as hidden units is read along its hidden units); pass ``axis=1`` for (N, C, L) convolutions."""
    if not isinstance(vector, torch.Tensor) or not vector.is_floating_point() or vector.dim() not in (1, 2) \
            or vector.shape[-1] == 0 or not bool(torch.isfinite(vector).all()):
        raise ValueError("a direction must be a finite floating-point tensor of shape (D,) or (N, D)")
    vector = vector.detach()
    vector = vector / vector.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    d = vector.shape[-1]

    def fn(acts, images):
        a = _direction_space(acts[layer], d, axis, layer)
        v = vector.to(a.device, a.dtype)
        return -(a @ v) if v.dim() == 1 else -(a * v).sum(1)

    return Objective(fn, [layer], f"direction({layer!r})")


KINDS = ("channel", "neuron", "direction")
#: what selects a feature: an int, a (c, y, x) tuple, one per image (a list, array or tensor), or a direction tensor
Feature = typing.Union[int, tuple, list, np.ndarray, torch.Tensor]


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def feature_index(feature, kind: str = "channel", *, n: int | None = None, name: str = "feature"):
    """A feature as every method reads it, checked: an int (channel or flattened unit) or a
    (c, y, x) tuple with ``kind='neuron'``, one for every image; a list, 1-d integer tensor or numpy
    array of one index per image (``n`` of them; a single entry is one for every image; a column of
    labels is read as a list); with ``kind='direction'``, a (D,) or (N, D) float tensor. Returns an
    int, a tuple, or a tensor: (N,) long, (N, 3) long per-sample units, (D,) or (N, D) directions.

    Examples:
        >>> feature_index([3, 1, 2], n=3)
        tensor([3, 1, 2])
        >>> feature_index(np.int64(3))
        3
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if kind == "direction":
        if not isinstance(feature, torch.Tensor):
            raise TypeError(f"kind='direction' needs {name} as a tensor (the direction), got {type(feature).__name__}")
        if not feature.is_floating_point() or feature.dim() not in (1, 2) or feature.shape[-1] == 0:
            raise ValueError(f"a direction {name} must be a float tensor (D,) or one per image (N, D), "
                             f"got {feature.dtype} {tuple(feature.shape)}")
        if feature.dim() == 2 and n is not None and feature.shape[0] not in (1, n):
            raise ValueError(f"{name} has {feature.shape[0]} directions for {n} images: give one, or one per image")
        if not bool(torch.isfinite(feature).all()):
            raise ValueError(f"the direction {name} holds NaN or Inf")
        return feature[0] if feature.dim() == 2 and feature.shape[0] == 1 else feature.detach()
    if _is_int(feature):
        return int(feature)
    if kind == "neuron" and isinstance(feature, tuple):
        if not feature or not all(_is_int(f) for f in feature):
            raise TypeError(f"a neuron {name} tuple holds ints (c, y, x), got {feature!r}")
        return tuple(int(f) for f in feature)
    if isinstance(feature, (list, tuple, torch.Tensor)) or hasattr(feature, "__array__"):
        try:
            index = torch.as_tensor(np.asarray(feature) if hasattr(feature, "__array__") and
                                    not isinstance(feature, torch.Tensor) else feature)
        except (TypeError, ValueError, RuntimeError):
            index = None
        if index is not None and index.dim() == 2 and index.shape[1] == 1:  # a column of labels
            index = index[:, 0]
        if index is not None and kind == "neuron" and index.dim() == 2 and not index.is_floating_point() \
                and index.dtype != torch.bool:
            if n is not None and index.shape[0] not in (1, n):
                raise ValueError(f"{name} has {index.shape[0]} units for {n} images: give one, or one per image")
            return tuple(int(i) for i in index[0]) if index.shape[0] == 1 else index.long()
        if index is not None and index.dim() == 0 and not index.is_floating_point() and index.dtype != torch.bool:
            return int(index)
        if index is None or index.dim() != 1 or index.is_floating_point() or index.is_complex() \
                or index.dtype == torch.bool or len(index) == 0:
            raise TypeError(f"{name} must be an int or one int per image (a list or 1-d integer tensor), "
                            f"got {feature!r}")
        if len(index) == 1:  # one label for every image
            return int(index[0])
        if n is not None and len(index) != n:
            raise ValueError(f"{name} has {len(index)} labels for {n} images: give one per image or an int")
        return index.long()
    raise TypeError(f"{name} must be an int, one int per image, or a (c, y, x) tuple with kind='neuron', "
                    f"got {feature!r}")


def per_sample(index) -> bool:
    """Whether a :func:`feature_index` holds one feature per image (and is sliced with them)."""
    if not isinstance(index, torch.Tensor):
        return False
    return index.dim() == 2 or not index.is_floating_point()


def feature(layer: str, index, kind: str = "channel", axis: int | None = None) -> Objective:
    """Minus a feature of ``layer`` read as :func:`feature_index` gives it: :func:`channel`,
    :func:`neuron` or :func:`direction` (``axis`` for directions).

    Examples:
        >>> feature("layer3", feature_index([0, 5], n=2)).name
        "channel('layer3', ...)"
    """
    if kind == "direction":
        return direction(layer, index, axis)
    return (channel if kind == "channel" else neuron)(layer, index)


def feature_addition(layer: str, index, cap=1.0) -> Objective:
    """``relu(cap - R_i)``: pushes unit ``index`` up until it reaches ``cap`` (Engstrom et al.);
    index and cap: one for all samples, or (N,) tensors."""
    unit = neuron(layer, index)

    def fn(acts, images):
        r = -unit(acts, images)
        return F.relu(torch.as_tensor(cap, device=r.device, dtype=r.dtype) - r)

    return Objective(fn, unit.layers, f"feature_addition({layer!r}, {unit.name[len('neuron('):-1]})")


def closeness(reference: torch.Tensor) -> Objective:
    """Mean squared pixel difference to ``reference`` (N, C, H, W), per sample: keeps a result
    near its seed image (Hamblin et al.'s feature accentuation)."""
    reference = reference.detach()

    def fn(acts, images):
        return (images - reference.to(images)).pow(2).flatten(1).mean(1)

    return Objective(fn, [], "closeness")


def total_variation(beta: float = 2.0, per_pixel: bool = True) -> Objective:
    """``sum_pixels (dx^2 + dy^2)^(beta/2)`` per sample (Mahendran & Vedaldi, over the pixels that
    have both neighbours), or with ``per_pixel=False`` the power of the whole sum,
    ``(sum dy^2 + sum dx^2)^(beta/2)`` over every vertical and horizontal pair (Nanda et al.)."""

    def fn(acts, images):
        if not per_pixel:
            dy = (images[..., 1:, :] - images[..., :-1, :]).pow(2).flatten(1).sum(1)
            dx = (images[..., :, 1:] - images[..., :, :-1]).pow(2).flatten(1).sum(1)
            return (dy + dx + 1e-12).pow(beta / 2)
        dx = images[..., :-1, 1:] - images[..., :-1, :-1]
        dy = images[..., 1:, :-1] - images[..., :-1, :-1]
        squares = (dx ** 2 + dy ** 2).sum(1).flatten(1)
        return (squares + 1e-12).pow(beta / 2).sum(1)

    return Objective(fn, [], f"total_variation({beta}{'' if per_pixel else ', global'})")


def alpha_norm(alpha: float = 6.0, center: float = 0.5) -> Objective:
    """``sum |x - center|^alpha`` per sample."""
    return Objective(lambda a, x: (x - center).abs().pow(alpha).flatten(1).sum(1), [], f"alpha_norm({alpha})")


def blur_copy(images: torch.Tensor) -> torch.Tensor:
    """Each channel blurred by the 3x3 kernel [[.5, .5, .5], [.5, 1, .5], [.5, .5, .5]], renormalised
    at the borders (zero padding, divided by the weight that fell inside): Nanda et al.'s blur."""
    c = images.shape[1]
    kernel = torch.full((3, 3), 0.5, dtype=images.dtype, device=images.device)
    kernel[1, 1] = 1.0
    kernel = kernel.expand(c, 1, 3, 3)
    weight = F.conv2d(torch.ones_like(images[:1]), kernel, padding=1, groups=c)
    return F.conv2d(images, kernel, padding=1, groups=c) / weight


def blur() -> Objective:
    """``0.5 ||x - blur(x)||^2`` per sample, the blurred copy a constant (no gradient through it),
    with :func:`blur_copy`: pulls each pixel toward its neighbours (Nanda et al.'s ``BlurLoss``)."""

    def fn(acts, images):
        with torch.no_grad():
            blurred = blur_copy(images)
        return 0.5 * (images - blurred).pow(2).flatten(1).sum(1)

    return Objective(fn, [], "blur")


def p_norm(p: float = 6.0) -> Objective:
    """``||x||_p`` of each flattened image (Nanda et al.'s ``LpLoss``)."""
    return Objective(lambda a, x: x.flatten(1).norm(p=p, dim=1), [], f"||x||_{p:g}")


def image_distance(distance: Callable, reference: torch.Tensor, name: str = "distance") -> Objective:
    """``distance(x, reference) -> (N,)`` from any image distance (LPIPS, SSIM, a judge's features)."""
    reference = reference.detach()
    return Objective(lambda a, x: distance(x, reference.to(x.device)).reshape(x.shape[0]), [], name)
