"""Nanda et al. and Feather et al. on the embedded models, judged as :mod:`reproduction.judging` says:
IRI alignment for every model x loss x judge, STIR between two models both ways over several
seeds, and metamer success per model and layer, every figure with its interval.

An IRI is judged by three criteria (:mod:`reproduction.judging`): recognised as the target's
class by each judge that passed its controls (ten-way; verdicts use it), a two-way choice against
a digit of another class on the same background, and Nanda's ``D(IRI, target) <= D(IRI, seed)``
(kept as the paper's). The adversarial regulariser pushes away from the target in the first
``judge`` network's features (Nanda's automatic lambda), a judge that decides nothing, so every
judge that decides is one it did not optimise against. IRIs are read with the fake ReLU, as
Nanda's ``LPNormLossSingleModel`` does.
"""
from __future__ import annotations

import torch

from art_reps import core, zoo
from art_reps.data import balanced, digits_on_textures, targets_index
from art_reps.metrics import alignment_hits, metamer_success, proportion, seeds_interval, stir
from art_reps.metrics.recognition import recognised

from .controls import other_class
from .judge_controls import earlier_judges as verdict_judges  # round 4's, until measured under round 5
from .judge_controls import network_judges
from .judging import SEEDS, TARGETS_OFFSET, distances, over_targets
from .models import load_model

ALIGNMENT_MODELS = ("standard", "l2_eps0.05", zoo.ROBUST)
ALIGNMENT_RUNS = (("regularizer-free", "noise"), ("regularizer-free", "super-noise"), ("freq", "noise"),
                  ("mahendran", "noise"), ("adversarial", "noise"))  # (loss, seed)
ATTACKED = "judge"  # the distance the adversarial regulariser pushes up
SETTINGS = {
    # the methods' recipes (core.METHODS["iris"].defaults(loss=...), core.METHODS["invert"].defaults()),
    # fewer steps when quick
    "full": {"alignment": {"per_class": 10, "seeds": SEEDS, "options": {}},
             "stir": {"per_class": 10, "options": {}, "seeds": (0, 1, 2)},
             "metamers": {"per_class": 10, "options": {}, "pairs": 2000}},
    "quick": {"alignment": {"per_class": 1, "seeds": (0,), "options": {"steps": 60}},
              "stir": {"per_class": 1, "options": {"steps": 30}, "seeds": (0, 1)},
              "metamers": {"per_class": 1, "options": {"steps": 60}, "pairs": 300}},
}
METAMER_MODELS = ("standard", "l2_eps0.05", zoo.ROBUST)
METAMER_LAYERS = ("layer2", "avgpool")


def run_key(loss: str, kind: str) -> str:
    """The key of one IRI run (loss, seed kind) in :func:`run_alignment`'s result: ``"loss / kind"``."""
    return f"{loss} / {kind}"


def run_alignment(models=ALIGNMENT_MODELS, runs=ALIGNMENT_RUNS, *, quick: bool = False, seed: int = 0,
                  progress: bool = True) -> dict:
    """``result[model][f"{loss} / {seed kind}"][f"{judge}: {criterion}"]``: the share of IRIs that meet
    the criterion, over the fresh targets and the seeds, with its interval (:mod:`.judging`)."""
    s = SETTINGS["quick" if quick else "full"]["alignment"]
    test = digits_on_textures("test")
    index = targets_index(test, s["per_class"], TARGETS_OFFSET)
    targets, others = test[index], other_class(test[index], index.tolist())
    judges = verdict_judges()
    result: dict = {}
    bar = core.bar(total=len(models) * len(runs), desc="alignment", show=progress)
    for name in models:
        model = load_model(name)
        for loss, kind in runs:
            hits = {}
            for run_seed in s["seeds"]:
                _, found = alignment_run(model, targets, others, loss, kind, judges=judges, seed=seed + run_seed,
                                         **s["options"])
                for key, h in found.items():
                    hits.setdefault(key, []).append(h)
            result.setdefault(name, {})[run_key(loss, kind)] = {k: over_targets(torch.stack(h)) for k,
                                                                h in hits.items()}
            bar.update(1)
    bar.close()
    return result


def alignment_run(model, targets, others, loss: str, kind: str, *, judges: dict, seed: int = 0,
                  **options) -> tuple[torch.Tensor, dict]:
    """The IRIs (N, C, H, W) of ``model`` for ``targets``, made with ``loss`` (its recipe, changed by
    ``options``) from ``kind`` seeds, and ``"judge: criterion"`` -> (N,) booleans: ``recognised``
    (ten-way) under each judge; ``two-way`` (nearer the target than ``others``, a digit of another
    class on the same background) and ``nanda`` (nearer the target than the seed) in each network
    judge's features, and ``nanda`` under SSIM and MS-SSIM. The adversarial loss pushes away from
    the target in the features of ``ATTACKED``, a judge that decides nothing."""
    seeds = core.make_start(kind, targets.images.shape, seed=seed)
    attacked = distances(network_judges(names=(ATTACKED,)))[ATTACKED] if loss == "adversarial" else None
    iris = core.iris(model, targets.images, layer=zoo.REPRESENTATION_LAYER, loss=loss, start=seeds,
                     distance=attacked, seed=seed, progress=False, **options).images
    hits = {f"{j}: recognised": h for j, h in recognised(iris, targets.labels, judges).items()}
    for j, d in distances(judges).items():
        if j in judges:
            hits[f"{j}: two-way"] = alignment_hits(iris, targets.images, others.images, d)
        hits[f"{j}: nanda"] = alignment_hits(iris, targets.images, seeds, d)
    return iris, hits


def run_stir(model_1: str = zoo.STANDARD, model_2: str = zoo.ROBUST, *, quick: bool = False,
             progress: bool = True) -> dict:
    """STIR both ways and plain CKA between two embedded models at the representation layer, with
    unbiased-HSIC CKA, over several seeds of the IRIs' noise: mean and t interval over seeds."""
    s = SETTINGS["quick" if quick else "full"]["stir"]
    x = balanced(s["per_class"], offset=TARGETS_OFFSET).images
    runs = []
    for seed in core.bar(s["seeds"], desc="stir", show=progress):
        runs.append(stir(load_model(model_1), load_model(model_2), x, layer_1=zoo.REPRESENTATION_LAYER,
                         start="super-noise", kind="unbiased", seed=seed, **s["options"]))
    return {"model_1": model_1, "model_2": model_2, "images": len(x),
            **{k: seeds_interval([r[k] for r in runs]) for k in runs[0]}}


def run_metamers(models=METAMER_MODELS, layers=METAMER_LAYERS, *, quick: bool = False, seed: int = 0,
                 progress: bool = True) -> dict:
    """``result[model][layer]``: Feather et al.'s metamer success (same predicted class, and Spearman
    rho above the largest of a null from random pairs of validation images), with Wilson intervals."""
    s = SETTINGS["quick" if quick else "full"]["metamers"]
    originals = balanced(s["per_class"], offset=TARGETS_OFFSET).images
    null = digits_on_textures("val").images
    result: dict = {}
    bar = core.bar(total=len(models) * len(layers), desc="metamers", show=progress)
    for name in models:
        model = load_model(name)
        for layer in layers:
            res = core.iris(model, originals, layer=layer, loss="feather", start="noise", seed=seed, **s["options"])
            scores = metamer_success(model, res.images, originals, layer=layer, null_images=null,
                                     null_pairs=s["pairs"], seed=seed, per_item=True)
            result.setdefault(name, {})[layer] = {
                **{k: proportion(scores[k]) for k in ("same_class", "above_null", "success")},
                "null_max": scores["null_max"]}
            bar.update(1)
    bar.close()
    return result
