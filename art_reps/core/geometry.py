"""Where an optimised image may go, and how one step moves it.

Step size means the same thing in every geometry: the length of one step measured in that
geometry's own norm (L2 ball and unconstrained: ``||dx||_2 = step_size`` per sample; Linf
ball: ``||dx||_inf = step_size``, a sign step). Every geometry also keeps images in a box,
[0, 1] unless ``box=(low, high)`` says otherwise (numbers, or tensors broadcastable to the images,
e.g. per-channel (1, C, 1, 1) bounds from an ART estimator's ``clip_values``).

Examples:
    >>> ball = L2Ball(0.5)
    >>> x0 = torch.rand(2, 3, 8, 8)
    >>> x = ball.project(x0 + ball.normalize(torch.randn_like(x0)), x0)
    >>> bool(((x - x0).flatten(1).norm(dim=1) <= 0.5 + 1e-6).all())
    True
"""
from __future__ import annotations

import torch

from . import rng
from .checks import check_positive


def _per_sample_norm(t: torch.Tensor, p: float) -> torch.Tensor:
    """(N, ...) -> (N, 1, ..., 1) norms, broadcastable against ``t``."""
    return t.flatten(1).norm(p=p, dim=1).view(-1, *([1] * (t.dim() - 1)))


def _check_box(box):
    if box is None:
        return 0.0, 1.0
    if not isinstance(box, (tuple, list)) or len(box) != 2:
        raise ValueError(f"box must be a (low, high) pair of numbers or tensors, got {box!r}")
    low, high = (b if isinstance(b, torch.Tensor) else float(b) for b in box)
    lo, hi = torch.as_tensor(low), torch.as_tensor(high)
    if not (torch.isfinite(lo).all() and torch.isfinite(hi).all()) or bool((lo < 0).any()) or bool((hi > 1).any()) \
            or bool((hi < lo).any()):
        raise ValueError(f"box must satisfy 0 <= low <= high <= 1 (images are in [0, 1]), got {box!r}")
    return low, high


class Geometry:
    """Unconstrained: only the box; steps are L2-normalised gradients."""

    name = "unconstrained"

    def __init__(self, box=None):
        self.box = _check_box(box)

    def clip(self, x: torch.Tensor) -> torch.Tensor:
        low, high = self.box
        if isinstance(low, float) and isinstance(high, float):
            return x.clamp(low, high)
        return torch.max(torch.min(x, torch.as_tensor(high).to(x)), torch.as_tensor(low).to(x))

    def normalize(self, grad: torch.Tensor) -> torch.Tensor:
        return grad / _per_sample_norm(grad, 2).clamp_min(1e-12)

    def project(self, x: torch.Tensor, centre: torch.Tensor) -> torch.Tensor:
        return self.clip(x)

    def random_start(self, centre: torch.Tensor, draws=None) -> torch.Tensor:
        return self.clip(centre)

    def _box_text(self) -> str:
        low, high = self.box
        return "" if isinstance(low, float) and isinstance(high, float) and (low, high) == (0.0, 1.0) else ", box=..."

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._box_text()[2:]})"


Unconstrained = Geometry


class L2Ball(Geometry):
    """The L2 ball of radius ``eps`` around the centre image, intersected with the box."""

    name = "l2"

    def __init__(self, eps: float, box=None):
        super().__init__(box)
        self.eps = check_positive(eps, "eps")

    def project(self, x, centre):
        delta = x - centre
        delta = delta * (self.eps / _per_sample_norm(delta, 2).clamp_min(self.eps))
        return self.clip(centre + delta)

    def random_start(self, centre, draws=None):
        direction = self.normalize(rng.randn(centre.shape, draws, centre))
        radius = rng.rand((centre.shape[0],) + (1,) * (centre.dim() - 1), draws, centre)
        return self.clip(centre + self.eps * radius * direction)

    def __repr__(self) -> str:
        return f"L2Ball(eps={self.eps}{self._box_text()})"


class LinfBall(Geometry):
    """The Linf ball of radius ``eps`` around the centre image, intersected with the box."""

    name = "linf"

    def __init__(self, eps: float, box=None):
        super().__init__(box)
        self.eps = check_positive(eps, "eps")

    def normalize(self, grad):
        return grad.sign()

    def project(self, x, centre):
        return self.clip(torch.min(torch.max(x, centre - self.eps), centre + self.eps))

    def random_start(self, centre, draws=None):
        noise = rng.rand(centre.shape, draws, centre)
        return self.clip(centre + self.eps * (2 * noise - 1))

    def __repr__(self) -> str:
        return f"LinfBall(eps={self.eps}{self._box_text()})"


GEOMETRIES = ("unconstrained", "l2", "linf")


def pgd_step_size(eps: float, steps: int) -> float:
    """The PGD step rule every attack here uses (Madry et al.): ``2.5 * eps / steps``, so that
    ``steps`` steps can cross the ball and back.

    Examples:
        >>> pgd_step_size(0.5, 10)
        0.125
    """
    return 2.5 * float(eps) / int(steps)


def make_geometry(geometry: str | Geometry = "unconstrained", eps: float | None = None, box=None) -> Geometry:
    """``"unconstrained"``, ``"l2"`` or ``"linf"`` (with ``eps``: a number, numpy scalar or
    one-element tensor), in ``box`` (default [0, 1]); or a Geometry instance, used as it is."""
    if isinstance(geometry, Geometry):
        if box is not None:
            raise ValueError("box is set by the Geometry instance: pass it to its constructor")
        return geometry
    if geometry == "unconstrained":
        if eps is not None:
            raise ValueError("eps is only meaningful with geometry='l2' or 'linf'")
        return Geometry(box)
    if geometry in ("l2", "linf"):
        if eps is None:
            raise ValueError(f"geometry={geometry!r} needs eps (the radius of the ball)")
        return L2Ball(eps, box) if geometry == "l2" else LinfBall(eps, box)
    raise ValueError(f"geometry must be one of {GEOMETRIES} or a Geometry, got {geometry!r}")
