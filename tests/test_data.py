import numpy as np
import pytest
import torch

from art_reps.data import digits_on_textures, lfw_faces, natural_photos
from art_reps.data.digits_on_textures import MIN_CONTRAST, glyph_mask, split_sources


def test_splits_are_deterministic_and_well_formed():
    a, b = digits_on_textures("test"), digits_on_textures("test")
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    train, val = digits_on_textures("train"), digits_on_textures("val")
    assert train.images.shape == (8000, 3, 32, 32) and val.images.shape == (500, 3, 32, 32)
    assert a.images.shape == (1000, 3, 32, 32) and a.masks.shape == (1000, 32, 32)
    for d in (train, val, a):
        assert d.images.dtype == torch.float32 and d.images.min() >= 0 and d.images.max() <= 1
        assert d.labels.bincount().min() > 0.09 * len(d)
        x0, y0, x1, y1 = d.boxes.unbind(1)
        assert (x0 >= 0).all() and (y0 >= 0).all() and (x1 <= 32).all() and (y1 <= 32).all()
        assert ((x1 - x0) >= 1).all() and ((y1 - y0) >= 14).all()  # a '1' can be one pixel wide


def test_validation_and_test_use_each_of_their_digits_once_balanced_and_apart():
    """1000 test images from 1000 distinct digits (100 per class): independent samples."""
    sources = {s: set(split_sources(s).tolist()) for s in ("train", "val", "test")}
    assert [len(v) for v in sources.values()] == [3500, 500, 1000]
    assert not (sources["train"] & sources["val"]) and not (sources["train"] & sources["test"])
    assert not (sources["val"] & sources["test"])
    for split, n in (("val", 500), ("test", 1000)):
        d = digits_on_textures(split)
        assert len(d.sources.unique()) == n and d.labels.bincount().tolist() == [n // 10] * 10
    assert set(digits_on_textures("train").sources.tolist()) == sources["train"]


def test_masks_boxes_and_placements_describe_the_drawn_digit():
    d = digits_on_textures("test")[:50]
    for i in range(len(d)):
        size, y, x = d.placements[i].tolist()
        mask = glyph_mask(int(d.sources[i]), size, y, x)
        assert np.array_equal(mask, d.masks[i].numpy())
        rows, cols = np.nonzero(mask > 0.1)
        assert d.boxes[i].tolist() == [cols.min(), rows.min(), cols.max() + 1, rows.max() + 1]
        assert rows.max() + 1 - rows.min() <= size and 14 <= size <= 22


def test_the_digit_contrasts_with_what_lies_behind_it():
    from art_reps.data.digits_on_textures import _contrasting_colour

    rng = np.random.default_rng(0)
    for behind in rng.uniform(0, 1, size=(200, 3)).astype(np.float32):
        colour = _contrasting_colour(rng, behind)
        assert np.linalg.norm(colour - behind) >= MIN_CONTRAST
    d = digits_on_textures("test")[:100]
    for img, mask in zip(d.images, d.masks):  # one ink colour per digit: pixel = (1 - a) behind + a colour
        m = mask > 0.99  # so where the ink's alpha a > 0.99 pixels lie within 0.01 of the colour, and of each other
        if m.sum() > 1:
            assert (img[:, m] - img[:, m][:, :1]).abs().max() < 0.02


def test_judges_learn_on_other_pictures_of_the_same_training_digits():
    model, judge = digits_on_textures("train"), digits_on_textures("train", backgrounds="judge")
    assert set(model.sources.tolist()) == set(judge.sources.tolist())
    assert not torch.equal(model.images, judge.images)
    with pytest.raises(ValueError, match="backgrounds must be one of"):
        digits_on_textures("test", backgrounds="mine")


def test_another_seed_gives_other_images():
    assert not torch.equal(digits_on_textures("test", seed=1).images, digits_on_textures("test").images)


def test_callers_copy_is_theirs():
    d = digits_on_textures("test")
    d.images.zero_()
    assert digits_on_textures("test").images.max() > 0


def test_bad_arguments():
    with pytest.raises(ValueError, match="split must be one of"):
        digits_on_textures("validation")
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        digits_on_textures("test", seed=-1)
    with pytest.raises(ValueError, match="n must be in"):
        lfw_faces(n=0)


def test_out_of_distribution_images():
    photos, faces = natural_photos(), lfw_faces(n=8)
    assert photos.shape == (6, 3, 32, 32) and faces.shape == (8, 3, 32, 32)
    for t in (photos, faces):
        assert t.min() >= 0 and t.max() <= 1 and t.std() > 0.05
