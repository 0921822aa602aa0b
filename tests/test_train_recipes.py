"""The training recipes of Nanda et al.'s pipeline grid, on a user's own small model and data."""
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from art_reps.core import make_geometry
from art_reps.train import adversarial, contrastive
from art_reps.train.contrastive import linear_probe, nt_xent, train_contrastive
from art_reps.zoo.architectures import SmallResNet


def _naive_nt_xent(z1, z2, t):
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    n, losses = len(z1), []
    for i in range(2 * n):
        j = (i + n) % (2 * n)
        others = [k for k in range(2 * n) if k != i]
        logits = torch.stack([z[i] @ z[k] / t for k in others])
        losses.append(-(z[i] @ z[j] / t) + torch.logsumexp(logits, 0))
    return torch.stack(losses).mean()


def test_nt_xent_is_simclrs_loss():
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(5, 7, generator=g), torch.randn(5, 7, generator=g)
    assert nt_xent(z1, z2, 0.3).item() == pytest.approx(_naive_nt_xent(z1, z2, 0.3).item(), rel=1e-5)


def test_supervised_pgd_runs_through_the_core_and_raises_the_loss(monkeypatch):
    calls = []
    real = adversarial.optimize
    monkeypatch.setattr(adversarial, "optimize", lambda *a, **k: calls.append(1) or real(*a, **k))
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(48, 10))
    x, y = torch.rand(16, 3, 4, 4), torch.randint(0, 10, (16,))
    geometry = make_geometry("l2", 0.5)
    adv = adversarial.pgd(net, x, y, geometry=geometry, steps=5, step_size=0.25,
                          generator=torch.Generator().manual_seed(1))
    assert calls == [1]
    assert ((adv - x).flatten(1).norm(dim=1) <= 0.5 + 1e-5).all()
    assert F.cross_entropy(net(adv), y) > F.cross_entropy(net(x), y) + 0.05


def test_an_eps_warmup_ramps_the_training_radius_to_eps(monkeypatch):
    radii = []
    real = adversarial.pgd
    monkeypatch.setattr(adversarial, "pgd", lambda model, x, y, *, geometry, **k: radii.append(geometry.eps)
                        or real(model, x, y, geometry=geometry, **k))
    net = nn.Sequential(nn.Flatten(), nn.Linear(48, 10))
    x, y = torch.rand(8, 3, 4, 4), torch.arange(8)
    adversarial.train_classifier(net, x, y, eps=3.0, epochs=5, eps_warmup=2, attack_steps=1, batch_size=8,
                                 progress=False)
    assert radii == pytest.approx([1.0, 2.0, 3.0, 3.0, 3.0])


def test_an_eps_warmup_ramps_the_contrastive_attacks_radius_too(monkeypatch):
    from art_reps.train import contrastive

    radii = []
    real = contrastive.attack
    monkeypatch.setattr(contrastive, "attack", lambda model, objective, x, *, geometry, **k: radii.append(geometry.eps)
                        or real(model, objective, x, geometry=geometry, **k))
    train_contrastive(SmallResNet(width=8), torch.rand(8, 3, 32, 32), eps=0.6, epochs=4, eps_warmup=2,
                      attack_steps=1, batch_size=8, progress=False)
    assert radii == pytest.approx([0.2, 0.4, 0.6, 0.6])


def test_adversarial_contrastive_view_stays_in_the_ball_and_raises_the_contrastive_loss():
    torch.manual_seed(0)
    net = SmallResNet(width=8).eval()
    head = nn.Linear(32, 16)
    x = torch.rand(8, 3, 32, 32)
    with torch.no_grad():
        net(x)
    others = torch.randn(8, 16)
    objective = contrastive._info_nce_against("avgpool", head, others, 0.5)
    geometry = make_geometry("l2", 1.0)
    adv = adversarial.attack(net, objective, x, geometry=geometry, steps=5, step_size=0.4,
                             generator=torch.Generator().manual_seed(0))
    assert ((adv - x).flatten(1).norm(dim=1) <= 1.0 + 1e-5).all()
    from art_reps.core import Representation

    rep = Representation(net, "avgpool")

    def loss(im):
        return -objective(rep(im), im).mean().item()
    assert loss(adv) > loss(x)


@pytest.mark.parametrize("eps, norm", [(0.0, "l2"), (0.5, "l2"), (8 / 255, "linf")])
def test_train_contrastive_learns_on_a_users_model_and_leaves_no_hooks(eps, norm):
    torch.manual_seed(0)
    net = SmallResNet(width=8, residual=False).eval()
    before = [p.clone() for p in net.parameters()]
    images = torch.rand(24, 3, 32, 32)
    history = train_contrastive(net, images, epochs=2, eps=eps, norm=norm, attack_steps=2, batch_size=12,
                                progress=False)
    assert len(history) == 2 and all(torch.isfinite(torch.tensor(history)))
    assert any(not torch.equal(a, b) for a, b in zip(before, net.parameters()))
    assert not net.training  # the caller's mode, given back
    assert all(not m._forward_hooks for m in net.modules())


def test_train_contrastive_refuses_bad_arguments():
    net = SmallResNet(width=8)
    with pytest.raises(ValueError, match="epochs"):
        train_contrastive(net, torch.rand(4, 3, 32, 32), epochs=0)
    with pytest.raises(ValueError, match="temperature"):
        train_contrastive(net, torch.rand(4, 3, 32, 32), temperature=0)


def test_linear_probe_fits_only_the_head_and_separates_separable_features():
    torch.manual_seed(0)
    net = SmallResNet(width=8)
    images = torch.rand(60, 3, 32, 32)
    with torch.no_grad():
        features = net.avgpool(net.layer3(net.layer2(net.layer1(net.stem(images))))).flatten(1)
    labels = (features[:, 0] > features[:, 0].median()).long()
    body = {k: v.clone() for k, v in net.state_dict().items() if not k.startswith("fc.")}
    fitted = linear_probe(net, "fc", images, labels)
    assert fitted >= 0.9
    with torch.no_grad():  # the standardisation folded into the head: the model predicts as the probe did
        assert (net(images).argmax(1) == labels).float().mean().item() == pytest.approx(fitted, abs=1e-6)
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in body.items())
    with pytest.raises(ValueError, match="nn.Linear"):
        linear_probe(net, "layer3", images, labels)


def test_plain_network_has_no_skip_path():
    torch.manual_seed(0)
    plain = SmallResNet(width=8, residual=False).eval()
    block = plain.layer1
    x = torch.rand(2, 8, 8, 8)
    with torch.no_grad():
        out = block(x)
        expected = block.relu2(block.bn2(block.conv2(block.relu1(block.bn1(block.conv1(x))))))
    assert torch.equal(out, expected)
    residual = sum(p.numel() for p in SmallResNet(width=16).parameters())
    plain = sum(p.numel() for p in SmallResNet(width=16, residual=False).parameters())
    assert 0.85 < plain / residual < 1
    readme = (Path(__file__).resolve().parents[1] / "docs" / "results.md").read_text()
    assert f"({round(residual / 1000)}k and {round(plain / 1000)}k parameters)" in readme


@pytest.mark.parametrize("call, message", [
    (lambda net: train_contrastive(net, torch.rand(4, 32, 32)), "data"),
    (lambda net: train_contrastive(net, torch.rand(4, 3, 32, 32), eps=-1), "eps"),
    (lambda net: train_contrastive(net, torch.rand(4, 3, 32, 32), batch_size=1), "batch_size"),
    (lambda net: train_contrastive(net, torch.rand(4, 3, 32, 32), eps=0.5, epochs=2, eps_warmup=2), "eps_warmup"),
    (lambda net: train_contrastive(net, torch.rand(4, 3, 32, 32), layer="layer9"), "layer9"),
    (lambda net: train_contrastive(net, torch.rand(4, 3, 32, 32), views=lambda b: (b, b[:1])), "one view of each"),
    (lambda net: train_contrastive(net, torch.rand(4, 3, 32, 32), views=lambda b: (b, b[..., :16])), "one shape"),
    (lambda net: adversarial.train_classifier(net, torch.rand(4, 3, 32, 32), torch.zeros(3, dtype=torch.long)),
     "labels"),
    (lambda net: adversarial.train_classifier(net, torch.rand(4, 3, 32, 32), torch.zeros(4, dtype=torch.long),
                                              eps=-0.1), "eps"),
    (lambda net: adversarial.train_classifier(net, torch.rand(4, 3, 32, 32), torch.zeros(4, dtype=torch.long),
                                              eps=2.0, epochs=3, eps_warmup=3), "eps_warmup"),
    (lambda net: linear_probe(net, "fc", torch.rand(4, 3, 32, 32), torch.tensor([0, 1, 2, 10])), "labels"),
])
def test_recipes_name_bad_arguments_before_training(call, message):
    net = SmallResNet(width=8)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    with pytest.raises((ValueError, TypeError), match=message):
        call(net)
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in before.items())


def test_train_contrastive_depends_on_its_seed_alone_and_leaves_the_callers_rng_alone():
    """The same seed gives the same weights whatever the caller's global RNG holds (the projection
    head included), and the caller's generator is where it was."""
    store = torch.rand(12, 3, 32, 32, generator=torch.Generator().manual_seed(3))

    def views(batch):
        return store[batch], store[batch].flip(-1)

    def trained(caller_seed: int) -> tuple[dict, torch.Tensor]:
        net = SmallResNet(width=8)
        net.load_state_dict(start)
        torch.manual_seed(caller_seed)
        train_contrastive(net, torch.arange(12), views=views, epochs=1, batch_size=6, seed=5, progress=False)
        return net.state_dict(), torch.rand(3)

    start = SmallResNet(width=8).state_dict()
    (a, after_a), (b, after_b) = trained(0), trained(1)
    assert all(torch.equal(a[k], b[k]) for k in a)
    torch.manual_seed(0)
    assert torch.equal(after_a, torch.rand(3))
    torch.manual_seed(1)
    assert torch.equal(after_b, torch.rand(3))
