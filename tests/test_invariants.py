"""Every public entry point gives the caller's model and tensors back as they were, also when it raises."""
import pytest
import torch

import art_reps
from art_reps.core import Representation, objectives as O, optimize
from art_reps.metrics import judge_accuracy
from conftest import assert_unchanged, snapshot

ENTRY_POINTS = {
    "invert": lambda m, x: art_reps.invert(m, x, layer="avgpool", steps=3, fake_relu=True),
    "invert_l2_adam": lambda m, x: art_reps.invert(m, x, layer="layer2", steps=3, geometry="l2", eps=1.0,
                                                   optimizer="adam", start=x.flip(0)),
    "visualize": lambda m, x: art_reps.visualize(m, layer="layer3", feature=[1, 2], steps=3, param="fourier"),
    "manipulate": lambda m, x: art_reps.manipulate(m, x, layer="avgpool", feature=3, steps=3),
    "interpolate": lambda m, x: art_reps.interpolate(m, x[:2], x[2:], layer="avgpool", n=3, steps=3),
    "sensitivity": lambda m, x: art_reps.sensitivity(m, x, torch.tensor([0, 1, 2, 3])),
    "optimize": lambda m, x: optimize(m, O.channel("layer3", 0), x, steps=3),
    "representation": lambda m, x: Representation(m, ["layer1", ""])(x),
    "judge_accuracy": lambda m, x: judge_accuracy(m, x, torch.tensor([0, 1, 2, 3])),
}


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_model_and_inputs_come_back_unchanged(name, mode, net, images):
    net.train(mode == "train")
    net.layer2.bn1.eval()  # a mixed-mode model must keep its mix
    net.fc.weight.requires_grad_(False)
    net.stem[0].weight.grad = torch.ones_like(net.stem[0].weight)
    before, original = snapshot(net), images.clone()
    ENTRY_POINTS[name](net, images)
    assert_unchanged(before, net)
    assert torch.equal(images, original)


def test_unchanged_when_the_loop_raises(net, images):
    def exploding(acts, x):
        raise FloatingPointError("objective failed")

    before = snapshot(net)
    with pytest.raises(FloatingPointError):
        optimize(net, O.Objective(exploding, ["layer3"]), images, steps=3)
    assert_unchanged(before, net)


def test_unchanged_when_validation_raises(net, images):
    before = snapshot(net)
    with pytest.raises(ValueError):
        art_reps.invert(net, images, layer="avgpool", steps=3, start=images[:2])
    with pytest.raises(ValueError):
        art_reps.invert(net, images, layer="nope", steps=3)
    assert_unchanged(before, net)
