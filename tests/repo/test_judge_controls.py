"""Every judge put to its controls before it decides anything: the page shows the saved measurement,
only judges that clear every bar decide verdicts, and the rule follows the numbers."""
import copy
from pathlib import Path

import pytest
import torch

from art_reps import zoo
from reproduction.controls import NEGATIVE, POSITIVE, SHOWN
from reproduction import judge_controls as J
from reproduction.pages import page_blocks
from reproduction import models

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(scope="module")
def saved():
    if not J.RESULTS.path().exists():  # registered in b0b37a3; measured once, by: python -m reproduction judge-controls
        pytest.skip("round 5 is not measured yet (python -m reproduction judge-controls --page docs/judging.md)")
    return J.RESULTS.load()


def test_the_page_shows_the_saved_control_tables(saved):
    assert page_blocks(DOCS / "judging.md", J.BLOCKS) == J.render(saved)


def test_every_judge_that_decides_a_verdict_clears_every_bar(saved):
    assert "thresholds" in saved  # round 5: abstention fixed on the validation images
    for judge in J.validated_judges(saved):
        row = saved["controls"][judge]
        assert all(row[c]["low"] >= J.LOWER_BOUND_AT_LEAST for c in (*POSITIVE, *NEGATIVE)), judge
        assert judge not in J.SHARE_MODEL_DATA and saved["rights"][judge]["transfer"] is not False
        assert judge in saved["thresholds"]  # a judge that cannot abstain cannot pass a negative control
    for judge in J.SHARE_MODEL_DATA:
        assert judge not in J.validated_judges(saved)
    assert all(row["targets"]["n"] == 1000 for row in saved["controls"].values())  # every test target, one image each


def _passing(saved, judge):
    """``saved`` with ``judge`` put exactly on every bar."""
    out = copy.deepcopy(saved)
    for c in (*POSITIVE, *NEGATIVE):
        out["controls"][judge][c]["low"] = J.LOWER_BOUND_AT_LEAST
    out["thresholds"].setdefault(judge, 0.5)
    if judge in out["transfer"]:
        t = out["transfer"][judge]
        t["targets kept under blur"]["score"] = J.BLUR_KEEPS
        standard = t["standard visualisations"]
        standard["blurred"]["score"] = standard["clean"]["score"] - J.TRANSFER_LOSS
        out["card_accuracy"][judge] = J.CARD_ACCURACY
    return out


@pytest.mark.parametrize("judge", ["glyph_pair", "smooth_pair"])
def test_the_rights_follow_the_numbers(saved, judge):
    passing = _passing(saved, judge)
    assert judge in J.validated_judges(passing)
    for control in ("shifted", "grey strokes over noise", "background", "noise"):
        changed = copy.deepcopy(passing)
        changed["controls"][judge][control]["low"] = J.LOWER_BOUND_AT_LEAST - 0.01
        assert judge not in J.validated_judges(changed), control
    shown = copy.deepcopy(passing)
    for control in SHOWN:  # shown, not counted
        shown["controls"][judge][control]["low"] = 0.0
    assert judge in J.validated_judges(shown)
    changed = copy.deepcopy(passing)
    changed["transfer"][judge]["standard visualisations"]["blurred"]["score"] -= 0.01
    assert judge not in J.validated_judges(changed)
    changed = copy.deepcopy(passing)
    changed["card_accuracy"][judge] -= 0.01
    assert judge not in J.validated_judges(changed)


def test_a_judge_trained_on_the_models_digits_never_decides(saved):
    assert "judge" not in J.validated_judges(_passing(saved, "judge"))


class _Constant(torch.nn.Module):
    """A judge that ignores the image: the same logits for every input."""

    def __init__(self, logits):
        super().__init__()
        self.logits = torch.nn.Parameter(torch.as_tensor(logits, dtype=torch.float32), requires_grad=False)

    def forward(self, x):
        return self.logits.expand(len(x), -1)


@pytest.mark.parametrize("logits", [[0.0] * 5 + [9.0] + [0.0] * 4, [0.0] * 10], ids=["always five", "uniform"])
def test_a_judge_that_ignores_the_image_fails(logits):
    """Scored as round 5 scores every judge: it never abstains on noise (its confidence on the
    validation images is its confidence everywhere), names one class, and fails."""
    from art_reps.data import digits_on_textures
    from art_reps.metrics import proportion
    from reproduction.controls import controls

    judge = _Constant(logits)
    tau = J.thresholds({"constant": judge}, quick=True)["constant"]
    test = digits_on_textures("test")[:200]
    made = controls(test, range(200))
    row = {}
    for name in (*POSITIVE, *NEGATIVE):
        said, confidence = J.judge_answers(judge, made[name].images)
        named = torch.where(confidence >= tau, said, torch.full_like(said, -1))
        row[name] = proportion(named == -1 if name in NEGATIVE else named == test.labels)
    assert all(row[c]["high"] < J.LOWER_BOUND_AT_LEAST for c in (*POSITIVE, *NEGATIVE))
    results = {"controls": {"constant": row}, "transfer": {}, "thresholds": {"constant": tau}}
    assert J.verdict_rights(results)["constant"]["decides"] is False
    assert J.validated_judges(results) == ()


def test_the_counted_controls_come_from_generators_no_judge_trained_on():
    """The judges' training images over seed noise carry strokes of a fully saturated hue; the
    counted strokes over noise are grey or in the target's own (contrasting) colour; the held-out
    fonts share no glyph with the training fonts."""
    import colorsys

    import numpy as np

    from art_reps.data import digits_on_textures
    from reproduction.controls import GREY_STROKE, controls
    from reproduction.glyphs import TRAIN_FONTS, font_glyphs, render_glyphs, unseen_glyphs

    train = render_glyphs(unseen_glyphs("train"), 40, seeded_share=1.0, seed=3, contrast=(1.0, 1.0))  # full ink
    for image, mask in zip(train.images, train.masks):
        if (mask > 0.95).any():
            _, saturation, value = colorsys.rgb_to_hsv(*image[:, mask > 0.95].mean(1).numpy())
            assert saturation > 0.9 and value > 0.9  # a fully saturated hue
    test = digits_on_textures("test")[:50]
    made = controls(test, range(50))
    change = (made["grey strokes over noise"].images - made["noise"].images).permute(0, 2, 3, 1)
    strokes = change[test.masks > 0.99]  # (pixels, 3): what the stroke adds to the noise
    assert (strokes.abs().min(1).values > GREY_STROKE - 0.05).float().mean() > 0.9  # it changes the lightness
    assert (strokes.max(1).values - strokes.min(1).values).abs().max() < 0.06  # the same in every channel: grey
    held, trained = font_glyphs("held-out"), font_glyphs("train")
    assert not any(np.array_equal(a, b) for a in held.glyphs for b in trained.glyphs)
    for name in ("glyph_judge", "glyph_mixer"):
        data = models.model_card(name)["data"]
        assert all(font in data for font in TRAIN_FONTS) and "cm" not in data.split("fonts")[1][:80]


def test_network_judges_that_decide_read_the_clean_test_images(saved):
    for judge in J.validated_judges(saved):
        if judge in models.list_models():
            assert models.model_card(judge)["clean_accuracy"] >= 0.85, judge


def test_a_quick_run_puts_every_judge_to_every_control():
    results = J.run_judge_controls(quick=True, progress=False)
    assert set(results["controls"]) == set(J.GROUND_TRUTH) | set(J.NETWORK)
    for judge, row in results["controls"].items():
        assert set(row) == {*POSITIVE, *SHOWN, *NEGATIVE}, judge
        assert all(r["n"] == 10 * J.QUICK_PER_CLASS for r in row.values()), judge
    assert set(results["transfer"]) == set(results["thresholds"]) == set(J.NETWORK)
    assert all(len(results["recall"][j]) == 10 for j in J.NETWORK)
    assert set(results["most_frequent"]["glyph_pair"]) == {*POSITIVE, *SHOWN, *NEGATIVE}
    assert set(J.render(results)) == set(J.BLOCKS)


def test_judges_that_decide_are_those_that_passed(monkeypatch):
    monkeypatch.setattr(J, "validated_judges", lambda results=None: ())
    with pytest.raises(RuntimeError, match="no judge passed its controls"):
        J.deciding_judges()
    monkeypatch.setattr(J, "validated_judges", lambda results=None: ("glyph_pair", "template"))
    shown = J.deciding_judges()
    assert list(shown) == ["glyph_pair", "template"]
    assert isinstance(shown["glyph_pair"], zoo.Ensemble) and hasattr(shown["template"], "predict")


def test_composed_judges_answer_like_their_parts():
    import torch

    from art_reps.data import digits_on_textures
    from art_reps.metrics import predict

    x = digits_on_textures("test").images[:40]
    pair, smoothed = J.load_judge("glyph_pair"), J.load_judge("smooth_pair")
    members = [models.load_model(m) for m in J.ENSEMBLES["glyph_pair"]]
    with torch.no_grad():
        mean = torch.stack([m(x).softmax(1) for m in members]).mean(0)
        assert torch.allclose(pair(x).exp(), mean, atol=1e-5)
    assert isinstance(smoothed, zoo.Smoothed) and smoothed.sigma == 0.1 and smoothed.base.__class__ is zoo.Ensemble
    assert (predict(smoothed, x) == predict(smoothed, x)).all()  # the same image gets the same answer
