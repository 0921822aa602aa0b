"""Every science table of the results page from one command, ``python -m reproduction reproduce``: Engstrom et al.,
Aggarwal et al., Nanda et al.'s alignment and STIR, Feather et al.'s metamers. The full run
writes ``results/science.json``; the blocks between ``<!-- name -->`` markers of
``docs/results.md`` are rendered from it (``--page``), so no number in them is typed by hand.
"""
from __future__ import annotations


from art_reps import zoo
from art_reps.cli.report import rounded
from art_reps.metrics import interval_text

from .models import load_model
from .saved import SavedResults

RESULTS = SavedResults("science.json")
LAYER_NAME = zoo.REPRESENTATION_LAYER
BLOCKS = ("selection", "verdicts", "engstrom", "maximizing", "aggarwal", "alignment", "stir", "metamers")
ENGSTROM = {
    "inversion_recognised": "inversion from noise: shows the target's class",
    "inversion_distance": "inversion: relative representation distance reached",
    "ood_inversion_similarity": "inversion of photos and faces: judge-feature cosine similarity",
    "interpolation_lerp_single_switch": "interpolation from the pixel cross-fade: one class change, a to b",
    "interpolation_lerp_endpoint_classes": "interpolation from the pixel cross-fade: images in an endpoint class",
    "interpolation_noise_single_switch": "interpolation from noise: one class change, a to b",
    "interpolation_noise_endpoint_classes": "interpolation from noise: images in an endpoint class",
    "manipulation_success": "feature addition: added feature visible and class kept",
    "manipulation_feature_visible": "feature addition: added class's probability rose >= 0.05",
    "manipulation_class_kept": "feature addition: class kept",
    "manipulation_added_probability_rise": "feature addition: rise of the added class's probability",
}


def run_all(out="art_reps_results", *, quick: bool = False, device: str = "cpu", seed: int = 0,
            progress: bool = True) -> dict:
    """Run every study (``quick``: the same code on fewer images and steps); figures go to ``out``."""
    from .iri_study import run_alignment, run_metamers, run_stir
    from .judge_controls import ROUND4 as CONTROLS  # the judges of the studies measured before round 5
    from .judge_controls import validated_judges
    from .anchor_experiments import choose_robust, run_reproduce

    controls = CONTROLS.load()
    ceilings = {j: controls["controls"][j]["targets"]["score"] for j in validated_judges(controls)}
    return rounded({"quick": quick, "robust": zoo.ROBUST, "ceilings": ceilings,
                    "selection": choose_robust(quick=quick, seed=seed),
                    "reproduce": run_reproduce(out, quick=quick, device=device, seed=seed, progress=progress),
                    "alignment": run_alignment(quick=quick, seed=seed, progress=progress),
                    "stir": run_stir(quick=quick, progress=progress),
                    "metamers": run_metamers(quick=quick, seed=seed, progress=progress)})


PARTS = ("selection", "maximizing")  # what `python -m reproduction reproduce --only PART` re-measures alone


def run_part(part: str, saved: dict, out="art_reps_results", *, device: str = "cpu", seed: int = 0,
             progress: bool = True) -> dict:
    """``saved`` (the full run's results) with one part measured again by the code the full run
    calls, the same settings, and ``measured_apart[part]`` saying so (seconds, the command)."""
    import time

    from .judge_controls import earlier_judges as verdict_judges
    from .anchor_experiments import SETTINGS, choose_robust, run_maximizing

    if part not in PARTS:
        raise ValueError(f"--only must be one of {list(PARTS)}, got {part!r}")
    if saved.get("quick", True):
        raise ValueError("--only re-measures a part of the saved full run: measure it all first (without --quick)")
    start, result = time.time(), dict(saved)
    if part == "selection":
        result["selection"] = choose_robust(seed=seed)
    else:
        models = saved["reproduce"]["models"]
        loaded = {models[k]: load_model(models[k], device=device) for k in ("standard", "robust")}
        result["reproduce"] = {**saved["reproduce"], "maximizing": run_maximizing(
            loaded, verdict_judges(device), SETTINGS["full"], out, seed)}
    result["measured_apart"] = {**saved.get("measured_apart", {}), part: (
        f"python -m reproduction reproduce --only {part} ({time.time() - start:.0f} s): "
        "the code and settings of the full run")}
    return rounded(result)


def _cell(r: dict) -> str:
    return interval_text(r, 3 if r["high"] - r["low"] < 0.01 else 2)


def engstrom_table(rep: dict) -> str:
    std, rob = rep["models"]["standard"], rep["models"]["robust"]
    rows = [f"| measure | judge | `{std}` | `{rob}` | n |", "|---|---|---|---|---|"]
    for key, label in ENGSTROM.items():
        for judge, values in rep["engstrom"][key].items():
            rows.append(f"| {label} | {judge} | {_cell(values[std])} | {_cell(values[rob])} | {values[std]['n']} |")
    return "\n".join(rows)


def maximizing_table(rep: dict) -> str:
    mx, s = rep["maximizing"], rep["settings"]["maximizing"]
    judges = rep["models"]["judges"]
    rows = ["| model | channels passing (of all) | purity of their top images | " + " | ".join(
        f"{j}: channels, clean | {j}: channels, blurred | {j}: class logits, clean | {j}: class logits, blurred"
        for j in judges) + " |", "|---|---|---|" + "---|---|---|---|" * len(judges)]
    for model, r in mx.items():
        cells = []
        for j in judges:
            ch = r.get("channel", {}).get(j)
            cells += [_cell(ch["clean"]) if ch else "-", _cell(ch["blurred"]) if ch else "-",
                      _cell(r["class_logits"][j]["clean"]), _cell(r["class_logits"][j]["blurred"])]
        rows.append(f"| `{model}` | {r['channels']} of {r['of']} ({', '.join(map(str, r['per_class']))} by class) | "
                    f"{_cell(r['purity']) if r['purity'] else '-'} | " + " | ".join(cells) + " |")
    return (f"Channels of `{LAYER_NAME}` whose {s['top']} most-activating validation images are >= {s['min_purity']} "
            f"of the class they are selected for (up to {s['per_class']} a class), each maximised from "
            f"{len(s['seeds'])} noise starts (interval over channels); class logits from {s['class_seeds']} starts "
            "a class; judged as the selected class, clean and under the transfer control's blur:\n\n"
            + "\n".join(rows))


def aggarwal_table(rep: dict) -> str:
    rows = ["| model | eps | clean accuracy | PGD-20 L2 0.25 | box accuracy (IoU >= 0.5) | mean IoU | pointing game "
            "| threshold |", "|---|---|---|---|---|---|---|---|"]
    for name, r in rep["aggarwal"].items():
        rows.append(f"| `{name}` | {r['eps']} | {_cell(r['clean_accuracy'])} | {r['pgd_accuracy_0.25']:.3f} | "
                    f"{_cell(r['box_accuracy'])} | {_cell(r['mean_iou'])} | {_cell(r['pointing_game'])} | "
                    f"{r['threshold']} |")
    for name, r in rep["aggarwal_baselines"].items():
        rows.append(f"| {name} box (no map) | - | - | - | {_cell(r['box_accuracy'])} | {_cell(r['mean_iou'])} | "
                    f"{_cell(r['pointing_game'])} | - |")
    return "\n".join(rows)


def alignment_table(alignment: dict) -> str:
    judges = list(next(iter(next(iter(alignment.values())).values())))
    rows = ["| model | IRI loss / seed | " + " | ".join(judges) + " | n |", "|---|---|" + "---|" * (len(judges) + 1)]
    for model, by_run in alignment.items():
        for run, scores in by_run.items():
            rows.append(f"| `{model}` | {run} | " + " | ".join(_cell(scores[j]) for j in judges)
                        + f" | {scores[judges[0]]['n']} |")
    return "\n".join(rows)


def stir_table(s: dict) -> str:
    m1, m2 = s["model_1"], s["model_2"]
    return "\n".join([
        f"| quantity ({s['images']} images, mean over {s['cka']['n']} seeds, t interval) | value |", "|---|---|",
        f"| STIR(`{m2}` \\| `{m1}`): {m2} on IRIs of {m1} | {_cell(s['m2_given_m1'])} |",
        f"| STIR(`{m1}` \\| `{m2}`): {m1} on IRIs of {m2} | {_cell(s['m1_given_m2'])} |",
        f"| CKA(`{m1}`, `{m2}`) on the images themselves | {_cell(s['cka'])} |"])


def metamer_table(metamers: dict) -> str:
    rows = ["| model | layer | same class | rho above null | success | null max rho | n |",
            "|---|---|---|---|---|---|---|"]
    for model, by_layer in metamers.items():
        for layer, r in by_layer.items():
            rows.append(f"| `{model}` | {layer} | {_cell(r['same_class'])} | {_cell(r['above_null'])} | "
                        f"{_cell(r['success'])} | {r['null_max']:.3f} | {r['success']['n']} |")
    return "\n".join(rows)


def _scores(by_judge: dict, model: str, judges) -> str:
    return ", ".join(f"{j} {_cell(by_judge[j][model] if model else by_judge[j])}" for j in judges)


def _key(judge: str) -> str:
    return f"{judge}: recognised"


def _against(by_key: dict, model: str | None, judges, ceilings) -> str:
    return ", ".join(f"{j} {_cell(by_key[_key(j)][model] if model else by_key[_key(j)])} (ceiling {ceilings[j]:.2f})"
                     for j in judges)


def verdicts(results: dict) -> list[tuple[str, str, str, bool]]:
    """(claim, target, measured, met) for every target of "How we judge" (docs/judging.md), decided
    ten-way under every judge that passed its controls, against each judge's ceiling (its share
    of the clean targets themselves)."""
    rep = results["reproduce"]
    e = rep["engstrom"]
    std, rob = rep["models"]["standard"], rep["models"]["robust"]
    judges, ceilings = rep["models"]["judges"], results["ceilings"]
    score = lambda r: r["score"]  # noqa: E731
    out = []
    decided = bool(judges)  # with no judge that passed its controls, no verdict on images is decided
    inv = e["inversion_recognised"]
    out.append(("inversion from noise: the robust model's recognised", ">= 0.9 x ceiling under every judge",
                _against(inv, rob, judges, ceilings),
                all(score(inv[_key(j)][rob]) >= 0.9 * ceilings[j] for j in judges)))
    out.append(("inversion from noise: the standard model's recognised", "<= 0.2 under every judge",
                _against(inv, std, judges, ceilings), all(score(inv[_key(j)][std]) <= 0.2 for j in judges)))
    al = results["alignment"]
    from .iri_study import run_key

    free, adv = run_key("regularizer-free", "noise"), run_key("adversarial", "noise")
    out.append(("regularizer-free IRIs, robust: recognised", ">= 0.75 x ceiling under every judge",
                _against(al[rob][free], None, judges, ceilings),
                all(score(al[rob][free][_key(j)]) >= 0.75 * ceilings[j] for j in judges)))
    out.append(("regularizer-free IRIs, standard: recognised", "<= 0.2 under every judge",
                _against(al[std][free], None, judges, ceilings),
                all(score(al[std][free][_key(j)]) <= 0.2 for j in judges)))
    out.append(("adversarial regulariser, robust model: recognised", "below regularizer-free under every judge",
                ", ".join(f"{j} {score(al[rob][adv][_key(j)]):.2f} vs {score(al[rob][free][_key(j)]):.2f}"
                          for j in judges),
                all(score(al[rob][adv][_key(j)]) < score(al[rob][free][_key(j)]) for j in judges)))
    mx = rep["maximizing"]
    network = [j for j in judges if j in e["interpolation_lerp_single_switch"]]
    channel = {m: {j: {k: score(mx[m]["channel"][j][k]) if "channel" in mx[m] else 0.0 for k in ("clean", "blurred")}
                   for j in network} for m in (std, rob)}
    out.append(("maximising inputs of selective channels show their class", "robust - standard >= 0.2 under every "
                "judge, clean and blurred",
                ", ".join(f"{j} {channel[rob][j]['clean']:.2f} - {channel[std][j]['clean']:.2f} (blurred "
                          f"{channel[rob][j]['blurred']:.2f} - {channel[std][j]['blurred']:.2f})" for j in network),
                bool(network) and all(channel[rob][j][k] - channel[std][j][k] >= 0.2 for j in network
                                      for k in ("clean", "blurred"))))
    key = "interpolation_lerp_single_switch"
    out.append(("interpolation from the cross-fade: one class change", "robust - standard >= 0.2 under every judge",
                ", ".join(f"{j} {score(e[key][j][rob]):.2f} - {score(e[key][j][std]):.2f}" for j in network),
                bool(network) and all(score(e[key][j][rob]) - score(e[key][j][std]) >= 0.2 for j in network)))
    if not decided:
        out = [(claim, target, "", None) for claim, target, _, _ in out]
    ag = rep["aggarwal"]
    base = ag[std]
    best = []
    for name, r in ag.items():
        if name == std:
            continue
        ok = (r["clean_accuracy"]["score"] >= base["clean_accuracy"]["score"] - 0.01
              and r["box_accuracy"]["score"] >= 2 * base["box_accuracy"]["score"]
              and r["box_accuracy"]["low"] > base["box_accuracy"]["high"])
        best.append((ok, name, r))
    ok, name, r = max(best, key=lambda t: (t[0], t[2]["box_accuracy"]["score"]))
    out.append(("Aggarwal: low eps keeps accuracy, localises better",
                "clean within 0.01 of standard, box accuracy >= 2x, intervals apart",
                f"{name}: clean {_cell(r['clean_accuracy'])} vs {_cell(base['clean_accuracy'])}, box "
                f"{_cell(r['box_accuracy'])} vs {_cell(base['box_accuracy'])}", ok))
    return out


def verdicts_table(results: dict) -> str:
    rows = ["| claim | target | measured | met |", "|---|---|---|---|"]
    rows += [f"| {c} | {t} | {m or '-'} | {_met(ok)} |" for c, t, m, ok in verdicts(results)]
    return "\n".join(rows)


def _met(ok) -> str:
    return "undecided: no judge passed its controls" if ok is None else "yes" if ok else "**no**"


def selection_table(selection: dict) -> str:
    names = list(selection["scores"])
    judges = list(selection["scores"][names[0]])
    rows = ["| candidate | " + " | ".join(judges) + " | mean | chosen |", "|---|" + "---|" * (len(judges) + 2)]
    for name in names:
        rows.append(f"| `{name}` | " + " | ".join(_cell(selection["scores"][name][j]) for j in judges)
                    + f" | {selection['mean'][name]:.3f} | {'yes' if name == selection['chosen'] else ''} |")
    for name, reason in selection.get("excluded", {}).items():
        rows.append(f"| `{name}` | " + " | ".join("-" for _ in judges) + f" | - | no: {reason} |")
    return "\n".join(rows)


def render(results: dict) -> dict:
    """block name -> markdown table."""
    return {"selection": selection_table(results["selection"]), "verdicts": verdicts_table(results),
            "engstrom": engstrom_table(results["reproduce"]), "maximizing": maximizing_table(results["reproduce"]),
            "aggarwal": aggarwal_table(results["reproduce"]),
            "alignment": alignment_table(results["alignment"]), "stir": stir_table(results["stir"]),
            "metamers": metamer_table(results["metamers"])}
