"""Every face reads the method's declaration: the ART and torchattacks signatures, the command
line's flags and help, the loop's defaults and the PGD step rule are derived, never restated."""
import inspect
import re
from pathlib import Path
from typing import get_type_hints

import pytest

import art_reps
from art_reps.adapting import own_keywords
from art_reps.cli.methods import method_flags
from art_reps.core import METHODS, optimize
from art_reps.core.loop import Settings
from art_reps.core.options import LOOP, LoopOptions

art = pytest.importorskip("art_reps.art")
torchattacks = pytest.importorskip("art_reps.torchattacks")
LIBRARY = Path(art_reps.__file__).parent


def test_each_loop_option_is_declared_once_and_read_by_the_loop():
    assert list(get_type_hints(LoopOptions)) == list(LOOP)
    settings = Settings.make()
    for name, option in LOOP.items():
        if name in ("geometry", "schedule", "param", "box", "eps"):
            continue  # built into objects from the declared default
        assert getattr(settings, name) == option.default, name
    assert [p.kind for p in inspect.signature(optimize).parameters.values()][-1] is inspect.Parameter.VAR_KEYWORD
    with pytest.raises(TypeError, match="unknown loop option"):
        Settings.make(stpes=3)


@pytest.mark.parametrize("cls", [art.RepresentationPGD, art.RepresentationInversion, art.IRIGenerator,
                                 art.FeatureVisualization, art.FeatureManipulation])
def test_art_signatures_are_the_methods_keywords_and_the_shared_options(cls):
    params = dict(inspect.signature(cls).parameters)
    assert list(params)[0] == "estimator"
    own = own_keywords(cls.method, cls.taken)
    back = {core: name for name, core in cls.renamed.items()}
    expected = {**{back.get(n, n): d for n, d in own.items()}, **dict.fromkeys(art.SHARED), **art.RUN}
    assert {n: p.default for n, p in list(params.items())[1:]} == expected
    assert cls.attack_params[-len(expected):] == list(expected)


@pytest.mark.parametrize("cls", [torchattacks.RepPGD, torchattacks.RepInversion, torchattacks.RepIRI])
def test_torchattacks_signatures_are_the_methods_keywords_and_the_shared_options(cls):
    params = dict(inspect.signature(cls).parameters)
    expected = {**own_keywords(cls.method), **dict.fromkeys(torchattacks.SHARED), "fake_relu": None, "seed": None}
    assert list(params)[0] == "model" and {n: p.default for n, p in list(params.items())[1:]} == expected


@pytest.mark.parametrize("name", sorted(METHODS))
def test_the_command_lines_loop_flags_show_the_declared_help_and_the_recipe(name):
    method = METHODS[name]
    flags = {f.name: f.options for f in method_flags(method)}
    recipe = method.defaults()
    for option_name, option in LOOP.items():
        if not (option.cli and method.optimises):
            assert option_name not in flags or option_name == "seed"
            continue
        shown = recipe.get(option_name, option.default)
        assert flags[option_name]["help"] == f"{option.help} (default: {shown})"
        if option.choices:
            assert tuple(flags[option_name]["choices"]) == option.choices


def test_the_step_rule_is_written_once():
    written = [p for p in LIBRARY.rglob("*.py") if re.search(r"2\.5 \* (float\()?(eps|radius)", p.read_text())]
    assert [p.relative_to(LIBRARY).as_posix() for p in written] == ["core/geometry.py"]


def test_no_adapter_restates_a_default_of_the_loop():
    """The adapters' signatures leave every loop option at None (the recipe), never a number of their own."""
    for cls in (art.RepresentationPGD, art.FeatureManipulation, torchattacks.RepPGD, torchattacks.RepIRI):
        params = inspect.signature(cls).parameters
        for name in ("eps", "steps", "max_iter", "alpha", "step_size", "norm", "random_start"):
            if name in params:
                assert params[name].default is None, (cls.__name__, name)
