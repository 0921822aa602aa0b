"""The results page's table of claims: one row a claim, rendered from the saved results, its verdict
following the bounds, and each cited registration committed before the results it governs."""
import copy
import shutil
import subprocess
from pathlib import Path

import pytest

from reproduction import claims as C
from reproduction import endpoints as E
from reproduction import pipeline_fair as F
from reproduction.pages import page_blocks

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def saved():
    return E.RESULTS.load(), F.RESULTS.load()


def test_the_page_shows_the_table_of_the_saved_results(saved):
    assert page_blocks(ROOT / "docs" / "results.md", C.BLOCKS) == C.render(*saved)


def test_one_row_a_claim_and_no_judge_decides_while_none_passed_round_5(saved):
    endpoints, fair = saved
    rows = C.rows(endpoints, fair)
    assert len(rows) == 5 and len({r[0] for r in rows}) == 5
    assert endpoints["deciding"] == fair["deciding"] == []
    assert rows[0][3].startswith(C.NO_JUDGE) and rows[1][3] == C.NO_JUDGE
    assert rows[2][3] == fair["claims"][1]["undecided"]


def test_the_verdict_and_the_measured_text_follow_the_saved_numbers(saved):
    endpoints, fair = copy.deepcopy(saved)
    judge = "glyph_pair"
    endpoints["deciding"] = [judge]
    assert endpoints["inversion"][judge]["holds"] and C.rows(endpoints, fair)[0][3] == "**holds**"
    endpoints["inversion"][judge]["holds"] = False
    assert C.rows(endpoints, fair)[0][3] == "**does not hold**"
    n = len(endpoints["inversion"])
    assert "every lower bound above 0" in C.rows(endpoints, fair)[0][2]
    endpoints["inversion"][judge]["difference"]["low"] = -0.01
    assert f"{n - 1} of {n} lower bounds above 0" in C.rows(endpoints, fair)[0][2]
    fair["deciding"], fair["claims"][0]["holds"] = ["glyph_pair"], False
    assert C.rows(endpoints, fair)[1][3] == "**does not hold**"


def _first_commit(path: str) -> str:
    out = subprocess.run(["git", "log", "--diff-filter=A", "--format=%H", "--", path], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout.split()
    return out[-1] if out else ""


@pytest.mark.parametrize("registration, results", [("b0b37a3", "results/endpoints.json"),
                                                   ("0e8784b", "results/pipeline_fair.json")])
def test_each_cited_registration_was_committed_before_its_results(registration, results):
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    measured = _first_commit(results)
    if not measured or subprocess.run(["git", "cat-file", "-e", registration], cwd=ROOT).returncode:
        pytest.skip("the history is not all here (a shallow clone)")
    assert registration in C.claims_table(E.RESULTS.load(), F.RESULTS.load())
    assert subprocess.run(["git", "merge-base", "--is-ancestor", registration, measured], cwd=ROOT).returncode == 0
    assert not measured.startswith(registration)


def test_the_command_rewrites_the_block_and_measures_nothing(tmp_path, capsys):
    from reproduction.__main__ import main

    page = tmp_path / "page.md"
    page.write_text("text\n<!-- claims -->\nold\n<!-- /claims -->\n")
    assert main(["claims", "--page", str(page)]) == 0
    assert page_blocks(page, C.BLOCKS) == C.render(E.RESULTS.load(), F.RESULTS.load())
    assert capsys.readouterr().out.strip() == C.render(E.RESULTS.load(), F.RESULTS.load())["claims"]
