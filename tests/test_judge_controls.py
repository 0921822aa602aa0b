"""Every judge put to its controls before it decides anything: the page shows the saved measurement,
only judges that clear every bar decide verdicts, and the rule follows the numbers."""
import copy
from pathlib import Path

import pytest

from art_reps import zoo
from art_reps.data.controls import NEGATIVE, POSITIVE
from art_reps.studies import judge_controls as J
from art_reps.studies.science import page_blocks

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.fixture(scope="module")
def saved():
    return J.RESULTS.load()


def test_the_page_shows_the_saved_control_tables(saved):
    assert page_blocks(DOCS / "judging.md", J.BLOCKS) == J.render(saved)


def test_every_judge_that_decides_a_verdict_clears_every_bar(saved):
    decides = J.validated_judges(saved)
    assert decides, "no judge passed its controls: no verdict can be decided"
    for judge in decides:
        row = saved["controls"][judge]
        assert all(row[c]["score"] >= J.POSITIVE_AT_LEAST for c in POSITIVE), judge
        assert all(row[c]["score"] <= J.NEGATIVE_AT_MOST for c in NEGATIVE), judge
        assert judge not in J.SHARE_MODEL_DATA and saved["rights"][judge]["transfer"] is not False
        assert row["targets"]["n"] == 1000  # every test target, one image each
    for judge in J.SHARE_MODEL_DATA:
        assert judge not in decides


def test_the_rights_follow_the_numbers(saved):
    judge = J.validated_judges(saved)[0]
    for control, value in (("shifted", J.POSITIVE_AT_LEAST - 0.01), ("background", J.NEGATIVE_AT_MOST + 0.01)):
        changed = copy.deepcopy(saved)
        changed["controls"][judge][control]["score"] = value
        assert judge not in J.validated_judges(changed), control
    if judge in saved["transfer"]:
        changed = copy.deepcopy(saved)
        vis = changed["transfer"][judge]["standard visualisations"]
        vis["blurred"]["score"] = vis["clean"]["score"] - J.TRANSFER_LOSS - 0.01
        assert judge not in J.validated_judges(changed)


def test_network_judges_that_decide_read_the_clean_test_images(saved):
    for judge in J.validated_judges(saved):
        if judge in zoo.list_models():
            assert zoo.model_card(judge)["clean_accuracy"] >= 0.85, judge


def test_a_quick_run_puts_every_judge_to_every_control():
    results = J.run_judge_controls(quick=True, progress=False)
    assert set(results["controls"]) == set(J.GROUND_TRUTH) | {n for n in J.NETWORK if n in zoo.list_models()}
    for judge, row in results["controls"].items():
        assert set(row) == set(POSITIVE) | set(NEGATIVE) and all(r["n"] == 100 for r in row.values()), judge
    assert set(results["transfer"]) == {n for n in J.NETWORK if n in zoo.list_models()}
    assert set(J.render(results)) == set(J.BLOCKS)
