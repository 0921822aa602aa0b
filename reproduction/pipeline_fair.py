"""The pipeline study made fair (registered in docs/judging.md, "The pipeline study, fair"),
measured once: ``python -m reproduction pipeline-fair``.

The grid's cells and the equal-epochs controls (``train.EQUAL_EPOCHS``: each clean SimCLR cell
fine-tuned as long as its adversarial cell, without the attack), three training runs a cell;
regularizer-free IRIs from noise (the IRI recipe, seeds 0-2) of 100 targets no pipeline
measurement has seen (test images 20-29 of each class). Shares and paired differences are means
over the runs with :func:`art_reps.metrics.runs_interval` (targets and runs drawn).

- Claim 2: adversarial augmentation raises alignment for every architecture x loss, decided on
  ``{arch}_ce_l2 vs {arch}_ce`` and ``{arch}_simclr_l2 vs {arch}_simclr_more`` (lower bounds > 0).
- Claim 1: ``resnet_simclr_l2`` is more aligned than every other cell (each paired difference's
  lower bound > 0), testable only if every SimCLR run reads the digit (probe >= 0.8) and the
  background no more than the supervised runs do (``background_bar``).

Only judges that passed round 5's controls decide; the rows under round 4's judges are information.
"""
from __future__ import annotations

import torch

from art_reps.cli.report import rounded
from art_reps.core import bar
from art_reps.data import digits_on_textures, targets_index
from art_reps.metrics import interval_text, runs_interval

from . import judge_controls as J
from .controls import other_class
from .iri_study import alignment_run
from .judging import SEEDS
from .models import load_model
from .saved import SavedResults
from .train import EQUAL_EPOCHS, GRID, runs_of
from .train import probes as linear_probes

RESULTS = SavedResults("pipeline_fair.json")
BLOCKS = ("pipeline_fair",)
MODELS = GRID + EQUAL_EPOCHS
OFFSET = 20  # test images 20-29 of each class
MOST_ALIGNED = "resnet_simclr_l2"
DIGIT_BAR = 0.8
ARCHITECTURES = ("resnet", "plain")
DECIDING_PAIRS = tuple(p for a in ARCHITECTURES for p in ((f"{a}_ce_l2", f"{a}_ce"),
                                                            (f"{a}_simclr_l2", f"{a}_simclr_more")))
SHOWN_PAIRS = tuple((f"{a}_simclr_l2", f"{a}_simclr") for a in ARCHITECTURES)  # 30 epochs fewer: decide nothing
CLAIM_1_PAIRS = tuple((MOST_ALIGNED, cell) for cell in MODELS if cell != MOST_ALIGNED)
PAIRS = DECIDING_PAIRS + SHOWN_PAIRS + CLAIM_1_PAIRS  # every paired difference the study measures


def judge_key(judge: str) -> str:
    """The key of ``judge``'s shares in the results: ``'glyph_pair: recognised'``."""
    return f"{judge}: recognised"


def run_fair_study(*, quick: bool = False, progress: bool = True, controls: dict | None = None) -> dict:
    """Measure the registered study (``quick``: one target a class, one seed, 60 steps, the first run
    of each cell); ``controls``: the round-5 table (default: saved) that says which judges decide."""
    runs = {cell: runs_of(cell) for cell in MODELS}
    missing = [f"{c}_seed{s}" for c, r in runs.items() for s in (1, 2) if f"{c}_seed{s}" not in r]
    if missing and not quick:
        raise RuntimeError(f"the registered study needs three runs of every cell; not trained yet: {missing} "
                           "(python -m reproduction.train NAME)")
    runs = {cell: r[:1] for cell, r in runs.items()} if quick else runs
    controls = controls if controls is not None else J.RESULTS.load()
    deciding = J.validated_judges(controls)
    judges = {**J.earlier_judges(), **(J.deciding_judges(results=controls) if deciding else {})}
    keys = [judge_key(j) for j in judges]
    test = digits_on_textures("test")
    index = targets_index(test, 1 if quick else 10, OFFSET)
    targets, others = test[index], other_class(test[index], index.tolist())
    seeds, options = ((0,), {"steps": 60}) if quick else (SEEDS, {})
    hits, probes = {}, {}
    for cell in bar(MODELS, desc="alignment", show=progress):
        by_run = []
        for name in runs[cell]:
            model = load_model(name)
            found = [alignment_run(model, targets, others, "regularizer-free", "noise", judges=judges, seed=s,
                                   **options)[1] for s in seeds]
            by_run.append({k: torch.stack([f[k] for f in found]).double().mean(0) for k in keys})  # (targets,)
            probes.setdefault(cell, []).append(linear_probes(model, "test"))
        hits[cell] = {k: torch.stack([r[k] for r in by_run]) for k in keys}  # (runs, targets)
    alignment = {c: {k: runs_interval(hits[c][k]) for k in keys} for c in MODELS}
    differences = {f"{a} vs {b}": {k: runs_interval(hits[a][k], hits[b][k]) for k in keys} for a, b in PAIRS}
    decided_keys = [judge_key(j) for j in deciding]
    return rounded({"quick": quick, "models": list(MODELS), "targets": len(targets), "seeds": len(seeds),
                    "runs": runs, "keys": keys, "deciding": list(deciding), "alignment": alignment,
                    "differences": differences, "probes": probes,
                    "claims": claims(differences, probes, decided_keys, keys)})


def background_bar(probes: dict) -> float:
    """The most any supervised run reads the background picture: what a model that learned digits
    from their labels reads, so a contrastive run may read as much (the registered bar)."""
    return max(p["background"] for cell, runs in probes.items() if "_ce" in cell for p in runs)


def _decide(differences: dict, pairs, keys) -> bool | None:
    """Every pair's lower bound above 0 under every key; None without a key (no judge decides)."""
    if not keys:
        return None
    return all(differences[f"{a} vs {b}"][k]["low"] > 0 for a, b in pairs for k in keys)


def claims(differences: dict, probes: dict, decided_keys, shown_keys) -> list[dict]:
    """Claims 2 and 1 as registered: ``holds`` under the deciding judges' keys (None when no judge
    decides, or claim 1 not testable), ``information`` the same rule under every shown key."""
    bar_ = background_bar(probes)
    contrastive = [p for cell, runs in probes.items() if "_simclr" in cell for p in runs]
    testable = all(p["digit"] >= DIGIT_BAR and p["background"] <= bar_ for p in contrastive)
    out = []
    for claim, pairs, can in (
            ("adversarial augmentation raises alignment for every architecture and loss (SimCLR against its "
             "equal-epochs control)", DECIDING_PAIRS, True),
            (f"`{MOST_ALIGNED}` is more aligned than every other cell", CLAIM_1_PAIRS, testable)):
        row = {"claim": claim, "pairs": [f"{a} vs {b}" for a, b in pairs],
               "holds": _decide(differences, pairs, decided_keys) if can else None,
               "information": {k: _decide(differences, pairs, [k]) for k in shown_keys}}
        if not can:
            row["undecided"] = (f"not testable here: a contrastive run misses a probe bar (digit >= {DIGIT_BAR}, "
                                f"background <= {bar_:.2f}, the supervised runs' most)")
        out.append(row)
    return out


def _held(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "**no**")


def fair_table(results: dict) -> str:
    keys = results["keys"]
    rows = [f"| cell | runs | digit / background probe (each run) | {' | '.join(keys)} |",
            "|---|---|---|" + "---|" * len(keys)]
    for cell in results["models"]:
        read = ", ".join(f"{p['digit']:.2f} / {p['background']:.2f}" for p in results["probes"][cell])
        rows.append(f"| `{cell}` | {len(results['runs'][cell])} | {read} | "
                    + " | ".join(interval_text(results["alignment"][cell][k], 2) for k in keys) + " |")
    roles = {"claim 2": DECIDING_PAIRS, "shown (30 epochs fewer)": SHOWN_PAIRS, "claim 1": CLAIM_1_PAIRS}
    effects = [f"| pair | role | {' | '.join(f'difference, {k}' for k in keys)} |", "|---|---|" + "---|" * len(keys)]
    for pair, by_key in results["differences"].items():
        a, b = pair.split(" vs ")
        role = ", ".join(r for r, pairs in roles.items() if (a, b) in pairs)
        effects.append(f"| `{a}` vs `{b}` | {role} | " + " | ".join(interval_text(by_key[k], 2) for k in keys) + " |")
    judged = [f"| Nanda et al.'s claim | holds here | {' | '.join(f'under {k} (information)' for k in keys)} |",
              "|---|---|" + "---|" * len(keys)]
    for c in results["claims"]:
        held = c.get("undecided") or ("undecided: no judge passed round 5's controls" if not results["deciding"]
                                      else _held(c["holds"]))
        judged.append(f"| {c['claim']} | {held} | " + " | ".join(_held(c["information"][k]) for k in keys) + " |")
    intro = (f"{results['targets']} targets (test images {OFFSET}-{OFFSET + results['targets'] // 10 - 1} of each "
             f"class), {results['seeds']} IRI seeds each, every training run of each cell; means over the runs "
             "with a two-level bootstrap interval (targets and runs). Deciding judges: "
             + (", ".join(f"`{j}`" for j in results["deciding"]) or "none passed round 5's controls") + ".")
    return "\n\n".join([intro, "\n".join(rows), "\n".join(effects), "\n".join(judged), summary(results)])


def summary(results: dict) -> str:
    """The block's sentences, each number read from ``results``: per shown key, the adversarial
    augmentation effects against the equal-epochs controls and against the longer-trained clean
    cells, and where ``MOST_ALIGNED`` stands among the cells."""
    out, decided = [], [judge_key(j) for j in results["deciding"]]
    for k in results["keys"]:
        def effects(pairs) -> str:
            return "; ".join(f"`{a}` vs `{b}` {interval_text(results['differences'][f'{a} vs {b}'][k], 2)}"
                             for a, b in pairs)

        share = {c: results["alignment"][c][k] for c in results["models"]}
        best = max(share, key=lambda c: share[c]["score"])
        below = [b for a, b in CLAIM_1_PAIRS if results["differences"][f"{a} vs {b}"][k]["low"] <= 0]
        out.append(
            f"Under {k} ({'deciding' if k in decided else 'information, deciding nothing'}): "
            f"adversarial augmentation against equal epochs, {effects(DECIDING_PAIRS)}; against the clean cells "
            f"trained 30 epochs fewer, {effects(SHOWN_PAIRS)}. The largest share is `{best}`'s "
            f"({interval_text(share[best], 2)}); `{MOST_ALIGNED}` has {interval_text(share[MOST_ALIGNED], 2)}, and "
            + (f"its difference's lower bound is at or below 0 against {len(below)} of the {len(CLAIM_1_PAIRS)} "
               f"other cells ({', '.join(f'`{b}`' for b in below)})." if below else
               f"its difference's lower bound is above 0 against all {len(CLAIM_1_PAIRS)} other cells."))
    return "\n\n".join(out)


def render(results: dict) -> dict:
    return {"pipeline_fair": fair_table(results)}
