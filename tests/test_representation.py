import pytest
import torch
from torch import nn

from art_reps.core import Representation
from art_reps.core.representation import _FakeReLU
from conftest import assert_unchanged, snapshot


def test_nested_layers_match_a_manual_forward(net, images):
    net.eval()
    acts = Representation(net, ["layer2.conv1", "layer3", "avgpool"])(images)
    with torch.no_grad():
        l2_in = net.layer1(net.stem(images))
        expected_conv = net.layer2.conv1(l2_in)
        expected_l3 = net.layer3(net.layer2(l2_in))
    assert torch.allclose(acts["layer2.conv1"], expected_conv, atol=1e-5)
    assert torch.allclose(acts["layer3"], expected_l3, atol=1e-5)
    assert torch.allclose(acts["avgpool"].flatten(1), expected_l3.mean((2, 3)), atol=1e-5)


def test_forward_stops_at_the_deepest_layer(net, images):
    calls = []
    net.fc.register_forward_hook(lambda *a: calls.append("fc"))
    Representation(net, "layer2")(images)
    assert calls == []
    Representation(net, "")(images)  # the model output needs the head
    assert calls == ["fc"]


def test_normalisation_is_explicit(net, images):
    mean, std = (0.4, 0.5, 0.6), (0.2, 0.25, 0.3)
    rep = Representation(net, "")(images)
    rep_norm = Representation(net, "", mean=mean, std=std)(images)
    assert not torch.allclose(rep[""], rep_norm[""])
    normalised = (images - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    net.eval()
    with torch.no_grad():
        assert torch.allclose(rep_norm[""], net(normalised), atol=1e-5)


def test_fake_relu_gives_identity_backward_and_same_forward(net, images):
    x = images.clone().requires_grad_(True)
    plain = Representation(net, "layer3")
    fake = Representation(net, "layer3", fake_relu=True)
    with plain.attached() as read:
        a = read(x)["layer3"]
        (g_plain,) = torch.autograd.grad(a.sum(), x)
    with fake.attached() as read:
        b = read(x)["layer3"]
        (g_fake,) = torch.autograd.grad(b.sum(), x)
    assert torch.allclose(a, b)
    assert not torch.allclose(g_plain, g_fake)
    # identity backward: the gradient equals that of the pre-activation
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    h = net.layer2(net.layer1(net.stem(x)))
    block = net.layer3
    pre = block.bn2(block.conv2(block.relu1(block.bn1(block.conv1(h))))) + block.shortcut(h)
    (g_pre,) = torch.autograd.grad(pre.sum(), x)
    assert torch.allclose(g_fake, g_pre, atol=1e-4)


def test_fake_relu_handles_inplace_relu(images):
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(inplace=True), nn.Flatten())
    x = images.clone().requires_grad_(True)
    with Representation(model, "2", fake_relu=["1"]).attached() as read:
        out = read(x)["2"]
        (g,) = torch.autograd.grad(out.sum(), x)
    (g_pre,) = torch.autograd.grad(model[0](x).sum(), x)
    assert (out >= 0).all() and torch.allclose(g, g_pre, atol=1e-5)


@pytest.mark.parametrize("arch", ["resnet18", "resnet50"])
@pytest.mark.parametrize("layer", ["layer4", "avgpool"])
def test_fake_relu_fakes_only_the_call_that_makes_the_representation(arch, layer):
    """torchvision blocks call one ``relu`` module twice; MadryLab fakes only the block's final call."""
    import torchvision

    torch.manual_seed(0)
    model = getattr(torchvision.models, arch)(num_classes=10).eval()
    x = torch.rand(2, 3, 64, 64, requires_grad=True)
    with Representation(model, layer, fake_relu=True).attached() as read:
        (g_fake,) = torch.autograd.grad(read(x)[layer].sum(), x)
    for p in model.parameters():
        p.requires_grad_(False)
    block = model.layer4[-1]
    with torch.no_grad():
        before = model.layer4[:-1](model.layer3(model.layer2(model.layer1(model.maxpool(model.relu(model.bn1(
            model.conv1(x))))))))
    h = before.clone().requires_grad_(True)
    inner = block.relu(block.bn1(block.conv1(h)))  # the inner call: a true ReLU
    if arch == "resnet50":
        inner = block.relu(block.bn2(block.conv2(inner)))
    last_conv, last_bn = (block.conv3, block.bn3) if arch == "resnet50" else (block.conv2, block.bn2)
    pre = last_bn(last_conv(inner)) + (block.downsample(h) if block.downsample is not None else h)
    (g_h,) = torch.autograd.grad(pre.sum(), h)  # the final call faked: identity; avgpool scales all alike
    (g_expected,) = torch.autograd.grad(model.layer4[:-1](model.layer3(model.layer2(model.layer1(model.maxpool(
        model.relu(model.bn1(model.conv1(x)))))))), x, grad_outputs=g_h)
    scale = 1.0 if layer == "layer4" else 1.0 / (pre.shape[-1] * pre.shape[-2])
    assert torch.allclose(g_fake, scale * g_expected, rtol=1e-3, atol=1e-6)
    # faking every call of the module (the old behaviour) gives another gradient
    with Representation(model, layer, fake_relu="layer4.1.relu" if arch == "resnet18" else "layer4.2.relu"
                        ).attached() as read:
        (g_all,) = torch.autograd.grad(read(x)[layer].sum(), x)
    assert not torch.allclose(g_all, g_fake, rtol=1e-3, atol=1e-6)


def test_fake_relu_function():
    x = torch.tensor([-1.0, 2.0], requires_grad=True)
    y = _FakeReLU.apply(x)
    y.sum().backward()
    assert y.tolist() == [0.0, 2.0] and x.grad.tolist() == [1.0, 1.0]


def test_hooks_removed_and_model_restored_when_forward_raises(net, images):
    before = snapshot(net)
    rep = Representation(net, "layer3", fake_relu=True)
    with pytest.raises(RuntimeError, match="boom"):
        with rep.attached() as read:
            read(images)
            raise RuntimeError("boom")
    assert_unchanged(before, net)


def test_unknown_layer_lists_close_names(net):
    with pytest.raises(ValueError, match=r"layer 'layer3.conv3' does not exist.*layer3.conv"):
        Representation(net, "layer3.conv3")


def test_fake_relu_must_name_a_relu(net):
    with pytest.raises(ValueError, match="not an nn.ReLU"):
        Representation(net, "layer3", fake_relu="layer3.conv1")


def test_layer_that_never_runs_is_reported(images):
    class Skips(nn.Module):
        def __init__(self):
            super().__init__()
            self.used, self.unused = nn.Conv2d(3, 2, 1), nn.Conv2d(2, 2, 1)

        def forward(self, x):
            return self.used(x)

    with pytest.raises(RuntimeError, match="never ran"):
        Representation(Skips(), "unused")(images)
