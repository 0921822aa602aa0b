"""Per-sample objectives, minimised, composable by arithmetic.

An objective maps ``(activations: dict[layer, Tensor], images: (N, C, H, W))`` to a loss of
shape (N,). Activation objectives are negated so that minimising maximises the activation.

Examples:
    >>> obj = channel("layer3", 5) + 1e-2 * total_variation()
    >>> sorted(obj.layers)
    ['layer3']
"""
from __future__ import annotations

from collections.abc import Callable

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
        return Objective(lambda a, x: self(a, x) + other(a, x), self.layers | other.layers, f"{self.name} + {other.name}")

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


def _check_index(index, size, layer: str, what: str) -> None:
    """A clear error (before any step is taken: the first forward checks) for a feature outside the layer."""
    where = "the model's output" if layer == "" else f"layer {layer!r}"
    if isinstance(index, tuple):
        if len(index) != len(size) or any(not 0 <= i < n for i, n in zip(index, size)):
            raise ValueError(f"feature {index} is outside {where}, whose {what}s are indexed within {size}")
        return
    low, high = (int(index.min()), int(index.max())) if isinstance(index, torch.Tensor) else (index, index)
    if low < 0 or high >= size:
        raise ValueError(f"feature {index if isinstance(index, int) else (low, high)} is outside {where}, "
                         f"which has {size} {what}s (valid: 0 to {size - 1})")


def neuron(layer: str, index) -> Objective:
    """Minus one unit: ``index`` into the flattened activation (an int, or a (N,) tensor: one per
    sample) or a (c, y, x) tuple."""

    checked = False  # the index is checked on the first forward only: no host sync in later steps

    def fn(acts, images):
        nonlocal checked
        a = acts[layer]
        if not checked:
            _check_index(index, tuple(a.shape[1:]) if isinstance(index, tuple) else a[0].numel(), layer, "unit")
            checked = True
        if isinstance(index, tuple):
            return -a[(slice(None), *index)]
        if isinstance(index, torch.Tensor):
            return -a.flatten(1).gather(1, index.to(a.device).view(-1, 1)).squeeze(1)
        return -a.flatten(1)[:, index]

    return Objective(fn, [layer], f"neuron({layer!r}, {index if not isinstance(index, torch.Tensor) else '...'})")


def channel(layer: str, index) -> Objective:
    """Minus the mean of channel ``index`` (an int, or a (N,) tensor: one per sample) over every
    dimension after the channel dimension 1. On a (N, K) output such as logits, the channel is the
    column ``index``. On token layers (N, tokens, dim), dimension 1 is the token: to read a hidden
    unit averaged over tokens, use :func:`direction` with a one-hot vector of ``dim`` entries."""

    checked = False  # as in neuron()

    def fn(acts, images):
        nonlocal checked
        a = acts[layer]
        a = a.flatten(2).mean(2) if a.dim() > 2 else a
        if not checked:
            _check_index(index, a.shape[1], layer, "channel")
            checked = True
        if isinstance(index, torch.Tensor):
            return -a.gather(1, index.to(a.device).view(-1, 1)).squeeze(1)
        return -a[:, index]

    return Objective(fn, [layer], f"channel({layer!r}, {index if isinstance(index, int) else '...'})")


def direction(layer: str, vector: torch.Tensor) -> Objective:
    """Minus the projection onto ``vector``: of C entries, the channel means of (N, C, ...); of
    ``dim`` entries, the token means of a token layer (N, tokens, dim); else the flattened activation."""
    vector = vector.detach().flatten()
    vector = vector / vector.norm().clamp_min(1e-12)

    def fn(acts, images):
        a = acts[layer]
        if a.dim() > 2 and a.shape[1] == vector.numel():
            a = a.flatten(2).mean(2)
        elif a.dim() == 3 and a.shape[2] == vector.numel():
            a = a.mean(1)
        else:
            a = a.flatten(1)
        return -(a @ vector.to(a.device, a.dtype))

    return Objective(fn, [layer], f"direction({layer!r})")


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
