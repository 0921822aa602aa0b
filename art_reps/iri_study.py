"""Nanda et al. and Feather et al. on the embedded models: IRI alignment for every model x loss x
judge with bootstrap intervals, STIR between two models both ways, and metamer success per layer.

The judges (perceptual distances) are not models under test: SSIM, and LPIPS-style distances in
the features of the standard ``judge`` and of ``judge_robust`` (JudgeNet: another architecture and
seed). The adversarial regulariser pushes away from the target in the ``judge`` features, with
Nanda's automatic lambda, so ``judge_robust`` and SSIM are judges it did not optimise against.
"""
from __future__ import annotations

import torch
from tqdm.auto import tqdm

from . import core, zoo
from .data import digits_on_textures
from .demo import one_per_class
from .distances import JudgeDistance, ssim_distance
from .metrics import alignment_score, metamer_success, stir
from .report import rounded

ALIGNMENT_MODELS = ("standard", "l2_eps0.05", "l2_eps0.25")
ALIGNMENT_LOSSES = ("regularizer-free", "freq", "mahendran", "adversarial")
ALIGNMENT = {"per_class": 2, "start": "noise", "steps": 300, "step_size": 0.05}
METAMER_MODELS = ("standard", "l2_eps0.02", "l2_eps0.05", "l2_eps0.1", "l2_eps0.25")
METAMER_LAYERS = ("layer2", "avgpool")
METAMERS = {"per_class": 1, "steps": 400, "null_images": 300}
STIR = {"images": 50, "steps": 200, "start": "super-noise"}


def judges() -> dict:
    """The perceptual distances that judge IRIs: name -> d(x, y) -> (N,)."""
    return {"ssim": ssim_distance, "judge": JudgeDistance(),
            "judge_robust": JudgeDistance(zoo.load_model("judge_robust"))}


def run_alignment(models=ALIGNMENT_MODELS, losses=ALIGNMENT_LOSSES, *, per_class: int = ALIGNMENT["per_class"],
                  steps: int = ALIGNMENT["steps"], step_size: float = ALIGNMENT["step_size"],
                  start: str = ALIGNMENT["start"], seed: int = 0, progress: bool = True) -> dict:
    """``result[model][loss][judge] = {"score", "low", "high", "n"}`` (plus judge ``"mean"``): the
    share of IRIs nearer their target than their seed, with 95 % bootstrap intervals."""
    targets, _ = one_per_class(per_class)
    seeds = core.make_start(start, targets.shape, seed=seed)
    distances = judges()
    result: dict = {}
    bar = tqdm(total=len(models) * len(losses), desc="alignment", disable=not progress)
    for name in models:
        model = zoo.load_model(name)
        for loss in losses:
            iris = core.iris(model, targets, layer=zoo.REPRESENTATION_LAYER, loss=loss, start=seeds, steps=steps,
                             step_size=step_size, distance=distances["judge"], seed=seed).images
            result.setdefault(name, {})[loss] = alignment_score(iris, targets, seeds, distances, seed=seed)
            bar.update(1)
    bar.close()
    return rounded(result)


def alignment_table(result: dict) -> str:
    """Markdown: one row per model x loss, one column per judge, ``score [low, high]``."""
    judge_names = list(next(iter(next(iter(result.values())).values())))
    rows = ["| model | IRI loss | " + " | ".join(judge_names) + " |", "|---|---|" + "---|" * len(judge_names)]
    for model, by_loss in result.items():
        for loss, scores in by_loss.items():
            cells = [f"{scores[j]['score']:.2f} [{scores[j]['low']:.2f}, {scores[j]['high']:.2f}]" for j in judge_names]
            rows.append(f"| `{model}` | {loss} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def run_stir(model_1: str = zoo.STANDARD, model_2: str = zoo.ROBUST, *, images: int = STIR["images"],
             steps: int = STIR["steps"], start: str = STIR["start"], seed: int = 0) -> dict:
    """STIR between two embedded models at the representation layer, both ways, on test images."""
    x = digits_on_textures("test").images[:images]
    scores = stir(zoo.load_model(model_1), zoo.load_model(model_2), x, layer_1=zoo.REPRESENTATION_LAYER,
                  steps=steps, step_size=0.05, start=start, schedule=core.linear_decay(steps), seed=seed)
    return rounded({"model_1": model_1, "model_2": model_2, **scores})


def run_metamers(models=METAMER_MODELS, layers=METAMER_LAYERS, *, per_class: int = METAMERS["per_class"],
                 steps: int = METAMERS["steps"], seed: int = 0, progress: bool = True) -> dict:
    """``result[model][layer]``: Feather et al.'s metamer success (same class and Spearman rho above
    the largest of a null from random pairs of test images) for metamers made from noise."""
    originals, _ = one_per_class(per_class)
    null = digits_on_textures("test").images[-METAMERS["null_images"]:]
    result: dict = {}
    bar = tqdm(total=len(models) * len(layers), desc="metamers", disable=not progress)
    for name in models:
        model = zoo.load_model(name)
        for layer in layers:
            res = core.iris(model, originals, layer=layer, loss="feather", start="noise", steps=steps, seed=seed)
            scores = metamer_success(model, res.images, originals, layer=layer, null_images=null, seed=seed)
            result.setdefault(name, {})[layer] = {k: v for k, v in scores.items() if k != "rho"}
            bar.update(1)
    bar.close()
    return rounded(result)


def metamer_table(result: dict) -> str:
    rows = ["| model | layer | same class | rho above null | success | null max rho |", "|---|---|---|---|---|---|"]
    for model, by_layer in result.items():
        for layer, s in by_layer.items():
            rows.append(f"| `{model}` | {layer} | {s['same_class']:.2f} | {s['above_null']:.2f} | "
                        f"{s['success']:.2f} | {s['null_max']:.3f} |")
    return "\n".join(rows)


def stir_table(result: dict) -> str:
    m1, m2 = result["model_1"], result["model_2"]
    return "\n".join([
        "| quantity | value |", "|---|---|",
        f"| STIR(`{m2}` \\| `{m1}`): {m2} on IRIs of {m1} | {result['m2_given_m1']:.3f} |",
        f"| STIR(`{m1}` \\| `{m2}`): {m1} on IRIs of {m2} | {result['m1_given_m2']:.3f} |",
        f"| CKA(`{m1}`, `{m2}`) on the images themselves | {result['cka']:.3f} |",
    ])
