"""The core: representation access, geometry, parameterisations, objectives, the one loop and
every method declared once (:mod:`art_reps.core.methods`).

Imports nothing from the rest of art_reps. The other layers import only the names exported
here and the public modules :mod:`.objectives`, :mod:`.checks`, :mod:`.schedules` and
:mod:`.options` (``lint-imports`` checks it).
"""
from . import checks, objectives, options, schedules
from .batching import auto_batch_size
from .model_state import frozen, with_autograd
from .geometry import GEOMETRIES, Geometry, L2Ball, LinfBall, Unconstrained, make_geometry, pgd_step_size
from .iri_losses import HUMAN_PRIORS, LOSSES as IRI_LOSSES, iri_objective
from .loop import Result, input_gradient, optimize
from .methods import (METHODS, Batch, Call, Method, attack, interpolate, invert, iris, manipulate, register,
                      sensitivity, visualize)
from .options import OPTIMIZERS, ReadOptions, RunOptions
from .parameterisations import PARAMETERISATIONS, Fourier, Maco, Pixel, make_param
from .representation import Representation, layer_shapes
from .rng import Draws
from .runtime import Runtime, bar, bar_disabled
from .schedules import SCHEDULES, constant, linear_decay, make_schedule, piecewise, step_halving
from .starts import STARTS, make_start

__all__ = [
    # modules
    "checks", "objectives", "options", "schedules",
    # the methods (each also METHODS[name]) and how to declare one
    "METHODS", "Method", "Batch", "Call", "register", "attack", "interpolate", "invert", "iris", "manipulate",
    "sensitivity", "visualize",
    # the loop and what it is made of
    "optimize", "input_gradient", "Result", "Representation", "layer_shapes", "Runtime", "bar", "bar_disabled",
    "RunOptions", "ReadOptions", "OPTIMIZERS", "GEOMETRIES", "Geometry", "L2Ball", "LinfBall", "Unconstrained",
    "make_geometry", "pgd_step_size", "PARAMETERISATIONS", "Fourier", "Maco", "Pixel", "make_param", "SCHEDULES",
    "constant", "linear_decay", "make_schedule", "piecewise", "step_halving", "STARTS", "make_start", "Draws",
    "HUMAN_PRIORS", "IRI_LOSSES", "iri_objective",
    # the caller's model, kept as it was; memory
    "frozen", "with_autograd", "auto_batch_size",
]
