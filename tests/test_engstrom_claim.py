"""Engstrom et al.'s central claim on the embedded default, judged by networks not under test.

Fifty test images (five per class) are inverted from noise through the standard and the robust
model. The judge is a separately trained JudgeNet (another architecture and seed); the shipped
models also judge each other's inversions.
"""
import pytest
import torch

from art_reps import core, zoo
from art_reps.demo import one_per_class
from art_reps.metrics import cross_judge

STEPS = 300
# Measured (README, "Engstrom's claim"): the judge recognises 0.70 of the robust model's inversions
# and 0.12 of the standard model's (chance 0.10); the thresholds leave room for run-to-run noise.
ROBUST_MIN, STANDARD_MAX, MARGIN = 0.55, 0.25, 0.4


@pytest.fixture(scope="module")
def judged():
    images, labels = one_per_class(5)
    models = {"standard": zoo.load_model(zoo.STANDARD), "robust": zoo.load_model(zoo.ROBUST)}
    inversions = {k: core.invert(m, images, layer="avgpool", steps=STEPS, step_size=0.05,
                                 schedule=core.linear_decay(STEPS)).images for k, m in models.items()}
    judged = cross_judge({"judge": zoo.load_model(zoo.JUDGE), **models}, inversions, labels)
    print("\naccuracy of each judge (rows) on each model's inversions (columns):", judged)
    return judged


def test_judge_recognises_robust_inversions_and_not_standard_ones(judged):
    scores = judged["judge"]
    assert scores["robust"] >= ROBUST_MIN
    assert scores["standard"] <= STANDARD_MAX
    assert scores["robust"] - scores["standard"] >= MARGIN


def test_cross_judging_between_the_shipped_models(judged):
    # the standard model recognises the robust model's inversions; the robust model does not
    # recognise the standard model's, though each recognises its own
    # measured: 0.70 versus 0.30
    assert judged["standard"]["robust"] - judged["robust"]["standard"] >= 0.25
    assert judged["standard"]["standard"] > 0.8 and judged["robust"]["robust"] > 0.8
