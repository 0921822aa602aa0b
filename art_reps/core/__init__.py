"""The core: representation access, geometry, parameterisations, objectives and the one loop.

Imports nothing from the rest of art_reps.
"""
from . import objectives
from .chunks import auto_batch_size, step_bytes
from .iris import LOSSES as IRI_LOSSES, iri_objective, iris
from .geometry import Geometry, L2Ball, LinfBall, Unconstrained, make_geometry
from .optimize import Result, constant, linear_decay, optimize, piecewise, step_halving
from .param import Fourier, Maco, Pixel
from .representation import Representation
from .runtime import Runtime
from .state import frozen
from .tasks import STARTS, interpolate, invert, make_start, manipulate, sensitivity, visualize

__all__ = [
    "objectives", "auto_batch_size", "step_bytes", "Geometry", "L2Ball", "LinfBall", "Unconstrained", "make_geometry", "Result", "constant",
    "linear_decay", "optimize", "piecewise", "step_halving", "Fourier", "Maco", "Pixel", "Representation", "Runtime", "frozen",
    "STARTS", "IRI_LOSSES", "iri_objective", "iris", "interpolate", "invert", "make_start", "manipulate", "sensitivity", "visualize",
]
