"""Every method declared once (art_reps.core.methods): the registry, the runner's chunking, the
recipes as defaults, and the bugs a new user hit, each pinned by a test that fails without its fix."""
import ast
import typing
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import art_reps
from art_reps.core import METHODS, objectives as O
from art_reps.zoo.architectures import SmallResNet
from conftest import assert_unchanged, snapshot

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def small():
    torch.manual_seed(0)
    return SmallResNet(width=8).eval()


@pytest.fixture(scope="module")
def x():
    return art_reps.data.digits_on_textures("test").images[:4]


# -- the registry ------------------------------------------------------------------------------

def test_the_registry_holds_every_public_method_with_a_typed_signature():
    assert set(METHODS) == {"attack", "interpolate", "invert", "iris", "manipulate", "sensitivity", "visualize"}
    for name, method in METHODS.items():
        assert getattr(art_reps, name) is method.function and method.name == name
        hints = typing.get_type_hints(method.function)
        assert set(method.parameters) <= set(hints), name  # every keyword typed, as Captum's are


def test_outside_the_core_no_private_core_name_is_imported():
    for path in (ROOT / "art_reps").rglob("*.py"):
        if "core" in path.relative_to(ROOT / "art_reps").parts[:1]:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and "core" in node.module.split("."):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{path}: {node.module} {private}"
    assert not (ROOT / "art_reps" / "cli" / "commands.py").exists()  # one command-line registry


def test_each_methods_defaults_are_the_recipe_its_results_were_measured_with():
    """The saved results record the settings they ran with; the registry's defaults are those."""
    import json

    reproduce = json.loads((ROOT / "results" / "science.json").read_text())["reproduce"]
    science = reproduce.get("recipes", reproduce["settings"])  # the recipes each measure ran with
    for method, measure in (("invert", "inversion"), ("interpolate", "interpolation"), ("manipulate", "manipulation")):
        recorded = {k: v for k, v in science[measure].items() if k in ("steps", "step_size", "eps")}
        defaults = METHODS[method].defaults()
        assert recorded and all(defaults[k] == v for k, v in recorded.items()), (method, recorded, defaults)
    assert METHODS["iris"].defaults() == METHODS["invert"].defaults()  # the alignment study ran invert's recipe
    beyond = json.loads((ROOT / "results" / "beyond_anchors.json").read_text())
    for param, step in (("pixel", 0.1), ("fourier", 0.05), ("maco", 0.05)):
        recipe = METHODS["visualize"].defaults(param=param)
        assert recipe["steps"] == beyond["parameterisations"]["steps"] and recipe["step_size"] == step


def test_a_misspelled_keyword_names_the_function_called(small, x):
    for call in (lambda: art_reps.invert(small, x, layer="avgpool", stpes=2),
                 lambda: art_reps.visualize(small, layer="avgpool", feature=1, clseness=1.0),
                 lambda: art_reps.sensitivity(small, x, 1, steps=3)):
        with pytest.raises(TypeError, match=r"^(invert|visualize|sensitivity)\(\) got an unexpected keyword"):
            call()


# -- chunked runs are the whole run --------------------------------------------------------------

DIRECTION = torch.randn(32, generator=torch.Generator().manual_seed(3))
CASES = {
    "invert": lambda m, x: dict(targets=x, layer="avgpool"),
    "invert representations": lambda m, x: dict(
        representations=art_reps.Representation(m, "avgpool")(x)["avgpool"], start=x.flip(0), layer="avgpool"),
    "iris": lambda m, x: dict(targets=x, layer="avgpool", loss="freq"),
    "iris adversarial": lambda m, x: dict(targets=x, layer="avgpool", loss="adversarial",
                                          distance=art_reps.metrics.distances.ssim_distance),
    "visualize channel": lambda m, x: dict(layer="layer3", feature=[0, 1, 2, 3]),
    "visualize channel from images": lambda m, x: dict(layer="layer3", feature=5, start=x, closeness=10.0),
    "visualize neuron": lambda m, x: dict(layer="layer3", kind="neuron", feature=[0, 7, 9, 30]),
    "visualize neuron from images": lambda m, x: dict(layer="layer3", kind="neuron", feature=[0, 7, 9, 30], start=x),
    "visualize neuron tuples": lambda m, x: dict(layer="layer3", kind="neuron", feature=torch.tensor(
        [[0, 1, 1], [3, 2, 2], [5, 0, 7], [1, 7, 7]]), start=x),
    "visualize direction": lambda m, x: dict(layer="avgpool", kind="direction", feature=DIRECTION, n=4),
    "visualize directions": lambda m, x: dict(layer="avgpool", kind="direction", feature=torch.randn(4, 32)),
    "visualize fourier": lambda m, x: dict(layer="", feature=[0, 1, 2, 3], param="fourier"),
    "visualize maco from images": lambda m, x: dict(layer="", feature=[0, 1, 2, 3], param="maco", start=x),
    "manipulate": lambda m, x: dict(images=x, layer="avgpool", feature=torch.tensor([0, 1, 2, 3]),
                                    cap=torch.linspace(0.5, 2, 4)),
    "manipulate unit": lambda m, x: dict(images=x, layer="layer3", feature=(2, 1, 1)),
    "interpolate": lambda m, x: dict(a=x[:2], b=x[2:], layer="avgpool", n=3),
    "attack": lambda m, x: dict(images=x, layer="avgpool"),
    "sensitivity classes": lambda m, x: dict(images=x, target=torch.tensor([1, 2, 3, 4])),
    "sensitivity channels": lambda m, x: dict(images=x, target=[0, 1, 2, 3], layer="layer3", kind="channel"),
    "sensitivity direction": lambda m, x: dict(images=x, target=DIRECTION, layer="avgpool", kind="direction"),
}


@pytest.mark.parametrize("case", list(CASES))
@settings(max_examples=3, deadline=None)
@given(batch_size=st.integers(1, 3))
def test_every_method_chunked_is_the_whole_run(small, x, case, batch_size):
    method = METHODS[case.split(" ")[0]]
    keywords = CASES[case](small, x)
    steps = {"steps": 3} if method.optimises else {}
    whole = method(small, **keywords, **steps, progress=False)
    chunked = method(small, **keywords, **steps, batch_size=batch_size, progress=False)
    if isinstance(whole, torch.Tensor):
        assert torch.allclose(whole, chunked, atol=1e-5)
        return
    assert whole.images.shape == chunked.images.shape and whole.history.shape == chunked.history.shape
    assert torch.allclose(whole.images, chunked.images, atol=2e-4)
    assert torch.allclose(whole.losses, chunked.losses, atol=2e-4)


# -- the bugs a new user hit ---------------------------------------------------------------------

def _rms(a, b):
    return (a - b).pow(2).flatten(1).mean(1).sqrt()


def test_spectral_parameterisations_start_from_the_image_and_accentuation_stays_near_it(x):
    from art_reps.core import Fourier, Maco

    leaf, to_image = Fourier()(x)
    assert _rms(to_image(leaf), x).max() < 1e-3  # Fourier begins at the image itself
    phase, to_image = Maco()(x)
    first = to_image(phase)
    start_phase = torch.angle(torch.fft.rfftn(torch.logit(x.clamp(1e-4, 1 - 1e-4)), dim=(-2, -1)))
    first_phase = torch.angle(torch.fft.rfftn(torch.logit(first.clamp(1e-4, 1 - 1e-4)), dim=(-2, -1)))
    wrapped = torch.remainder(first_phase - start_phase + torch.pi, 2 * torch.pi) - torch.pi
    assert wrapped[..., 1:, 1:].abs().median() < 1e-3  # MACO begins at the image's phase (its magnitude is fixed)
    model = art_reps.load_model("l2_eps1")
    near = {p: art_reps.visualize(model, layer="avgpool", feature=3, start=x, closeness=1000.0, param=p, steps=60,
                                  progress=False).images for p in ("fourier", "maco")}
    assert _rms(near["fourier"], x).max() < 0.02  # Fourier begins from the start image
    assert _rms(near["maco"], x).mean() <= _rms(first, x).mean() + 1e-3  # as near as MACO's fixed magnitude allows
    free = art_reps.visualize(model, layer="avgpool", feature=3, start=x, param="fourier", steps=60, progress=False)
    assert _rms(free.images, x).mean() > 5 * _rms(near["fourier"], x).mean()


def test_art_attacks_keep_per_channel_clip_values(x):
    from art.estimators.classification import PyTorchClassifier

    from art_reps.art import FeatureVisualization, RepresentationInversion, RepresentationPGD

    model = art_reps.load_model("l2_eps1")
    high = np.array([1.0, 0.5, 1.0], dtype=np.float32).reshape(3, 1, 1)
    clf = PyTorchClassifier(model, torch.nn.CrossEntropyLoss(), (3, 32, 32), 10, device_type="cpu",
                            clip_values=(np.zeros((3, 1, 1), np.float32), high))
    inside = x.numpy().copy()
    inside[:, 1] *= 0.5
    outputs = [RepresentationPGD(clf, layer="avgpool", eps=1.0, max_iter=5, verbose=False).generate(inside),
               FeatureVisualization(clf, layer="avgpool", feature=3, max_iter=20, step_size=0.5,
                                    verbose=False).generate(inside),
               RepresentationInversion(clf, layer="avgpool", max_iter=10, verbose=False).generate(
                   np.full_like(inside, 0.25), targets=inside[::-1].copy())]
    for out in outputs:
        assert out[:, 1].max() <= 0.5 + 1e-6 and out.min() >= 0 and out.max() <= 1  # every channel inside its own box
    assert outputs[1][:, 0].max() > 0.6  # the other channels keep their full range


def test_a_batch_run_refused_by_validation_leaves_nothing_and_the_corrected_run_goes_ahead(tmp_path):
    from art_reps.cli.batch import run_batch

    out = tmp_path / "run"
    with pytest.raises(ValueError, match="loss must be one of"):
        run_batch("iris", out=out, limit=2, batch_size=2, steps=2, loss="l7", progress=False)
    assert not out.exists()
    assert run_batch("iris", out=out, limit=2, batch_size=2, steps=2, loss="freq", progress=False)["done_now"] == 2
    stale = tmp_path / "stale"  # settings written by an older version's refused run, no item yet
    (stale).mkdir()
    (stale / "settings.json").write_text('{"method": "iris", "loss": "l7"}')
    assert run_batch("iris", out=stale, limit=2, batch_size=2, steps=2, progress=False)["done_now"] == 2


@pytest.mark.parametrize("eps", [np.float32(0.25), torch.tensor(0.25), torch.tensor([0.25]), np.float64(0.25)])
def test_eps_as_a_numpy_or_one_element_tensor_number(small, x, eps):
    from art.estimators.classification import PyTorchClassifier

    from art_reps.art import RepresentationPGD
    from art_reps.core import L2Ball, make_geometry

    assert L2Ball(eps).eps == make_geometry("linf", eps).eps == 0.25
    res = art_reps.manipulate(small, x, layer="avgpool", feature=1, eps=eps, steps=2, progress=False)
    assert ((res.images - x).flatten(1).norm(dim=1) <= 0.25 + 1e-5).all()
    clf = PyTorchClassifier(small, torch.nn.CrossEntropyLoss(), (3, 32, 32), 10, clip_values=(0, 1), device_type="cpu")
    adv = RepresentationPGD(clf, layer="avgpool", eps=eps, max_iter=2, verbose=False).generate(x.numpy())
    assert np.linalg.norm((adv - x.numpy()).reshape(4, -1), axis=1).max() <= 0.25 + 1e-5


def test_keep_mode_leaves_batchnorm_statistics_as_they_were(net, images):
    net.train()
    before = snapshot(net)
    art_reps.invert(net, images, layer="avgpool", steps=3, keep_mode=True, progress=False)
    art_reps.attack(net, images, layer="layer2", steps=2, keep_mode=True, progress=False)
    assert_unchanged(before, net)  # running means, variances and batch counts included


class _Tokens(torch.nn.Module):
    """A token layer with as many tokens as hidden units: (N, 8 tokens, 8)."""

    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Conv2d(3, 8, 8, stride=8)  # 32 px -> 4 x 4 = 16 patches
        self.mix = torch.nn.Linear(16, 8)  # 16 patches -> 8 tokens
        self.block = torch.nn.Identity()

    def forward(self, x):
        tokens = self.mix(self.embed(x).flatten(2)).transpose(1, 2)  # (N, 8 tokens, 8 hidden)
        return self.block(tokens).mean(1)


def test_a_direction_on_a_token_layer_reads_the_hidden_units_even_when_tokens_equal_width(x):
    torch.manual_seed(0)
    model = _Tokens().eval()
    tokens = art_reps.Representation(model, "block")(x)["block"]
    assert tokens.shape[1:] == (8, 8)
    v = torch.zeros(8)
    v[2] = 1.0
    value = O.direction("block", v)({"block": tokens}, x)
    assert torch.allclose(value, -tokens[:, :, 2].mean(1))  # hidden unit 2 over the tokens, not token 2
    assert torch.allclose(O.direction("block", v, axis=1)({"block": tokens}, x), -tokens[:, 2, :].mean(1))
    grad = art_reps.sensitivity(model, x, v, layer="block", kind="direction")
    assert grad.shape == x.shape and grad.abs().sum() > 0


def test_per_image_neurons_in_chunks_and_through_art(small, x):
    from art.estimators.classification import PyTorchClassifier

    from art_reps.art import FeatureVisualization

    for start in (None, x):
        whole = art_reps.visualize(small, layer="layer3", kind="neuron", feature=[1, 50, 99, 7], start=start, n=4,
                                   steps=2, progress=False)
        parts = art_reps.visualize(small, layer="layer3", kind="neuron", feature=[1, 50, 99, 7], start=start, n=4,
                                   steps=2, batch_size=2, progress=False)
        assert torch.allclose(whole.images, parts.images, atol=1e-5)
    clf = PyTorchClassifier(small, torch.nn.CrossEntropyLoss(), (3, 32, 32), 10, clip_values=(0, 1), device_type="cpu")
    art = FeatureVisualization(clf, layer="layer3", kind="neuron", feature=[1, 50, 99, 7], max_iter=2, batch_size=2,
                               verbose=False).generate(x.numpy())
    assert np.allclose(art, art_reps.visualize(small, layer="layer3", kind="neuron", feature=[1, 50, 99, 7],
                                               start=x, steps=2, seed=0, progress=False).images.numpy(), atol=1e-5)


# -- named errors where a raw torch error escaped ------------------------------------------------

def test_named_errors(small, x):
    from art.estimators.classification import PyTorchClassifier

    from art_reps.art import RepresentationInversion
    from art_reps.captum import RepresentationSensitivity
    from art_reps.metrics import pag_score, plausibility
    from art_reps.train.adversarial import train_classifier
    from art_reps.train.contrastive import linear_probe
    from art_reps.zoo import load_torchvision

    judge = art_reps.load_model("judge")
    with pytest.raises(ValueError, match="a direction of 5 entries does not fit layer 'avgpool'"):
        art_reps.visualize(small, layer="avgpool", kind="direction", feature=torch.randn(5), steps=1, progress=False)
    clf = PyTorchClassifier(small, torch.nn.CrossEntropyLoss(), (3, 32, 32), 10, clip_values=(0, 1), device_type="cpu")
    with pytest.raises(ValueError, match="representations have 5 values per sample but layer 'avgpool' has 32"):
        RepresentationInversion(clf, layer="avgpool", max_iter=1, verbose=False).generate(
            x.numpy(), target_representations=np.zeros((4, 5), np.float32))
    with pytest.raises(ValueError, match="images has 1 channels but the model expects 3"):
        RepresentationSensitivity(small).attribute(x[:, :1], target=1)
    for bad, message in ((torch.tensor([0, 1, 2, 10]), r"in \[0, 10\)"), (torch.tensor([0.0, 1, 2, 3]), "integer"),
                         (torch.tensor([-1, 1, 2, 3]), r"in \[0, 10\)")):
        with pytest.raises(ValueError, match=message):
            train_classifier(SmallResNet(width=8), x, bad, epochs=1, progress=False)
        with pytest.raises(ValueError, match=message):
            pag_score(small, x, bad)
        with pytest.raises(ValueError, match=message):
            plausibility(x, bad, judge, art_reps.data.digits_on_textures("val"))
    with pytest.raises(ValueError, match="score model was trained on"):
        pag_score(small, torch.rand(2, 3, 30, 30), torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="name the layer the head reads"):
        linear_probe(SmallResNet(width=8), "fc", x, torch.tensor([0, 1, 2, 3]), layer="layer2")
    path = Path(__file__).parent / "_resnet18_10.pt"
    try:
        import torchvision

        torch.save(torchvision.models.resnet18(num_classes=10).state_dict(), path)
        with pytest.raises(ValueError, match="pass num_classes= the checkpoint's class count"):
            load_torchvision("resnet18", weights=path)
        assert load_torchvision("resnet18", weights=path, num_classes=10).model.fc.out_features == 10
    finally:
        path.unlink(missing_ok=True)


# -- the recipes leave the caller's world as it was ---------------------------------------------

def test_train_classifier_keeps_the_global_rng_and_the_callers_modes(x):
    from art_reps.train.adversarial import train_classifier

    y = torch.tensor([0, 1, 2, 3])
    for mode in (True, False):
        net = SmallResNet(width=8).train(mode)
        torch.manual_seed(11)
        state = torch.get_rng_state()
        train_classifier(net, x, y, epochs=1, batch_size=2, eps=0.5, attack_steps=1, progress=False)
        assert torch.equal(torch.get_rng_state(), state) and net.training is mode

    class Breaks(SmallResNet):
        calls = 0

        def forward(self, images):
            Breaks.calls += 1
            if Breaks.calls == 3:
                raise RuntimeError("a failing batch")
            return super().forward(images)

    net = Breaks(width=8).eval()
    with pytest.raises(RuntimeError, match="a failing batch"):
        train_classifier(net, x, y, epochs=1, batch_size=2, progress=False)
    assert not net.training  # given back in eval mode, as it came, also when training raises
    for bad in (dict(lr=float("nan")), dict(lr=0.0), dict(weight_decay=float("inf"))):
        with pytest.raises(ValueError, match="lr|weight_decay"):
            train_classifier(SmallResNet(width=8), x, y, epochs=1, progress=False, **bad)
    twice = [SmallResNet(width=8) for _ in range(2)]
    initial = {k: v.clone() for k, v in twice[0].state_dict().items()}
    for n in twice:
        n.load_state_dict(initial)
        train_classifier(n, x, y, epochs=1, batch_size=2, noise_std=0.1, progress=False, seed=4)
    assert all(torch.equal(a, b) for a, b in zip(*(n.parameters() for n in twice)))  # its own generator repeats


# -- the ecosystems' own conventions -------------------------------------------------------------

def test_art_attacks_follow_arts_conventions(small, x):
    from art.estimators.classification import PyTorchClassifier

    from art_reps.art import FeatureVisualization, IRIGenerator, RepresentationPGD

    clf = PyTorchClassifier(small, torch.nn.CrossEntropyLoss(), (3, 32, 32), 10, clip_values=(0, 1), device_type="cpu")
    for make in (lambda: RepresentationPGD(clf, layer="avgpool", max_iter=2, verbose=False),
                 lambda: IRIGenerator(clf, layer="avgpool", max_iter=2, verbose=False)):
        attack = make()
        np.random.seed(0)  # ART: numpy's global generator
        a = attack.generate(x.numpy())
        np.random.seed(0)
        b = attack.generate(x.numpy(), y=np.eye(10)[[1, 2, 3, 4]])  # y is ignored
        assert np.array_equal(a, b) and not np.array_equal(a, attack.generate(x.numpy()))
    for bad in (dict(feature="a"), dict(feature=1, kind="pixel"), dict(feature=1, param="wavelets"),
                dict(feature=1, step_size=-1.0), dict(feature=1, optimizer="lbfgs"), dict(feature=1, closeness=-2.0)):
        with pytest.raises(ValueError):  # ART's convention: ValueError for every bad parameter
            FeatureVisualization(clf, layer="avgpool", **bad)


def test_captum_conventions_invalid_targets_layer_modules_and_device_ids(small, x):
    from art_reps.captum import FeatureVisualization, RepresentationSensitivity

    hooks = lambda: sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)  # noqa: E731
                        for m in small.modules())
    before = hooks()
    for method in (RepresentationSensitivity(small), RepresentationSensitivity(small, small.layer3, device_ids=None),
                   FeatureVisualization(small, small.layer3)):
        for bad in ((9999,) * 20, 9999):
            with pytest.raises(AssertionError):  # Captum's convention ...
                method.attribute(x, target=bad)
            with pytest.raises(ValueError):  # ... and ours
                method.attribute(x, target=bad)
        assert hooks() == before
    layer = RepresentationSensitivity(small, small.layer3).attribute(x, target=2)
    named = RepresentationSensitivity(small, "layer3").attribute(x, target=2)
    assert torch.equal(layer, named)

    class Raises(torch.nn.Module):
        def forward(self, *args):
            raise AssertionError("Raising error on execution")

    broken = SmallResNet(width=8).eval()
    broken.layer2 = Raises()
    with pytest.raises(AssertionError, match="Raising error"):
        RepresentationSensitivity(broken, "layer3").attribute(x, target=1)
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in broken.modules())


def test_torchattacks_save_is_reproducible_under_the_global_seed(small, x, tmp_path):
    from art_reps.torchattacks import RepInversion, RepPGD

    labels = torch.tensor([1, 2, 3, 4])
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, labels), batch_size=2)
    for attack in (RepPGD(small, layer="avgpool", eps=0.5, steps=2), RepInversion(small, layer="avgpool", steps=2)):
        saved = []
        for seed in (5, 5, 6):
            torch.manual_seed(seed)
            attack.save(loader, save_path=str(tmp_path / "adv.pt"), verbose=False)
            saved.append(next(iter(attack.load(str(tmp_path / "adv.pt"), batch_size=4)))[0])
        assert torch.equal(saved[0], saved[1]) and not torch.equal(saved[0], saved[2])


# -- what a user sees ---------------------------------------------------------------------------

def test_a_progress_bar_by_default_on_runs_longer_than_its_delay(small, x, capsys, monkeypatch):
    from art_reps.core import Runtime

    assert Runtime().progress is True
    art_reps.invert(small, x, layer="avgpool", steps=3)
    assert "invert" not in capsys.readouterr().err  # a short run stays silent
    monkeypatch.setattr("art_reps.core.loop.PROGRESS_DELAY", 0.0)
    art_reps.invert(small, x, layer="avgpool", steps=3)
    assert "invert" in capsys.readouterr().err
    art_reps.invert(small, x, layer="avgpool", steps=3, progress=False)
    assert "invert" not in capsys.readouterr().err


def test_transparent_images_are_composited_and_limit_counts_readable_images(tmp_path):
    from PIL import Image

    from art_reps.cli.batch import load_items

    rgba = np.zeros((32, 32, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[:16, :, 3] = 255  # the top half opaque red, the bottom half transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    (tmp_path / "b.png").write_bytes(b"not a png")
    Image.fromarray(np.full((32, 32, 3), 40, np.uint8)).save(tmp_path / "c.png")
    Image.fromarray(np.full((32, 32, 3), 80, np.uint8)).save(tmp_path / "d.png")
    items = load_items(str(tmp_path), limit=2)
    assert items.ids == ["a.png", "c.png"] and len(items.unreadable) == 1  # two readable images, not one
    a = items.images[0]
    assert torch.allclose(a[:, :8], torch.tensor([1.0, 0, 0]).view(3, 1, 1).expand(3, 8, 32), atol=0.02)
    assert torch.allclose(a[:, 24:], torch.ones(3, 8, 32), atol=0.02)  # white behind, not the hidden black
    assert items.notes == [{"file": "a.png", "note": "transparent: composited on white"}]


def test_a_feature_that_reads_zero_throughout_is_a_warning_not_a_silent_grey_image():
    """Channel 1 is kept at zero by its ReLU for every image: nothing can move it. Its image is
    named in a warning; channel 0, which moves, is not."""
    import warnings

    net = torch.nn.Sequential(torch.nn.Conv2d(3, 2, 3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1))
    with torch.no_grad():
        net[0].weight[1], net[0].bias[0], net[0].bias[1] = 0.0, 5.0, -1.0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        art_reps.visualize(net, layer="1", feature=[0, 1], param="fourier", steps=5, progress=False)
    said = [str(w.message) for w in caught if "read exactly 0" in str(w.message)]
    assert len(said) == 1 and "image(s) [1]" in said[0]
