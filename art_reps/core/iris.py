"""Identically represented inputs (Nanda et al. 2022): the loss family that makes them, and
Feather et al.'s model metamers. Every loss is an objective handed to :func:`optimize`.

Losses (``target`` is the target representation, ``reg`` = ``||R(x) - R(x_t)|| / ||R(x_t)||``):

- ``'regularizer-free'``: ``reg`` (Nanda's ``LPNormLossSingleModel``).
- ``'mahendran'``: ``reg^2 + l_tv TV^2(x) / (H W V^2) + l_a sum|x - 0.5|^6 / (H W B^6)`` with B = 0.5,
  V = B / 6.5: each prior about 1 on a typical image (Mahendran & Vedaldi 2015, Sec. 3.3);
  momentum 0.9 and their piecewise step schedule.
- Nanda's hand-made "human priors": ``'freq'`` = 10 reg + 5e-4 TV + 5e-4 blur + 5e-5 L1(x - 0.5),
  ``'freq_tv'``, ``'freq_blur'``, ``'freq_lp'`` (reg plus one term), ``'freq_tv_l6'`` = 10 reg + 5e-4 TV
  + ||x||_6 (TV over the whole image, as theirs).
- ``'adversarial'``: ``reg - lam D(x, reference)``: match the representation while pushing a
  perceptual distance D away from the target image (``reference='seed'`` with ``lam < 0`` pulls it
  toward the seed instead). ``lam='auto'`` balances the two once, at the seed, as
  ``mean(reg) / mean(D)``.
- ``'feather'``: ``reg`` with Adam and step halving (metamers); judge with :func:`metamer_success`.
"""
from __future__ import annotations

import math
import numbers

import torch

from . import objectives as O
from .checks import check_count, check_images, check_same_batch
from .chunks import in_chunks, resolve_batch_size
from .optimize import Result, linear_decay, optimize, piecewise, step_halving
from .tasks import _representation, make_start

LOSSES = ("regularizer-free", "mahendran", "freq", "freq_tv", "freq_blur", "freq_lp", "freq_tv_l6", "adversarial",
          "feather")
HUMAN_PRIORS = {
    "freq": (10.0, 5e-4, 5e-4, 5e-5, 0.0),  # (reg, TV, blur, L1, ||x||_6)
    "freq_tv": (1.0, 5e-4, 0.0, 0.0, 0.0),
    "freq_blur": (1.0, 0.0, 5e-4, 0.0, 0.0),
    "freq_lp": (1.0, 0.0, 0.0, 5e-5, 0.0),
    "freq_tv_l6": (10.0, 5e-4, 0.0, 0.0, 1.0),
}


def _mahendran(reg: O.Objective, shape, l_tv: float = 1.0, l_alpha: float = 1.0) -> O.Objective:
    b = 0.5
    v = b / 6.5
    pixels = shape[-1] * shape[-2]
    squared = O.Objective(lambda a, x: reg(a, x) ** 2, reg.layers, f"({reg.name})^2")
    return (squared + (l_tv / (pixels * v ** 2)) * O.total_variation(2.0)
            + (l_alpha / (pixels * b ** 6)) * O.alpha_norm(6.0, center=0.5))


def _six_norm() -> O.Objective:
    return O.Objective(lambda a, x: x.abs().pow(6).flatten(1).sum(1).pow(1 / 6), [], "||x||_6")


def iri_objective(loss: str, layer: str, target_reps: torch.Tensor, *, shape=None, distance=None,
                  reference: torch.Tensor | None = None, lam: float = 1.0) -> O.Objective:
    """The objective of IRI ``loss`` (one of ``LOSSES``) for target representations (N, ...).
    ``shape``: the images' shape (for Mahendran's normalisation); ``distance``, ``reference`` and
    ``lam`` for ``'adversarial'`` (see the module docstring)."""
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    reg = O.inversion(layer, target_reps)
    if loss in ("regularizer-free", "feather"):
        return reg
    if loss == "mahendran":
        return _mahendran(reg, shape)
    if loss in HUMAN_PRIORS:
        w_reg, w_tv, w_blur, w_l1, w_l6 = HUMAN_PRIORS[loss]
        terms = [(w_tv, O.total_variation(2.0, per_pixel=False)), (w_blur, O.blur(3)),
                 (w_l1, O.alpha_norm(1.0, center=0.5)), (w_l6, _six_norm())]
        return sum((w * t for w, t in terms if w), w_reg * reg)
    if distance is None or reference is None:
        raise ValueError("loss='adversarial' needs distance= (e.g. art_reps.distances.ssim_distance) and a reference")
    return reg - lam * O.image_distance(distance, reference, name="D(x, reference)")


def iris(model, targets: torch.Tensor, *, layer: str, loss: str = "regularizer-free", start="super-noise",
         steps: int = 400, step_size: float | None = None, distance=None, lam="auto", reference: str = "target",
         seed: int = 0, batch_size=None, **options) -> Result:
    """IRIs: from seeds ``start`` (a kind such as 'super-noise', 'light-noise', 'noise', 'white',
    'black', or images (N or 1, C, H, W)), inputs whose ``layer`` representation equals that of
    ``targets`` (N, C, H, W), made with IRI ``loss`` (see the module docstring). Each loss brings its
    own optimiser and schedule unless ``options`` say otherwise. ``batch_size`` as in
    :func:`art_reps.invert` (an automatic ``lam`` is taken once over all N seeds).

    Example:
        >>> import art_reps
        >>> x = art_reps.data.digits_on_textures("test").images[:2]
        >>> res = iris(art_reps.load_model("l2_eps0.25"), x, layer="avgpool", loss="freq", steps=5)
        >>> res.images.shape
        torch.Size([2, 3, 32, 32])
    """
    check_images(targets, "targets")
    check_count(steps, "steps")
    seeds = make_start(start, targets.shape, device=targets.device, seed=seed)
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
        ref = targets if reference == "target" else seeds
        if lam == "auto":
            lam = _balanced_lambda(model, layer, target_reps, seeds, distance, ref, options)
        elif isinstance(lam, bool) or not isinstance(lam, numbers.Real) or not math.isfinite(lam):
            raise ValueError(f"lam must be 'auto' or a finite number, got {lam!r}")
    if chunk < n:
        return in_chunks(n, chunk, lambda s: iris(model, targets[s], layer=layer, loss=loss, start=seeds[s],
                                                 steps=steps, distance=distance, lam=lam, reference=reference,
                                                 seed=seed, **options))
    objective = iri_objective(loss, layer, target_reps, shape=targets.shape, distance=distance, reference=ref,
                              lam=float(lam) if loss == "adversarial" else 1.0)
    return optimize(model, objective, seeds, steps=steps, seed=seed, **options)


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
        raise ValueError("loss='adversarial' needs distance= (e.g. art_reps.distances.ssim_distance)")
    with torch.no_grad():
        reg = O.inversion(layer, target_reps)(_representation(model, layer, options)(seeds, name="start"), seeds)
        d = distance(seeds, reference)
    return float(reg.mean() / d.mean().clamp_min(1e-12))
