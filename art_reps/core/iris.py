"""Identically represented inputs (Nanda et al. 2022): the loss family that makes them, and
Feather et al.'s model metamers. Every loss is an objective handed to :func:`optimize`.

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
- ``'feather'``: ``reg`` with Adam and step halving (metamers); judge with :func:`metamer_success`.
"""
from __future__ import annotations

import math
import numbers

import torch

from . import objectives as O
from .checks import check_count, check_images, check_nonnegative, check_same_batch
from .chunks import in_chunks, resolve_batch_size
from .optimize import Result, linear_decay, piecewise, step_halving
from .state import with_autograd
from .tasks import _optimize, _representation, make_start

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
        raise ValueError("loss='adversarial' needs distance= (e.g. art_reps.metrics.distances.ssim_distance) and a reference")
    return reg - lam * O.image_distance(distance, reference, name="D(x, reference)")


@with_autograd
def iris(model, targets: torch.Tensor, *, layer: str, loss: str = "regularizer-free", start="super-noise",
         steps: int = 400, step_size: float | None = None, distance=None, lam="auto", reference: str = "target",
         l_tv: float = 1.0, l_alpha: float = 1.0, seed: int = 0, batch_size=None, **options) -> Result:
    """IRIs: from seeds ``start`` (a kind such as 'super-noise', 'light-noise', 'noise', 'white',
    'black', or images (N or 1, C, H, W)), inputs whose ``layer`` representation equals that of
    ``targets`` (N, C, H, W), made with IRI ``loss`` (see the module docstring). Each loss brings its
    own optimiser and schedule unless ``options`` say otherwise. ``batch_size`` as in
    :func:`art_reps.invert` (an automatic ``lam`` is taken once over all N seeds).

    Examples:
        >>> import art_reps
        >>> x = art_reps.data.digits_on_textures("test").images[:2]
        >>> res = iris(art_reps.load_model("l2_eps1"), x, layer="avgpool", loss="freq", steps=5)
        >>> res.images.shape
        torch.Size([2, 3, 32, 32])
    """
    check_images(targets, "targets")
    check_count(steps, "steps")
    seeds = make_start(start, targets.shape, device=targets.device, seed=seed, dtype=targets.dtype)
    check_same_batch(targets, seeds, "targets", "start")
    n = targets.shape[0]
    chunk = resolve_batch_size(batch_size, n, model, [layer], targets.shape[1:], options)
    target_reps = _representation(model, layer, options)(targets, name="targets")[layer]
    for key, value in recipe(loss, steps).items():
        options.setdefault(key, value)
    if step_size is not None:
        options["step_size"] = step_size
    ref = None
    if loss == "adversarial":
        if reference not in ("target", "seed"):
            raise ValueError(f"reference must be 'target' or 'seed', got {reference!r}")
        if reference == "seed" and lam == "auto":
            raise ValueError("lam='auto' balances against the distance to the target; with reference='seed' pass "
                             "a number (Nanda et al.'s *_seed variants use lam=-10: pull toward the seed)")
        ref = targets if reference == "target" else seeds
        if lam == "auto":
            lam = _balanced_lambda(model, layer, target_reps, seeds, distance, ref, options)
        elif isinstance(lam, bool) or not isinstance(lam, numbers.Real) or not math.isfinite(lam):
            raise ValueError(f"lam must be 'auto' or a finite number, got {lam!r}")
    if chunk < n:
        return in_chunks(n, chunk, lambda s: iris(model, targets[s], layer=layer, loss=loss, start=seeds[s],
                                                 steps=steps, distance=distance, lam=lam, reference=reference,
                                                 l_tv=l_tv, l_alpha=l_alpha, seed=seed, **options))
    objective = iri_objective(loss, layer, target_reps, distance=distance, reference=ref,
                              lam=float(lam) if loss == "adversarial" else 1.0, l_tv=l_tv, l_alpha=l_alpha)
    return _optimize(model, objective, seeds, steps=steps, seed=seed, **options)


def recipe(loss: str, steps: int) -> dict:
    """Each loss's optimiser: Mahendran's momentum and piecewise schedule (their 800/500/500/200/100
    split of the steps), Feather's Adam with the step halved eight times, else normalised steps
    decaying linearly (as :func:`invert`)."""
    if loss == "mahendran":
        parts = [(max(1, steps * k // 2100), v) for k, v in ((800, 1), (500, 0.1), (500, 0.01), (200, 1e-3), (100, 1e-4))]
        return {"step_size": 0.05, "optimizer": "momentum", "schedule": piecewise(*parts)}
    if loss == "feather":
        return {"step_size": 0.01, "optimizer": "adam", "schedule": step_halving(max(1, steps // 8))}
    return {"step_size": 0.05, "schedule": linear_decay(steps)}


def _balanced_lambda(model, layer, target_reps, seeds, distance, reference, options) -> float:
    """Nanda's automatic lambda: ``mean(reg) / mean(D)`` at the seeds, computed once."""
    if distance is None:
        raise ValueError("loss='adversarial' needs distance= (e.g. art_reps.metrics.distances.ssim_distance)")
    with torch.no_grad():
        reg = O.inversion(layer, target_reps)(_representation(model, layer, options)(seeds, name="start"), seeds)
        d = distance(seeds, reference)
    return float(reg.mean() / d.mean().clamp_min(1e-12))
