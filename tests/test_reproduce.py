"""`art-reps reproduce` on a fresh run: Engstrom's and Aggarwal's claims, and the README's tables."""
import json
import re
from pathlib import Path

import pytest

from art_reps.reproduce import MEASURES, SWEEP, results_table, run_reproduce

README = Path(__file__).resolve().parent.parent / "README.md"
TOLERANCE = 0.05  # thread scheduling may change the last bits of an optimisation; a share moves by 1/50 steps


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    return out, run_reproduce(out, progress=False)


def _numbers(table: str) -> list[list]:
    rows = []
    for line in table.strip().splitlines():
        if set(line) <= set("|-") or "measure" in line or "| model |" in line:
            continue
        rows.append([float(c) if re.fullmatch(r"-?\d+(\.\d+)?", c.strip()) else c.strip()
                     for c in line.strip().strip("|").split("|")])
    return rows


def test_readme_tables_are_what_reproduce_prints(run):
    out, results = run
    block = re.search(r"<!-- reproduce -->\n(.*?)\n<!-- /reproduce -->", README.read_text(), re.S)
    assert block, "README lacks the <!-- reproduce --> block"
    fresh, shown = _numbers(results_table(results)), _numbers(block.group(1))
    assert [[c for c in r if isinstance(c, str)] for r in fresh] == [[c for c in r if isinstance(c, str)] for r in shown]
    for a, b in zip(fresh, shown):
        for x, y in zip(a, b):
            if isinstance(x, float):
                assert x == pytest.approx(y, abs=TOLERANCE), (a, b)
    assert (out / "results.md").read_text().strip() == results_table(results)
    assert json.loads((out / "results.json").read_text()) == results


def test_every_figure_is_written(run):
    out, results = run
    for model in results["models"]["standard"], results["models"]["robust"]:
        for figure in ("inversion", "inversion_ood", "maximizing_inputs", "interpolation", "manipulation"):
            assert (out / f"{figure}_{model}.png").stat().st_size > 1000


# (measure, judge, margin by which the robust model must beat the standard one): about half the
# gaps measured in the README table. Maximising inputs are not separated on this data (README), so
# no margin is asserted for them.
CLAIMS = [
    ("inversion_recognised", "judge", 0.3),                 # measured 0.70 vs 0.12
    ("inversion_recognised", "judge_robust", 0.3),          # 0.86 vs 0.26
    ("inversion_judge_similarity", "judge_robust", 0.25),   # 0.93 vs 0.37
    ("ood_inversion_judge_similarity", "judge_robust", 0.08),  # 0.82 vs 0.63
    ("interpolation_single_switch", "judge_robust", 0.15),  # 0.30 vs 0.00
    ("interpolation_endpoint_classes", "judge_robust", 0.2),  # 0.73 vs 0.28
    ("manipulation_feature_visible", "judge_robust", 0.15),  # 0.43 vs 0.08
    ("manipulation_success", "judge_robust", 0.05),         # 0.18 vs 0.03
    ("sensitivity_pointing_game", "boxes", 0.15),           # 0.97 vs 0.67
]


@pytest.mark.parametrize("measure,judge,margin", CLAIMS)
def test_robust_beats_standard(run, measure, judge, margin):
    _, results = run
    values = results["engstrom"][measure][judge]
    assert values[results["models"]["robust"]] >= values[results["models"]["standard"]] + margin, values


def test_every_measure_is_reported(run):
    _, results = run
    assert set(results["engstrom"]) == set(MEASURES)
    assert list(results["aggarwal"]) == list(SWEEP)


def test_aggarwal_low_eps_keeps_accuracy_and_localises_better(run):
    """Aggarwal et al.: low-eps adversarial training keeps clean accuracy within a few points and
    gives gradients that localise the object (box accuracy and pointing game)."""
    _, results = run
    sweep = results["aggarwal"]
    standard = sweep["standard"]
    for name in ("l2_eps0.02", "l2_eps0.05"):
        low = sweep[name]
        assert low["clean_accuracy"] >= standard["clean_accuracy"] - 0.03, name
        assert low["box_accuracy"] >= standard["box_accuracy"] + 0.2, name
        assert low["pointing_game"] >= standard["pointing_game"] + 0.1, name
