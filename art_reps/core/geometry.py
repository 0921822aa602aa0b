"""Where an optimised image may go, and how one step moves it.

Step size means the same thing in every geometry: the length of one step measured in that
geometry's own norm (L2 ball and unconstrained: ``||dx||_2 = step_size`` per sample; Linf
ball: ``||dx||_inf = step_size``, a sign step). Every geometry also keeps images in the
[0, 1] box.

Examples:
    >>> ball = L2Ball(0.5)
    >>> x0 = torch.rand(2, 3, 8, 8)
    >>> x = ball.project(x0 + ball.normalize(torch.randn_like(x0)), x0)
    >>> bool(((x - x0).flatten(1).norm(dim=1) <= 0.5 + 1e-6).all())
    True
"""
from __future__ import annotations

import math

import torch

from . import rng


def _per_sample_norm(t: torch.Tensor, p: float) -> torch.Tensor:
    """(N, ...) -> (N, 1, ..., 1) norms, broadcastable against ``t``."""
    return t.flatten(1).norm(p=p, dim=1).view(-1, *([1] * (t.dim() - 1)))


def _check_eps(eps) -> float:
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not math.isfinite(eps) or eps <= 0:
        raise ValueError(f"eps must be a finite number > 0, got {eps!r}")
    return float(eps)


class Geometry:
    """Unconstrained: only the [0, 1] box; steps are L2-normalised gradients."""

    name = "unconstrained"

    def normalize(self, grad: torch.Tensor) -> torch.Tensor:
        return grad / _per_sample_norm(grad, 2).clamp_min(1e-12)

    def project(self, x: torch.Tensor, x0: torch.Tensor) -> torch.Tensor:
        return x.clamp(0.0, 1.0)

    def random_start(self, x0: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return x0.clone()

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


Unconstrained = Geometry


class L2Ball(Geometry):
    """The L2 ball of radius ``eps`` around the start image, intersected with [0, 1]."""

    name = "l2"

    def __init__(self, eps: float):
        self.eps = _check_eps(eps)

    def project(self, x, x0):
        delta = x - x0
        delta = delta * (self.eps / _per_sample_norm(delta, 2).clamp_min(self.eps))
        return (x0 + delta).clamp(0.0, 1.0)

    def random_start(self, x0, generator=None):
        direction = self.normalize(rng.randn(x0.shape, generator, x0))
        radius = rng.rand((x0.shape[0],) + (1,) * (x0.dim() - 1), generator, x0)
        return (x0 + self.eps * radius * direction).clamp(0.0, 1.0)

    def __repr__(self) -> str:
        return f"L2Ball(eps={self.eps})"


class LinfBall(Geometry):
    """The Linf ball of radius ``eps`` around the start image, intersected with [0, 1]."""

    name = "linf"

    def __init__(self, eps: float):
        self.eps = _check_eps(eps)

    def normalize(self, grad):
        return grad.sign()

    def project(self, x, x0):
        return torch.min(torch.max(x, x0 - self.eps), x0 + self.eps).clamp(0.0, 1.0)

    def random_start(self, x0, generator=None):
        noise = rng.rand(x0.shape, generator, x0)
        return (x0 + self.eps * (2 * noise - 1)).clamp(0.0, 1.0)

    def __repr__(self) -> str:
        return f"LinfBall(eps={self.eps})"


def make_geometry(geometry: str | Geometry = "unconstrained", eps: float | None = None) -> Geometry:
    """``"unconstrained"``, ``"l2"`` or ``"linf"`` (with ``eps``), or a Geometry instance."""
    if isinstance(geometry, Geometry):
        return geometry
    if geometry == "unconstrained":
        if eps is not None:
            raise ValueError("eps is only meaningful with geometry='l2' or 'linf'")
        return Geometry()
    if geometry in ("l2", "linf"):
        if eps is None:
            raise ValueError(f"geometry={geometry!r} needs eps (the radius of the ball)")
        return L2Ball(eps) if geometry == "l2" else LinfBall(eps)
    raise ValueError(f"geometry must be 'unconstrained', 'l2', 'linf' or a Geometry, got {geometry!r}")
