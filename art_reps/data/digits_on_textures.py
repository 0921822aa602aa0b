"""Digits on textures: the embedded default data set, built offline from bundled images.

Each 32x32 RGB image is a scikit-learn digit (8x8, rescaled to 14-22 px, random colour)
pasted at a random position onto a 64x64 crop (averaged down to 32x32) of one of twelve
photographs and textures bundled with scikit-image. The class is the digit and the box is
the digit's tight bounding box, so the set serves classification and localisation alike.
Train and test digits are disjoint (1400 / 397 of sklearn's 1797 digits).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

BACKGROUNDS = (
    "brick", "grass", "gravel", "coffee", "chelsea", "astronaut", "rocket", "coins",
    "camera", "moon", "hubble_deep_field", "immunohistochemistry",
)
CLASSES = tuple(str(d) for d in range(10))
_N_TRAIN_DIGITS = 1400
_SPLIT_SIZES = {"train": 8000, "test": 1000}
_SPLIT_SEEDS = {"train": 1, "test": 2}


@dataclass(frozen=True)
class LabelledImages:
    """Images with labels and boxes.

    images: (N, 3, 32, 32) float32 in [0, 1]; labels: (N,) int64;
    boxes: (N, 4) float32 ``(x0, y0, x1, y1)`` in pixels, ``x1``/``y1`` exclusive.
    """

    images: torch.Tensor
    labels: torch.Tensor
    boxes: torch.Tensor

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, index) -> "LabelledImages":
        index = slice(index, index + 1) if isinstance(index, int) else index
        return LabelledImages(self.images[index], self.labels[index], self.boxes[index])


@lru_cache(maxsize=None)
def _backgrounds() -> tuple[np.ndarray, ...]:
    import skimage.data

    out = []
    for name in BACKGROUNDS:
        img = np.asarray(getattr(skimage.data, name)(), dtype=np.float32)
        img = img / 255.0 if img.max() > 1.0 else img
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        out.append(np.ascontiguousarray(img[..., :3]))
    return tuple(out)


@lru_cache(maxsize=None)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.images.astype(np.float32) / 16.0, d.target.astype(np.int64)


def _resize(mask: np.ndarray, size: int) -> np.ndarray:
    t = torch.from_numpy(mask)[None, None]
    return torch.nn.functional.interpolate(t, size=(size, size), mode="bilinear", align_corners=False)[0, 0].numpy()


def _render(n: int, digit_pool: np.ndarray, rng: np.random.Generator):
    glyphs, classes = _digits()
    backgrounds = _backgrounds()
    images = np.empty((n, 32, 32, 3), np.float32)
    labels = np.empty(n, np.int64)
    boxes = np.empty((n, 4), np.float32)
    for i in range(n):
        bg = backgrounds[rng.integers(len(backgrounds))]
        top, left = rng.integers(bg.shape[0] - 63), rng.integers(bg.shape[1] - 63)
        canvas = bg[top:top + 64, left:left + 64].reshape(32, 2, 32, 2, 3).mean(axis=(1, 3))
        k = digit_pool[rng.integers(len(digit_pool))]
        size = int(rng.integers(14, 23))
        alpha = np.clip(_resize(glyphs[k], size), 0.0, 1.0)
        y, x = rng.integers(0, 33 - size, size=2)
        colour = rng.uniform(0.0, 1.0, size=3).astype(np.float32)
        patch = canvas[y:y + size, x:x + size]
        canvas[y:y + size, x:x + size] = patch * (1 - alpha[..., None]) + colour * alpha[..., None]
        rows, cols = np.nonzero(alpha > 0.1)
        boxes[i] = (x + cols.min(), y + rows.min(), x + cols.max() + 1, y + rows.max() + 1)
        images[i], labels[i] = canvas, classes[k]
    return images, labels, boxes


@lru_cache(maxsize=4)
def _split(split: str, seed: int) -> LabelledImages:
    order = np.random.default_rng(seed).permutation(len(_digits()[1]))
    pool = order[:_N_TRAIN_DIGITS] if split == "train" else order[_N_TRAIN_DIGITS:]
    rng = np.random.default_rng([seed, _SPLIT_SEEDS[split]])
    images, labels, boxes = _render(_SPLIT_SIZES[split], pool, rng)
    return LabelledImages(
        torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(),
        torch.from_numpy(labels),
        torch.from_numpy(boxes),
    )


def digits_on_textures(split: str = "train", *, seed: int = 0) -> LabelledImages:
    """The embedded default data set (8000 train / 1000 test images, deterministic).

    Example:
        >>> test = digits_on_textures("test")
        >>> test.images.shape, test.labels[:3].tolist()  # doctest: +SKIP
        (torch.Size([1000, 3, 32, 32]), [...])
    """
    if split not in _SPLIT_SIZES:
        raise ValueError(f"split must be one of {sorted(_SPLIT_SIZES)}, got {split!r}")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    data = _split(split, seed)
    return LabelledImages(data.images.clone(), data.labels.clone(), data.boxes.clone())
