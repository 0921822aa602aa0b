"""Beyond the anchors: the plausibility and PAG measures can tell right from wrong, the quick run
of the study has every row and claim, and the results page shows the saved measurement."""
from pathlib import Path

import pytest
import torch

import art_reps
from art_reps.metrics import pag_score, plausibility, plausibility_hits
from art_reps.metrics.pag import classifier_gradient
from art_reps.studies import beyond_anchors as B
from art_reps.studies.science import page_blocks

RESULTS_PAGE = Path(__file__).resolve().parents[1] / "docs" / "results.md"


@pytest.fixture(scope="module")
def test_set():
    return art_reps.data.digits_on_textures("test")


def test_plausibility_prefers_real_images_of_the_class(test_set):
    judge = art_reps.load_model("judge")
    x, y = test_set.images[:100], test_set.labels[:100]
    right, wrong = plausibility_hits(x, y, judge, test_set), plausibility_hits(x, (y + 1) % 10, judge, test_set)
    assert right["similarity"].mean() > wrong["similarity"].mean() + 0.2
    assert right["recognised"].float().mean() > 0.8 > 0.2 > wrong["recognised"].float().mean()
    r = plausibility(x, y, judge, test_set)
    assert r["similarity"]["low"] <= r["similarity"]["score"] <= r["similarity"]["high"] and r["recognised"]["n"] == 100


class _Mirror(torch.nn.Module):
    """A 'score model' whose class gradient is the classifier's own: the PAG score must be 1."""

    def __init__(self, model, sign=1.0):
        super().__init__()
        self.model, self.sigma, self.sign = model, 0.1, sign

    def forward(self, x, y=None):
        return torch.zeros_like(x) if y is None else self.sign * classifier_gradient(self.model, x, y)


def test_pag_score_is_one_for_the_classifiers_own_gradient_and_minus_one_against_it(test_set):
    model = art_reps.load_model("standard")
    x, y = test_set.images[:20], test_set.labels[:20]
    assert pag_score(model, x, y, score_model=_Mirror(model))["score"] == pytest.approx(1.0, abs=1e-5)
    assert pag_score(model, x, y, score_model=_Mirror(model, -1.0))["score"] == pytest.approx(-1.0, abs=1e-5)
    assert not model.training and all(p.grad is None for p in model.parameters())


def test_pag_score_refuses_mismatched_labels(test_set):
    with pytest.raises(ValueError, match="labels"):
        pag_score(art_reps.load_model("standard"), test_set.images[:4], test_set.labels[:3])


def test_the_shipped_score_model_uses_the_labels():
    """Its class gradient carries the class only if the label changes its denoising: true labels must
    denoise the validation images better than wrong ones (by 0.2 % for the shipped model: weak)."""
    from art_reps.train.score import denoising_loss
    from art_reps.zoo.score import load_score_model, score_card

    net, val = load_score_model(), art_reps.data.digits_on_textures("val")
    with torch.no_grad():
        true = denoising_loss(net, val.images, val.labels, torch.Generator().manual_seed(1)).item()
        wrong = denoising_loss(net, val.images, (val.labels + 3) % 10, torch.Generator().manual_seed(1)).item()
    assert true < wrong
    assert score_card()["validation_denoising_loss"]["conditional"] == pytest.approx(true, abs=0.5)


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("beyond")
    return out, B.run_beyond_anchors(quick=True, out=out, progress=False)


def test_quick_run_has_every_row_and_claim(quick):
    out, results = quick
    cells = results["parameterisations"]["cells"]
    assert set(cells) == {"l2_eps1", "standard"} and all(set(c) == set(B.PARAMS) for c in cells.values())
    assert set(results["pag"]) == set(B.SWEEP) and (out / B.FIGURE).exists()
    assert [c["claim"][:20] for c in B.claims(results)] == [c["claim"][:20] for c in B.claims(B.RESULTS.load())]
    for block in B.render(results).values():
        assert "nan" not in block


def test_claims_follow_the_numbers():
    saved = B.RESULTS.load()
    flipped = {**saved, "pag": {**saved["pag"], "l2_eps0.05": {"score": -0.5, "low": -0.6, "high": -0.4, "n": 1000},
                                "l2_eps0.02": {"score": 0.9, "low": 0.8, "high": 1.0, "n": 1000}}}
    aggarwal, regimes = B.claims(flipped)[1:]
    assert aggarwal["holds"] is False and regimes["holds"] is True


def test_results_page_shows_the_saved_measurement():
    saved = B.RESULTS.load()
    assert saved["quick"] is False and saved["parameterisations"]["images_per_cell"] == 100
    assert page_blocks(RESULTS_PAGE, B.BLOCKS) == B.render(saved)
    assert all(r["n"] == 1000 for r in saved["pag"].values())


def test_a_smoothed_judge_answers_by_its_vote_and_reads_its_bases_features(test_set):
    from art_reps.metrics.plausibility import class_centres

    base = art_reps.load_model("judge")
    smoothed = art_reps.zoo.Smoothed(base, sigma=0.1, samples=8)
    x, y = test_set.images[:50], test_set.labels[:50]
    h = B._plausibility(x, y, smoothed, test_set, class_centres(base, test_set))
    votes = smoothed(x)
    assert torch.equal(h["recognised"], votes.argmax(1) == y)
    assert torch.allclose(h["confidence"], votes.gather(1, y.view(-1, 1)).squeeze(1))
    assert torch.allclose(h["similarity"], plausibility_hits(x, y, base, test_set)["similarity"], atol=1e-5)
