"""Perceptual distances between image batches, differentiable, each ``d(x, y) -> (N,)``.

Offline defaults, no download: :func:`ssim_distance` and :func:`ms_ssim_distance` (1 - SSIM and
1 - MS-SSIM, from ``piq``) and :class:`JudgeDistance` (in the features of a shipped judge network,
which is not one of the models under test). :func:`lpips_distance` uses the ``lpips`` package when
its weights are on disk.

Examples:
    >>> x = torch.rand(2, 3, 32, 32)
    >>> ssim_distance(x, x).abs().max().item() < 1e-6
    True
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..core.checks import check_same_batch
from ..core import Representation

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001)  # the first three of Wang et al.'s five scales (32 px allow three)


def _checked(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    check_same_batch(x, y, "x", "y")
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    return x.clamp(0, 1), y.clamp(0, 1)


def ssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean SSIM (N,) of images x, y (N, C, H, W) in [0, 1] (``piq.ssim``: Gaussian window 11, sigma 1.5)."""
    import piq

    return piq.ssim(*_checked(x, y), data_range=1.0, reduction="none")


def ssim_distance(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``1 - SSIM(x, y)`` per image (N,): 0 for identical images."""
    return 1.0 - ssim(x, y)


def ms_ssim_distance(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``1 - MS-SSIM(x, y)`` per image (N,) (``piq.multi_scale_ssim``, window 5, the three scales
    that 32-pixel images allow, with Wang et al.'s weights renormalised)."""
    import piq

    w = torch.tensor(MS_SSIM_WEIGHTS, dtype=x.dtype, device=x.device)
    return 1.0 - piq.multi_scale_ssim(*_checked(x, y), data_range=1.0, reduction="none", kernel_size=5,
                                      scale_weights=w / w.sum())


class JudgeDistance:
    """Cosine distance ``1 - cos(f(x), f(y))`` (N,) between a judge network's features ``f``:
    by default its penultimate features (``layer='features'``, the vector its classifier reads),
    fixed before any measurement.

    Examples:
        >>> d = JudgeDistance()
        >>> x = torch.rand(2, 3, 32, 32)
        >>> d(x, x).abs().max().item() < 1e-6
        True
    """

    def __init__(self, model: nn.Module | str | None = None, layer: str = "features"):
        if model is None or isinstance(model, str):
            from ..zoo import JUDGE, load_model

            model = load_model(model or JUDGE)
        self.layer = layer
        self.rep = Representation(model, layer)

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        check_same_batch(x, y, "x", "y")
        fx, fy = self.rep(x, grad=True, name="x")[self.layer], self.rep(y, grad=True, name="y")[self.layer]
        return (1.0 - F.cosine_similarity(fx.flatten(1), fy.flatten(1), dim=1, eps=1e-10)).to(x.device)


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
