"""Every judge checked on controls before it decides anything: ``python -m reproduction judge-controls``.

Round 5, registered before measuring (docs/judging.md, "Round 5") and not changed after:

- **Images**: the 1,000 test images (1,000 distinct MNIST digits: independent samples) and, for
  each, every control of :mod:`reproduction.controls` (seed 0): one image per target per control.
- **A judge may answer "no digit"**: a network judge's confidence is its largest class probability
  (an ensemble's: of its mean probabilities; a smoothed judge's: the share of its noisy votes); it
  abstains below its threshold, the 5th percentile of its confidence on the 500 clean validation
  images (:func:`thresholds`, computed before any test control). Ground-truth judges cannot abstain.
- **Scoring**: a positive control counts the targets named as their class, a negative control the
  images abstained on; Wilson 95 % intervals, n = 1,000 per cell. Per-class recall on the clean
  targets and each judge's most frequent answer are reported.
- A judge may **decide a verdict** only if the lower bound of every counted positive control and of
  every negative control is >= 0.80, a network judge passes the transfer control and reads >= 0.85
  of the clean test images (its card), and it shares no training data with the models (``judge``
  and ``judge_mixer`` learned on the models' own training digits: shown, never deciding).
- **Transfer control**, for network judges: each class's logit of the standard and of the robust
  model maximised from Engstrom's noise (:func:`art_reps.visualize`'s recipe, 10 seeds per class:
  100 images per model) and the inversions of test images 10-19 of each class (from noise,
  :func:`art_reps.invert`'s recipe), recognised as their class, clean and blurred (Gaussian, sigma
  0.7). Passed when the blur keeps >= 0.9 of the judge's recognitions of the clean targets and the
  standard model's class visualisations lose at most 0.1 of their recognition under it.
- **Ground-truth judges**: ``template`` (:class:`~reproduction.template_judge.TemplateJudge`,
  seed-free, learns nothing) and the earlier ``mask`` / ``mask_anywhere``, which read
  ``||image - seed||``, here with Engstrom's noise as the seed, as for an inversion.

Rounds 1-4 scored negatives by naming (a judge ignoring the image passes that) and decided on point
estimates; their tables are in ``results/earlier``; the studies measured before round 5 were judged
by round 4's (:func:`earlier_judges`).

    python -m reproduction judge-controls --page docs/judging.md      # measures, saves results/judge_controls.json
"""
from __future__ import annotations

import torch

from art_reps import core, zoo
from art_reps.cli.report import rounded
from art_reps.data import digits_on_textures
from art_reps.metrics import activations, answer, predict, proportion
from art_reps.metrics.recognition import recognised

from .controls import CONTRASTS, NEGATIVE, POSITIVE, SHOWN, controls
from .models import list_models, load_model, model_card
from .saved import SavedResults
from .template_judge import TemplateJudge

RESULTS = SavedResults("judge_controls.json")  # round 5
ROUND4 = SavedResults("earlier/judge_controls_round4.json")  # the judges of the studies measured before round 5
BLOCKS = ("verdict", "controls", "answers", "transfer")
SHARE_MODEL_DATA = ("judge", "judge_mixer")  # trained on the models' own training digits
QUICK_PER_CLASS = 2  # a quick run's targets per class: a check of the code, never a reported number
NETWORK = ("judge", "judge_mixer", "glyph_judge", "glyph_mixer", "smooth_judge", "glyph_pair", "smooth_pair")
ENSEMBLES = {zoo.DEMO_JUDGE: zoo.DEMO_JUDGE_MEMBERS}  # the mean of the members' class probabilities
SMOOTHED = {"smooth_pair": ("glyph_pair", {"sigma": 0.1, "samples": 32})}  # the vote under the members' training noise
GROUND_TRUTH = ("template", "mask", "mask_anywhere")
POSITIVE_AT_LEAST, NEGATIVE_AT_MOST = 0.85, 0.15  # rounds 1-4 (point estimates; negatives by naming)
ROUND4_POSITIVE = ("targets", "shifted", "ink on grey", "new background", "unseen glyph") + tuple(
    f"inversion style {c}" for c in CONTRASTS)
# Round 5 (docs/judging.md, "Round 5"): abstention fixed on validation images, bars on lower bounds
ANSWERED_ON_VALIDATION = 0.95  # the abstention threshold: the 5th percentile of clean validation confidence
LOWER_BOUND_AT_LEAST = 0.80  # every counted positive's recognition and every negative's abstention
PRIMARY_TARGETS = range(20, 100)  # test images 20-99 of each class: 800 targets no earlier step used
BLUR_SIGMA, BLUR_KEEPS, TRANSFER_LOSS = 0.7, 0.9, 0.1
CARD_ACCURACY = 0.85  # a network judge's clean accuracy on the embedded test images, from its card
TRANSFER_SEEDS = 10


def blur(images: torch.Tensor) -> torch.Tensor:
    """The registered mild transform: a Gaussian blur of sigma 0.7 (5x5 kernel)."""
    from torchvision.transforms.functional import gaussian_blur

    return gaussian_blur(images, [5, 5], [BLUR_SIGMA, BLUR_SIGMA])


def load_judge(name: str, device="cpu") -> torch.nn.Module:
    """A network judge: an embedded model, an ensemble of them (:data:`ENSEMBLES`) or a judge
    answering by randomised smoothing (:data:`SMOOTHED`)."""
    if name in ENSEMBLES:
        return zoo.Ensemble([load_model(m, device=device) for m in ENSEMBLES[name]]).eval()
    if name in SMOOTHED:
        base, options = SMOOTHED[name]
        return zoo.Smoothed(load_judge(base, device), **options).eval()
    return load_model(name, device=device)


def available(name: str) -> bool:
    """Whether the weights behind judge ``name`` are embedded."""
    if name in SMOOTHED:
        return available(SMOOTHED[name][0])
    return name in list_models() or all(m in list_models() for m in ENSEMBLES.get(name, ("?",)))


def network_judges(names=NETWORK, device="cpu") -> dict:
    return {name: load_judge(name, device) for name in names if available(name)}


def judge_answers(judge: torch.nn.Module, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(answer (N,), confidence (N,)) of a network judge: its class and its largest class probability
    (a smoothed judge's output is already its vote shares)."""
    out = activations(judge, images, layer="").float()
    shares = out if isinstance(judge, zoo.Smoothed) else out.softmax(1)
    confidence, named = shares.max(1)
    return named.cpu(), confidence.cpu()


def thresholds(judges: dict, *, quick: bool = False) -> dict[str, float]:
    """judge -> its abstention threshold: the confidence below which it answers "no digit", the
    (1 - :data:`ANSWERED_ON_VALIDATION`) quantile of its confidence on the clean validation images
    (all 500; ``quick``: 100). Computed from validation images alone, before any test control."""
    images = digits_on_textures("val").images[:100 if quick else None]
    return {name: float(torch.quantile(judge_answers(judge, images)[1], 1 - ANSWERED_ON_VALIDATION))
            for name, judge in judges.items()}


def _most_frequent(named: torch.Tensor) -> dict:
    """The most frequent answer (-1: "no digit") and its share of the images, with its interval."""
    values, counts = named.unique(return_counts=True)
    top = int(values[counts.argmax()])
    return {"answer": "no digit" if top < 0 else top, **proportion(named == top)}


def run_controls(*, quick: bool = False, progress: bool = True) -> dict:
    """Every judge on every control (see the module docstring); ``quick``: :data:`QUICK_PER_CLASS`
    targets of each class."""
    test = digits_on_textures("test")
    index = torch.arange(len(test)) if not quick else torch.cat(
        [torch.nonzero(test.labels == c).flatten()[:QUICK_PER_CLASS] for c in range(10)])
    targets = test[index]
    judges, template = network_judges(), TemplateJudge()
    tau = thresholds(judges, quick=quick)  # fixed on validation images before any test control is made
    made = controls(targets, index.tolist())
    seeds, labels = made["noise"].images, targets.labels
    table: dict = {}
    frequent: dict = {}
    recall: dict = {}
    for name, control in core.bar(made.items(), desc="controls", show=progress):
        named = {}
        for judge, network in judges.items():
            said, confidence = judge_answers(network, control.images)
            named[judge] = torch.where(confidence >= tau[judge], said, torch.full_like(said, -1))
        named["template"] = answer(template, control.images)
        hits = recognised(control.images, labels, {}, seeds=seeds, targets=targets)
        for judge in (*judges, *GROUND_TRUTH):
            if judge in named:
                shown = named[judge] == -1 if name in NEGATIVE else named[judge] == labels
                frequent.setdefault(judge, {})[name] = _most_frequent(named[judge])
            else:  # mask judges: ten-way by construction, they never abstain
                shown = torch.zeros(len(labels), dtype=torch.bool) if name in NEGATIVE else hits[judge]
            table.setdefault(judge, {})[name] = proportion(shown)
            if name == "targets" and judge in named:
                recall[judge] = [proportion(named[judge][labels == c] == c) for c in range(10)]
    return {"n": len(targets), "thresholds": tau, "controls": table, "most_frequent": frequent,
            "recall": recall, "transfer": run_transfer(judges, targets, quick=quick),
            # an ensemble's or smoothed judge's accuracy: on the 1,000 test images, as it names them
            "card_accuracy": {name: (float((predict(judges[name], targets.images).cpu() == labels).float().mean())
                                     if name in ENSEMBLES or name in SMOOTHED
                                     else model_card(name)["clean_accuracy"]) for name in judges},
            "descriptions": {name: c.description for name, c in made.items()}}


def run_transfer(judges: dict, targets, *, quick: bool = False) -> dict:
    """judge -> the transfer control (see the module docstring)."""
    test = digits_on_textures("test")
    later = torch.cat([torch.nonzero(test.labels == c).flatten()[10:10 + (QUICK_PER_CLASS if quick else 10)]
                       for c in range(10)])
    seeds = QUICK_PER_CLASS if quick else TRANSFER_SEEDS
    classes = torch.arange(10).repeat_interleave(seeds)
    made = {}
    for kind, name in (("standard", zoo.STANDARD), ("robust", zoo.ROBUST)):
        model = load_model(name)
        steps = {"steps": 20} if quick else {}
        made[f"{kind} visualisations"] = (core.visualize(model, layer="", feature=classes.tolist(), seed=0,
                                                         progress=False, **steps).images, classes)
        made[f"{kind} inversions"] = (core.invert(model, test.images[later], layer=zoo.REPRESENTATION_LAYER, seed=0,
                                                  progress=False, **steps).images, test.labels[later])
    out = {}
    for judge_name, judge in judges.items():
        clean = predict(judge, targets.images).cpu() == targets.labels
        blurred = predict(judge, blur(targets.images)).cpu() == targets.labels
        row = {"targets kept under blur": proportion(blurred[clean]) if clean.any() else None}
        for key, (images, labels) in made.items():
            row[key] = {"clean": proportion(predict(judge, images).cpu() == labels),
                        "blurred": proportion(predict(judge, blur(images)).cpu() == labels)}
        out[judge_name] = row
    return out


def verdict_rights(results: dict) -> dict:
    """judge -> {"positives", "negatives", "transfer", "shares_no_data", "card_accuracy", "decides"}
    from a saved table: round 5's rules where it has abstention thresholds, else rounds 1-4's."""
    round5 = "thresholds" in results
    out = {}
    for judge, row in results["controls"].items():
        if round5:
            positives = all(row[c]["low"] >= LOWER_BOUND_AT_LEAST for c in POSITIVE)
            negatives = all(row[c]["low"] >= LOWER_BOUND_AT_LEAST for c in NEGATIVE)
        else:
            positives = all(row[c]["score"] >= POSITIVE_AT_LEAST for c in ROUND4_POSITIVE)
            negatives = all(row[c]["score"] <= NEGATIVE_AT_MOST for c in NEGATIVE)
        transfer = None
        if judge in results["transfer"]:
            t = results["transfer"][judge]
            vis = t["standard visualisations"]
            transfer = bool(t["targets kept under blur"]["score"] >= BLUR_KEEPS
                            and vis["clean"]["score"] - vis["blurred"]["score"] <= TRANSFER_LOSS)
        independent = judge not in SHARE_MODEL_DATA
        accurate = judge not in results["transfer"] or results.get("card_accuracy", {}).get(judge, 1.0) >= CARD_ACCURACY
        out[judge] = {"positives": positives, "negatives": negatives, "transfer": transfer,
                      "shares_no_data": independent, "card_accuracy": accurate,
                      "decides": positives and negatives and transfer is not False and independent and accurate}
    return out


def validated_judges(results: dict | None = None) -> tuple[str, ...]:
    """The judges that may decide verdicts, from the saved control table (``results`` or the file)."""
    rights = verdict_rights(results if results is not None else RESULTS.load())
    return tuple(j for j, r in rights.items() if r["decides"])


def deciding_judges(device="cpu", results: dict | None = None) -> dict:
    """name -> every judge that passed its controls (``results``, default the saved round-5 table),
    ready to answer: network judges (``predict`` gives their class) and, had it passed, the template judge."""
    names = validated_judges(results)
    if not names:
        raise RuntimeError("no judge passed its controls (results/judge_controls.json), so no verdict can be "
                           "decided; put the judges to them with: python -m reproduction judge-controls")
    networks = network_judges(names, device)
    return {name: TemplateJudge() if name == "template" else networks[name] for name in names
            if name == "template" or name in networks}


def earlier_judges(device="cpu") -> dict:
    """The judges of the studies measured before round 5: those that passed round 4's controls
    (``results/earlier/judge_controls_round4.json``: ``glyph_pair``). Those studies' saved verdicts,
    and the quick runs that check their code, use them until they are measured under round 5."""
    return deciding_judges(device, ROUND4.load())


def run_judge_controls(*, quick: bool = False, progress: bool = True) -> dict:
    results = run_controls(quick=quick, progress=progress)
    return rounded({"quick": quick, **results, "rights": verdict_rights(results)})


def _cell(r) -> str:
    from art_reps.metrics import interval_text

    return "-" if r is None else interval_text(r, 2)


def controls_table(results: dict) -> str:
    judges = list(results["controls"])
    rows = ["| control | counted as | " + " | ".join(f"`{j}`" for j in judges) + " |",
            "|---|---|" + "---|" * len(judges)]
    bar = f"lower bound >= {LOWER_BOUND_AT_LEAST}"
    for names, kind in ((POSITIVE, f"positive: recognised, {bar}"), (SHOWN, "shown, not counted"),
                        (NEGATIVE, f"negative: abstained on, {bar}")):
        for name in names:
            cells = " | ".join(_cell(results["controls"][j][name]) for j in judges)
            rows.append(f"| {name} | {kind} | {cells} |")
    rights = results["rights"]

    def why(judge, r):
        if r["decides"]:
            return "**yes**"
        reasons = [text for key, text in (("positives", "a positive below the bar"),
                                          ("negatives", "a negative below the bar"),
                                          ("shares_no_data", "shares the models' training digits")) if not r[key]]
        if judge not in results["thresholds"]:
            reasons.append("cannot abstain")
        if r["transfer"] is False:
            reasons.append("fails the transfer control")
        if not r.get("card_accuracy", True):
            reasons.append(f"clean accuracy below {CARD_ACCURACY}")
        return "no: " + "; ".join(reasons)

    rows.append("| decides verdicts | | " + " | ".join(why(j, rights[j]) for j in judges) + " |")
    return (f"Share of the {results['n']} test targets each judge names as the target's class (positive and shown "
            "controls) or abstains on (negative controls), with 95 % Wilson intervals (one image per target and "
            "control). A judge decides verdicts only if every counted bound clears the bar.\n\n" + "\n".join(rows))


def answers_table(results: dict) -> str:
    """Each network judge's abstention threshold, its recall of each class on the clean targets and
    its most frequent answer on the targets and on each negative control."""
    judges = list(results["recall"])
    rows = ["| | " + " | ".join(f"`{j}`" for j in judges) + " |", "|---|" + "---|" * len(judges)]
    rows.append("| abstains below (confidence) | " + " | ".join(
        f"{results['thresholds'][j]:.3f}" if j in results["thresholds"] else "cannot abstain" for j in judges) + " |")
    for c in range(10):
        rows.append(f"| recall of {c} | " + " | ".join(_cell(results["recall"][j][c]) for j in judges) + " |")
    for control in ("targets", *NEGATIVE):
        rows.append(f"| most frequent answer: {control} | " + " | ".join(
            f"{results['most_frequent'][j][control]['answer']} ({results['most_frequent'][j][control]['score']:.2f})"
            for j in judges) + " |")
    return (f"Abstention thresholds (fixed on the clean validation images), per-class recall on the {results['n']} "
            "clean test targets (Wilson intervals, about 100 a class) and each judge's most frequent answer with "
            "its share.\n\n" + "\n".join(rows))


def transfer_table(results: dict) -> str:
    rows = ["| judge | clean targets kept under blur | " + " | ".join(
        f"{k}: clean, blurred" for k in ("standard visualisations", "robust visualisations", "standard inversions",
                                         "robust inversions")) + " | passes |",
            "|---|---|---|---|---|---|---|"]
    for judge, t in results["transfer"].items():
        cells = [f"{_cell(t[k]['clean'])}, {_cell(t[k]['blurred'])}" for k in
                 ("standard visualisations", "robust visualisations", "standard inversions", "robust inversions")]
        rows.append(f"| `{judge}` | {_cell(t['targets kept under blur'])} | " + " | ".join(cells) +
                    f" | {'yes' if results['rights'][judge]['transfer'] else 'no'} |")
    n = results["transfer"][next(iter(results["transfer"]))]["standard visualisations"]["clean"]["n"]
    return (f"Recognised as their class, clean and under a Gaussian blur of sigma {BLUR_SIGMA} ({n} images a "
            f"model and kind). Passes: the blur keeps >= {BLUR_KEEPS} of the clean targets' recognitions and the "
            f"standard model's visualisations lose <= {TRANSFER_LOSS}.\n\n" + "\n".join(rows))


def verdict_text(results: dict) -> str:
    """What the round's table says, sentence by sentence, from the numbers."""
    rights, rows = results["rights"], results["controls"]
    passed = [j for j, r in rights.items() if r["decides"]]
    counted = (*POSITIVE, *NEGATIVE)
    lines = [f"**{'No judge' if not passed else ', '.join(f'`{j}`' for j in passed)} "
             f"{'passes' if len(passed) != 1 else 'passes'} round 5's controls.**"]
    for judge in results["thresholds"]:
        failed = [c for c in counted if rows[judge][c]["low"] < LOWER_BOUND_AT_LEAST]
        if failed:
            worst = min(failed, key=lambda c: rows[judge][c]["score"])
            lines.append(f"`{judge}` misses {len(failed)} of the {len(counted)} counted controls "
                         f"({', '.join(failed)}); its lowest is {worst}, {_cell(rows[judge][worst])}.")
    grey = {j: rows[j]["grey strokes over noise"]["score"] for j in results["thresholds"]}
    top = max(grey, key=grey.get)
    trained = {j: rows[j]["inversion style 0.5"]["score"] for j in results["thresholds"]}
    lines.append(f"Grey strokes over noise, a colouring no judge trained on, are recognised at most "
                 f"{grey[top]:.2f} (`{top}`); strokes in the colouring the glyph judges trained on (inversion style "
                 f"0.5, shown, not counted) up to {max(trained.values()):.2f}.")
    cannot = [j for j in rows if j not in results["thresholds"]]
    if cannot:
        lines.append(f"{', '.join(f'`{j}`' for j in cannot)} cannot abstain, so no negative control can pass "
                     "them.")
    return " ".join(lines)


def render(results: dict) -> dict:
    return {"verdict": verdict_text(results), "controls": controls_table(results), "answers": answers_table(results),
            "transfer": transfer_table(results)}
