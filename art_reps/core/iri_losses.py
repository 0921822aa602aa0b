"""The losses that make identically represented inputs (Nanda et al. 2022) and Feather et al.'s
model metamers, each an objective; :func:`art_reps.core.iris` runs them.

Losses (``target`` is the target representation, ``reg`` = ``||R(x) - R(x_t)|| / ||R(x_t)||``):

- ``'regularizer-free'``: ``reg`` (Nanda's ``LPNormLossSingleModel``).
- ``'mahendran'``: ``reg^2 + l_tv TV^2(x) / (H W V^2) + l_alpha sum|x - 0.5|^6 / (H W B^6)`` with
  B = 0.5, V = B / 6.5: each prior about 1 on a typical image (Mahendran & Vedaldi 2015, Sec. 3.3),
  ``l_tv`` and ``l_alpha`` 1 unless given; momentum 0.9 and their piecewise step schedule.
- Nanda's hand-made "human priors" (their ``LOSSES_MAPPING``): ``'freq'`` = 10 reg + 5e-4 TV +
  5e-4 blur + 5e-5 L1(x - 0.5); ``'freq_tv'``, ``'freq_blur'``, ``'freq_lp'`` = 10 reg plus that one
  term with the same weight; ``'freq_tv_l6'`` = 10 reg + 5e-4 TV + ||x||_6. TV is the power of the
  whole sum (:func:`objectives.total_variation` with ``per_pixel=False``), blur is
  :func:`objectives.blur`.
- ``'adversarial'``: ``reg - lam D(x, reference)``: match the representation while pushing a
  perceptual distance D away from the target image. ``lam='auto'`` balances the two once, at the
  seed, as ``mean(reg) / mean(D(seed, target))`` (Nanda's ``adv_*_imagenet``). ``reference='seed'``
  with ``lam < 0`` pulls the IRI toward its seed instead (Nanda's ``*_seed`` variants use
  ``lam = -10``); it needs a number, since D(seed, seed) = 0 leaves nothing to balance.
- ``'feather'``: ``reg`` with Adam and step halving (metamers); judge with
  :func:`art_reps.metrics.metamer_success`.
"""
from __future__ import annotations

import torch

from . import objectives as O
from .checks import check_nonnegative

LOSSES = ("regularizer-free", "mahendran", "freq", "freq_tv", "freq_blur", "freq_lp", "freq_tv_l6", "adversarial",
          "feather")
HUMAN_PRIORS = {  # (reg, TV, blur, L1, ||x||_6): Nanda et al.'s weights
    "freq": (10.0, 5e-4, 5e-4, 5e-5, 0.0),
    "freq_tv": (10.0, 5e-4, 0.0, 0.0, 0.0),
    "freq_blur": (10.0, 0.0, 5e-4, 0.0, 0.0),
    "freq_lp": (10.0, 0.0, 0.0, 5e-5, 0.0),
    "freq_tv_l6": (10.0, 5e-4, 0.0, 0.0, 1.0),
}


def _mahendran(reg: O.Objective, l_tv: float, l_alpha: float) -> O.Objective:
    b = 0.5
    v = b / 6.5
    tv, alpha = O.total_variation(2.0), O.alpha_norm(6.0, center=0.5)

    def fn(acts, x):
        pixels = x.shape[-1] * x.shape[-2]
        return (reg(acts, x) ** 2 + l_tv / (pixels * v ** 2) * tv(acts, x)
                + l_alpha / (pixels * b ** 6) * alpha(acts, x))

    return O.Objective(fn, reg.layers, f"mahendran({reg.name}, l_tv={l_tv}, l_alpha={l_alpha})")


def iri_objective(loss: str, layer: str, target_reps: torch.Tensor, *, distance=None,
                  reference: torch.Tensor | None = None, lam: float = 1.0, l_tv: float = 1.0,
                  l_alpha: float = 1.0) -> O.Objective:
    """The objective of IRI ``loss`` (one of ``LOSSES``) for target representations (N, ...).
    ``l_tv`` and ``l_alpha`` weigh Mahendran's priors; ``distance``, ``reference`` and ``lam`` are for
    ``'adversarial'`` (see the module docstring).

    Examples:
        >>> obj = iri_objective("mahendran", "avgpool", torch.ones(2, 128), l_tv=10.0)
        >>> obj({"avgpool": torch.ones(2, 128)}, torch.full((2, 3, 8, 8), 0.5)).abs().max() < 1e-6
        tensor(True)
    """
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    reg = O.inversion(layer, target_reps)
    if loss in ("regularizer-free", "feather"):
        return reg
    if loss == "mahendran":
        return _mahendran(reg, check_nonnegative(l_tv, "l_tv"), check_nonnegative(l_alpha, "l_alpha"))
    if loss in HUMAN_PRIORS:
        w_reg, w_tv, w_blur, w_l1, w_l6 = HUMAN_PRIORS[loss]
        terms = [(w_tv, O.total_variation(2.0, per_pixel=False)), (w_blur, O.blur()),
                 (w_l1, O.alpha_norm(1.0, center=0.5)), (w_l6, O.p_norm(6.0))]
        return sum((w * t for w, t in terms if w), w_reg * reg)
    if distance is None or reference is None:
        raise ValueError("loss='adversarial' needs distance= (e.g. art_reps.metrics.distances.ssim_distance) "
                         "and a reference")
    return reg - lam * O.image_distance(distance, reference, name="D(x, reference)")
