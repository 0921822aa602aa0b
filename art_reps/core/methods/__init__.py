"""Every method, declared once (:class:`Method`), and their registry.

Each module of this package declares one method as a module-level :class:`Method` (its public
function, recipe, ``validate``, ``prepare`` and ``objective``); ``METHODS`` collects them by name,
so a new method is one file here (plus its tests): the public functions, the adapters, ``art-reps
<method>`` and ``art-reps batch <method>`` all read this registry. A method of another package
joins it with :func:`register`, or by naming its ``Method`` in the entry-point group
``art_reps.methods`` of its own package (``mine = "my_package.module:MINE"``), read by ``import art_reps``.

Examples:
    >>> sorted(METHODS)
    ['attack', 'interpolate', 'invert', 'iris', 'manipulate', 'sensitivity', 'visualize']
    >>> METHODS["invert"].defaults()
    {'steps': 300, 'step_size': 0.2, 'schedule': 'linear', 'fake_relu': 'auto'}
"""
from __future__ import annotations

import importlib
import pkgutil
import warnings
from importlib.metadata import entry_points

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


ENTRY_POINTS = "art_reps.methods"


def load_entry_points() -> None:
    """Register the Method each installed package names in the entry-point group :data:`ENTRY_POINTS`;
    one that fails to load is a warning naming it, not an error of art_reps. ``import art_reps`` calls
    it once the package is whole (a plugin imports art_reps itself)."""
    for point in entry_points(group=ENTRY_POINTS):
        try:
            register(point.load())
        except Exception as error:  # noqa: BLE001 (another package's failure must not break art_reps)
            warnings.warn(f"art_reps: the method {point.name!r} of entry point {point.value!r} was not registered: "
                          f"{type(error).__name__}: {error}", RuntimeWarning, stacklevel=2)


_discover()

__all__ = ["METHODS", "ENTRY_POINTS", "load_entry_points", "Batch", "Call", "Method", "register", "run", "ATTACK",
           "INTERPOLATION", "INVERSION", "IRIS",
           "MANIPULATION", "SENSITIVITY", "VISUALIZATION", "attack", "interpolate", "invert", "iris", "manipulate",
           "sensitivity", "visualize"]
