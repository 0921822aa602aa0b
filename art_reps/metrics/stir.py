"""STIR (Nanda et al.): how far one model shares another's invariances.

``STIR(m2 | m1) = CKA(m2(X), m2(X'))`` where X' are IRIs of m1 for X: inputs that m1 represents
as it represents X. High when m2 also treats them alike (m2 shares m1's invariances).
"""
from __future__ import annotations

import torch

from ..core import Representation, invert, make_start, options as run_options, with_autograd
from ..core.checks import check_count, check_images
from .similarity import CKA


@with_autograd
def stir(model_1, model_2, inputs: torch.Tensor, *, layer_1: str, layer_2: str | None = None,
         start="super-noise", kind: str = "linear", batch_size: int = 64, seed: int = 0, **options) -> dict:
    """STIR in both directions and the plain representational similarity, over ``inputs`` (N, C, H, W).

    Returns ``{"m2_given_m1": STIR(m2|m1), "m1_given_m2": STIR(m1|m2), "cka": CKA(m1(X), m2(X))}``.
    IRIs are inverted at ``layer_1`` / ``layer_2`` from ``start`` (Nanda's 'super-noise' = randn);
    the seed images are drawn once for all N inputs, and CKA (``kind`` 'linear', 'unbiased' or 'rbf') is
    accumulated over the ``batch_size`` batches, so the value does not depend on the batching.
    ``options`` go to :func:`art_reps.invert` for both models (steps, step_size, schedule, mean, std,
    ...; by default :func:`art_reps.invert`'s recipe).

    Examples:
        >>> import art_reps
        >>> x = art_reps.data.digits_on_textures("test").images[:8]
        >>> s = stir(art_reps.load_model("standard"), art_reps.load_model("l2_eps1"), x, layer_1="avgpool", steps=5)
        >>> sorted(s)
        ['cka', 'm1_given_m2', 'm2_given_m1']
    """
    layer_2 = layer_1 if layer_2 is None else layer_2
    m = stir_matrix({1: model_1, 2: model_2}, inputs, layers={1: layer_1, 2: layer_2}, start=start, kind=kind,
                    batch_size=batch_size, seed=seed, **options)
    return {"m2_given_m1": m["stir"][2][1], "m1_given_m2": m["stir"][1][2], "cka": m["cka"][1][2]}


@with_autograd
def stir_matrix(models: dict, inputs: torch.Tensor, *, layers: str | dict, start="super-noise", kind: str = "linear",
                batch_size: int = 64, seed: int = 0, **options) -> dict:
    """STIR between every ordered pair of ``models`` (name -> module) and CKA between every pair,
    over ``inputs`` (N, C, H, W), making each model's IRIs once.

    Returns ``{"stir": {b: {a: STIR(b | a)}}, "cka": {a: {b: CKA(a(X), b(X))}}}`` for a != b.
    ``layers``: one layer name for all, or name -> layer. Other arguments as in :func:`stir`.

    Examples:
        >>> import art_reps
        >>> x = art_reps.data.digits_on_textures("test").images[:8]
        >>> m = stir_matrix({"s": art_reps.load_model("standard"), "r": art_reps.load_model("l2_eps1")}, x,
        ...                 layers="avgpool", steps=3)
        >>> sorted(m["stir"]["s"]), sorted(m["cka"]["r"])
        (['r'], ['s'])
    """
    names = list(models)
    if len(names) < 2:
        raise ValueError(f"models must hold at least two models to compare, got {len(names)}")
    layers = {n: layers for n in names} if isinstance(layers, str) else dict(layers)
    missing = [n for n in names if n not in layers]
    if missing:
        raise ValueError(f"layers names no layer for the models {missing}")
    check_images(inputs, "inputs")
    CKA(kind)  # checks kind
    minimum = 4 if kind == "unbiased" else 2
    if len(inputs) < minimum:
        raise ValueError(f"STIR compares representations across inputs: kind={kind!r} needs at least {minimum} "
                         f"inputs, got {len(inputs)}")
    check_count(batch_size, "batch_size")
    pairs = [(a, b) for a in names for b in names if a != b]
    stirs = {(a, b): CKA(kind) for a, b in pairs}  # (b, a): STIR(b | a)
    ckas = {(a, b): CKA(kind) for a, b in pairs if names.index(a) < names.index(b)}
    seeds = make_start(start, inputs.shape, device=inputs.device, seed=seed, dtype=inputs.dtype)
    read_options = run_options.split(options)["reading"]  # read as the IRIs were made: same mean, std, transform
    reps = {n: Representation(models[n], layers[n], **read_options) for n in names}
    for i in range(0, len(inputs), batch_size):
        x, s = inputs[i:i + batch_size], seeds[i:i + batch_size]
        with torch.no_grad():
            on = {n: reps[n](x, name="inputs")[layers[n]] for n in names}
        for (a, b), cka in ckas.items():
            cka.update(on[a], on[b])
        for src in names:
            iris = invert(models[src], x, layer=layers[src], start=s, seed=seed, **options).images
            with torch.no_grad():
                for dst in names:
                    if dst != src:
                        stirs[(dst, src)].update(on[dst], reps[dst](iris)[layers[dst]])
    result: dict[str, dict[str, dict]] = {"stir": {b: {} for b in names}, "cka": {a: {} for a in names}}
    for (b, a), cka in stirs.items():
        result["stir"][b][a] = cka.compute()
    for (a, b), cka in ckas.items():
        result["cka"][a][b] = result["cka"][b][a] = cka.compute()
    return result
