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


def _frequency(h: int, w: int, device=None) -> torch.Tensor:
    """Each rfft2 coefficient's spatial frequency (H, W // 2 + 1), at least 1 / max(H, W) (no zero)."""
    fy = torch.fft.fftfreq(h, device=device)[:, None]
    fx = torch.fft.rfftfreq(w, device=device)[None, :]
    return torch.sqrt(fx ** 2 + fy ** 2).clamp_min(1.0 / max(h, w))


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
        scale = 1.0 / _frequency(h, w, start.device) ** self.decay / 4.0  # Lucid's 4
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


class Maco:
    """Fel et al.'s magnitude-constrained parameterisation (MACO): only the phase of the image's
    Fourier spectrum is optimised; its magnitude stays ``magnitude`` (C, H, W // 2 + 1), a data
    set's mean amplitude spectrum (:func:`art_reps.data.mean_spectrum`), or with ``None`` the 1/f
    spectrum natural images share. The image is the inverse transform, standardised per channel
    and squashed into [0, 1] by a sigmoid. Its ``to_image`` sums the absolute gradient that reaches
    the image at every step: the run's ``Result.transparency`` (N, 1, H, W), normalised per image
    to [0, 1], shows where the objective reads the image (Fel et al.'s transparency map).

    Examples:
        >>> leaf, to_image = Maco()(torch.rand(2, 3, 16, 16), None)
        >>> image = to_image(leaf.requires_grad_(True))
        >>> image.sum().backward(); to_image.transparency.shape
        torch.Size([2, 1, 16, 16])
    """

    projectable = False

    def __init__(self, magnitude: torch.Tensor | None = None):
        if magnitude is not None:
            magnitude = torch.as_tensor(magnitude, dtype=torch.float32)
            if magnitude.dim() != 3 or not bool(torch.isfinite(magnitude).all()) or bool((magnitude < 0).any()):
                raise ValueError("magnitude must be a finite, non-negative (C, H, W // 2 + 1) spectrum, "
                                 f"got shape {tuple(magnitude.shape)}")
        self.magnitude = magnitude

    def _magnitude(self, c: int, h: int, w: int, like: torch.Tensor) -> torch.Tensor:
        if self.magnitude is None:
            return (1.0 / _frequency(h, w)).expand(c, -1, -1).to(like)
        if self.magnitude.shape != (c, h, w // 2 + 1):
            raise ValueError(f"magnitude has shape {tuple(self.magnitude.shape)}, but images of {c}x{h}x{w} need "
                             f"{(c, h, w // 2 + 1)}")
        return self.magnitude.to(like)

    def __call__(self, start: torch.Tensor, generator=None):
        n, c, h, w = start.shape
        magnitude = self._magnitude(c, h, w, start)
        phase = (2 * rng.rand((n, c, h, w // 2 + 1), generator, start) - 1) * torch.pi
        return phase, _PhaseToImage(magnitude, (h, w))

    def __repr__(self) -> str:
        return f"Maco(magnitude={'1/f' if self.magnitude is None else tuple(self.magnitude.shape)})"


class _PhaseToImage:
    """Phases (N, C, H, W // 2 + 1) to images, summing the absolute gradient that reaches them."""

    def __init__(self, magnitude: torch.Tensor, size: tuple[int, int]):
        self.magnitude, self.size, self.transparency = magnitude, size, None

    def __call__(self, phase: torch.Tensor) -> torch.Tensor:
        image = torch.fft.irfftn(torch.polar(self.magnitude.expand_as(phase), phase), s=self.size, norm="ortho")
        image = (image - image.mean((2, 3), keepdim=True)) / (image.std((2, 3), keepdim=True) + 1e-8)
        image = torch.sigmoid(image)
        if image.requires_grad:
            image.register_hook(self._accumulate)
        return image

    def _accumulate(self, grad: torch.Tensor) -> None:
        step = grad.detach().abs().sum(1, keepdim=True)
        self.transparency = step if self.transparency is None else self.transparency + step


def make_param(param="pixel"):
    if param == "pixel":
        return Pixel()
    if param == "fourier":
        return Fourier()
    if param == "maco":
        return Maco()
    if isinstance(param, (Pixel, Fourier, Maco)) or callable(param):
        return param
    raise ValueError(f"param must be 'pixel', 'fourier', 'maco' or a parameterisation, got {param!r}")
