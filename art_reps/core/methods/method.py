"""A method declared once, and the one runner that runs every method.

A :class:`Method` is its public function (whose typed signature declares the method's own
arguments and their defaults), its recipe (the loop and reading defaults its results were
measured with), ``validate`` (the argument checks that need no data, run by every face when a
call is bound: an adapter's constructor refuses what the method would), ``prepare``
(checks the arguments once, over the whole batch, and gives the
per-sample tensors and the shared values) and ``objective`` (built per chunk). :func:`run`
binds a call (unknown keywords are refused in the name of the function the user called), builds
one :class:`Representation`, one loop :class:`Settings` and one :class:`Runtime`, cuts the samples
into chunks by slicing what ``prepare`` marked per sample, and joins the chunks' results.
"""
from __future__ import annotations

import difflib
import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from ..batching import check_batch_size, chunk_size, join, slices
from ..model_state import with_autograd
from ..loop import Settings, input_gradient, progress_bar, run_loop
from ..objectives import Objective
from ..options import GROUPS, split
from ..representation import Representation
from ..runtime import Runtime


@dataclass(frozen=True)
class Batch:
    """What ``prepare`` gives the runner: ``n`` samples of ``shape`` (C, H, W); ``per_sample``
    tensors (n, ...) sliced per chunk (``'start'``: the first images; ``'images'`` for a gradient);
    ``shared`` values, the same for every chunk."""

    n: int
    shape: tuple
    per_sample: dict
    shared: dict = field(default_factory=dict)

    def take(self, part: slice) -> dict:
        return {**self.shared, **{k: v[part] for k, v in self.per_sample.items()}}


@dataclass(frozen=True)
class Call:
    """One call of a method, bound: ``arguments`` are the method's own (defaults filled), read
    through ``representation`` (built once), stepped by ``settings`` (``None`` without a loop)."""

    method: "Method"
    arguments: dict
    representation: Representation
    settings: Settings | None
    runtime: Runtime
    batch_size: Any

    @property
    def seed(self) -> int:
        return self.settings.seed if self.settings is not None else 0

    @property
    def first(self) -> int:
        """The index of the call's first sample in the run (the loop option ``first``)."""
        return self.settings.first if self.settings is not None else 0

    @property
    def device(self) -> torch.device:
        return self.representation.device

    @property
    def loop(self) -> Settings:
        """The loop settings of a method that optimises (``settings``, never ``None`` there)."""
        if self.settings is None:
            raise TypeError(f"{self.method.name} has no optimisation loop")
        return self.settings


@dataclass(frozen=True)
class Method:
    """A method declared once; see the module docstring. ``inputs`` names the arguments that take
    one image per sample (the command line fills them from its data: ``('a', 'b')`` takes pairs),
    ``labels`` the argument that takes a label per sample, if any, ``per_sample`` other arguments
    that carry data per sample rather than a setting (the adapters take them as call arguments)."""

    name: str
    summary: str
    function: Callable
    prepare: Callable[[Call], Batch]
    objective: Callable[[Call, dict], Objective]
    recipe: Callable[[dict], dict] = lambda arguments: {}
    validate: Callable[[Call], None] = lambda call: None
    finish: Callable[[Any, Batch], Any] | None = None
    optimises: bool = True
    inputs: tuple = ()
    labels: str | None = None
    per_sample: tuple = ()

    @property
    def parameters(self) -> dict[str, inspect.Parameter]:
        """The method's own arguments: the function's keywords other than the model and the options."""
        params = list(inspect.signature(self.function).parameters.values())[1:]
        return {p.name: p for p in params if p.kind is not inspect.Parameter.VAR_KEYWORD}

    @property
    def option_names(self) -> tuple[str, ...]:
        groups = ("reading", "loop", "runtime", "batch") if self.optimises else ("reading", "runtime", "batch")
        return tuple(name for g in groups for name in GROUPS[g])

    def bind(self, model, /, **given) -> "Call":
        """Check a call (names, options, the recipe applied) without running it: what an adapter's
        parameter check needs. Raises ``TypeError`` / ``ValueError`` naming the bad argument."""
        return bind(self, model, given, complete=False)

    def check(self, **given) -> None:
        """Check a call's names and options without a model (what a command line checks before
        loading one); required arguments may be missing. Raises ``TypeError`` / ``ValueError``."""
        check(self, given, complete=False)

    def __call__(self, model, /, **given):
        """Run the method: :func:`run`."""
        return run(self, model, **given)

    def defaults(self, **arguments) -> dict:
        """The recipe for these arguments (the method's defaults elsewhere), e.g. ``METHODS["invert"].defaults()``."""
        own = {n: p.default for n, p in self.parameters.items() if p.default is not inspect.Parameter.empty}
        return dict(self.recipe({**own, **arguments}))  # arguments may name options the recipe reads (param)


def _closest(name: str, known: list) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f"; did you mean {close[0]!r}?" if close else f"; it takes {sorted(known)}"


def public(function: Callable) -> Callable:
    """A method's public function, whose misspelled keyword is named with the closest known one even
    where Python would first complain of a required keyword it takes for the misspelling
    (``manipulate(model, x, layer=..., fetaure=1)``)."""
    known = [n for n in inspect.signature(function).parameters if n != "options"]
    known += [n for g in GROUPS.values() for n in g]

    @functools.wraps(function)
    def checked(*args, **kwargs):
        unknown = [k for k in kwargs if k not in known]
        if unknown:
            raise TypeError(f"{function.__name__}() got an unexpected keyword argument {unknown[0]!r}"
                            f"{_closest(unknown[0], known)}")
        return function(*args, **kwargs)

    return checked


def _refuse_unknown(method: Method, given: dict, complete: bool) -> None:
    """Unknown keywords (with the closest known name) and, with ``complete``, missing required ones."""
    known = list(method.parameters) + list(method.option_names)
    for name in given:
        if name not in known:
            raise TypeError(f"{method.name}() got an unexpected keyword argument {name!r}{_closest(name, known)}")
    missing = [n for n, p in method.parameters.items() if p.default is inspect.Parameter.empty and n not in given]
    if missing and complete:
        raise TypeError(f"{method.name}() missing required argument(s): {', '.join(map(repr, missing))}")


def check(method: Method, given: dict, complete: bool = True) -> tuple:
    """The model-independent part of a call: names checked (required arguments too, with
    ``complete``), the recipe applied, the loop settings, runtime and batch size checked. Returns
    (own arguments, reading options, settings, runtime, batch_size)."""
    _refuse_unknown(method, given, complete)
    own = {n: given.get(n, None if p.default is inspect.Parameter.empty else p.default)
           for n, p in method.parameters.items()}
    options = split({k: v for k, v in given.items() if k not in method.parameters})
    recipe = split(method.recipe({**given, **own}))
    settings = Settings.make(**{**recipe["loop"], **options["loop"]}) if method.optimises else None
    reading = options["reading"] if options["reading"] else None
    return (own, reading, recipe["reading"], settings, Runtime(**options["runtime"]),
            check_batch_size(options["batch"].get("batch_size")))


def bind(method: Method, model, given: dict, complete: bool = True) -> Call:
    """The call of ``method`` on ``model`` with the keywords ``given``, checked and with the recipe
    applied; ``complete=False`` lets required arguments (the images) be missing, as ``None``."""
    own, reading, recipe_reading, settings, runtime, batch_size = check(method, given, complete)
    if isinstance(model, Representation):
        if reading:
            raise TypeError(f"{method.name}(): {sorted(reading)} are set by the Representation passed as the model; "
                            "build it with them instead")
        rep = model.reading(own["layer"])
    else:
        rep = Representation(model, own["layer"], **{**recipe_reading, **(reading or {})})
    call = Call(method, own, rep, settings, runtime, batch_size)
    method.validate(call)
    return call


@with_autograd
def run(method: Method, model, /, **given):
    """Run ``method`` on ``model`` (an ``nn.Module`` or a :class:`Representation`) with the keywords
    ``given`` (its own arguments and the options of :mod:`art_reps.core.options`)."""
    call = bind(method, model, given)
    batch = method.prepare(call)
    rep = call.representation
    parts = slices(batch.n, chunk_size(call.batch_size, batch.n, rep, batch.shape))
    settings = call.settings
    steps = settings.steps * (settings.restarts + 1) if settings is not None else 1
    results = []
    with progress_bar(steps * len(parts), call.runtime, method.name) as bar:
        for part in parts:
            chunk = batch.take(part)
            objective = method.objective(call, chunk)
            if settings is not None:
                results.append(run_loop(rep, objective, chunk["start"], settings.take(part), call.runtime,
                                        settings.draws(part), bar))
            else:
                results.append(input_gradient(rep, objective, chunk["images"]))
                bar.update(1)
    result = join(results)
    return method.finish(result, batch) if method.finish is not None else result
