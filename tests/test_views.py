"""Contrastive views that share only the digit, and the probes that show what a representation kept."""
import numpy as np
import pytest
import torch
from torch import nn

from art_reps.data.digits_on_textures import BACKGROUNDS, background_classes, digits_on_textures, draw_digits
from art_reps.data.views import MIN_CROP, crop_window, digit_views, view_bank
from art_reps.train.contrastive import probe_accuracy, train_contrastive
from art_reps.zoo.architectures import SmallResNet


def test_a_crop_window_always_holds_the_digit():
    g = torch.Generator().manual_seed(0)
    rng = np.random.default_rng(0)
    sides = set()
    for _ in range(2000):
        x0, y0 = (int(v) for v in rng.integers(0, 20, 2))
        x1, y1 = x0 + int(rng.integers(1, 33 - x0)), y0 + int(rng.integers(1, 33 - y0))
        top, left, side = crop_window((x0, y0, x1, y1), 32, g)
        assert 0 <= top and 0 <= left and top + side <= 32 and left + side <= 32
        assert top <= y0 and left <= x0 and top + side >= y1 and left + side >= x1
        assert side >= min(MIN_CROP, 32)
        sides.add(side)
    assert len(sides) > 10  # the crops vary in scale


def test_the_two_views_share_the_digit_and_nothing_else():
    torch.manual_seed(0)
    sources = torch.arange(0, 200)
    v1, v2 = digit_views(jitter=0.0)(sources)
    assert v1.shape == v2.shape == (200, 3, 32, 32) and 0 <= v1.min() and v1.max() <= 1
    # the backgrounds differ: the mean colours of the two views are unrelated, unlike two crops of one image
    m1, m2 = v1.mean((2, 3)), v2.mean((2, 3))
    same = digits_on_textures("test").images[:200].mean((2, 3))
    assert (m1 - m2).abs().mean() > 0.08 > (same - same).abs().mean()
    # the same digit drawn twice: the drawing is reproducible from torch's seed
    torch.manual_seed(0)
    again = digit_views(jitter=0.0)(sources)
    assert torch.equal(again[0], v1) and torch.equal(again[1], v2)


def test_a_view_bank_pairs_two_different_draws_of_the_same_digit():
    bank = view_bank(torch.arange(10, 40), draws=3, seed=1)
    assert bank["images"].shape == (30, 3, 3, 32, 32) and torch.equal(bank["sources"], torch.arange(10, 40))
    assert not torch.equal(bank["images"][0, 0], bank["images"][0, 1])  # each draw is a new drawing
    torch.manual_seed(0)
    v1, v2 = digit_views(jitter=0.0, bank=bank)(torch.tensor([12, 12, 39]))
    assert v1.shape == (3, 3, 32, 32) and 0 <= v1.min() and v1.max() <= 1
    # without jitter or cropping a view is one of its digit's draws: the pair are two different ones
    same = digit_views(jitter=0.0, bank={**bank, "boxes": torch.tensor([0, 0, 32, 32]).expand(30, 3, 4)})
    torch.manual_seed(0)
    a, b = same(torch.tensor([12] * 20))
    draws = bank["images"][2].float() / 255

    def which(view):
        return int((draws - view).abs().flatten(1).sum(1).argmin())

    assert all(which(x) != which(y) for x, y in zip(a, b)) and len({which(x) for x in a}) == 3
    with pytest.raises(ValueError, match="not in the view bank"):
        digit_views(bank=bank)(torch.tensor([0]))
    with pytest.raises(ValueError, match="draws must be an int >= 2"):
        view_bank([0], draws=1)


def test_draw_digits_draws_the_same_digit_anew_each_time():
    images, boxes = draw_digits([3, 3, 3], np.random.default_rng(1))
    assert not torch.equal(images[0], images[1]) and boxes.shape == (3, 4)
    assert ((boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])).all()


def test_background_classes_name_the_picture_behind_each_digit():
    pictures = background_classes("test")
    assert pictures.shape == (1000,) and pictures.dtype == torch.int64
    assert set(pictures.tolist()) == set(range(len(BACKGROUNDS["model"])))


@pytest.mark.parametrize("kwargs, message", [({"backgrounds": "nowhere"}, "backgrounds"), ({"jitter": 2}, "jitter")])
def test_digit_views_name_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        digit_views(**kwargs)


def test_train_contrastive_trains_on_any_views_and_calls_back_each_epoch():
    torch.manual_seed(0)
    net = SmallResNet(width=8).eval()
    seen, epochs = [], []

    def views(batch):  # a user's own views: here two noisy copies of stored images
        seen.append(batch.clone())
        images = store[batch]
        return tuple((images + 0.05 * torch.randn_like(images)).clamp(0, 1) for _ in range(2))

    store = torch.rand(20, 3, 32, 32)
    history = train_contrastive(net, torch.arange(20), views=views, epochs=2, batch_size=10, progress=False,
                                after_epoch=epochs.append)
    assert len(history) == 2 and epochs == [1, 2]
    assert sorted(torch.cat(seen[-2:]).tolist()) == list(range(20))  # an epoch is one pass over the data
    with pytest.raises(TypeError, match="views"):
        train_contrastive(net, torch.arange(20), views="digits")
    with pytest.raises(ValueError, match=r"views\(batch\)\[0\] must hold values in \[0, 1\]"):
        train_contrastive(net, torch.arange(20), views=lambda b: (store[b] * 2, store[b]), progress=False)


def test_a_probe_reads_what_the_features_hold_and_only_that():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 3, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 2)).train()
    with torch.no_grad():
        net[0].weight.copy_(torch.eye(3)[..., None, None])
        net[0].bias.zero_()
    images = torch.rand(400, 3, 8, 8) * 0.5
    colour = torch.arange(400) % 3
    images[torch.arange(400), colour] += 0.5  # the class is the brightest channel: the features hold it
    noise = torch.randint(0, 3, (400,))  # labels the images do not hold
    kept = probe_accuracy(net, (images[:300], colour[:300]), (images[300:], colour[300:]), layer="1")
    not_kept = probe_accuracy(net, (images[:300], noise[:300]), (images[300:], noise[300:]), layer="1")
    assert kept == 1.0 and not_kept < 0.5
    assert net.training  # the caller's mode, given back
    with pytest.raises(ValueError, match="labels"):
        probe_accuracy(net, (images[:10], colour[:9]), (images, colour), layer="1")
