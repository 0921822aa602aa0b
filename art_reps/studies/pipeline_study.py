"""What makes invariances human-like: Nanda et al.'s training-pipeline study on the embedded data.

The grid (``art_reps.train.zoo.GRID``): {residual connections, none} x {cross-entropy, SimCLR}
x {no adversarial augmentation, L2 at eps 0.5}, width-16 SmallResNets. Registered before the
measurement (docs/results.md, "What makes invariances human-like"):

- Alignment: regularizer-free IRIs from noise at ``avgpool`` (300 normalised L2 steps of 0.2,
  fake ReLU) for the 100 balanced test targets (independent digits); an IRI is aligned under a
  judge when ``D(IRI, target) <= D(IRI, seed)`` in the judge's features (:mod:`art_reps.studies.judging`).
  Wilson intervals. Judges of the claims: ``judge`` and ``judge_mixer``.
- Effects: paired differences of aligned shares (same targets and seeds) with BCa bootstrap
  intervals over the targets: adversarial augmentation (per architecture x loss), residual
  connections (per loss x augmentation), the contrastive loss (per architecture x augmentation).
- Claims: (1) ``resnet_simclr_l2`` is the most aligned cell under both network judges;
  (2) adversarial augmentation raises alignment for every architecture x loss (interval above 0
  under both network judges).
- STIR between every ordered pair (unbiased CKA, super-noise, 3 seeds, t interval) and clean /
  linear-probe accuracy from each model's card.
"""
from __future__ import annotations

from pathlib import Path

import torch
from tqdm.auto import tqdm

from .. import core, zoo
from .iri_study import SETTINGS as IRI_SETTINGS, alignment_run
from .judging import balanced, distances, network_judges
from ..metrics import interval_text, mean_interval, proportion, seeds_interval, stir_matrix
from .report import SavedResults, rounded, save_grid
from ..train.zoo import GRID

RESULTS = SavedResults("pipeline_study.json")
BLOCKS = ("pipeline", "pipeline_effects", "pipeline_claims", "pipeline_stir")
CLAIM_JUDGES = ("judge", "judge_mixer")
SHOWN_JUDGES = CLAIM_JUDGES + ("ms_ssim", "mask_anywhere")
RUN = ("regularizer-free", "noise")
FACTORS = {  # factor -> (name of the model without it -> name with it)
    "adversarial augmentation": lambda n: n + "_l2" if not n.endswith("_l2") else None,
    "residual connections": lambda n: n.replace("plain_", "resnet_") if n.startswith("plain_") else None,
    "contrastive loss (SimCLR)": lambda n: n.replace("_ce", "_simclr") if "_ce" in n else None,
}
MOST_ALIGNED = "resnet_simclr_l2"


def run_pipeline_study(models=GRID, *, quick: bool = False, out=None, seed: int = 0, progress: bool = True) -> dict:
    """Alignment, effects, claims, STIR and accuracy for ``models`` (``quick``: the same code on
    fewer targets and steps). Writes ``pipeline_iris.png`` (targets, then each model's IRIs) to ``out``."""
    settings = IRI_SETTINGS["quick" if quick else "full"]
    a, st = settings["alignment"], settings["stir"]
    targets = balanced(a["per_class"])
    dists = distances(network_judges())
    loaded = {name: zoo.load_model(name) for name in models}
    hits, iris = {}, {}
    for name in tqdm(models, desc="alignment", disable=not progress):
        iris[name], hits[name] = alignment_run(loaded[name], targets, *RUN, dists=dists, seed=seed, **a["options"])
    if out is not None:
        Path(out).mkdir(parents=True, exist_ok=True)
        per_class = a["per_class"]
        shown = torch.cat([targets.images[::per_class]] + [iris[n][::per_class] for n in models])
        save_grid(shown, Path(out) / "pipeline_iris.png", nrow=10)
    alignment = {n: {j: proportion(hits[n][j]) for j in SHOWN_JUDGES} for n in models}
    effects = _effects(hits, models, seed)
    return rounded({"quick": quick, "models": list(models), "targets": len(targets),
                    "alignment": alignment, "effects": effects, "claims": _claims(alignment, effects),
                    "stir": _stir(loaded, balanced(st["per_class"]).images, st, progress),
                    "accuracy": {n: _accuracy(n) for n in models}})


def _effects(hits: dict, models, seed: int) -> dict:
    """factor -> "with vs without" -> judge -> paired difference of aligned shares, BCa interval."""
    result = {}
    for factor, partner in FACTORS.items():
        for without in models:
            with_ = partner(without)
            if with_ is None or with_ not in hits:
                continue
            result.setdefault(factor, {})[f"{with_} vs {without}"] = {
                j: mean_interval((hits[with_][j].double() - hits[without][j].double()), seed=seed)
                for j in CLAIM_JUDGES}
    return result


def _claims(alignment: dict, effects: dict) -> list[dict]:
    out = []
    if MOST_ALIGNED in alignment:
        best = {j: max(alignment, key=lambda n: alignment[n][j]["score"]) for j in CLAIM_JUDGES}
        out.append({"claim": f"`{MOST_ALIGNED}` (residual, contrastive, adversarial augmentation) is the most aligned",
                    "measured": ", ".join(f"most aligned under {j}: `{n}`" for j, n in best.items()),
                    "holds": all(n == MOST_ALIGNED for n in best.values())})
    adv = effects.get("adversarial augmentation", {})
    if adv:
        raised = {pair: all(d[j]["low"] > 0 for j in CLAIM_JUDGES) for pair, d in adv.items()}
        out.append({"claim": "adversarial augmentation raises alignment for every architecture and loss",
                    "measured": f"interval above 0 under both judges for {sum(raised.values())} of {len(raised)} "
                                f"pairs" + "".join(f"; {p}: {'yes' if r else 'no'}" for p, r in raised.items()),
                    "holds": all(raised.values())})
    return out


def _stir(models: dict, images: torch.Tensor, s: dict, progress: bool) -> dict:
    runs = [stir_matrix(models, images, layers=zoo.REPRESENTATION_LAYER, start="super-noise", kind="unbiased",
                        seed=seed, **s["options"])
            for seed in tqdm(s["seeds"], desc="stir", disable=not progress)]
    return {"images": len(images), "seeds": len(runs),
            "stir": {b: {a: seeds_interval([r["stir"][b][a] for r in runs]) for a in runs[0]["stir"][b]}
                     for b in models}}


def _accuracy(name: str) -> dict:
    card = zoo.model_card(name)
    aa = card["autoattack_accuracy"]
    t = card["training"]
    return {"residual": card.get("architecture_options", {}).get("residual", True),
            "loss": "SimCLR" if t.get("loss", "").startswith("SimCLR") else "cross-entropy", "eps": t["eps"],
            "clean": card["clean_accuracy"], "autoattack": aa[0]["accuracy"] if aa else None,
            "autoattack_eps": aa[0]["eps"] if aa else None}


def _cell(r: dict) -> str:
    return interval_text(r, 2)


def alignment_table(results: dict) -> str:
    rows = ["| model | residual | loss | adv. aug. | clean / probe acc. | AutoAttack L2 | "
            + " | ".join(SHOWN_JUDGES) + " | n |", "|---|---|---|---|---|---|" + "---|" * (len(SHOWN_JUDGES) + 1)]
    for name, by_judge in results["alignment"].items():
        acc = results["accuracy"][name]
        aa = f"{acc['autoattack']:.3f} (eps {acc['autoattack_eps']})" if acc["autoattack"] is not None else "-"
        rows.append(f"| `{name}` | {'yes' if acc['residual'] else 'no'} | {acc['loss']} | "
                    f"{'L2 ' + str(acc['eps']) if acc['eps'] else '-'} | "
                    f"{acc['clean']:.3f} | {aa} | " + " | ".join(_cell(by_judge[j]) for j in SHOWN_JUDGES)
                    + f" | {results['targets']} |")
    return "\n".join(rows)


def effects_table(results: dict) -> str:
    rows = ["| factor | with vs without | " + " | ".join(f"difference, {j}" for j in CLAIM_JUDGES) + " |",
            "|---|---|" + "---|" * len(CLAIM_JUDGES)]
    for factor, pairs in results["effects"].items():
        for pair, by_judge in pairs.items():
            a, b = pair.split(" vs ")
            rows.append(f"| {factor} | `{a}` vs `{b}` | " + " | ".join(_cell(by_judge[j]) for j in CLAIM_JUDGES) + " |")
    return "\n".join(rows)


def claims_table(results: dict) -> str:
    rows = ["| Nanda et al.'s claim | measured | holds here |", "|---|---|---|"]
    rows += [f"| {c['claim']} | {c['measured']} | {'yes' if c['holds'] else '**no**'} |" for c in results["claims"]]
    return "\n".join(rows)


def stir_table(results: dict) -> str:
    s = results["stir"]
    names = list(s["stir"])
    rows = [f"| STIR(row given column), {s['images']} images, {s['seeds']} seeds | " + " | ".join(f"`{n}`" for n in names)
            + " |", "|---|" + "---|" * len(names)]
    for b in names:
        rows.append(f"| `{b}` | " + " | ".join("-" if a == b else _cell(s["stir"][b][a]) for a in names) + " |")
    return "\n".join(rows)


def render(results: dict) -> dict:
    """block name -> markdown."""
    return {"pipeline": alignment_table(results), "pipeline_effects": effects_table(results),
            "pipeline_claims": claims_table(results), "pipeline_stir": stir_table(results)}



__all__ = ["GRID", "run_pipeline_study", "render", "RESULTS"]
