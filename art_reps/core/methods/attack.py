"""Untargeted representation attack: the image in a small ball whose representation moves most
(feature-space PGD; Sabour et al. 2016 for its targeted form)."""
from __future__ import annotations

import torch
from typing_extensions import Unpack

from .. import objectives as O
from ..checks import check_images
from ..geometry import pgd_step_size
from ..loop import Result
from ..options import RunOptions
from .method import Batch, Call, Method, public, run


@public
def attack(model, images: torch.Tensor, *, layer: str, **options: Unpack[RunOptions]) -> Result:
    """Representation PGD: maximise ``||R(x') - R(x)|| / ||R(x)||`` over ``x'`` in a ball around
    ``images`` (N, C, H, W), from a random point of the ball (at ``x' = x`` the distance has no
    gradient). Defaults, ``METHODS["attack"].defaults()``: an L2 ball of radius 0.5, 10 normalised steps of
    :func:`~art_reps.core.geometry.pgd_step_size`, the iterate that moves the representation most.

    Examples:
        >>> import art_reps
        >>> x = art_reps.data.digits_on_textures("test").images[:2]
        >>> res = art_reps.attack(art_reps.load_model("l2_eps1"), x, layer="avgpool", eps=0.5, step_size=0.25, steps=3)
        >>> bool(((res.images - x).flatten(1).norm(dim=1) <= 0.5 + 1e-4).all())
        True
    """
    return run(ATTACK, model, images=images, layer=layer, **options)


def recipe(arguments: dict) -> dict:
    eps, steps = arguments.get("eps", 0.5), arguments.get("steps", 10)
    try:
        step_size = pgd_step_size(eps, steps)
    except (TypeError, ValueError, ZeroDivisionError):
        step_size = 0.125  # a bad eps or steps is refused by name when the settings are checked
    return {"geometry": "l2", "eps": 0.5, "steps": 10, "step_size": step_size, "random_start": True}


def _validate(call: Call) -> None:
    if call.loop.random_start is False:
        raise ValueError("random_start must be True (or start points): at x' = x the representation distance has "
                         "zero gradient, so PGD without a random start never moves")


def _prepare(call: Call) -> Batch:
    images = check_images(call.arguments["images"], "images", channels=call.representation.channels)
    return Batch(len(images), tuple(images.shape[1:]), {"start": images})


def _objective(call: Call, chunk: dict) -> O.Objective:
    layer = call.arguments["layer"]
    return -O.inversion(layer, call.representation(chunk["start"], name="images")[layer])


ATTACK = Method(
    name="attack", summary="move images' representations as far as a small ball allows (representation PGD)",
    function=attack, prepare=_prepare, objective=_objective, recipe=recipe, validate=_validate, inputs=("images",))
