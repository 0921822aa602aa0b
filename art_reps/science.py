"""Every science table of the README from one command, ``art-reps reproduce``: Engstrom et al.,
Aggarwal et al., Nanda et al.'s alignment and STIR, Feather et al.'s metamers. The full run
writes ``results/science.json``; the README's blocks between ``<!-- name -->`` markers are
rendered from it (``--readme``), so no number in them is typed by hand.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from . import zoo
from .metrics import interval_text
from .report import rounded, write_json

RESULTS = Path(__file__).resolve().parent.parent / "results" / "science.json"
BLOCKS = ("engstrom", "aggarwal", "alignment", "stir", "metamers")
ENGSTROM = {
    "inversion_recognised": "inversion from noise: shows the target's class",
    "inversion_distance": "inversion: relative representation distance reached",
    "ood_inversion_similarity": "inversion of photos and faces: judge-feature cosine similarity",
    "maximizing_shows_class": "maximising input of a class-selective channel: shows the channel's class",
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
    from .reproduce import run_reproduce

    return rounded({"quick": quick, "robust": zoo.ROBUST,
                    "reproduce": run_reproduce(out, quick=quick, device=device, seed=seed, progress=progress),
                    "alignment": run_alignment(quick=quick, seed=seed, progress=progress),
                    "stir": run_stir(quick=quick, progress=progress),
                    "metamers": run_metamers(quick=quick, seed=seed, progress=progress)})


def _cell(r: dict) -> str:
    return interval_text(r, 3 if r["high"] - r["low"] < 0.01 else 2)


def engstrom_table(rep: dict) -> str:
    std, rob = rep["models"]["standard"], rep["models"]["robust"]
    rows = [f"| measure | judge | `{std}` | `{rob}` | n |", "|---|---|---|---|---|"]
    for key, label in ENGSTROM.items():
        for judge, values in rep["engstrom"][key].items():
            rows.append(f"| {label} | {judge} | {_cell(values[std])} | {_cell(values[rob])} | {values[std]['n']} |")
    return "\n".join(rows)


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
    rows = ["| model | layer | same class | rho above null | success | null max rho | n |", "|---|---|---|---|---|---|---|"]
    for model, by_layer in metamers.items():
        for layer, r in by_layer.items():
            rows.append(f"| `{model}` | {layer} | {_cell(r['same_class'])} | {_cell(r['above_null'])} | "
                        f"{_cell(r['success'])} | {r['null_max']:.3f} | {r['success']['n']} |")
    return "\n".join(rows)


def render(results: dict) -> dict:
    """block name -> markdown table."""
    return {"engstrom": engstrom_table(results["reproduce"]), "aggarwal": aggarwal_table(results["reproduce"]),
            "alignment": alignment_table(results["alignment"]), "stir": stir_table(results["stir"]),
            "metamers": metamer_table(results["metamers"])}


def _pattern(name: str) -> re.Pattern:
    return re.compile(rf"(<!-- {name} -->\n)(.*?)(\n<!-- /{name} -->)", re.S)


def readme_blocks(path) -> dict:
    """block name -> the markdown between its markers in the README at ``path``."""
    text = Path(path).read_text()
    found = {name: _pattern(name).search(text) for name in BLOCKS}
    missing = [name for name, m in found.items() if m is None]
    if missing:
        raise ValueError(f"{path} lacks the blocks {missing} (<!-- name --> ... <!-- /name -->)")
    return {name: m.group(2) for name, m in found.items()}


def update_readme(path, blocks: dict) -> None:
    """Replace each block between its markers in the README at ``path``."""
    path = Path(path)
    text = path.read_text()
    readme_blocks(path)
    for name, table in blocks.items():
        text = _pattern(name).sub(lambda m: m.group(1) + table + m.group(3), text)
    path.write_text(text)


def save_results(results: dict, path=RESULTS) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_json(results, Path(path))


def load_results(path=RESULTS) -> dict:
    return json.loads(Path(path).read_text())
