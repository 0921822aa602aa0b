"""The ecosystems as extras: an adapter whose framework is missing says which extra installs it.

Examples:
    >>> import sys
    >>> sys.modules["captum"] = None  # as if Captum were not installed
    >>> error = missing_extra(ModuleNotFoundError("No module named 'captum'", name="captum"), "captum")
    >>> del sys.modules["captum"]
    >>> print(error)
    art_reps.captum needs Captum, which is not installed: pip install "art-reps[captum]"
"""
from __future__ import annotations

import importlib.util

# extra -> (the framework's import name, its name for people)
EXTRAS = {"art": ("art", "the Adversarial Robustness Toolbox"), "torchattacks": ("torchattacks", "torchattacks"),
          "captum": ("captum", "Captum")}


def missing_extra(error: ImportError, extra: str, needed_by: str | None = None) -> ImportError:
    """The error to raise when importing the framework of ``extra`` for ``needed_by`` (default: the
    adapter ``art_reps.<extra>``) failed with ``error``: one that names the extra to install where the
    framework itself is missing, else ``error`` as it was (a framework that is installed but broken
    says so itself)."""
    module, name = EXTRAS[extra]
    if (error.name or "").split(".")[0] != module or importlib.util.find_spec(module) is not None:
        return error
    return ImportError(f'{needed_by or "art_reps." + extra} needs {name}, which is not installed: '
                       f'pip install "art-reps[{extra}]"', name=error.name)
