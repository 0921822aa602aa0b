"""The primary endpoints registered for round 5 (docs/judging.md, "Round 5"), each measured once:
``python -m reproduction endpoints``.

Engstrom et al.'s inversion claim: the share of the 800 targets (test images 20-99 of each class,
which no control, transfer check or choice used as an inversion target) whose inversion (from
Engstrom's noise, seed 0, :func:`art_reps.invert`'s recipe) a judge recognises, through the robust
model (``l2_eps1``) and the standard one. A judge recognises an image when it names the target's
class at or above its round-5 abstention threshold (``results/judge_controls.json``). The claim
holds under a judge if the lower bound of the paired difference (robust minus standard, 95 % BCa
bootstrap over the targets) is above 0 and the robust share's lower Wilson bound is above chance
(0.1). Only judges that passed round 5 decide; the others are shown as information, and where no
judge passed, people decide (:mod:`reproduction.human_study`).
"""
from __future__ import annotations

import torch

from art_reps import core, zoo
from art_reps.cli.report import rounded
from art_reps.data import digits_on_textures
from art_reps.metrics import interval_text, mean_interval, proportion

from . import judge_controls as J
from .saved import SavedResults
from .template_judge import TemplateJudge

RESULTS = SavedResults("endpoints.json")
BLOCKS = ("endpoints",)
CHANCE = 0.1
SHOWN = ("glyph_judge", "glyph_mixer", "glyph_pair", "smooth_judge", "smooth_pair")  # share no data with the models


def targets(quick: bool = False):
    """Test images 20-99 of each class (``quick``: 20-21), and their indices in the test split."""
    test = digits_on_textures("test")
    stop = 22 if quick else J.PRIMARY_TARGETS.stop
    index = torch.cat([torch.nonzero(test.labels == c).flatten()[J.PRIMARY_TARGETS.start:stop] for c in range(10)])
    return test[index], index


def run_endpoints(*, quick: bool = False, progress: bool = True, controls: dict | None = None) -> dict:
    """Invert the targets through both models once and put every judge that shares no data with
    the models (and ``template``) to them; ``controls``: the round-5 table (default: saved)."""
    controls = controls if controls is not None else J.RESULTS.load()
    deciding = J.validated_judges(controls)
    made, index = targets(quick)
    steps = {"steps": 20} if quick else {}
    inversions = {kind: core.invert(zoo.load_model(name), made.images, layer=zoo.REPRESENTATION_LAYER, seed=0,
                                    progress=progress, **steps).images
                  for kind, name in (("robust", zoo.ROBUST), ("standard", zoo.STANDARD))}
    judges = J.network_judges(SHOWN)
    hits: dict = {}
    for name, judge in judges.items():
        tau = controls["thresholds"][name]
        for kind, images in inversions.items():
            said, confidence = J.judge_answers(judge, images)
            hits.setdefault(name, {})[kind] = (said == made.labels) & (confidence >= tau)
    template = TemplateJudge()
    hits["template"] = {kind: template.predict(images).cpu() == made.labels for kind, images in inversions.items()}
    table = {}
    for name, by_kind in hits.items():
        difference = mean_interval((by_kind["robust"].double() - by_kind["standard"].double()))
        robust = proportion(by_kind["robust"])
        holds = bool(difference["low"] > 0 and robust["low"] > CHANCE)
        table[name] = {"robust": robust, "standard": proportion(by_kind["standard"]), "difference": difference,
                       "holds": holds, "decides": name in deciding}
    return rounded({"quick": quick, "targets": len(made), "indices": index.tolist(), "deciding": list(deciding),
                    "robust": zoo.ROBUST, "standard": zoo.STANDARD, "inversion": table})


def endpoints_table(results: dict) -> str:
    rows = ["| judge | robust recognised | standard recognised | robust - standard (paired, BCa) | holds under it "
            "| decides |", "|---|---|---|---|---|---|"]
    for name, r in results["inversion"].items():
        rows.append(f"| `{name}` | {interval_text(r['robust'], 2)} | {interval_text(r['standard'], 2)} | "
                    f"{interval_text(r['difference'], 2)} | {'yes' if r['holds'] else 'no'} | "
                    f"{'**yes**' if r['decides'] else 'no'} |")
    if results["deciding"]:
        verdict = ("Engstrom et al.'s inversion claim **holds**" if all(
            results["inversion"][j]["holds"] for j in results["deciding"]) else
            "Engstrom et al.'s inversion claim **does not hold**") + (
            f" under every judge that passed round 5 ({', '.join(results['deciding'])}).")
    else:
        verdict = ("**No judge passed round 5's controls, so no judge decides this endpoint**; the rows are "
                   "information, and people decide it (`python -m reproduction human-study`).")
    return (f"Engstrom et al.'s inversion claim, the primary endpoint registered for round 5: {results['targets']} "
            f"targets (test images 20-99 of each class), one inversion each through `{results['robust']}` and "
            f"`{results['standard']}` (seed 0, `invert`'s recipe); recognised = named as its class above the judge's "
            "round-5 abstention threshold (`template` cannot abstain). Wilson intervals; the difference is paired "
            "over the targets. Holds under a judge: the difference's lower bound > 0 and the robust share's lower "
            f"bound > {CHANCE}.\n\n" + "\n".join(rows) + "\n\n" + verdict)


def render(results: dict) -> dict:
    return {"endpoints": endpoints_table(results)}
