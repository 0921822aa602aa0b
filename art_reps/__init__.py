"""art_reps: robust representations (inversion, feature visualisation, IRIs, sensitivity maps)
as a plugin for ART, torchattacks and Captum.

Examples:
    >>> import art_reps
    >>> model = art_reps.load_model("l2_eps1")
    >>> test = art_reps.data.digits_on_textures("test")
    >>> result = art_reps.invert(model, test.images[:4], layer="avgpool", steps=10)
    >>> result.images.shape
    torch.Size([4, 3, 32, 32])
"""
from . import data, metrics, zoo
from .core import (METHODS, Method, Representation, Result, attack, frozen, interpolate, invert, iris, manipulate,
                   objectives, optimize, register, sensitivity, visualize)
from .zoo import list_models, load_model, model_card
from .core.methods import load_entry_points as _load_entry_points

_load_entry_points()  # methods of other installed packages (entry-point group art_reps.methods)

__version__ = "0.1.0"
__all__ = [
    "data", "metrics", "zoo", "METHODS", "Method", "register", "Representation", "Result", "attack", "frozen",
    "interpolate", "invert", "iris",
    "manipulate", "objectives", "optimize", "sensitivity", "visualize", "list_models", "load_model", "model_card",
    "__version__",
]
