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


def test_a_model_in_train_mode_is_read_in_train_mode_as_saliency_reads_it(net, x):
    """A BatchNorm model left in train mode: our class map is Saliency's (batch statistics), and
    the model comes back with its running statistics and mode as they were."""
    net.train()
    stats = {k: v.clone() for k, v in net.state_dict().items()}
    ours = RepresentationSensitivity(net).attribute(x, target=3)
    net.load_state_dict(stats)  # Saliency itself updates the running statistics: compare from the same state
    theirs = Saliency(net).attribute(x, target=3, abs=False)
    net.load_state_dict(stats)
    assert torch.allclose(ours, theirs, atol=1e-6) and net.training
    net.eval()
    assert not torch.allclose(RepresentationSensitivity(net).attribute(x, target=3), ours, atol=1e-4)


def test_negative_targets_tuple_lists_and_additional_forward_args_read_as_saliency_reads_them(net, x):
    net.eval()
    ours = RepresentationSensitivity(net)
    assert torch.allclose(ours.attribute(x, target=-1), Saliency(net).attribute(x, target=-1, abs=False), atol=1e-6)
    assert torch.allclose(ours.attribute(x, target=[-1, 0, -3, 2]), ours.attribute(x, target=[9, 0, 7, 2]), atol=1e-6)
    units = [(1, 0, 0), (2, 1, 1), (0, 3, 2), (-1, 0, 1)]
    per_unit = RepresentationSensitivity(net, "layer3", kind="neuron").attribute(x, target=units)
    for i, unit in enumerate(units):
        one = RepresentationSensitivity(net, "layer3", kind="neuron").attribute(x[i:i + 1], target=unit)
        assert torch.allclose(per_unit[i:i + 1], one, atol=1e-6)

    class Scaled(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, images, scale):
            return self.net(images) * scale

    model = Scaled().eval()
    ours = RepresentationSensitivity(model).attribute(x, target=2, additional_forward_args=(3.0,))
    theirs = Saliency(model).attribute(x, target=2, abs=False, additional_forward_args=(3.0,))
    assert torch.allclose(ours, theirs, atol=1e-6)
    assert torch.allclose(ours, 3 * RepresentationSensitivity(net).attribute(x, target=2), atol=1e-5)


def test_bad_targets_and_arguments(net, x):
    method = RepresentationSensitivity(net, "layer3")
    with pytest.raises(ValueError, match="target must select a feature"):
        method.attribute(x)
    with pytest.raises(ValueError, match="outside layer 'layer3'"):
        method.attribute(x, target=-1000)
    with pytest.raises(ValueError, match="layer 'layer8' does not exist"):
        RepresentationSensitivity(net, "layer8")
    with pytest.raises(ValueError, match="inputs must be one image tensor"):
        method.attribute((x, x), target=1)
