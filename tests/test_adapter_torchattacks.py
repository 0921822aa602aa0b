"""torchattacks adapter with real torchattacks objects."""
import pytest
import torch
import torchattacks

import art_reps
from art_reps.core import Representation, objectives as O, optimize
from art_reps.torchattacks import RepInversion, RepIRI, RepPGD
from conftest import assert_unchanged, snapshot

MEAN, STD = (0.4, 0.5, 0.6), (0.2, 0.3, 0.25)


@pytest.fixture
def data():
    d = art_reps.data.digits_on_textures("test")
    return d.images[:6], d.labels[:6]


def test_inversion_matches_the_core_exactly(net, data):
    net.eval()
    x, y = data
    ours = RepInversion(net, layer="layer3", steps=5, start="gray")(x, y)
    assert torch.equal(ours, art_reps.invert(net, x, layer="layer3", start="gray", steps=5).images)
    explicit = RepInversion(net, layer="layer3", steps=5, alpha=0.05, start="gray", fake_relu=False)(x, y)
    target = Representation(net, "layer3")(x)["layer3"]
    core = optimize(net, O.inversion("layer3", target), torch.full_like(x, 0.5), steps=5, step_size=0.05,
                    schedule="linear")
    assert torch.equal(explicit, core.images)


def test_rep_pgd_in_multiattack_alongside_pgd(net, data):
    net.eval()
    x, y = data
    pgd, rep = torchattacks.PGD(net, eps=4 / 255, steps=3), RepPGD(net, layer="avgpool", eps=0.5, steps=3)
    adv = torchattacks.MultiAttack([pgd, rep])(x, y)
    assert adv.shape == x.shape and adv.device == x.device
    delta = (adv - x).flatten(1)
    # each image comes from PGD (Linf 4/255) or, where PGD failed, from RepPGD (L2 0.5)
    assert ((delta.abs().amax(1) <= 4 / 255 + 1e-5) | (delta.norm(dim=1) <= 0.5 + 1e-4)).all()


def test_rep_pgd_respects_set_normalization_used(net, data):
    """With normalisation set, inputs and outputs are normalised and the model sees normalised data."""
    net.eval()
    x, y = data
    mean, std = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)
    atk = RepPGD(net, layer="avgpool", eps=0.5, steps=4)
    atk.set_normalization_used(MEAN, STD)
    torch.manual_seed(0)
    adv_normalised = atk((x - mean) / std, y)
    adv = adv_normalised * std + mean
    assert ((adv - x).flatten(1).norm(dim=1) <= 0.5 + 1e-4).all()
    seen = ((x - mean) / std) * std + mean  # what torchattacks hands to forward() after inverse_normalize
    torch.manual_seed(0)
    core = art_reps.attack(net, seen, layer="avgpool", mean=MEAN, std=STD, steps=4, eps=0.5,
                           seed=int(torch.randint(2 ** 62, (1,))))  # the seed the call drew
    assert torch.allclose(adv, core.images, atol=1e-5)
    torch.manual_seed(0)
    plain = RepPGD(net, layer="avgpool", eps=0.5, steps=4)(x, y)
    assert not torch.allclose(plain, adv, atol=1e-4)


def test_adversarial_training_loop_and_model_state(net, data):
    x, y = data
    net.train()
    atk = RepPGD(net, layer="layer2", eps=0.5, steps=2)
    before = snapshot(net)
    adv = atk(x, y)
    assert_unchanged(before, net)
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    loss = torch.nn.functional.cross_entropy(net(adv), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    assert torch.isfinite(loss)


def test_save_writes_adversarial_examples(tmp_path, net, data):
    net.eval()
    x, y = data
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=3)
    path = tmp_path / "adv.pt"
    RepPGD(net, layer="avgpool", eps=0.5, steps=2).save(loader, save_path=str(path), verbose=False)
    saved = torch.load(path, weights_only=True)
    assert saved["adv_inputs"].shape == x.shape


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(layer="layer7"), "layer 'layer7' does not exist"),
    (dict(layer="avgpool", eps=0.0), "eps must be a finite number > 0"),
    (dict(layer="avgpool", steps=0), "steps must be an int"),
    (dict(layer="avgpool", norm="l1"), "norm must be 'l2' or 'linf'"),
])
def test_bad_arguments(net, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        RepPGD(net, **kwargs)


def test_bad_images(net, data):
    with pytest.raises(ValueError, match="contains NaN or Inf"):
        RepPGD(net, layer="avgpool", steps=2)(torch.full((2, 3, 32, 32), float("nan")), torch.zeros(2))


def test_set_model_training_mode_is_honoured(net, data):
    """As for torchattacks' own attacks: by default the attack runs in eval mode; with
    model_training=True (BatchNorm kept in eval) dropout-free models see train-mode modules."""
    x, y = data
    seen = []
    net.layer1.conv1.register_forward_pre_hook(lambda m, i: seen.append(net.layer1.training))
    atk = RepPGD(net, layer="avgpool", eps=0.5, steps=1)
    net.eval()
    atk(x, y)
    assert not any(seen) and not net.training
    seen.clear()
    atk.set_model_training_mode(model_training=True, batchnorm_training=False)
    before = snapshot(net)
    atk(x, y)
    assert all(seen) and not net.layer1.bn1.training
    assert torch.equal(net.layer1.bn1.running_mean, before["state"]["layer1.bn1.running_mean"])


@pytest.mark.parametrize("loss", ["regularizer-free", "mahendran", "freq", "adversarial", "feather"])
def test_rep_iri_is_the_core_iri(net, loss):
    net.eval()
    x = torch.rand(3, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    distance = art_reps.metrics.distances.ssim_distance
    ours = RepIRI(net, layer="avgpool", loss=loss, steps=4, start="noise", distance=distance, seed=5)(
        x, torch.zeros(3).long())
    first_seed = int(torch.randint(2 ** 62, (1,), generator=torch.Generator().manual_seed(5)))  # the call's seed
    core = art_reps.iris(net, x, layer="avgpool", loss=loss, start="noise", steps=4, distance=distance,
                         seed=first_seed)
    assert torch.allclose(ours, core.images, atol=1e-6), loss
    with pytest.raises(ValueError, match="loss must be one of"):
        RepIRI(net, layer="avgpool", loss="lpips")


@pytest.mark.parametrize("make", [lambda m, **k: RepPGD(m, layer="avgpool", eps=0.5, steps=3, **k),
                                  lambda m, **k: RepInversion(m, layer="avgpool", steps=3, **k),
                                  lambda m, **k: RepIRI(m, layer="avgpool", steps=3, **k)])
def test_each_call_draws_a_fresh_random_start_that_the_seed_reproduces(net, make):
    """As torchattacks' own attacks: fresh starts from torch's global generator on every call, so
    torch.manual_seed repeats a call (labels optional); with seed= a generator of the attack's own."""
    net.eval()
    x, y = torch.rand(2, 3, 32, 32), torch.zeros(2).long()
    attack = make(net)
    torch.manual_seed(1)
    first, second = attack(x, y), attack(x, y)
    assert not torch.allclose(first, second, atol=1e-4)  # a training loop sees new starts every epoch
    torch.manual_seed(1)
    assert torch.equal(attack(x), first) and torch.equal(attack(x, y), second)  # labels are optional
    seeded, twin = make(net, seed=3), make(net, seed=3)
    a, b = seeded(x, y), seeded(x, y)
    assert not torch.equal(a, b) and torch.equal(twin(x, y), a) and torch.equal(twin(x, y), b)


def test_rep_pgd_without_a_random_start_is_refused(net):
    with pytest.raises(ValueError, match="random_start must be True.*zero gradient"):
        RepPGD(net, layer="avgpool", eps=0.5, random_start=False)


ATTACKS = {"RepPGD": lambda m: RepPGD(m, layer="avgpool", eps=0.5, steps=2),
           "RepInversion": lambda m: RepInversion(m, layer="avgpool", steps=2),
           "RepIRI": lambda m: RepIRI(m, layer="avgpool", steps=2)}


@pytest.mark.parametrize("name", list(ATTACKS))
def test_the_attack_contract(net, name, tmp_path):
    """What torchattacks promises of an Attack: dtype, device and range kept, the model's modes
    restored, targeted modes refused clearly, and save() then load() give the examples back."""
    net.train()
    before = snapshot(net)
    attack = ATTACKS[name](net)
    x, y = torch.rand(4, 3, 32, 32, dtype=torch.float64), torch.arange(4)
    adv = attack(x, y)
    assert adv.dtype == x.dtype and adv.device == x.device and adv.shape == x.shape
    assert adv.min() >= 0 and adv.max() <= 1
    assert_unchanged(before, net)
    for targeted in (attack.set_mode_targeted_by_label, attack.set_mode_targeted_random,
                     attack.set_mode_targeted_least_likely):
        with pytest.raises(ValueError, match="Targeted mode is not supported"):
            targeted()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x.float(), y), batch_size=2)
    attack.save(loader, save_path=str(tmp_path / "adv.pt"), verbose=False)
    saved = attack.load(str(tmp_path / "adv.pt"), batch_size=4)
    images, labels = next(iter(saved))
    assert images.shape == x.shape and torch.equal(labels, y) and images.min() >= 0 and images.max() <= 1
