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
    """SmoothGrad through our class sensitivity is SmoothGrad through Captum's Saliency (same noise)."""
    net.eval()
    target = torch.tensor([1, 2, 3, 4])
    runs = []
    for method in (RepresentationSensitivity(net), Saliency(net)):
        torch.manual_seed(0)
        kwargs = {} if isinstance(method, RepresentationSensitivity) else {"abs": False}
        runs.append(NoiseTunnel(method).attribute(x, nt_type="smoothgrad", nt_samples=4, stdevs=0.1, target=target,
                                                  **kwargs))
    assert torch.allclose(runs[0], runs[1], atol=1e-6) and runs[0].abs().sum() > 0
    torch.manual_seed(1)
    assert not torch.allclose(NoiseTunnel(RepresentationSensitivity(net)).attribute(
        x, nt_type="smoothgrad", nt_samples=4, stdevs=0.1, target=target), runs[0], atol=1e-6)  # the noise counts
    fig, _ = visualization.visualize_image_attr(runs[0][0].permute(1, 2, 0).numpy(), x[0].permute(1, 2, 0).numpy(),
                                  method="blended_heat_map", sign="absolute_value", use_pyplot=False)
    assert len(fig.axes) >= 1 and fig.axes[0].images


def test_captum_metrics_score_our_maps_as_they_score_saliency(net, x):
    """infidelity and sensitivity_max give our class-sensitivity maps Saliency's values (same noise)."""
    net.eval()

    def perturb(inputs):
        noise = torch.randn_like(inputs) * 0.01
        return noise, inputs - noise

    scores = []
    for method in (RepresentationSensitivity(net), Saliency(net)):
        attribute = method.attribute if isinstance(method, RepresentationSensitivity) else (
            lambda inputs, **kw: Saliency(net).attribute(inputs, abs=False, **kw))
        torch.manual_seed(0)
        inf = infidelity(net, perturb, x, attribute(x, target=2), target=2, n_perturb_samples=4)
        torch.manual_seed(0)
        sens = sensitivity_max(attribute, x, target=2, n_perturb_samples=4)
        scores.append((inf, sens))
    (inf, sens), (inf_s, sens_s) = scores
    assert inf.shape == sens.shape == (4,) and (inf >= 0).all() and (sens > 0).all()
    assert torch.allclose(inf, inf_s, rtol=1e-4) and torch.allclose(sens, sens_s, rtol=1e-4)


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
