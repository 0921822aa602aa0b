"""Images whose answer is known, to check an instrument before it decides anything.

Each control is built from embedded images (``digits_on_textures``, with what each is made of:
:func:`scene_parts`) without any model. **Positive** controls show the target's class:

- ``targets``: the images themselves;
- ``shifted``: the digit moved by up to ``SHIFT`` px in each direction, its background kept;
- ``ink on grey``: the digit's ink, in its colour, on flat grey;
- ``new background``: the digit on a picture no model and no judge saw (``BACKGROUNDS['unseen']``);
- ``unseen glyph``: a digit of the same class from a source no model saw (held-out fonts and
  scikit-learn digits), at the same place and in the same colour, on the same background;
- ``held-out fonts``: a digit of the class from the fonts no judge trained on (Computer Modern and
  LastResort), in place;
- ``own colour over noise``: the target's ink in its own colour at contrast
  :data:`OWN_COLOUR_CONTRAST` over Engstrom's noise (``randn/20 + 0.5``), and ``grey strokes over
  noise``: the ink as a grey change of :data:`GREY_STROKE` against the noise's lightness: strokes
  over noise coloured as no judge's training coloured them.

Shown, not counted (:data:`SHOWN`): ``unseen glyph`` (half of it by the writers of the judges'
training half) and ``inversion style c``, the target's ink in a saturated colour of random hue
over Engstrom's noise at contrast ``c`` (:data:`CONTRASTS`), the generator of part of the glyph
judges' training images.

**Negative** controls show no digit: ``noise`` and ``super-noise`` (the seeds), ``background``
(the picture behind the digit alone) and ``uniform`` (random pixels); a judge passes them by
abstaining (:mod:`reproduction.judge_controls`), not by naming a class, which a judge that ignores
the image does a tenth of the time on balanced targets.

Examples:
    >>> test = digits_on_textures("test")[:20]
    >>> c = controls(test, range(20))
    >>> sorted(c)[:3], c["targets"].positive, c["noise"].positive
    (['background', 'ink on grey', 'inversion style 0.25'], True, False)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from art_reps.data.digits_on_textures import (  # noqa: F401
    LabelledImages,
    background_crop,
    backgrounds_of,
    digits_on_textures,  # (the examples use digits_on_textures)
    ink_colour,
    place,
    scene_parts,
)
from art_reps.data.glyphs import mnist_glyphs

from .glyphs import font_glyphs, unseen_glyphs

SHIFT = 4
CONTRASTS = (0.25, 0.5, 1.0)
# Round 5 (docs/judging.md): strokes over noise coloured as no judge's training coloured them
OWN_COLOUR_CONTRAST = 0.5
GREY_STROKE = 0.3
#: the positive controls a judge must pass (round 5), then those shown as information only
POSITIVE = ("targets", "shifted", "ink on grey", "new background", "held-out fonts", "own colour over noise",
            "grey strokes over noise")
SHOWN = ("unseen glyph",) + tuple(f"inversion style {c}" for c in CONTRASTS)
NEGATIVE = ("noise", "super-noise", "background", "uniform")


@dataclass(frozen=True)
class Control:
    """images (N, 3, 32, 32) in [0, 1]; positive: whether they show the target's class."""

    images: torch.Tensor
    positive: bool
    description: str


def _shift(mask: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """``mask`` (H, W) moved by (dy, dx), zero-filled (the digit stays inside by construction)."""
    out = torch.zeros_like(mask)
    h, w = mask.shape
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = mask[max(-dy, 0):h + min(-dy, 0),
                                                                      max(-dx, 0):w + min(-dx, 0)]
    return out


def _drawn(canvas: torch.Tensor, colour: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Ink of ``colour`` (..., 3) with opacity ``mask`` (..., 1 or absent, H, W) over ``canvas`` (..., 3, H, W)."""
    return (canvas * (1 - mask) + colour[..., None, None] * mask).clamp(0, 1)


def _saturated(rng: np.random.Generator) -> torch.Tensor:
    """A fully saturated colour of random hue."""
    import colorsys

    return torch.tensor(colorsys.hsv_to_rgb(rng.uniform(), 1.0, 1.0), dtype=torch.float32)


def controls(targets: LabelledImages, indices, *, split: str = "test", seed: int = 0) -> dict[str, Control]:
    """Every control (see the module docstring) for ``targets``, the images ``indices`` of the
    embedded ``split``; random choices from ``seed``. Each control holds one image per target."""
    from art_reps.core import make_start

    indices = torch.as_tensor(list(indices))
    canvases, colours = (t[indices] for t in scene_parts(split))
    alpha, images, n = targets.masks[:, None], targets.images, len(targets)
    rng = np.random.default_rng([seed, 22])

    shifted = []
    for i in range(n):
        size, y, x = (int(v) for v in targets.placements[i])
        dy = int(rng.integers(max(-SHIFT, -y), min(SHIFT, 32 - size - y) + 1))
        dx = int(rng.integers(max(-SHIFT, -x), min(SHIFT, 32 - size - x) + 1))
        if dy == dx == 0:
            dy = 1 if y + size < 32 else -1
        shifted.append(_shift(targets.masks[i], dy, dx))
    shifted = torch.stack(shifted)[:, None]

    unseen_bg = backgrounds_of("unseen")
    new_canvas, new_colour = [], []
    for i in range(n):
        canvas = background_crop(unseen_bg[rng.integers(len(unseen_bg))], rng)
        new_canvas.append(torch.from_numpy(canvas).permute(2, 0, 1))
        new_colour.append(torch.from_numpy(ink_colour(canvas, targets.masks[i].numpy(), rng)))

    other = _in_place(unseen_glyphs("held-out"), targets, rng)

    noise = make_start("noise", images.shape, seed=seed)
    out = {
        "targets": Control(images.clone(), True, "the target images themselves"),
        "shifted": Control(_drawn(canvases, colours, shifted), True,
                           f"the digit moved by up to {SHIFT} px, on its own background"),
        "ink on grey": Control(_drawn(torch.full_like(images, 0.5), colours, alpha), True,
                               "the digit's ink, in its colour, on flat grey"),
        "new background": Control(_drawn(torch.stack(new_canvas), torch.stack(new_colour), alpha), True,
                                  "the digit on a picture no model or judge saw"),
        "unseen glyph": Control(_drawn(canvases, colours, other), True,
                                "a digit of the class from held-out fonts and scikit-learn digits, in place"),
    }
    fonts = _in_place(font_glyphs("held-out"), targets, np.random.default_rng([seed, 24]))
    out["held-out fonts"] = Control(_drawn(canvases, colours, fonts), True,
                                    "a digit of the class from the fonts no judge trained on, in place")
    out["own colour over noise"] = Control(_drawn(noise, colours, OWN_COLOUR_CONTRAST * alpha), True,
                                           f"the target's ink in its own colour over noise, contrast "
                                           f"{OWN_COLOUR_CONTRAST}")
    grey = torch.where(noise.mean(1, keepdim=True) > 0.5, noise - GREY_STROKE, noise + GREY_STROKE).clamp(0, 1)
    out["grey strokes over noise"] = Control((noise * (1 - alpha) + grey * alpha).clamp(0, 1), True,
                                             f"the target's ink as a grey change of {GREY_STROKE} against the noise")
    hues = torch.stack([_saturated(rng) for _ in range(n)])
    for c in CONTRASTS:
        out[f"inversion style {c}"] = Control(_drawn(noise, hues, c * alpha), True,
                                              f"the target's ink in a saturated colour over noise, contrast {c}")
    out.update({
        "noise": Control(noise, False, "the noise seed (randn/20 + 0.5)"),
        "super-noise": Control(make_start("super-noise", images.shape, seed=seed), False, "the super-noise seed"),
        "background": Control(canvases.clone(), False, "the picture behind the digit, without it"),
        "uniform": Control(torch.rand(images.shape, generator=torch.Generator().manual_seed(seed)), False,
                           "uniformly random pixels"),
    })
    return out




def _in_place(glyphs, targets: LabelledImages, rng: np.random.Generator) -> torch.Tensor:
    """(N, 1, H, W) masks: for each target a glyph of its class from ``glyphs``, at its place and size."""
    by_class = {c: np.flatnonzero(glyphs.classes == c) for c in range(10)}
    masks = []
    for i in range(len(targets)):
        size, y, x = (int(v) for v in targets.placements[i])
        k = rng.choice(by_class[int(targets.labels[i])])
        masks.append(torch.from_numpy(place(glyphs.glyphs[k], size, y, x)))
    return torch.stack(masks)[:, None]


def other_class(targets: LabelledImages, indices, *, split: str = "test", seed: int = 0) -> LabelledImages:
    """For each target, a digit of another class (a random one, from the same split's MNIST digits)
    drawn at the same place, size and colour on the same background: the other answer of a two-way
    choice whose only difference from the target is the digit's class.

    Examples:
        >>> test = digits_on_textures("test")[:10]
        >>> other = other_class(test, range(10))
        >>> bool((other.labels != test.labels).all())
        True
    """
    from art_reps.data.digits_on_textures import split_sources

    indices = torch.as_tensor(list(indices))
    canvases, colours = (t[indices] for t in scene_parts(split))
    mnist = mnist_glyphs()
    glyphs, classes = mnist.glyphs, mnist.classes
    pool = split_sources(split)
    rng = np.random.default_rng([seed, 23])
    images, masks, labels, sources = [], [], [], []
    for i in range(len(targets)):
        size, y, x = (int(v) for v in targets.placements[i])
        label = int(targets.labels[i])
        k = int(rng.choice(pool[classes[pool] != label]))
        alpha = torch.from_numpy(place(glyphs[k], size, y, x))
        images.append(_drawn(canvases[i], colours[i], alpha))
        masks.append(alpha)
        labels.append(int(classes[k]))
        sources.append(k)
    return LabelledImages(torch.stack(images), torch.tensor(labels), targets.boxes.clone(), torch.stack(masks),
                          torch.tensor(sources), targets.placements.clone())
