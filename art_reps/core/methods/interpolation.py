"""Interpolation in representation space (Engstrom et al. 2019)."""
from __future__ import annotations

from typing import Literal

import torch
from typing_extensions import Unpack

from .. import objectives as O
from ..checks import check_count, check_images
from ..loop import Result
from ..options import RunOptions
from ..starts import check_start_kind, make_start
from .inversion import INVERSION, StartKind
from .method import Batch, Call, Method, public, run


@public
def interpolate(model, a: torch.Tensor, b: torch.Tensor, *, layer: str, n: int = 8,
                start: Literal["lerp"] | StartKind = "lerp", **options: Unpack[RunOptions]) -> Result:
    """Interpolation in representation space: invert ``(1-l) R(a) + l R(b)`` for ``n`` values of
    ``l`` in [0, 1]. a, b: (N, C, H, W). start: ``'lerp'`` (Engstrom's pixel interpolation
    ``(1-l) a + l b``), or a kind of ``STARTS`` such as ``'noise'`` (each point made from scratch).
    Returns images (N, n, C, H, W), losses (N, n), history (T, N * n). Defaults, as
    :func:`art_reps.invert`'s: 300 normalised steps of 0.2 decaying linearly, the fake ReLU.

    Examples:
        >>> import art_reps
        >>> x = art_reps.data.digits_on_textures("test").images
        >>> res = art_reps.interpolate(art_reps.load_model("l2_eps1"), x[:1], x[1:2], layer="avgpool", n=4, steps=5)
        >>> res.images.shape
        torch.Size([1, 4, 3, 32, 32])
    """
    return run(INTERPOLATION, model, a=a, b=b, layer=layer, n=n, start=start, **options)


def _validate(call: Call) -> None:
    check_count(call.arguments["n"], "n", minimum=2)
    check_start_kind(call.arguments["start"], extra=("lerp",))
    if isinstance(call.arguments["start"], torch.Tensor):
        raise ValueError("interpolate's start is 'lerp' or a kind of STARTS, not images")


def _prepare(call: Call) -> Batch:
    args = call.arguments
    channels = call.representation.channels
    a, b = check_images(args["a"], "a", channels=channels), check_images(args["b"], "b", channels=channels)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    n = int(args["n"])
    lam = torch.linspace(0, 1, n, dtype=a.dtype, device=a.device).repeat(len(a))  # pair-major: (N * n,)
    pair_a, pair_b = a.repeat_interleave(n, 0), b.repeat_interleave(n, 0)
    if args["start"] == "lerp":
        mix = lam.view(-1, 1, 1, 1)
        first = (1 - mix) * pair_a + mix * pair_b
    else:
        first = make_start(args["start"], pair_a.shape, seed=call.seed, first=call.first, dtype=a.dtype,
                           device=a.device)
    return Batch(len(lam), tuple(a.shape[1:]), {"a": pair_a, "b": pair_b, "lam": lam, "start": first},
                 {"pairs": len(a), "n": n})


def _objective(call: Call, chunk: dict) -> O.Objective:
    layer, rep = call.arguments["layer"], call.representation
    ra, rb = rep(chunk["a"], name="a")[layer].flatten(1), rep(chunk["b"], name="b")[layer].flatten(1)
    lam = chunk["lam"].to(ra).view(-1, 1)
    return O.inversion(layer, (1 - lam) * ra + lam * rb)


def _finish(result: Result, batch: Batch) -> Result:
    shape = (batch.shared["pairs"], batch.shared["n"])
    return Result(result.images.view(*shape, *result.images.shape[1:]), result.losses.view(shape), result.history)


INTERPOLATION = Method(
    name="interpolate", summary="interpolate between image pairs in representation space (Engstrom et al.)",
    function=interpolate, prepare=_prepare, objective=_objective, finish=_finish, validate=_validate,
    inputs=("a", "b"), recipe=INVERSION.recipe)
