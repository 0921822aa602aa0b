import pytest
import torch

from art_reps.core import objectives as O


def test_inversion_is_the_relative_l2_distance():
    target = torch.tensor([[3.0, 4.0]])
    acts = {"r": torch.tensor([[3.0, 4.0], [0.0, 0.0], [6.0, 8.0]])}
    assert O.inversion("r", target)(acts, None).tolist() == pytest.approx([0.0, 1.0, 1.0])


def test_activation_objectives_are_negated_activations():
    a = torch.arange(2 * 3 * 2 * 2, dtype=torch.float32).view(2, 3, 2, 2)
    acts = {"l": a}
    assert torch.equal(O.channel("l", 1)(acts, None), -a[:, 1].mean((1, 2)))
    assert torch.equal(O.channel("l", torch.tensor([0, 2]))(acts, None), torch.stack([-a[0, 0].mean(),
                                                                                      -a[1, 2].mean()]))
    assert torch.equal(O.neuron("l", (2, 1, 0))(acts, None), -a[:, 2, 1, 0])
    assert torch.equal(O.neuron("l", 5)(acts, None), -a.flatten(1)[:, 5])
    d = torch.tensor([0.0, 2.0, 0.0])
    assert torch.allclose(O.direction("l", d)(acts, None), -a[:, 1].mean((1, 2)))


def test_feature_addition_saturates_at_the_cap():
    acts = {"r": torch.tensor([[0.2, 5.0], [2.0, 0.0]])}
    assert O.feature_addition("r", 0, cap=1.0)(acts, None).tolist() == pytest.approx([0.8, 0.0])
    # one unit and one cap per sample
    per_sample = O.feature_addition("r", torch.tensor([1, 0]), cap=torch.tensor([6.0, 1.0]))
    assert per_sample(acts, None).tolist() == pytest.approx([1.0, 0.0])
    assert O.neuron("r", torch.tensor([1, 1]))(acts, None).tolist() == pytest.approx([-5.0, 0.0])


def test_image_priors_on_known_images():
    flat = torch.full((1, 3, 4, 4), 0.5)
    stripes = flat.clone()
    stripes[..., ::2] = 1.0
    for prior in (O.total_variation(), O.blur(), O.alpha_norm(6)):
        assert prior({}, flat).item() == pytest.approx(0.0, abs=1e-5)
        assert prior({}, stripes).item() > 0
    # TV^2: 3 channels x 3 rows x 3 horizontal differences of 0.5 -> sum of squares 27 * 0.25 (per pixel summed)
    assert O.total_variation(2.0)({}, stripes).item() == pytest.approx(9 * 3 * 0.25, rel=1e-4)


def test_image_distance_and_arithmetic():
    ref = torch.zeros(2, 3, 4, 4)
    dist = O.image_distance(lambda x, r: (x - r).flatten(1).norm(dim=1), ref)
    x = torch.ones(2, 3, 4, 4)
    assert dist({}, x).tolist() == pytest.approx([48 ** 0.5] * 2)
    assert ((1 - dist) / 2)({}, x).tolist() == pytest.approx([(1 - 48 ** 0.5) / 2] * 2)
    with pytest.raises(TypeError, match="scaled by numbers"):
        dist * dist
