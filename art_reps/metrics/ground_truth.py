"""The ground-truth judge: a judge that learns nothing, from what the data generator knows.

Every embedded image is one MNIST digit drawn at a known place. An image synthesised from a seed
(an inversion, an IRI) shows the target's digit if the structure the optimisation drew,
``S = ||image - seed||`` per pixel (over channels), lies on the target digit's strokes rather than
on the strokes of a digit of another class drawn at the same place and size: the Pearson
correlation of S with the target's own ink mask must exceed its correlation with the masks of one
digit of each of the nine other classes (a ten-way forced choice: chance 0.1).
"""
from __future__ import annotations

import numpy as np
import torch

from ..core.checks import check_images, check_same_batch


def _candidates(data, index: int, rng: np.random.Generator) -> list[int]:
    """The target's own MNIST digit, then one digit of each other class."""
    from ..data.digits_on_textures import source_classes

    classes = source_classes()
    others = [rng.choice(np.flatnonzero(classes == c)) for c in range(10) if c != int(data.labels[index])]
    return [int(data.sources[index])] + [int(k) for k in others]


def _scores(structure: np.ndarray, data, index: int, candidates: list[int], anywhere: bool) -> np.ndarray:
    from skimage.feature import match_template

    from ..data.digits_on_textures import glyph_mask

    size, y, x = (int(v) for v in data.placements[index])
    if not anywhere:
        return _pearson(structure, np.stack([glyph_mask(k, size, y, x) for k in candidates]))
    out = []
    for k in candidates:
        ink = glyph_mask(k, size, 0, 0, shape=(size, 2 * size))
        rows, cols = np.nonzero(ink > 0.05)
        template = ink[rows.min():rows.max() + 1, cols.min():cols.max() + 1][:structure.shape[0], :structure.shape[1]]
        out.append(match_template(structure, template).max())  # a glyph wider than the image is cut to it
    return np.array(out)


def _pearson(s: np.ndarray, masks: np.ndarray) -> np.ndarray:
    s = s.ravel() - s.mean()
    m = masks.reshape(len(masks), -1)
    m = m - m.mean(1, keepdims=True)
    return (m @ s) / np.maximum(np.linalg.norm(m, axis=1) * np.linalg.norm(s), 1e-12)


def drawn_structure(images: torch.Tensor, seeds: torch.Tensor) -> torch.Tensor:
    """(N, H, W): how far each pixel moved from the seed, ``||image - seed||_2`` over channels."""
    check_same_batch(images, seeds, "images", "seeds")
    return (images.detach().float().cpu() - seeds.detach().float().cpu()).norm(dim=1)


def mask_judge(images: torch.Tensor, seeds: torch.Tensor, data, *, anywhere: bool = False,
               seed: int = 0) -> torch.Tensor:
    """(N,) booleans: image i (made from ``seeds[i]`` for target ``data[i]``, a
    :class:`~art_reps.data.LabelledImages` of the embedded data) shows the target's digit, as the
    module docstring defines (``anywhere``: at any place). ``seed`` picks the other classes' digits.

    Examples:
        >>> import art_reps
        >>> test = art_reps.data.digits_on_textures("test")[:20]
        >>> gray = torch.full_like(test.images, 0.5)
        >>> drawn = gray + 0.4 * test.masks[:, None]  # the target's own strokes, drawn on gray
        >>> mask_judge(drawn, gray, test).float().mean().item()
        1.0
    """
    check_images(images, "images")
    seeds = seeds.expand_as(images) if seeds.shape[0] == 1 else seeds
    if len(data) != images.shape[0]:
        raise ValueError(f"data must describe the {images.shape[0]} targets, got {len(data)}")
    structure = drawn_structure(images, seeds).numpy()
    rng = np.random.default_rng(seed)
    hits = []
    for i, s in enumerate(structure):
        r = _scores(s, data, i, _candidates(data, i, rng), anywhere)
        hits.append(bool(r[0] > r[1:].max()))
    return torch.tensor(hits)
