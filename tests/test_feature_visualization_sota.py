"""MACO (Fel et al. 2023) and feature accentuation (Hamblin et al. 2024) through the one loop and
every face of the library: the magnitude stays the data's, the transparency map shows where the
feature reads the image, and closeness trades the feature for staying near the seed."""
import json
import numpy as np
import pytest
import torch

import art_reps
from art_reps.core import Maco, objectives as O, optimize
from art_reps.zoo.architectures import SmallResNet


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return SmallResNet().eval()


@pytest.fixture(scope="module")
def images():
    return art_reps.data.digits_on_textures("test").images[:4]


def test_mean_spectrum_is_the_mean_amplitude_without_the_mean_colour(images):
    spectrum = art_reps.data.mean_spectrum(images)
    assert spectrum.shape == (3, 32, 17) and float(spectrum[:, 0, 0].abs().max()) < 1e-5
    flat = torch.full((2, 3, 32, 32), 0.3)
    assert float(art_reps.data.mean_spectrum(flat).abs().max()) < 1e-6
    with pytest.raises(ValueError, match="images must be a non-empty"):
        art_reps.data.mean_spectrum(torch.rand(3, 32, 32))


def test_maco_moves_only_the_phase(net, images):
    magnitude = art_reps.data.mean_spectrum(images)
    res = art_reps.visualize(net, layer="layer3", feature=[0, 1], steps=15, param=Maco(magnitude))
    z = torch.logit(res.images.clamp(1e-6, 1 - 1e-6).double())  # the standardised inverse transform
    # columns 0 and W/2 are real-constrained by the inverse transform; every other frequency keeps its magnitude
    ratio = torch.fft.rfft2(z, norm="ortho").abs()[..., 1:-1] / magnitude[None, ..., 1:-1].double()
    per_channel = ratio.flatten(2)
    assert float((per_channel.std(2) / per_channel.mean(2)).max()) < 0.02  # one scale for every frequency
    other = art_reps.visualize(net, layer="layer3", feature=[0, 1], steps=15, param="maco")  # 1/f
    assert not torch.allclose(other.images, res.images, atol=1e-2)


def test_maco_transparency_marks_where_the_feature_reads(net):
    res = art_reps.visualize(net, layer="stem.0", feature=(0, 2, 2), kind="neuron", steps=10, param="maco")
    alpha = res.transparency
    assert alpha.shape == (1, 1, 32, 32) and float(alpha.min()) >= 0 and float(alpha.max()) == pytest.approx(1.0)
    near, far = alpha[..., :8, :8].mean(), alpha[..., 16:, 16:].mean()
    assert near > 0 and far == 0  # the first convolution's unit at (2, 2) sees only a 3x3 patch there
    assert art_reps.visualize(net, layer="layer1", feature=0, steps=2).transparency is None  # pixels: none


def test_maco_refuses_a_spectrum_of_the_wrong_shape(net):
    with pytest.raises(ValueError, match="magnitude has shape"):
        art_reps.visualize(net, layer="layer3", feature=0, steps=1, param=Maco(torch.ones(3, 16, 9)))
    with pytest.raises(ValueError, match="magnitude must be a finite, non-negative"):
        Maco(-torch.ones(3, 32, 17))
    with pytest.raises(ValueError, match="cannot be kept inside geometry"):
        optimize(net, O.channel("layer3", 0), torch.rand(1, 3, 32, 32), steps=1, param="maco", geometry="l2", eps=1.0)


def test_closeness_trades_the_feature_for_staying_near_the_seed(net, images):
    runs = {c: art_reps.visualize(net, layer="avgpool", feature=5, start=images, steps=30, closeness=c)
            for c in (0.0, 100.0, 10_000.0)}
    distance = {c: float((r.images - images).pow(2).mean()) for c, r in runs.items()}
    assert distance[0.0] > distance[100.0] > distance[10_000.0]
    assert float(images.sum()) == pytest.approx(float(art_reps.data.digits_on_textures("test").images[:4].sum()))
    chunked = art_reps.visualize(net, layer="avgpool", feature=5, start=images, steps=30, closeness=100.0, batch_size=2)
    assert torch.allclose(chunked.images, runs[100.0].images, atol=1e-6)  # each chunk stays near its own seeds


def test_closeness_needs_start_images_and_a_number(net):
    with pytest.raises(ValueError, match="pass start= images"):
        art_reps.visualize(net, layer="avgpool", feature=5, steps=2, closeness=1.0)
    with pytest.raises(ValueError, match="closeness must be a finite number >= 0"):
        art_reps.visualize(net, layer="avgpool", feature=5, start=torch.rand(1, 3, 32, 32), steps=2, closeness=-1)


def test_the_captum_class_accentuates_and_takes_maco(net, images):
    from art_reps.captum import FeatureVisualization

    fv = FeatureVisualization(net, "avgpool")
    near = fv.attribute(images, target=5, closeness=10_000.0, steps=10)
    free = fv.attribute(images, target=5, steps=10)
    assert (near - images).pow(2).mean() < (free - images).pow(2).mean()
    assert fv.attribute(images, target=5, steps=3, param="maco").shape == images.shape
    with pytest.raises(ValueError, match="closeness"):
        fv.attribute(images, target=5, closeness=float("nan"), steps=1)


def test_the_art_class_accentuates_and_takes_maco(net, images):
    from art.estimators.classification import PyTorchClassifier

    from art_reps.art import FeatureVisualization

    clf = PyTorchClassifier(net, torch.nn.CrossEntropyLoss(), (3, 32, 32), 10, clip_values=(0, 1))
    x = images.numpy()
    near = FeatureVisualization(clf, layer="avgpool", feature=5, closeness=10_000.0, max_iter=10,
                                verbose=False).generate(x)
    free = FeatureVisualization(clf, layer="avgpool", feature=5, max_iter=10, verbose=False).generate(x)
    assert ((near - x) ** 2).mean() < ((free - x) ** 2).mean() and near.dtype == x.dtype
    maco = FeatureVisualization(clf, layer="avgpool", feature=5, param="maco", max_iter=3, verbose=False).generate(x)
    assert maco.shape == x.shape and np.isfinite(maco).all()
    with pytest.raises(ValueError, match="param must be"):
        FeatureVisualization(clf, layer="avgpool", feature=5, param="wavelets")
    with pytest.raises(ValueError, match="closeness must be"):
        FeatureVisualization(clf, layer="avgpool", feature=5, closeness=-1.0)


def test_the_cli_visualises_with_maco_and_accentuates(tmp_path):
    from art_reps.cli import main

    def run(*argv, out):
        try:
            return main(["visualize", "--steps", "3", "--feature", "1", "2", *argv, "--out", str(tmp_path / out),
                         "--quiet"])
        except SystemExit as e:  # a flag argparse refuses
            return e.code

    assert run("--param", "maco", out="m") == 0
    assert run("--closeness", "100", "--start", "images", "--param", "fourier", out="a") == 0
    assert (tmp_path / "m" / "visualize.png").exists() and (tmp_path / "a" / "visualize.png").exists()
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary["settings"]["start"] == "images" and summary["images"] == 10
    assert run("--param", "wavelets", out="w") == 2
    assert run("--closeness", "-1", out="c") == 2
    assert run("--closeness", "1", out="n") == 2  # accentuation needs start images
    assert not any((tmp_path / o).exists() for o in "wcn")  # refused before any work
