"""The pipeline study made fair (docs/judging.md, "The pipeline study, fair"): its claims are decided
as registered and can fail, the background bar is the supervised runs' own, and the page's block is
the rendering of results/pipeline_fair.json once measured."""
import copy
from pathlib import Path

import pytest

from reproduction import pipeline_fair as F
from reproduction.models import list_models
from reproduction.pages import page_blocks

RESULTS = Path(__file__).resolve().parents[2] / "docs" / "results.md"
KEYS = ("a: recognised", "b: recognised")
READS = {"digit": 0.85, "background": 0.3}


def _differences(low: float) -> dict:
    return {f"{a} vs {b}": {k: {"score": low + 0.1, "low": low, "high": low + 0.2} for k in KEYS} for a, b in F.PAIRS}


def _probes(**changed) -> dict:
    return {cell: [dict(READS, **changed.get(cell, {}))] * 3 for cell in F.MODELS}


def test_the_claims_hold_when_every_bound_is_above_zero_and_fail_when_one_is_not():
    assert [c["holds"] for c in F.claims(_differences(0.05), _probes(), KEYS, KEYS)] == [True, True]
    one_below = _differences(0.05)
    one_below["plain_simclr_l2 vs plain_simclr_more"]["b: recognised"]["low"] = -0.01
    one_below["resnet_simclr_l2 vs resnet_ce_l2"]["a: recognised"]["low"] = 0.0
    claim_2, claim_1 = F.claims(one_below, _probes(), KEYS, KEYS)
    assert claim_2["holds"] is False and claim_2["information"] == {"a: recognised": True, "b: recognised": False}
    assert claim_1["holds"] is False and claim_1["information"] == {"a: recognised": False, "b: recognised": True}


def test_the_shown_pairs_against_the_longer_trained_cells_decide_nothing():
    edited = _differences(0.05)
    for a, b in F.SHOWN_PAIRS:
        for k in KEYS:
            edited[f"{a} vs {b}"][k]["low"] = -0.5
    edited["resnet_simclr_l2 vs resnet_simclr"] = _differences(0.05)["resnet_simclr_l2 vs resnet_simclr"]  # claim 1's
    assert F.claims(edited, _probes(), KEYS, KEYS)[0]["holds"] is True


def test_no_deciding_judge_leaves_the_claims_undecided_with_the_information_kept():
    claims = F.claims(_differences(0.05), _probes(), [], KEYS)
    assert [c["holds"] for c in claims] == [None, None]
    assert all(c["information"] == dict.fromkeys(KEYS, True) for c in claims)


@pytest.mark.parametrize("changed", [{"plain_simclr_more": {"digit": 0.79}},
                                     {"resnet_simclr": {"background": 0.31}}])
def test_claim_1_needs_contrastive_runs_that_read_digits_and_no_more_background_than_supervised_ones(changed):
    claim_2, claim_1 = F.claims(_differences(0.05), _probes(**changed), KEYS, KEYS)
    assert claim_2["holds"] is True and claim_1["holds"] is None
    assert claim_1["undecided"].startswith("not testable here") and "background <= 0.30" in claim_1["undecided"]


def test_the_background_bar_is_the_most_any_supervised_run_reads():
    probes = _probes(resnet_ce_l2={"background": 0.42})
    assert F.background_bar(probes) == 0.42
    probes["resnet_simclr"] = [dict(READS, background=0.4)] * 3
    assert F.claims(_differences(0.05), probes, KEYS, KEYS)[1]["holds"] is True


def test_the_summary_sentences_are_read_from_the_numbers():
    share = {"score": 0.3, "low": 0.2, "high": 0.4}
    results = {"keys": list(KEYS), "deciding": ["a"], "models": list(F.MODELS), "differences": _differences(0.05),
               "alignment": {c: dict.fromkeys(KEYS, share) for c in F.MODELS}}
    results["alignment"]["plain_ce_l2"] = dict.fromkeys(KEYS, {"score": 0.61, "low": 0.5, "high": 0.7})
    text = F.summary(results)
    assert "Under a: recognised (deciding)" in text and "Under b: recognised (information, deciding nothing)" in text
    assert "`resnet_ce_l2` vs `resnet_ce` 0.15 [0.05, 0.25]" in text and "`plain_ce_l2`'s (0.61 [0.50, 0.70])" in text
    assert text.count(f"above 0 against all {len(F.CLAIM_1_PAIRS)} other cells") == 2
    results["differences"]["resnet_simclr_l2 vs plain_ce_l2"]["b: recognised"]["low"] = -0.02
    changed = F.summary(results)
    assert f"at or below 0 against 1 of the {len(F.CLAIM_1_PAIRS)} other cells (`plain_ce_l2`)" in changed


def test_every_model_of_the_registration_is_a_cell_with_three_runs_once_trained():
    from reproduction.train import REPLICATES, SPECS

    assert set(F.MODELS) <= set(SPECS) and len(F.MODELS) == 10
    for cell in F.MODELS:
        assert [n for n in REPLICATES if n.rsplit("_seed", 1)[0] == cell] == [f"{cell}_seed1", f"{cell}_seed2"]


@pytest.mark.skipif(not set(F.MODELS) <= set(list_models()), reason="a cell is not trained yet: "
                    "python -m reproduction.train equal-epochs")
def test_quick_run_renders_every_row_the_page_will_show(monkeypatch):
    # the linear probes take 40 s a model here and are checked in tests/repo/test_probes.py: one reading stands in
    monkeypatch.setattr(F, "linear_probes", lambda model, split: dict(READS))
    results = F.run_fair_study(quick=True, progress=False)
    assert list(results["alignment"]) == list(F.MODELS) and results["targets"] == 10
    table = F.render(results)["pipeline_fair"]
    assert all(f"`{c}`" in table for c in F.MODELS) and "claim 2" in table and "shown (30 epochs fewer)" in table
    for row in results["alignment"].values():
        for r in row.values():
            assert r["low"] - 1e-9 <= r["score"] <= r["high"] + 1e-9


def test_the_page_block_is_the_saved_measurement_or_says_it_is_not_measured():
    block = page_blocks(RESULTS, F.BLOCKS)["pipeline_fair"]
    saved = F.RESULTS.load() if F.RESULTS.path().is_file() else None
    assert block == (F.render(saved)["pipeline_fair"] if saved else "(measured by the command above)")


def test_the_saved_verdicts_are_what_the_saved_numbers_decide():
    if not F.RESULTS.path().is_file():
        pytest.skip("the fair pipeline study is not measured yet: python -m reproduction pipeline-fair")
    saved = F.RESULTS.load()
    assert saved["quick"] is False and saved["targets"] == 100 and saved["seeds"] == 3
    assert all(len(r) == 3 for r in saved["runs"].values())
    decided = [F.judge_key(j) for j in saved["deciding"]]
    again = F.claims(saved["differences"], saved["probes"], decided, saved["keys"])
    assert again == saved["claims"]
    edited = copy.deepcopy(saved)
    for k in saved["keys"]:
        edited["differences"]["resnet_ce_l2 vs resnet_ce"][k]["low"] = -0.01
    assert all(v is False for v in F.claims(edited["differences"], edited["probes"], [],
                                            saved["keys"])[0]["information"].values())


def test_the_full_study_refuses_to_run_on_fewer_runs_than_registered(monkeypatch):
    monkeypatch.setattr(F, "runs_of", lambda cell: (cell, f"{cell}_seed1"))
    with pytest.raises(RuntimeError, match="three runs of every cell.*resnet_ce_seed2"):
        F.run_fair_study(progress=False)
