"""The instruments' controls: images whose answer is known, built without any model, and the
parts that make them (glyph sources no model saw, the scene behind each digit, randomised smoothing)."""
import numpy as np
import pytest
import torch

from art_reps.data import digits_on_textures
from reproduction.controls import NEGATIVE, POSITIVE, SHOWN, controls
from art_reps.data.digits_on_textures import scene_parts, split_sources
from art_reps.data.glyphs import mnist_glyphs
from reproduction.glyphs import augment, font_glyphs, render_glyphs, sklearn_glyphs, unseen_glyphs
from art_reps.zoo import Smoothed


@pytest.fixture(scope="module")
def test20():
    return digits_on_textures("test")[:20]


@pytest.fixture(scope="module")
def made(test20):
    return controls(test20, range(20))


def test_every_control_is_one_image_per_target_in_range(made, test20):
    assert set(made) == set(POSITIVE) | set(SHOWN) | set(NEGATIVE)
    for name, c in made.items():
        assert c.images.shape == test20.images.shape and c.images.min() >= 0 and c.images.max() <= 1, name
        assert c.positive == (name not in NEGATIVE) and c.description


def test_the_scene_behind_each_digit_recomposes_the_image(test20):
    canvas, colour = scene_parts("test")
    alpha = test20.masks[:, None]
    again = canvas[:20] * (1 - alpha) + colour[:20, :, None, None] * alpha
    assert torch.allclose(again, test20.images, atol=1e-6)
    assert not torch.allclose(canvas[:20], test20.images)  # the digit is not in the canvas


def test_positive_controls_keep_the_digit_and_negatives_have_none(made, test20):
    canvas, _ = scene_parts("test")
    ink = test20.masks > 0.5
    assert torch.equal(made["targets"].images, test20.images)
    assert torch.equal(made["background"].images, canvas[:20])
    moved = (made["shifted"].images - canvas[:20]).abs().sum(1) > 0.05
    assert all((moved[i] & ~ink[i]).any() for i in range(20))  # the strokes left their old place
    grey, bare = made["ink on grey"].images, ~(test20.masks > 0).any(0)
    assert torch.allclose(grey[:, :, bare], torch.full_like(grey[:, :, bare], 0.5))
    assert (made["new background"].images - test20.images).abs().amax() > 0.3
    styled = made["inversion style 1.0"].images
    strokes = styled.permute(0, 2, 3, 1)[ink]
    assert strokes.amax(1).mean() > 0.9 and strokes.amin(1).mean() < 0.1  # saturated colours on the ink


def test_unseen_glyph_sources_share_nothing_with_the_models_digits():
    mnist = {g.tobytes() for g in mnist_glyphs().glyphs}
    for split in ("train", "held-out"):
        for source in (sklearn_glyphs(split), font_glyphs(split)):
            assert len(source) > 50 and set(source.classes.tolist()) == set(range(10))
            assert not any(g.tobytes() in mnist for g in source.glyphs)
    train, held = unseen_glyphs("train"), unseen_glyphs("held-out")
    assert not {g.tobytes() for g in train.glyphs} & {g.tobytes() for g in held.glyphs}  # the halves are apart
    assert len(split_sources("train")) == 3500  # the models' MNIST split is untouched


def test_augmented_glyphs_vary_and_render_balanced():
    rng = np.random.default_rng(0)
    glyph = font_glyphs("train").glyphs[3]
    variants = [augment(glyph, rng) for _ in range(5)]
    assert len({v.tobytes() for v in variants}) == 5 and all(v.max() <= 1 and v.min() >= 0 for v in variants)
    data = render_glyphs(unseen_glyphs("train"), 40, seed=2)
    assert data.labels.bincount().tolist() == [4] * 10 and data.images.shape == (40, 3, 32, 32)
    assert torch.equal(data.images, render_glyphs(unseen_glyphs("train"), 40, seed=2).images)  # deterministic


def test_faint_seeded_digits_keep_their_box_and_ink_mask():
    """A digit drawn at a contrast too faint for any pixel to pass the box threshold still has its place
    (it raised an empty-array error before the box was read from the digit's shape)."""
    faint = render_glyphs(unseen_glyphs("train"), 20, seed=3, seeded_share=1.0, contrast=(0.01, 0.02))
    full = render_glyphs(unseen_glyphs("train"), 20, seed=3, seeded_share=1.0, contrast=(1.0, 1.0))
    assert torch.equal(faint.boxes, full.boxes) and torch.equal(faint.masks, full.masks)
    assert (faint.masks.amax((1, 2)) > 0.5).all()  # the ink mask is the digit's shape, not its faint alpha


def test_smoothing_votes_and_certifies():
    class Constant(torch.nn.Module):
        def forward(self, x):
            return torch.nn.functional.one_hot(torch.full((len(x),), 3), 10).float()

    class Sign(torch.nn.Module):  # class 1 if the mean pixel is above 0.5, else 0
        def forward(self, x):
            up = (x.flatten(1).mean(1) > 0.5).long()
            return torch.nn.functional.one_hot(up, 2).float()

    x = torch.rand(4, 3, 8, 8)
    votes = Smoothed(Constant(), sigma=0.25, samples=16)(x)
    assert torch.equal(votes.argmax(1), torch.full((4,), 3)) and torch.allclose(votes.sum(1), torch.ones(4))
    predicted, radius = Smoothed(Constant(), sigma=0.25).certify(x, n0=10, n=100)
    assert (predicted == 3).all() and (radius > 0.25 * 1.5).all()  # every vote for one class: a wide radius
    near = torch.full((2, 3, 8, 8), 0.5)  # on the boundary: the vote splits, the judge abstains
    predicted, radius = Smoothed(Sign(), sigma=0.25).certify(near, n0=10, n=100)
    assert (predicted == -1).all() and (radius == 0).all()
    smooth = Smoothed(Sign(), sigma=0.25, samples=32)
    assert torch.equal(smooth(near), smooth(near))  # the same answer to the same image


def test_an_ensembles_feature_distance_is_the_mean_of_its_members():
    from art_reps.metrics.distances import JudgeDistance
    from art_reps.zoo import ARCHITECTURES, Ensemble

    torch.manual_seed(0)
    members = [ARCHITECTURES["JudgeNet"]().eval(), ARCHITECTURES["MixerJudge"]().eval()]
    x, y = torch.rand(4, 3, 32, 32), torch.rand(4, 3, 32, 32)
    joint = JudgeDistance(Ensemble(members))(x, y)
    each = torch.stack([JudgeDistance(m)(x, y) for m in members]).mean(0)
    assert torch.allclose(joint, each, atol=1e-5)
    with pytest.raises(TypeError, match=r"members\[0\]"):
        Ensemble([torch.nn.Linear(2, 2)])


@pytest.mark.parametrize("bad, message", [({"n": 0}, "n must be"), ({"backgrounds": "moon"}, "backgrounds must be"),
                                          ({"seeded_share": 1.5}, "seeded_share must be"),
                                          ({"contrast": (0.5, 0.2)}, "contrast must be")])
def test_render_glyphs_refuses_bad_settings_by_name(bad, message):
    settings = {"n": 10, **bad}
    with pytest.raises(ValueError, match=message):
        render_glyphs(unseen_glyphs("train"), settings.pop("n"), **settings)
