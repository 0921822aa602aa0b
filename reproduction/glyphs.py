"""Glyph sources no model sees, and the judges' training images drawn from them.

``sklearn_glyphs`` are scikit-learn's 1,797 handwritten 8x8 digits (43 other writers, UCI),
upsampled; ``font_glyphs`` are the digits of every font inside matplotlib's wheel that draws all
ten. Each source is split in two by :data:`SPLITS`: glyphs a judge may learn from, and glyphs held
out for the controls. :func:`augment` distorts a glyph at random as handwriting varies;
:func:`render_glyphs` draws glyphs as the embedded data draws its digits.

Examples:
    >>> g = font_glyphs("held-out")
    >>> len(g.glyphs) == len(g.classes) and set(g.classes.tolist()) == set(range(10))
    True
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from art_reps.data.digits_on_textures import (
    BACKGROUNDS,
    SIZES,
    LabelledImages,
    background_crop,
    backgrounds_of,
    composite,
    ink_colour,
    place,
)
from art_reps.data.glyphs import Glyphs, crop_to_ink

SPLITS = ("train", "held-out")
# Fonts a judge learns from; the others (Computer Modern) are held out for the controls.
TRAIN_FONTS = ("DejaVuSans", "DejaVuSansMono", "DejaVuSerif", "STIX")
# Fonts whose digits' code points draw symbols (brackets, arrows, logic signs), not digits: no source.
SYMBOL_FONTS = ("cmex10", "cmsy10")


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")


@lru_cache(maxsize=None)
def sklearn_glyphs(split: str = "train") -> Glyphs:
    """scikit-learn's handwritten digits (8x8, 0-16), upsampled bicubically to 28 px: the even-numbered
    ones for ``'train'``, the odd-numbered for ``'held-out'``."""
    from sklearn.datasets import load_digits

    _check_split(split)
    digits = load_digits()
    index = np.arange(len(digits.target))[0 if split == "train" else 1::2]
    small = torch.from_numpy(digits.images[index].astype(np.float32) / 16.0)[:, None]
    big = torch.nn.functional.interpolate(small, size=(28, 28), mode="bicubic", align_corners=False).clamp(0, 1)
    glyphs = tuple(crop_to_ink(img, 0.2) for img in big[:, 0].numpy())
    return Glyphs(glyphs, digits.target[index].astype(np.int64), f"sklearn-{split}")


def _font_files() -> list[Path]:
    import matplotlib

    return sorted((Path(matplotlib.get_data_path()) / "fonts" / "ttf").glob("*.ttf"))


def _render_digits(path: Path, height: int = 64) -> list[np.ndarray] | None:
    """The ten digits of the font at ``path``, or ``None`` if it lacks one (all ten must differ)."""
    from PIL import Image, ImageDraw, ImageFont

    try:
        font = ImageFont.truetype(str(path), height)
    except OSError:
        return None
    out = []
    for digit in "0123456789":
        canvas = Image.new("L", (2 * height, 2 * height), 0)
        ImageDraw.Draw(canvas).text((height // 2, height // 4), digit, fill=255, font=font)
        ink = np.asarray(canvas, dtype=np.float32) / 255.0
        if (ink > 0.1).sum() < 20:
            return None
        out.append(crop_to_ink(ink))
    shapes = {(g.shape, g.tobytes()) for g in out}
    return out if len(shapes) == 10 else None


@lru_cache(maxsize=None)
def font_glyphs(split: str = "train") -> Glyphs:
    """The digits of the fonts in matplotlib's wheel that draw all ten distinctly: those named in
    :data:`TRAIN_FONTS` for ``'train'``, the rest for ``'held-out'``, less :data:`SYMBOL_FONTS`
    (which draw symbols at the digits' code points)."""
    _check_split(split)
    glyphs, classes = [], []
    for path in _font_files():
        if path.stem.startswith(TRAIN_FONTS) != (split == "train") or path.stem in SYMBOL_FONTS:
            continue
        digits = _render_digits(path)
        if digits is not None:
            glyphs += digits
            classes += list(range(10))
    return Glyphs(tuple(glyphs), np.array(classes, dtype=np.int64), f"fonts-{split}")


def unseen_glyphs(split: str = "train") -> Glyphs:
    """Both unseen sources together: scikit-learn's digits and the fonts' (of ``split``)."""
    a, b = sklearn_glyphs(split), font_glyphs(split)
    return Glyphs(a.glyphs + b.glyphs, np.concatenate([a.classes, b.classes]), f"unseen-{split}")


def _at_most(glyph: np.ndarray, side: int) -> np.ndarray:
    """``glyph`` scaled down (antialiased) so that neither side exceeds ``side`` pixels."""
    h, w = glyph.shape
    if max(h, w) <= side:
        return glyph
    size = (max(1, round(h * side / max(h, w))), max(1, round(w * side / max(h, w))))
    t = torch.from_numpy(glyph)[None, None]
    return torch.nn.functional.interpolate(t, size=size, mode="bilinear", antialias=True)[0, 0].clamp(0, 1).numpy()


def augment(glyph: np.ndarray, rng: np.random.Generator, *, rotate: float = 20.0, shear: float = 0.3,
            stretch: tuple = (0.6, 1.3), elastic: float = 1.0, thicken: tuple = (-1, 1)) -> np.ndarray:
    """``glyph`` distorted at random as handwriting varies: rotated by up to ``rotate`` degrees,
    sheared by up to ``shear``, stretched in width by a factor in ``stretch``, bent by an elastic
    field (Simard et al. 2003: a random displacement smoothed by a Gaussian of a seventh of the glyph,
    ``elastic`` times the glyph's size) and thinned or thickened by ``thicken`` pixels at 28 px;
    cropped to its ink again."""
    from torchvision.transforms.functional import gaussian_blur

    glyph = _at_most(glyph, 28)  # distort at MNIST's scale: cheap, and the same for every source
    h, w = glyph.shape
    side = int(np.ceil(1.8 * max(h, w)))
    canvas = np.zeros((side, side), np.float32)
    top, left = (side - h) // 2, (side - w) // 2
    canvas[top:top + h, left:left + w] = glyph
    angle = np.deg2rad(rng.uniform(-rotate, rotate))
    s, sx = rng.uniform(-shear, shear), 1.0 / rng.uniform(*stretch)
    cos, sin = np.cos(angle), np.sin(angle)
    matrix = torch.tensor([[sx * cos, -sin + s, 0.0], [sx * sin, cos, 0.0]], dtype=torch.float32)[None]
    t = torch.from_numpy(canvas)[None, None]
    grid = torch.nn.functional.affine_grid(matrix, t.shape, align_corners=False)
    if elastic:
        sigma = side / 7
        size = 2 * int(2 * sigma) + 1
        field = torch.from_numpy(rng.uniform(-1, 1, size=(1, 2, side, side)).astype(np.float32))
        field = gaussian_blur(field, [size, size], [sigma, sigma])
        field = field / field.abs().amax().clamp_min(1e-6) * elastic * 2 / 7  # in grid units (2 = the side)
        grid = grid + field.permute(0, 2, 3, 1)
    out = torch.nn.functional.grid_sample(t, grid, mode="bilinear", align_corners=False)
    k = int(rng.integers(thicken[0], thicken[1] + 1)) * max(1, round(side / 45))
    if k > 0:
        out = torch.nn.functional.max_pool2d(out, 2 * k + 1, stride=1, padding=k)
    elif k < 0:
        out = -torch.nn.functional.max_pool2d(-out, 2 * -k + 1, stride=1, padding=-k)
    out = out[0, 0].numpy()
    return crop_to_ink(out) if (out > 0.1).sum() >= 4 else glyph


def render_glyphs(glyphs, n: int, *, backgrounds: str = "judge", seed: int = 0, augmented: bool = True,
                  seeded_share: float = 0.25, contrast: tuple = (0.2, 1.0)) -> LabelledImages:
    """``n`` images of the digits of ``glyphs`` (a :class:`~art_reps.data.glyphs.Glyphs` source,
    classes balanced), drawn as the embedded data draws its MNIST digits (14-22 px, a random place,
    a colour that contrasts with what lies behind) on crops of ``backgrounds``; with ``augmented``
    each glyph is rotated, sheared and thickened at random. A share ``seeded_share`` is drawn over
    a seed's noise instead (Engstrom's ``randn/20 + 0.5``, Nanda's super-noise, or uniform) in a
    saturated colour at a random ``contrast`` (uniform in the range): the look of an image optimised from a seed,
    made without any model. ``sources`` index ``glyphs``.

    Examples:
        >>> d = render_glyphs(font_glyphs("held-out"), 20, seed=1)
        >>> d.images.shape, d.labels.bincount().tolist()
        (torch.Size([20, 3, 32, 32]), [2, 2, 2, 2, 2, 2, 2, 2, 2, 2])
    """
    import colorsys

    from art_reps.core import checks

    n = checks.check_count(n, "n")
    if backgrounds not in BACKGROUNDS:
        raise ValueError(f"backgrounds must be one of {sorted(BACKGROUNDS)}, got {backgrounds!r}")
    if not (isinstance(seeded_share, (int, float)) and 0 <= seeded_share <= 1):
        raise ValueError(f"seeded_share must be a number in [0, 1], got {seeded_share!r}")
    if not (len(contrast) == 2 and 0 < contrast[0] <= contrast[1] <= 1):
        raise ValueError(f"contrast must be (low, high) with 0 < low <= high <= 1, got {contrast!r}")
    rng = np.random.default_rng([seed, 7, list(BACKGROUNDS).index(backgrounds)])
    by_class = [np.flatnonzero(glyphs.classes == c) for c in range(10)]
    sources = np.array([rng.choice(by_class[i % 10]) for i in range(n)])
    pictures = backgrounds_of(backgrounds)
    images = np.empty((n, 32, 32, 3), np.float32)
    masks = np.empty((n, 32, 32), np.float32)
    boxes = np.empty((n, 4), np.float32)
    placements = np.empty((n, 3), np.int64)
    for i, k in enumerate(sources):
        glyph = augment(glyphs.glyphs[k], rng) if augmented else glyphs.glyphs[k]
        size = int(rng.integers(SIZES[0], SIZES[1] + 1))
        y, x = (int(v) for v in rng.integers(0, 33 - size, size=2))
        alpha = shape = place(glyph, size, y, x)
        if rng.uniform() < seeded_share:
            kind = rng.integers(3)
            canvas = (np.clip(0.5 + rng.standard_normal((32, 32, 3)) / 20, 0, 1) if kind == 0 else
                      np.clip(rng.standard_normal((32, 32, 3)), 0, 1) if kind == 1 else rng.uniform(size=(32, 32, 3)))
            colour = np.array(colorsys.hsv_to_rgb(rng.uniform(), 1.0, 1.0), np.float32)
            alpha = alpha * rng.uniform(*contrast)
        else:
            canvas = background_crop(pictures[rng.integers(len(pictures))], rng)
            colour = ink_colour(canvas, alpha, rng)
        rows, cols = np.nonzero(shape > 0.05)  # the digit's place and ink, whatever its contrast
        boxes[i] = (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1)
        images[i], masks[i], placements[i] = composite(canvas.astype(np.float32), colour, alpha), shape, (size, y, x)
    return LabelledImages(torch.from_numpy(images).permute(0, 3, 1, 2).contiguous().clamp(0, 1),
                          torch.from_numpy(glyphs.classes[sources]), torch.from_numpy(boxes), torch.from_numpy(masks),
                          torch.from_numpy(sources), torch.from_numpy(placements))
