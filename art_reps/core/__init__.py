"""The core: representation access, geometry, parameterisations, objectives, the one loop and
every method declared once (:mod:`art_reps.core.methods`).

Imports nothing from the rest of art_reps. The other layers import only the names exported
here and the public modules :mod:`.objectives`, :mod:`.checks`, :mod:`.schedules` and
:mod:`.options` (``lint-imports`` checks it).
"""
from . import checks, objectives, options, schedules
from .batching import auto_batch_size, step_bytes
from .borrow import frozen, with_autograd
from .geometry import GEOMETRIES, Geometry, L2Ball, LinfBall, Unconstrained, make_geometry, pgd_step_size
from .iri_losses import HUMAN_PRIORS, LOSSES as IRI_LOSSES, iri_objective
from .loop import Result, input_gradient, optimize
from .methods import (ATTACK, INTERPOLATION, INVERSION, IRIS, MANIPULATION, METHODS, SENSITIVITY, VISUALIZATION, Batch,
                      Call, Method, attack, interpolate, invert, iris, manipulate, register, sensitivity, visualize)
from .options import OPTIMIZERS, ReadOptions, RunOptions
from .parameterisations import PARAMETERISATIONS, Fourier, Maco, Pixel, make_param
from .representation import Representation, layer_shapes
from .rng import Draws
from .runtime import Runtime
from .schedules import SCHEDULES, constant, linear_decay, make_schedule, piecewise, step_halving
from .starts import STARTS, make_start

__all__ = [
    "checks", "objectives", "options", "schedules", "auto_batch_size", "step_bytes", "frozen", "with_autograd",
    "GEOMETRIES", "Geometry", "L2Ball", "LinfBall", "Unconstrained", "make_geometry", "pgd_step_size", "HUMAN_PRIORS",
    "IRI_LOSSES",
    "iri_objective", "OPTIMIZERS", "Result", "input_gradient", "optimize", "ATTACK", "INTERPOLATION", "INVERSION",
    "IRIS", "MANIPULATION", "METHODS", "SENSITIVITY", "VISUALIZATION", "Batch", "Call", "Method", "attack",
    "interpolate", "invert",
    "iris", "manipulate", "register", "sensitivity", "visualize", "ReadOptions", "RunOptions", "PARAMETERISATIONS",
    "Fourier", "Maco", "Pixel", "make_param", "Representation", "layer_shapes", "Draws", "Runtime", "SCHEDULES",
    "constant",
    "linear_decay", "make_schedule", "piecewise", "step_halving", "STARTS", "make_start",
]
