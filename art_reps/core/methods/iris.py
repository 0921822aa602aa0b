"""Identically represented inputs (Nanda et al. 2022) and model metamers (Feather et al.), made
with any loss of :mod:`art_reps.core.iri_losses`."""
from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Literal

import torch
from typing_extensions import Unpack

from .. import objectives as O
from ..batching import slices
from ..checks import check_images, check_nonnegative
from ..iri_losses import LOSSES, iri_objective
from ..loop import Result
from ..options import RunOptions
from ..starts import check_start_kind, make_start
from .inversion import StartKind
from .method import Batch, Call, Method, public, run

Loss = Literal["regularizer-free", "mahendran", "freq", "freq_tv", "freq_blur", "freq_lp", "freq_tv_l6", "adversarial",
               "feather"]


@public
def iris(model, targets: torch.Tensor, *, layer: str, loss: Loss = "regularizer-free",
         start: StartKind | torch.Tensor = "super-noise",
         distance: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
         lam: float | Literal["auto"] = "auto",
         reference: Literal["target", "seed"] = "target", l_tv: float = 1.0, l_alpha: float = 1.0,
         **options: Unpack[RunOptions]) -> Result:
    """IRIs: from seeds ``start`` (a kind such as 'super-noise', 'light-noise', 'noise', 'white',
    'black', or images (N or 1, C, H, W)), inputs whose ``layer`` representation equals that of
    ``targets`` (N, C, H, W), made with IRI ``loss`` (:mod:`art_reps.core.iri_losses`; ``distance``,
    ``lam`` and ``reference`` for 'adversarial', an automatic ``lam`` taken once over all N seeds;
    ``l_tv`` and ``l_alpha`` for 'mahendran'). Each loss brings its own recipe (``METHODS["iris"].defaults(loss=...)``):
    Mahendran's momentum and piecewise schedule, Feather's 1,000 Adam steps with the step halved eight
    times, else 300 normalised steps of 0.2 decaying linearly; the fake ReLU where the model has one.

    Examples:
        >>> import art_reps
        >>> x = art_reps.data.digits_on_textures("test").images[:2]
        >>> res = iris(art_reps.load_model("l2_eps1"), x, layer="avgpool", loss="freq", steps=5)
        >>> res.images.shape
        torch.Size([2, 3, 32, 32])
    """
    return run(IRIS, model, targets=targets, layer=layer, loss=loss, start=start, distance=distance, lam=lam,
               reference=reference, l_tv=l_tv, l_alpha=l_alpha, **options)


def recipe(arguments: dict) -> dict:
    loss = arguments["loss"]
    if loss == "mahendran":
        return {"steps": 300, "step_size": 0.05, "optimizer": "momentum", "schedule": "mahendran", "fake_relu": "auto"}
    if loss == "feather":
        return {"steps": 1000, "step_size": 0.01, "optimizer": "adam", "schedule": "halving", "fake_relu": "auto"}
    return {"steps": 300, "step_size": 0.2, "schedule": "linear", "fake_relu": "auto"}


def _validate(call: Call) -> None:
    a = call.arguments
    if a["loss"] not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {a['loss']!r}")
    check_start_kind(a["start"])
    check_nonnegative(a["l_tv"], "l_tv"), check_nonnegative(a["l_alpha"], "l_alpha")
    if a["loss"] != "adversarial":
        return
    if not callable(a["distance"]):
        raise ValueError("loss='adversarial' needs distance=, a function d(x, y) -> (N,) on images in [0, 1] "
                         "(e.g. art_reps.metrics.distances.ssim_distance)")
    if a["reference"] not in ("target", "seed"):
        raise ValueError(f"reference must be 'target' or 'seed', got {a['reference']!r}")
    lam = a["lam"]
    if lam == "auto" and a["reference"] == "seed":
        raise ValueError("lam='auto' balances against the distance to the target; with reference='seed' pass "
                         "a number (Nanda et al.'s *_seed variants use lam=-10: pull toward the seed)")
    if lam != "auto" and (isinstance(lam, bool) or not isinstance(lam, numbers.Real) or not math.isfinite(lam)):
        raise ValueError(f"lam must be 'auto' or a finite number, got {lam!r}")


def _prepare(call: Call) -> Batch:
    a = call.arguments
    targets = check_images(a["targets"], "targets", channels=call.representation.channels)
    seeds = make_start(a["start"], targets.shape, seed=call.seed, first=call.first, dtype=targets.dtype)
    per_sample = {"targets": targets, "start": seeds}
    lam = 1.0
    if a["loss"] == "adversarial":
        per_sample["reference"] = targets if a["reference"] == "target" else seeds
        lam = _balanced_lambda(call, targets, seeds, a["distance"]) if a["lam"] == "auto" else a["lam"]
    return Batch(len(targets), tuple(targets.shape[1:]), per_sample, {"lam": float(lam)})


def _balanced_lambda(call: Call, targets, seeds, distance) -> float:
    """Nanda's automatic lambda: ``mean(reg) / mean(D(seed, target))`` at the seeds, over all N
    (in chunks of the run's batch size, so chunking cannot change it)."""
    layer, rep, reg_sum, d_sum = call.arguments["layer"], call.representation, 0.0, 0.0
    size = len(targets) if not isinstance(call.batch_size, int) else call.batch_size
    with torch.no_grad():
        for part in slices(len(targets), size):
            reg = O.inversion(layer, rep(targets[part], name="targets")[layer])
            reg_sum += float(reg(rep(seeds[part], name="start"), seeds[part]).sum())
            d_sum += float(distance(seeds[part], targets[part]).sum())
    return reg_sum / max(d_sum, 1e-12)


def _objective(call: Call, chunk: dict) -> O.Objective:
    a, layer = call.arguments, call.arguments["layer"]
    reps = call.representation(chunk["targets"], name="targets")[layer]
    return iri_objective(a["loss"], layer, reps, distance=a["distance"], reference=chunk.get("reference"),
                         lam=chunk["lam"], l_tv=a["l_tv"], l_alpha=a["l_alpha"])


IRIS = Method(
    name="iris", summary="identically represented inputs (targets, seeds, IRIs) with any IRI loss (Nanda et al.)",
    function=iris, prepare=_prepare, objective=_objective, recipe=recipe, validate=_validate, inputs=("targets",))
