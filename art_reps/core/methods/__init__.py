"""Every method, declared once (:class:`Method`), and their registry.

Each module of this package declares one method as a module-level :class:`Method` (its public
function, recipe, ``prepare`` and ``objective``); ``METHODS`` collects them by name, so a new
method is one file here (plus its tests): the public functions, the adapters, ``art-reps
<method>`` and ``art-reps batch <method>`` all read this registry.

Examples:
    >>> sorted(METHODS)
    ['attack', 'interpolate', 'invert', 'iris', 'manipulate', 'sensitivity', 'visualize']
    >>> METHODS["invert"].defaults()
    {'steps': 300, 'step_size': 0.2, 'schedule': 'linear', 'fake_relu': 'auto'}
"""
from __future__ import annotations

import importlib
import pkgutil

from .attack import ATTACK, attack
from .interpolation import INTERPOLATION, interpolate
from .inversion import INVERSION, invert
from .iris import IRIS, iris
from .manipulation import MANIPULATION, manipulate
from .method import Batch, Call, Method, run
from .sensitivity import SENSITIVITY, sensitivity
from .visualization import VISUALIZATION, visualize

METHODS: dict[str, Method] = {}


def register(method: Method) -> Method:
    """Add ``method`` to :data:`METHODS` under its name (a name is taken once)."""
    if not isinstance(method, Method):
        raise TypeError(f"register takes a Method, got {type(method).__name__}")
    if METHODS.get(method.name, method) is not method:
        raise ValueError(f"a method called {method.name!r} is registered already")
    METHODS[method.name] = method
    return method


def _discover() -> None:
    """Register the Method declared in each module of this package."""
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, Method) and value.function.__module__ == module.__name__:
                register(value)


_discover()

__all__ = ["METHODS", "Batch", "Call", "Method", "register", "run", "ATTACK", "INTERPOLATION", "INVERSION", "IRIS",
           "MANIPULATION", "SENSITIVITY", "VISUALIZATION", "attack", "interpolate", "invert", "iris", "manipulate",
           "sensitivity", "visualize"]
