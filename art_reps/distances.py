"""Perceptual distances between image batches, differentiable, each ``d(x, y) -> (N,)``.

Offline defaults, no download: :func:`ssim_distance` (1 - SSIM) and :class:`JudgeDistance`
(an LPIPS-style distance in the features of the shipped judge network, which is not one of the
models under test). :func:`lpips_distance` uses the ``lpips`` package when its weights are on disk.

Example:
    >>> x = torch.rand(2, 3, 32, 32)
    >>> ssim_distance(x, x).abs().max().item() < 1e-6
    True
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .core.checks import check_same_batch
from .core.representation import Representation


def _gaussian_window(size: int, sigma: float, channels: int, like: torch.Tensor) -> torch.Tensor:
    r = torch.arange(size, dtype=like.dtype, device=like.device) - (size - 1) / 2
    g = torch.exp(-r ** 2 / (2 * sigma ** 2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).expand(channels, 1, size, size).contiguous()


def ssim(x: torch.Tensor, y: torch.Tensor, *, window: int = 11, sigma: float = 1.5, data_range: float = 1.0
         ) -> torch.Tensor:
    """Mean SSIM (N,) of images x, y (N, C, H, W) (Wang et al. 2004: Gaussian window, K1 0.01, K2 0.03,
    valid region only, as ``skimage.metrics.structural_similarity(gaussian_weights=True)``)."""
    check_same_batch(x, y, "x", "y")
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    c = x.shape[1]
    w = _gaussian_window(window, sigma, c, x)
    mu_x, mu_y = F.conv2d(x, w, groups=c), F.conv2d(y, w, groups=c)
    xx, yy, xy = (F.conv2d(a * b, w, groups=c) for a, b in ((x, x), (y, y), (x, y)))
    n = window * window
    cov = n / (n - 1)  # sample covariance, as skimage's default
    var_x, var_y, cov_xy = cov * (xx - mu_x ** 2), cov * (yy - mu_y ** 2), cov * (xy - mu_x * mu_y)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    s = ((2 * mu_x * mu_y + c1) * (2 * cov_xy + c2)) / ((mu_x ** 2 + mu_y ** 2 + c1) * (var_x + var_y + c2))
    return s.flatten(1).mean(1)


def ssim_distance(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``1 - SSIM(x, y)`` per image (N,): 0 for identical images."""
    return 1.0 - ssim(x, y)


class JudgeDistance:
    """LPIPS-style distance in a network's features: at each of ``layers``, unit-normalise every
    pixel's feature vector, average the squared difference over pixels; sum over layers.

    Default: the shipped ``judge`` (a VGG-style JudgeNet: another architecture and seed than the
    models under test) at its two deepest ReLUs, where the features describe the digit rather than
    the texture behind it (at its shallow layers every IRI of a noise seed is nearer the seed).

    Example:
        >>> d = JudgeDistance()
        >>> x = torch.rand(2, 3, 32, 32)
        >>> d(x, x).tolist()
        [0.0, 0.0]
    """

    LAYERS = ("features.12", "features.16")

    def __init__(self, model: nn.Module | None = None, layers=None):
        if model is None:
            from .zoo import JUDGE, load_model

            model = load_model(JUDGE)
        self.layers = tuple(layers or self.LAYERS)
        self.rep = Representation(model, self.layers)

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        check_same_batch(x, y, "x", "y")
        fx, fy = self.rep(x, grad=True, name="x"), self.rep(y, grad=True, name="y")
        total = 0.0
        for layer in self.layers:
            a, b = F.normalize(fx[layer], dim=1, eps=1e-10), F.normalize(fy[layer], dim=1, eps=1e-10)
            total = total + (a - b).pow(2).sum(1).flatten(1).mean(1)
        return total.to(x.device)


def lpips_distance(net: str = "alex", **kwargs):
    """The ``lpips`` package's distance (Zhang et al. 2018) when it and its weights are available
    locally; ``kwargs`` go to ``lpips.LPIPS``. Inputs in [0, 1] are mapped to [-1, 1]."""
    try:
        import lpips
    except ImportError as e:
        raise ImportError("lpips_distance needs the 'lpips' package (pip install lpips) and its weights on disk; "
                          "offline alternatives: ssim_distance and JudgeDistance()") from e
    try:
        model = lpips.LPIPS(net=net, verbose=False, **kwargs).eval()
    except Exception as e:  # lpips fetches torchvision backbone weights on first use
        raise RuntimeError(f"lpips.LPIPS(net={net!r}) could not load its weights ({e}); put them in the torch hub "
                           "cache or pass pretrained=False with model_path=..., or use ssim_distance / JudgeDistance")
    for p in model.parameters():
        p.requires_grad_(False)
    return lambda x, y: model(2 * x - 1, 2 * y - 1).flatten()
