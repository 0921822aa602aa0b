"""The ground-truth judge: the structure drawn from a seed lies on the target digit's strokes."""
import pytest
import torch

import art_reps
from art_reps.metrics import drawn_structure, mask_judge


@pytest.fixture(scope="module")
def test_split():
    return art_reps.data.digits_on_textures("test")[:300]


def test_own_strokes_are_recognised_and_noise_is_at_chance(test_split):
    gray = torch.full_like(test_split.images, 0.5)
    assert mask_judge(gray + 0.4 * test_split.masks[:, None], gray, test_split).all()
    noise = (gray + 0.05 * torch.randn(gray.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    assert mask_judge(noise, gray, test_split).float().mean() < 0.2  # chance is 0.1 (ten-way choice)


def test_strokes_of_another_digit_at_the_same_place_are_not_the_target(test_split):
    """Draw each target's place with the strokes of the next target of another class: not recognised."""
    from art_reps.data.digits_on_textures import glyph_mask

    gray = torch.full_like(test_split.images, 0.5)
    other = []
    for i in range(len(test_split)):
        j = next(j for j in range(len(test_split)) if test_split.labels[j] != test_split.labels[i])
        size, y, x = test_split.placements[i].tolist()
        other.append(torch.from_numpy(glyph_mask(int(test_split.sources[j]), size, y, x)))
    drawn = gray + 0.4 * torch.stack(other)[:, None]
    assert mask_judge(drawn, gray, test_split).float().mean() < 0.25


def test_drawn_structure_and_bad_input(test_split):
    a = torch.zeros(2, 3, 4, 4)
    b = a.clone()
    b[:, :, 1, 2] = 1.0
    assert drawn_structure(b, a)[:, 1, 2].tolist() == pytest.approx([3 ** 0.5] * 2)
    with pytest.raises(ValueError, match="data must describe the 2 targets"):
        mask_judge(b, a, test_split)


def test_anywhere_finds_the_target_digit_drawn_elsewhere(test_split):
    """A digit drawn at another place: the place-bound judge is at chance, the shift-tolerant one sees it."""
    sub = test_split[:100]
    gray = torch.full_like(sub.images, 0.5)
    moved = torch.zeros_like(sub.masks)
    for i in range(len(sub)):
        size, y, x = sub.placements[i].tolist()
        ink = sub.masks[i][y:y + size, :]
        moved[i, (y + 9) % (33 - size):(y + 9) % (33 - size) + size, :] = ink
    drawn = gray + 0.4 * moved[:, None]
    assert mask_judge(drawn, gray, sub, anywhere=True).float().mean() > 0.9
    assert mask_judge(drawn, gray, sub).float().mean() < 0.5
    noise = (gray + 0.05 * torch.randn(gray.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    assert mask_judge(noise, gray, sub, anywhere=True).float().mean() < 0.25
