import torch

from art_reps.data import digits_on_textures, lfw_faces, natural_photos


def test_splits_are_deterministic_and_well_formed():
    a, b = digits_on_textures("test"), digits_on_textures("test")
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    train = digits_on_textures("train")
    assert train.images.shape == (8000, 3, 32, 32) and a.images.shape == (1000, 3, 32, 32)
    for d in (train, a):
        assert d.images.dtype == torch.float32 and d.images.min() >= 0 and d.images.max() <= 1
        assert set(d.labels.unique().tolist()) == set(range(10))
        assert d.labels.bincount().min() > 0.05 * len(d)
        x0, y0, x1, y1 = d.boxes.unbind(1)
        assert (x0 >= 0).all() and (y0 >= 0).all() and (x1 <= 32).all() and (y1 <= 32).all()
        assert ((x1 - x0) >= 4).all() and ((y1 - y0) >= 4).all()


def test_another_seed_gives_other_images():
    assert not torch.equal(digits_on_textures("test", seed=1).images, digits_on_textures("test").images)


def test_boxes_fit_the_rendered_digit_sizes():
    """Digits are rendered at 14-22 px, so tight boxes are at most 22 px and never tiny."""
    d = digits_on_textures("test")
    sizes = torch.stack([d.boxes[:, 2] - d.boxes[:, 0], d.boxes[:, 3] - d.boxes[:, 1]], 1)
    assert sizes.max() <= 22 and sizes.max(1).values.min() >= 8


def test_callers_copy_is_theirs():
    d = digits_on_textures("test")
    d.images.zero_()
    assert digits_on_textures("test").images.max() > 0


def test_bad_arguments():
    import pytest

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
