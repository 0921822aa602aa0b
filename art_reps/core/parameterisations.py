"""Parameterisations: what the optimiser moves, and how it becomes an image.

A parameterisation is called as ``param(start) -> (leaf, to_image)``: ``leaf`` is the tensor
optimised, ``to_image(leaf)`` gives (N, C, H, W) images in [0, 1], and the run begins *from*
``start`` (N, C, H, W): ``to_image(leaf)`` is ``start`` again, as far as the parameterisation can
express it. ``random_image(shape, draws, like)`` is its own random start (pixels: Engstrom's
noise; Fourier: Lucid's small random spectrum; MACO: random phases).

Examples:
    >>> x = torch.rand(2, 3, 16, 16) * 0.8 + 0.1
    >>> leaf, to_image = Fourier()(x)
    >>> bool((to_image(leaf) - x).abs().max() < 1e-4)      # Fourier starts from the image itself
    True
"""
from __future__ import annotations

import torch

from . import rng
from .starts import STARTS

# Colour correlations of natural images (square root of the RGB covariance), as in Lucid.
_COLOR_SQRT_COV = torch.tensor([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]])
_COLOR_SQRT_COV = _COLOR_SQRT_COV / _COLOR_SQRT_COV.norm(dim=0).max()
_SATURATION = 1e-4  # images are read into logits from [_SATURATION, 1 - _SATURATION]


def _frequency(h: int, w: int, device=None) -> torch.Tensor:
    """Each rfft2 coefficient's spatial frequency (H, W // 2 + 1), at least 1 / max(H, W) (no zero)."""
    fy = torch.fft.fftfreq(h, device=device)[:, None]
    fx = torch.fft.rfftfreq(w, device=device)[None, :]
    return torch.sqrt(fx ** 2 + fy ** 2).clamp_min(1.0 / max(h, w))


def _logit(images: torch.Tensor) -> torch.Tensor:
    """The inverse of the sigmoid every spectral parameterisation ends with."""
    return torch.logit(images.clamp(_SATURATION, 1 - _SATURATION))


class Pixel:
    """Optimise pixels directly, from the start images. Geometries project these pixels."""

    projectable = True

    def __call__(self, start: torch.Tensor):
        return start.detach().clone(), lambda leaf: leaf

    def random_image(self, shape, draws, like: torch.Tensor) -> torch.Tensor:
        images = torch.stack([STARTS["noise"](tuple(shape[1:]), g) for g in draws.generators])
        return images.to(like)

    def __repr__(self) -> str:
        return "Pixel()"


class Fourier:
    """Decorrelated Fourier parameterisation (Lucid): a spectrum scaled by 1/frequency^decay,
    through a colour-decorrelation matrix and a sigmoid. From a start image it begins at that
    image's own spectrum (exactly, up to pixels within 1e-4 of 0 or 1); its random start is a
    small random spectrum (standard deviation ``sd``)."""

    projectable = False

    def __init__(self, sd: float = 0.01, decay: float = 1.0, decorrelate: bool = True):
        self.sd, self.decay, self.decorrelate = sd, decay, decorrelate

    def _parts(self, shape, like: torch.Tensor):
        _, c, h, w = shape
        scale = 1.0 / _frequency(h, w, like.device).to(like.dtype) ** self.decay / 4.0  # Lucid's 4
        color = _COLOR_SQRT_COV.to(like.device, like.dtype) if self.decorrelate and c == 3 else None
        return scale, color, (h, w)

    def _to_image(self, shape, like):
        scale, color, size = self._parts(shape, like)

        def to_image(spectrum):
            img = torch.fft.irfftn(torch.view_as_complex(spectrum) * scale, s=size, norm="ortho")
            if color is not None:
                img = torch.einsum("nchw,dc->ndhw", img, color)
            return torch.sigmoid(img)

        return to_image

    def __call__(self, start: torch.Tensor):
        scale, color, size = self._parts(start.shape, start)
        img = _logit(start.detach())
        if color is not None:
            img = torch.einsum("nchw,dc->ndhw", img, torch.linalg.inv(color))
        leaf = torch.view_as_real(torch.fft.rfftn(img, s=size, norm="ortho") / scale).contiguous()
        return leaf, self._to_image(start.shape, start)

    def random_image(self, shape, draws, like: torch.Tensor) -> torch.Tensor:
        n, c, h, w = shape
        leaf = self.sd * rng.randn((n, c, h, w // 2 + 1, 2), draws, like)
        with torch.no_grad():
            return self._to_image(shape, like)(leaf)

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

    From a start image MACO takes that image's phase (where its edges and strokes are), with the
    magnitude fixed: it cannot reproduce the image's own amplitude spectrum, mean colour or
    contrast, so its first image is the start's structure at the data's typical contrast, not the
    start itself. Its random start draws each phase uniformly.

    Examples:
        >>> leaf, to_image = Maco()(torch.rand(2, 3, 16, 16))
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

    def __call__(self, start: torch.Tensor):
        _, c, h, w = start.shape
        phase = torch.angle(torch.fft.rfftn(_logit(start.detach()), s=(h, w), norm="ortho"))
        return phase.contiguous(), _PhaseToImage(self._magnitude(c, h, w, start), (h, w))

    def random_image(self, shape, draws, like: torch.Tensor) -> torch.Tensor:
        n, c, h, w = shape
        phase = (2 * rng.rand((n, c, h, w // 2 + 1), draws, like) - 1) * torch.pi
        with torch.no_grad():
            return _PhaseToImage(self._magnitude(c, h, w, like), (h, w))(phase)

    def __repr__(self) -> str:
        return f"Maco(magnitude={'1/f' if self.magnitude is None else tuple(self.magnitude.shape)})"


class _PhaseToImage:
    """Phases (N, C, H, W // 2 + 1) to images, summing the absolute gradient that reaches them."""

    def __init__(self, magnitude: torch.Tensor, size: tuple[int, int]):
        self.magnitude, self.size = magnitude, size
        self.transparency: torch.Tensor | None = None

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


PARAMETERISATIONS = ("pixel", "fourier", "maco")


def make_param(param="pixel"):
    """``'pixel'``, ``'fourier'``, ``'maco'`` (1/f magnitude) or a parameterisation object."""
    if isinstance(param, str):
        if param == "pixel":
            return Pixel()
        if param == "fourier":
            return Fourier()
        if param == "maco":
            return Maco()
    elif isinstance(param, (Pixel, Fourier, Maco)) or (callable(param) and hasattr(param, "random_image")):
        return param
    raise ValueError(f"param must be one of {PARAMETERISATIONS} or a parameterisation (a callable with "
                     f"random_image), got {param!r}")
