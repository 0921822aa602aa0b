"""Scores of synthesised images (maximising inputs, interpolation paths, manipulations) on constructed cases."""
import pytest
import torch
from torch import nn

from art_reps.metrics import feature_similarity, manipulation_scores, path_scores, probabilities, selective_channels
from conftest import assert_unchanged, snapshot


def test_selective_channels_finds_the_unit_each_class_drives():
    # 12 "channels" = the flattened pixels of (3, 2, 2) images; class c lights up pixel c + 2
    labels = torch.arange(10).repeat_interleave(3)
    images = torch.full((30, 3, 2, 2), 0.1)
    images.view(30, -1)[torch.arange(30), labels + 2] = torch.linspace(0.5, 1.0, 30)
    model = nn.Sequential(nn.Flatten(), nn.Identity()).train()
    before = snapshot(model)
    sel = selective_channels(model, images, labels, layer="1", top=3, batch_size=7)
    assert sel.channels.tolist() == [c + 2 for c in range(10)]
    assert sel.top_class.tolist() == list(range(10))
    assert sel.top_indices.shape == (3, 10)
    assert sel.max_activation[9] == pytest.approx(1.0)
    assert sel.classes.tolist() == list(range(10)) and sel.purity.tolist() == [1.0] * 10
    assert_unchanged(before, model)


def test_a_purity_threshold_keeps_only_the_channels_whose_top_images_are_their_class():
    # channel c + 2 lights up for class c >= 1; class 0 has no channel of its own, only channel 0, which
    # classes 0 and 1 share (purity 0.5 of its top 8)
    labels = torch.arange(10).repeat_interleave(4)
    images = torch.full((40, 12, 1, 1), 0.1)
    images.view(40, -1)[torch.arange(4, 40), labels[4:] + 2] = torch.linspace(0.5, 1.0, 36)
    images.view(40, -1)[:8, 0] = 1.0
    model = nn.Sequential(nn.Flatten(), nn.Identity())
    loose = selective_channels(model, images, labels, layer="1", top=8, per_class=1)
    assert loose.channels[0] == 0 and loose.classes[0] == 0 and loose.purity[0] == 0.5
    strict = selective_channels(model, images, labels, layer="1", top=4, per_class=2, min_purity=0.8)
    assert strict.classes.tolist() == list(range(1, 10))  # class 0 gets none; the second round finds none
    assert (strict.channels == strict.classes + 2).all() and (strict.top_class == strict.classes).all()
    assert bool((strict.purity >= 0.8).all())
    with pytest.raises(ValueError, match="min_purity must be a share"):
        selective_channels(model, images, labels, layer="1", min_purity=80)
    with pytest.raises(ValueError, match="per_class must be a positive int"):
        selective_channels(model, images, labels, layer="1", per_class=0)


def test_path_scores_on_known_paths():
    paths = torch.tensor([[1, 1, 2, 2],    # one switch, a to b
                          [1, 2, 1, 2],    # three switches
                          [1, 7, 7, 2],    # a detour through another class
                          [2, 2, 1, 1]])   # the wrong way round
    scores = path_scores(paths, torch.tensor([1, 1, 1, 1]), torch.tensor([2, 2, 2, 2]))
    assert scores == {"single_switch": 0.25, "changes": 1.75, "endpoint_classes": pytest.approx(14 / 16)}
    with pytest.raises(ValueError, match="path_labels must be"):
        path_scores(paths[0], torch.tensor([1]), torch.tensor([2]))


def test_manipulation_scores_separate_visible_from_kept():
    before = torch.tensor([[0.9, 0.1, 0.0], [0.9, 0.1, 0.0], [0.9, 0.1, 0.0]])
    after = torch.tensor([[0.7, 0.3, 0.0],   # visible, kept: success
                          [0.2, 0.8, 0.0],   # visible, class lost
                          [0.9, 0.1, 0.0]])  # nothing happened
    scores = manipulation_scores(before, after, torch.tensor([0, 0, 0]), torch.tensor([1, 1, 1]))
    assert scores["success"] == pytest.approx(1 / 3)
    assert scores["class_kept"] == pytest.approx(2 / 3)
    assert scores["feature_visible"] == pytest.approx(2 / 3)
    assert scores["added_probability_rise"] == pytest.approx((0.2 + 0.7 + 0.0) / 3)
    with pytest.raises(ValueError, match="before and after must be"):
        manipulation_scores(before, after[:2], torch.tensor([0, 0, 0]), torch.tensor([1, 1, 1]))


def test_feature_similarity_and_probabilities(net, images):
    before = snapshot(net)
    sim = feature_similarity(net, images, images, layer="avgpool", batch_size=3)
    assert sim.shape == (4,) and torch.allclose(sim, torch.ones(4), atol=1e-5)
    other = feature_similarity(net, images, images.flip(0), layer="avgpool")
    assert (other[[0, 3]] < 0.9999).all()
    p = probabilities(net, images, batch_size=3)
    assert p.shape == (4, 10) and torch.allclose(p.sum(1), torch.ones(4))
    assert_unchanged(before, net)
    with pytest.raises(ValueError, match="batch"):
        feature_similarity(net, images, images[:2], layer="avgpool")
