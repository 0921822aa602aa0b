"""Chunked runs: the same images as one batch, chunk sizes from a memory budget."""
import pytest
import torch

import art_reps
from art_reps.core import auto_batch_size
from art_reps.core.batching import step_bytes
from art_reps.core import objectives as O


@pytest.fixture(scope="module")
def model():
    return art_reps.load_model("l2_eps1")


@pytest.fixture(scope="module")
def x():
    return art_reps.data.digits_on_textures("test").images[:5]


def close(a, b):
    assert a.images.shape == b.images.shape and a.history.shape == b.history.shape
    assert torch.allclose(a.images, b.images, atol=1e-4) and torch.allclose(a.losses, b.losses, atol=1e-5)


def test_invert_in_chunks_equals_one_batch(model, x):
    kw = dict(layer="avgpool", steps=8, regularizer=1e-3 * O.total_variation())
    close(art_reps.invert(model, x, batch_size=2, **kw), art_reps.invert(model, x, **kw))


def test_iris_in_chunks_take_lambda_once_over_all_seeds(model, x):
    from art_reps.metrics.distances import ssim_distance

    kw = dict(layer="avgpool", loss="adversarial", distance=ssim_distance, steps=6)
    close(art_reps.iris(model, x, batch_size=2, **kw), art_reps.iris(model, x, **kw))
    close(art_reps.iris(model, x, loss="freq", layer="avgpool", steps=6, batch_size=3),
          art_reps.iris(model, x, loss="freq", layer="avgpool", steps=6))


def test_visualize_and_manipulate_in_chunks(model, x):
    kw = dict(layer="avgpool", feature=[0, 1, 2, 3, 4], steps=6)
    close(art_reps.visualize(model, batch_size=2, **kw), art_reps.visualize(model, **kw))
    kw = dict(layer="avgpool", feature=torch.arange(5), cap=torch.linspace(0.5, 2, 5), steps=6)
    close(art_reps.manipulate(model, x, batch_size=4, **kw), art_reps.manipulate(model, x, **kw))


def test_auto_batch_size_follows_the_budget(model, x):
    per_step = step_bytes(model, ["avgpool"], (3, 32, 32))
    assert per_step > x[0].numel() * 4 * 10  # a step keeps far more than the image
    assert step_bytes(model, ["layer1"], (3, 32, 32)) < per_step  # the forward stops at the layer
    assert auto_batch_size(model, ["avgpool"], (3, 32, 32), budget=2 * per_step) == 2
    assert auto_batch_size(model, ["avgpool"], (3, 32, 32), budget=1) == 1
    res = art_reps.invert(model, x, layer="avgpool", steps=3, batch_size="auto")  # fits in one chunk here
    close(res, art_reps.invert(model, x, layer="avgpool", steps=3))


def test_bad_batch_size_is_named(model, x):
    for bad in (0, -1, 2.5, "big"):
        with pytest.raises((ValueError, TypeError), match="batch_size"):
            art_reps.invert(model, x, layer="avgpool", steps=2, batch_size=bad)


def test_chunking_changes_the_last_bits_only_within_the_stated_tolerance(model, x):
    """docs/design.md, "Chunks": on the CPU a batch's input gradient depends on its size in its last
    bits (about 4e-7: with 2 threads an odd batch goes through other blocking than an even one), and
    300 normalised steps grow that into other pixels of an equally good inversion; the loss reached
    stays within TOLERANCE_LOSS and the images within TOLERANCE_PIXELS on average."""
    from art_reps.core.batching import TOLERANCE_LOSS, TOLERANCE_PIXELS

    whole = art_reps.invert(model, x[:4], layer="avgpool", progress=False)  # the recipe: 300 steps
    for batch_size in (1, 3):
        chunked = art_reps.invert(model, x[:4], layer="avgpool", batch_size=batch_size, progress=False)
        assert (chunked.losses - whole.losses).abs().max() <= TOLERANCE_LOSS, batch_size
        assert (chunked.images - whole.images).abs().mean() <= TOLERANCE_PIXELS, batch_size
