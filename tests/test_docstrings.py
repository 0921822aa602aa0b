"""Every docstring example runs and prints what it shows."""
import doctest
import importlib
import pkgutil

import pytest

import art_reps

MODULES = sorted(m.name for m in pkgutil.walk_packages(art_reps.__path__, "art_reps."))


@pytest.mark.parametrize("name", MODULES)
def test_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
