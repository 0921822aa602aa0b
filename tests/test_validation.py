"""Bad input gets a clear ValueError / TypeError that names the argument."""
import pytest
import torch

import art_reps
from art_reps.core import Representation


def _invert(net, targets, **kw):
    return art_reps.invert(net, targets, layer=kw.pop("layer", "avgpool"), steps=kw.pop("steps", 2), **kw)


@pytest.mark.parametrize("targets, error, pattern", [
    (torch.rand(3, 32, 32), ValueError, r"targets must have shape \(N, C, H, W\)"),
    (torch.rand(2, 1, 32, 32), ValueError, "targets has 1 channels but the model expects 3"),
    (torch.rand(2, 3, 32, 32) * 2, ValueError, r"targets must hold values in \[0, 1\]"),
    (torch.full((2, 3, 32, 32), float("nan")), ValueError, "targets contains NaN or Inf"),
    (torch.full((2, 3, 32, 32), float("inf")), ValueError, "targets contains NaN or Inf"),
    (torch.randint(0, 2, (2, 3, 32, 32)), TypeError, "targets must be a floating-point tensor"),
    (torch.rand(0, 3, 32, 32), ValueError, "targets is an empty batch"),
    (torch.rand(2, 3, 32, 32).numpy(), TypeError, "targets must be a torch.Tensor"),
])
def test_bad_images(net, targets, error, pattern):
    with pytest.raises(error, match=pattern):
        _invert(net, targets)


def test_target_and_start_batches_must_match(net, images):
    with pytest.raises(ValueError, match=r"start must have shape \(4, 3, 32, 32\) \(or a batch of 1\), got \(3,"):
        _invert(net, images, start=images[:3])


def test_bad_start_kind(net, images):
    with pytest.raises(ValueError, match=r"start must be an image tensor \(N, C, H, W\) or one of"):
        _invert(net, images, start="pink-noise")


def test_unknown_layer_lists_close_names(net, images):
    with pytest.raises(ValueError, match=r"layer 'avgpol' does not exist in SmallResNet; close names: \['avgpool'\]"):
        _invert(net, images, layer="avgpol")


@pytest.mark.parametrize("kw, pattern", [
    (dict(steps=0), "steps must be an int"),
    (dict(steps=2.5), "steps must be an int"),
    (dict(step_size=-1.0), "step_size must be a finite number > 0"),
    (dict(geometry="l2", eps=0.0), "eps must be a finite number > 0"),
    (dict(geometry="l2"), "needs eps"),
    (dict(geometry="l3", eps=1.0), "geometry must be"),
    (dict(optimizer="lbfgs"), "optimizer must be one of"),
    (dict(restarts=-1), "restarts must be an int"),
    (dict(restarts=1), "restarts need a random element"),
    (dict(mean=(0.5, 0.5)), "mean has 2 entries but the model takes 3 channels"),
    (dict(std=(0.5, 0.0, 0.5)), "std must be > 0"),
    (dict(fake_relu="layer3.conv1"), "not an nn.ReLU"),
])
def test_bad_options(net, images, kw, pattern):
    with pytest.raises(ValueError, match=pattern):
        _invert(net, images, **kw)


def test_manipulate_eps_and_visualize_feature(net, images):
    with pytest.raises(ValueError, match="eps must be a finite number > 0"):
        art_reps.manipulate(net, images, layer="avgpool", feature=1, eps=float("inf"))
    with pytest.raises(TypeError, match="feature must be an int"):
        art_reps.visualize(net, layer="avgpool", feature="seven")
    with pytest.raises(ValueError, match="kind must be"):
        art_reps.visualize(net, layer="avgpool", feature=1, kind="pixel")


def test_manipulate_per_image_features_and_caps(net, images):
    res = art_reps.manipulate(net, images, layer="avgpool", feature=torch.tensor([0, 1, 2, 3]),
                              cap=torch.full((4,), 9.0), steps=2)
    assert res.images.shape == images.shape
    with pytest.raises(ValueError, match="feature has 2 labels for 4 images: give one per image or an int"):
        art_reps.manipulate(net, images, layer="avgpool", feature=torch.tensor([0, 1]), steps=2)
    with pytest.raises(ValueError, match=r"cap must be a number or a \(4,\) float tensor"):
        art_reps.manipulate(net, images, layer="avgpool", feature=1, cap=torch.ones(3), steps=2)
    with pytest.raises(TypeError, match="feature must be an int, one int per image, or a"):
        art_reps.manipulate(net, images, layer="avgpool", feature=1.5, steps=2)


def test_interpolate_from_noise_starts_every_point_afresh(net, images):
    lerp = art_reps.interpolate(net, images[:2], images[2:], layer="avgpool", n=3, steps=1, step_size=1e-6)
    noise = art_reps.interpolate(net, images[:2], images[2:], layer="avgpool", n=3, start="noise", steps=1,
                                 step_size=1e-6)
    assert torch.allclose(lerp.images[:, 0], images[:2], atol=1e-4)  # the pixel path starts at a
    assert (noise.images[:, 0] - images[:2]).abs().mean() > 0.1
    assert (noise.images - 0.5).abs().mean() < 0.1                   # Engstrom's randn/20 + 0.5
    with pytest.raises(ValueError, match=r"start must be an image tensor \(N, C, H, W\) or one of"):
        art_reps.interpolate(net, images[:2], images[2:], layer="avgpool", start="lerpp")


def test_interpolate_needs_matching_shapes(net, images):
    with pytest.raises(ValueError, match="a and b must have the same shape"):
        art_reps.interpolate(net, images[:2], images[:3], layer="avgpool")


def test_model_must_be_a_module(images):
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        Representation(lambda x: x, "layer1")


def test_sensitivity_label_count(net, images):
    with pytest.raises(ValueError, match="target has 2 labels for 4 images"):
        art_reps.sensitivity(net, images, torch.tensor([0, 1]))
