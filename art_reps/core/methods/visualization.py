"""Feature visualisation (Engstrom et al.; Lucid; MACO) and feature accentuation (Hamblin et al.)."""
from __future__ import annotations

import warnings
from typing import Literal

import torch
from typing_extensions import Unpack

from .. import objectives as O
from ..checks import check_count, check_nonnegative
from ..loop import Result
from ..options import RunOptions
from ..parameterisations import make_param
from ..starts import check_start_kind, make_start
from .inversion import StartKind
from .method import Batch, Call, Method, public, run


@public
def visualize(model, *, layer: str, feature: O.Feature, kind: Literal["channel", "neuron", "direction"] = "channel",
              start: StartKind | torch.Tensor | None = None, n: int = 1, size: tuple = (3, 32, 32),
              regularizer: O.Objective | None = None, closeness: float = 0.0, axis: int | None = None,
              **options: Unpack[RunOptions]) -> Result:
    """Feature visualisation: images that maximise a unit, channel or direction of ``layer``.

    feature: an int (channel or flattened unit), one per image (a list or (N,) tensor), a (c, y, x)
    tuple (or (N, 3) tensor) with ``kind='neuron'``, or a direction tensor (D,) or (N, D) with
    ``kind='direction'`` (``axis`` as in :func:`art_reps.core.objectives.direction`). start:
    ``None``, the parameterisation's own random start (pixels: Engstrom's noise; ``param='fourier'``:
    Lucid's random spectrum; ``'maco'``: random phases, its ``Result.transparency`` showing where the
    feature reads the image), a kind of ``STARTS``, or (N, C, H, W) images to begin from; ``n``
    images of ``size`` without start images (or one per feature given). ``closeness`` > 0 with
    start images is Hamblin et al.'s feature accentuation: the feature is raised while
    ``closeness`` times the mean squared distance to the start keeps each image near its own.
    Defaults, ``METHODS["visualize"].defaults(param=...)``: 200 steps; pixels normalised steps of 0.1,
    Fourier and MACO Adam at 0.05.

    Examples:
        >>> import art_reps
        >>> res = art_reps.visualize(art_reps.load_model("l2_eps1"), layer="avgpool", feature=[0, 1, 2], steps=10)
        >>> res.images.shape
        torch.Size([3, 3, 32, 32])
    """
    return run(VISUALIZATION, model, layer=layer, feature=feature, kind=kind, start=start, n=n, size=size,
               regularizer=regularizer, closeness=closeness, axis=axis, **options)


def recipe(arguments: dict) -> dict:
    """The measured recipe: pixels take normalised steps of 0.1; spectral parameterisations Adam at 0.05."""
    if getattr(make_param(arguments.get("param", "pixel")), "projectable", True):
        return {"steps": 200, "step_size": 0.1}
    return {"steps": 200, "step_size": 0.05, "optimizer": "adam"}


def _validate(call: Call) -> None:
    a = call.arguments
    start, images = a["start"], isinstance(a["start"], torch.Tensor)
    if start is not None:
        check_start_kind(start)
    closeness = check_nonnegative(a["closeness"], "closeness")
    if closeness and not images:
        raise ValueError(f"closeness={closeness} keeps results near their start images: pass start= images "
                         f"(N, C, H, W), not {start!r}")
    if a["regularizer"] is not None and not isinstance(a["regularizer"], O.Objective):
        raise TypeError(f"regularizer must be an art_reps Objective, got {type(a['regularizer']).__name__}")
    index = O.feature_index(a["feature"], a["kind"], n=len(start) if images else None)
    O.check_known_width(index, a["kind"], call.representation.model, a["layer"])


def _prepare(call: Call) -> Batch:
    a = call.arguments
    start, images = a["start"], isinstance(a["start"], torch.Tensor)
    closeness = float(a["closeness"])
    index = O.feature_index(a["feature"], a["kind"], n=len(start) if images else None)
    count = len(index) if O.per_sample(index) else check_count(a["n"], "n")
    if images:
        count = len(start)
    elif not (isinstance(a["size"], (tuple, list)) and len(a["size"]) == 3):
        raise ValueError(f"size must be (C, H, W), got {a['size']!r}")
    shape = tuple(start.shape) if images else (count, *(check_count(s, "size") for s in a["size"]))
    if start is None:
        first = call.loop.param.random_image(shape, call.loop.draws(slice(0, count), "start"), torch.zeros(()))
    else:
        first = make_start(start, shape, seed=call.seed, first=call.first)
    per_sample = {"start": first}
    if O.per_sample(index):
        if len(index) != count:
            raise ValueError(f"feature has {len(index)} entries for {count} images: give one, or one per image")
        per_sample["feature"] = index
    shared = {"regularizer": a["regularizer"], "closeness": closeness}
    if not O.per_sample(index):
        shared["feature"] = index
    return Batch(count, shape[1:], per_sample, shared)


def _objective(call: Call, chunk: dict) -> O.Objective:
    a = call.arguments
    objective = O.feature(a["layer"], chunk["feature"], a["kind"], a["axis"])
    if chunk["regularizer"] is not None:
        objective = objective + chunk["regularizer"]
    if chunk["closeness"]:
        objective = objective + chunk["closeness"] * O.closeness(chunk["start"])
    return objective


def _finish(result: Result, batch: Batch) -> Result:
    """Warn where a feature read exactly zero at every step: nothing moved it (a unit a ReLU keeps at
    zero for these images has no gradient), so its image is only the start."""
    dead = [i for i in range(result.history.shape[1]) if bool((result.history[:, i] == 0).all())]
    if dead:
        warnings.warn(f"visualize: the feature read exactly 0 at every step for image(s) {dead[:10]}: it has no "
                      "gradient there (a unit its ReLU keeps at zero), so those images are only their start; "
                      "try fake_relu=True, another start, or the layer before the ReLU", RuntimeWarning, stacklevel=3)
    return result


VISUALIZATION = Method(
    name="visualize", summary="images that maximise channels, units or directions of a layer (feature visualisation)",
    function=visualize, prepare=_prepare, objective=_objective, recipe=recipe, validate=_validate, finish=_finish)
