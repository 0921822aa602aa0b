"""What the ART and torchattacks classes read from a method's declaration, and their seeds.

A class's constructor keywords are the method's own (:func:`own_keywords`, with the method's
defaults) and the shared options under the ecosystem's names; :func:`constructor_signature` makes
them the class's signature, so ``help()`` and ``inspect.signature`` show them.

Examples:
    >>> from art_reps.core import METHODS
    >>> list(own_keywords(METHODS["iris"]))[:3]
    ['layer', 'loss', 'start']
"""
from __future__ import annotations

import inspect

import numpy as np
import torch

from .core import Method

SEED_RANGE = 2 ** 62


def own_keywords(method: Method, taken: tuple = ()) -> dict:
    """The method's own keywords that set how it runs, with their defaults (``inspect.Parameter.empty``
    where required): all but its per-sample inputs, its labels, its per-sample data and ``taken``."""
    skip = {*method.inputs, method.labels, *method.per_sample, *taken}
    return {n: p.default for n, p in method.parameters.items() if n not in skip}


def constructor_signature(first: str, keywords: dict) -> inspect.Signature:
    """``(first, /, *, keyword=default, ...)``: a class's signature from its declared keywords."""
    params = [inspect.Parameter(first, inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    params += [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=d) for n, d in keywords.items()]
    return inspect.Signature(params)


def set_declared(obj, declared: dict, given: dict, error: type[Exception] = TypeError) -> None:
    """Set each keyword of ``declared`` (name -> default) on ``obj``, from ``given`` or its default;
    an unknown or a missing required keyword is refused with ``error`` naming it."""
    name = type(obj).__name__
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise error(f"{name}() got unexpected keyword(s) {unknown}; it takes {sorted(declared)}")
    missing = [k for k, default in declared.items() if default is inspect.Parameter.empty and k not in given]
    if missing:
        raise error(f"{name}() missing required keyword(s) {missing}")
    for key, default in declared.items():
        setattr(obj, key, given.get(key, default))


def check_seed(seed) -> None:
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0
                             or seed >= 2 ** 63):
        raise ValueError(f"seed must be None or an int in [0, 2**63), got {seed!r}")


def seeds_generator(seed) -> torch.Generator | None:
    """A generator seeded once with ``seed`` (``None``: draw from the global generators)."""
    check_seed(seed)
    return None if seed is None else torch.Generator().manual_seed(int(seed))


def call_seed(seeds: torch.Generator | None, numpy_global: bool = False) -> int:
    """One call's seed: from ``seeds``, else from torch's global generator (torchattacks' convention)
    or, with ``numpy_global``, numpy's (ART's: ``np.random.seed`` repeats a call)."""
    if seeds is not None:
        return int(torch.randint(SEED_RANGE, (1,), generator=seeds))
    if numpy_global:
        return int(np.random.randint(0, SEED_RANGE, dtype=np.int64))
    return int(torch.randint(SEED_RANGE, (1,)))
