"""Captum adapter with real Captum tools."""
import pytest
import torch
from captum.attr import NoiseTunnel, Saliency, visualization
from captum.metrics import infidelity, sensitivity_max

import art_reps
from art_reps.captum import FeatureVisualization, RepresentationSensitivity
from art_reps.core import Representation, objectives as O, optimize


@pytest.fixture
def x():
    return art_reps.data.digits_on_textures("test").images[:4]


def test_class_sensitivity_equals_captum_saliency(net, x):
    net.eval()
    ours = RepresentationSensitivity(net).attribute(x, target=3, abs=True)
    theirs = Saliency(net).attribute(x, target=3, abs=True)
    assert torch.allclose(ours, theirs, atol=1e-6)


def test_channel_sensitivity_is_the_gradient_of_the_channel_mean(net, x):
    net.eval()
    targets = [0, 5, 7, 9]
    ours = RepresentationSensitivity(net, "layer3").attribute(x, target=targets)
    xr = x.clone().requires_grad_(True)
    with Representation(net, "layer3").attached() as read:
        act = read(xr)["layer3"].mean((2, 3))
        (grad,) = torch.autograd.grad(act[torch.arange(4), torch.tensor(targets)].sum(), xr)
    assert torch.allclose(ours, grad, atol=1e-6)


def test_noise_tunnel_and_visualisation(net, x):
    net.eval()
    smooth = NoiseTunnel(RepresentationSensitivity(net, "avgpool")).attribute(
        x, nt_type="smoothgrad", nt_samples=4, stdevs=0.1, target=torch.tensor([1, 2, 3, 4]))
    assert smooth.shape == x.shape and torch.isfinite(smooth).all()
    fig, _ = visualization.visualize_image_attr(smooth[0].permute(1, 2, 0).numpy(), x[0].permute(1, 2, 0).numpy(),
                                  method="blended_heat_map", sign="absolute_value", use_pyplot=False)
    assert fig is not None


def test_captum_metrics_are_finite(net, x):
    net.eval()
    method = RepresentationSensitivity(net)
    attributions = method.attribute(x, target=2)

    def perturb(inputs):
        noise = torch.randn_like(inputs) * 0.01
        return noise, inputs - noise

    inf = infidelity(net, perturb, x, attributions, target=2, n_perturb_samples=4)
    sens = sensitivity_max(method.attribute, x, target=2, n_perturb_samples=4)
    assert torch.isfinite(inf).all() and torch.isfinite(sens).all() and inf.shape == sens.shape == (4,)


def test_feature_visualisation_matches_the_core(net, x):
    net.eval()
    ours = FeatureVisualization(net, "layer3").attribute(x, target=6, steps=5)
    core = optimize(net, O.channel("layer3", 6), x, steps=5, step_size=0.1)
    assert torch.equal(ours, core.images)


def test_model_mode_is_the_callers(net, x):
    net.train()
    RepresentationSensitivity(net, "layer2").attribute(x, target=1)
    assert net.training


def test_bad_targets_and_arguments(net, x):
    method = RepresentationSensitivity(net, "layer3")
    with pytest.raises(ValueError, match="target must select a feature"):
        method.attribute(x)
    with pytest.raises(ValueError, match="additional_forward_args is not supported"):
        method.attribute(x, target=1, additional_forward_args=(1,))
    with pytest.raises(ValueError, match="layer 'layer8' does not exist"):
        RepresentationSensitivity(net, "layer8")
    with pytest.raises(ValueError, match="inputs must be one image tensor"):
        method.attribute((x, x), target=1)
