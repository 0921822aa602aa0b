"""Bad input gets a clear error naming the argument and what was expected, before any work; nothing
the user passed in is modified."""
import pytest
import torch
import numpy as np
from captum.attr import NoiseTunnel, Saliency

import art_reps
from art_reps.core import Representation
from art_reps.captum import FeatureVisualization, RepresentationSensitivity
from art_reps.metrics import stir


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


@pytest.fixture
def model(net):
    return net.eval()


@pytest.mark.parametrize("mode", [torch.no_grad, torch.inference_mode])
def test_every_method_runs_inside_an_evaluation_loop(model, mode):
    with mode():
        x = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(0))
        runs = [art_reps.invert(model, x, layer="layer3", steps=2).images,
                art_reps.iris(model, x, layer="avgpool", steps=2).images,
                art_reps.visualize(model, layer="layer3", feature=1, steps=2).images,
                art_reps.manipulate(model, x, layer="avgpool", feature=1, steps=2).images,
                art_reps.interpolate(model, x[:1], x[1:2], layer="avgpool", n=3, steps=2).images,
                art_reps.sensitivity(model, x, 1)]
        s = stir(model, model, x, layer_1="avgpool", steps=2)
    for out in runs:
        assert torch.isfinite(out).all() and not out.requires_grad
    assert runs[-1].abs().sum() > 0  # a real gradient, not zeros
    assert 0 < s["cka"] <= 1 + 1e-6


def test_noise_tunnel_with_captums_defaults_around_feature_visualisation(model):
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        out = NoiseTunnel(FeatureVisualization(model, "layer3")).attribute(x, target=5, nt_samples=2, steps=2)
    assert out.shape == x.shape and torch.isfinite(out).all()
    with torch.no_grad():
        mild = NoiseTunnel(FeatureVisualization(model, "layer3")).attribute(x, target=5, nt_samples=2, stdevs=0.02,
                                                                            steps=10)
    channel = lambda images: art_reps.Representation(model, "layer3")(images)["layer3"][:, 5].mean((1, 2))  # noqa: E731
    assert (channel(mild.clamp(0, 1)) > channel(x)).all()  # the averaged images raise the feature


@pytest.mark.parametrize("feature", [np.int64(3), torch.tensor(3)])
def test_numpy_and_tensor_integers_are_features(model, feature):
    expected = art_reps.visualize(model, layer="layer3", feature=3, steps=3).images
    assert torch.equal(art_reps.visualize(model, layer="layer3", feature=feature, steps=3).images, expected)
    x = torch.rand(2, 3, 32, 32)
    assert torch.equal(art_reps.manipulate(model, x, layer="avgpool", feature=feature, steps=3).images,
                       art_reps.manipulate(model, x, layer="avgpool", feature=3, steps=3).images)


@pytest.mark.parametrize("eps", [np.float32(0.5), torch.tensor(0.5)])
def test_numpy_and_tensor_numbers_are_eps(model, eps):
    x = torch.rand(2, 3, 32, 32)
    ours = art_reps.manipulate(model, x, layer="avgpool", feature=3, eps=eps, steps=3).images
    assert torch.equal(ours, art_reps.manipulate(model, x, layer="avgpool", feature=3, eps=0.5, steps=3).images)


@pytest.mark.parametrize("call, message", [
    (lambda m, x: art_reps.visualize(m, layer="layer3", feature=1000, steps=2),
     "outside layer 'layer3', which has 128"),
    (lambda m, x: art_reps.visualize(m, layer="layer3", feature=[-200, 2], steps=2), "outside layer 'layer3'"),
    (lambda m, x: art_reps.visualize(m, layer="layer3", feature=(1, 50, 0), kind="neuron", steps=2),
     r"indexed within \(128, 8, 8\)"),
    (lambda m, x: art_reps.visualize(m, layer="layer3", feature=1.5, steps=2), "feature must be an int"),
    (lambda m, x: art_reps.visualize(m, layer="layer3", feature=torch.tensor([0.5, 1.0]), steps=2),
     "feature must be an int"),
    (lambda m, x: art_reps.sensitivity(m, x, 10), "outside the model's output, which has 10"),
    (lambda m, x: art_reps.invert(m, x, layer=3, steps=2), "layer must be a str"),
])
def test_features_and_layers_that_cannot_work_are_named(model, call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call(model, torch.rand(2, 3, 32, 32))


def test_captum_target_conventions(model):
    x = torch.rand(3, 3, 32, 32)
    method = RepresentationSensitivity(model)
    # a tuple is one index for every example, as in Captum; a list is one per example
    assert torch.allclose(method.attribute(x, target=(4,)), Saliency(model).attribute(x, target=4, abs=False))
    assert torch.allclose(method.attribute(x, target=[1, 2, 3]), Saliency(model).attribute(x, target=[1, 2, 3],
                                                                                            abs=False))
    for bad in ([1], [1, 2, 3, 4]):
        with pytest.raises(ValueError, match=f"list of {len(bad)} indices for 3 examples"):
            method.attribute(x, target=bad)
    with pytest.raises((ValueError, AssertionError), match="integer indices"):  # Captum asserts, we name it
        method.attribute(x, target=torch.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="kind='channel' takes"):
        RepresentationSensitivity(model, "layer3").attribute(x, target=(1, 2, 3))


class _TokensAndDicts(torch.nn.Module):
    """Layers that return tuples (attention, LSTM) and a model that returns a dict."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3)
        self.attn = torch.nn.MultiheadAttention(8, 2, batch_first=True)
        self.lstm = torch.nn.LSTM(8, 8, batch_first=True)
        self.head = torch.nn.Linear(8, 4)

    def forward(self, x):
        tokens = self.conv(x).flatten(2).transpose(1, 2)
        tokens, _ = self.attn(tokens, tokens, tokens)
        tokens, _ = self.lstm(tokens)
        return {"logits": self.head(tokens.mean(1)), "tokens": tokens}


def test_layers_and_models_whose_output_is_a_tuple_or_a_dict():
    torch.manual_seed(0)
    model, x = _TokensAndDicts().eval(), torch.rand(2, 3, 16, 16)
    for layer in ("attn", "lstm", ""):
        res = art_reps.invert(model, x, layer=layer, steps=3)
        assert res.images.shape == x.shape and torch.isfinite(res.losses).all(), layer
    attn_out = art_reps.core.Representation(model, "attn")(x)["attn"]
    assert attn_out.shape == (2, 196, 8)  # the attention output, not its weights
    grad = art_reps.sensitivity(model, x, 1)
    xr = x.clone().requires_grad_(True)
    (expected,) = torch.autograd.grad(model(xr)["logits"][:, 1].sum(), xr)
    assert torch.allclose(grad, expected, atol=1e-6)
    # a hidden unit of a token layer, averaged over tokens: a one-hot direction of `dim` entries
    unit = art_reps.visualize(model, layer="lstm", feature=torch.eye(8)[3], kind="direction", size=(3, 16, 16),
                              steps=3)
    assert unit.images.shape == (1, 3, 16, 16)


def test_scripted_models_are_read_at_their_output():
    nn = torch.nn
    scripted = torch.jit.script(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                              nn.Linear(4, 3)).eval())
    x = torch.rand(2, 3, 16, 16)
    assert torch.allclose(art_reps.sensitivity(scripted, x, 1), Saliency(scripted).attribute(x, target=1, abs=False))


def test_float64_images_come_back_in_float64(model):
    x = torch.rand(2, 3, 32, 32, dtype=torch.float64)
    assert art_reps.invert(model, x, layer="avgpool", steps=2).images.dtype == torch.float64
    assert art_reps.iris(model, x, layer="avgpool", steps=2).images.dtype == torch.float64


def test_a_loaders_result_is_refused_with_how_to_pass_it(model):
    from art_reps.zoo import LoadedModel

    with pytest.raises(TypeError, match=r"pass its parts, e.g. invert\(loaded.model"):
        art_reps.invert(LoadedModel(model, (0.5,) * 3, (0.25,) * 3), torch.rand(1, 3, 32, 32), layer="avgpool")


@pytest.mark.parametrize("n, kind", [(1, "linear"), (3, "unbiased")])
def test_stir_on_too_few_inputs_is_refused_before_optimising(model, n, kind):
    with pytest.raises(ValueError, match=f"kind='{kind}' needs at least"):
        stir(model, model, torch.rand(n, 3, 32, 32), layer_1="avgpool", kind=kind, steps=10_000)


@pytest.mark.parametrize("target, error, message", [
    (1.5, TypeError, "target must be an int"),
    (torch.tensor([1.0, 2.0, 3.0]), TypeError, "target must be an int or one int per image"),
    ([1, 2], ValueError, "target has 2 labels for 3 images"),
    (torch.tensor([1, 2, 3, 4]), ValueError, "target has 4 labels for 3 images"),
    (None, TypeError, "target must be"),
])
def test_sensitivity_targets_that_cannot_work_are_named(model, target, error, message):
    with pytest.raises(error, match=message):
        art_reps.sensitivity(model, torch.rand(3, 3, 32, 32), target)


@pytest.mark.parametrize("target", [np.array([1, 2, 3]), torch.tensor([[1], [2], [3]]), [1, 2, 3]])
def test_sensitivity_takes_labels_as_users_hold_them(model, target):
    x = torch.rand(3, 3, 32, 32)
    assert torch.equal(art_reps.sensitivity(model, x, target), art_reps.sensitivity(model, x, torch.tensor([1, 2, 3])))


@pytest.mark.parametrize("target", [[2], torch.tensor([2]), np.array([2])])
def test_one_label_is_a_label_for_every_image(model, target):
    """A one-element label list used to score only the first image (the others got zero maps)."""
    x = torch.rand(3, 3, 32, 32)
    maps = art_reps.sensitivity(model, x, target)
    assert torch.equal(maps, art_reps.sensitivity(model, x, 2))
    assert (maps.flatten(1).abs().sum(1) > 0).all()


def test_a_misspelled_required_keyword_gets_its_did_you_mean(net, images):
    """Python would first say that ``feature`` is missing; the misspelling is what the user typed."""
    with pytest.raises(TypeError, match="unexpected keyword argument 'fetaure'; did you mean 'feature'"):
        art_reps.manipulate(net, images, layer="avgpool", fetaure=1)
    with pytest.raises(TypeError, match="missing 1 required keyword-only argument: 'feature'"):
        art_reps.manipulate(net, images, layer="avgpool")
