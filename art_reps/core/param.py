"""Parameterisations: what the optimiser moves, and how it becomes an image.

A parameterisation is called as ``param(start, generator) -> (leaf, to_image)`` where ``leaf``
is the tensor optimised and ``to_image(leaf)`` gives (N, C, H, W) images in [0, 1].

Examples:
    >>> leaf, to_image = Fourier()(torch.rand(2, 3, 16, 16), None)
    >>> to_image(leaf).shape
    torch.Size([2, 3, 16, 16])
"""
from __future__ import annotations

import torch

from . import rng

# Colour correlations of natural images (square root of the RGB covariance), as in Lucid.
_COLOR_SQRT_COV = torch.tensor([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]])
_COLOR_SQRT_COV = _COLOR_SQRT_COV / _COLOR_SQRT_COV.norm(dim=0).max()


class Pixel:
    """Optimise pixels directly, starting from ``start``. Geometries project these pixels."""

    projectable = True

    def __call__(self, start: torch.Tensor, generator=None):
        return start.detach().clone(), lambda leaf: leaf

    def __repr__(self) -> str:
        return "Pixel()"


class Fourier:
    """Decorrelated Fourier parameterisation (Lucid): a spectrum scaled by 1/frequency^decay,
    through a colour-decorrelation matrix and a sigmoid. ``start`` gives only shape and device."""

    projectable = False

    def __init__(self, sd: float = 0.01, decay: float = 1.0, decorrelate: bool = True):
        self.sd, self.decay, self.decorrelate = sd, decay, decorrelate

    def __call__(self, start: torch.Tensor, generator=None):
        n, c, h, w = start.shape
        fy = torch.fft.fftfreq(h, device=start.device)[:, None]
        fx = torch.fft.rfftfreq(w, device=start.device)[None, :]
        scale = 1.0 / torch.sqrt(fx ** 2 + fy ** 2).clamp_min(1.0 / max(h, w)) ** self.decay / 4.0  # Lucid's 4
        shape = (n, c, h, w // 2 + 1, 2)
        leaf = self.sd * rng.randn(shape, generator, start)
        color = _COLOR_SQRT_COV.to(start.device, start.dtype)

        def to_image(spectrum):
            img = torch.fft.irfftn(torch.view_as_complex(spectrum) * scale, s=(h, w), norm="ortho")
            if self.decorrelate and c == 3:
                img = torch.einsum("nchw,dc->ndhw", img, color)
            return torch.sigmoid(img)

        return leaf, to_image

    def __repr__(self) -> str:
        return f"Fourier(sd={self.sd}, decay={self.decay}, decorrelate={self.decorrelate})"


def make_param(param="pixel"):
    if param == "pixel":
        return Pixel()
    if param == "fourier":
        return Fourier()
    if isinstance(param, (Pixel, Fourier)) or callable(param):
        return param
    raise ValueError(f"param must be 'pixel', 'fourier' or a parameterisation, got {param!r}")
