"""Two views of a digit that share only the digit: the positives of a contrastive recipe.

SimCLR's two views of one image share its background and its digit's colour, and a network can
tell them apart from other images by those alone (feature suppression, Chen et al. 2021): on the
embedded data it learns the photograph behind the digit, not the digit. Here each view is a new
rendering of the same MNIST digit, on an independently drawn background crop, position, size and
contrasting colour, then cropped around the digit and colour-jittered, so the digit is the one
thing a pair has in common. No label is used.
"""
from __future__ import annotations

import numpy as np
import torch

from .digits_on_textures import BACKGROUNDS, draw_digits

JITTER = 0.8  # SimCLR's colour-jitter strength
MIN_CROP = 16  # the smallest crop side, in pixels, around a digit's box


def crop_window(box, side_max: int = 32, generator: torch.Generator | None = None) -> tuple[int, int, int]:
    """A random square ``(top, left, side)`` inside a ``side_max``-wide image that holds ``box``
    ``(x0, y0, x1, y1)`` (x1, y1 exclusive), at least ``MIN_CROP`` px a side.

    Examples:
        >>> top, left, side = crop_window((4, 4, 20, 24))
        >>> top <= 4 and left <= 4 and top + side >= 24 and left + side >= 20
        True
    """
    x0, y0, x1, y1 = (int(round(float(v))) for v in box)
    low = min(max(x1 - x0, y1 - y0, MIN_CROP), side_max)
    side = int(torch.randint(low, side_max + 1, (), generator=generator))
    left = int(torch.randint(max(0, x1 - side), min(x0, side_max - side) + 1, (), generator=generator))
    top = int(torch.randint(max(0, y1 - side), min(y0, side_max - side) + 1, (), generator=generator))
    return top, left, side


def crop_around(images: torch.Tensor, boxes: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Each image (N, C, H, H) cropped to a :func:`crop_window` around its box (N, 4) and resized
    back to (H, H).

    Examples:
        >>> crop_around(torch.rand(2, 3, 32, 32), torch.tensor([[4., 4., 20., 24.]] * 2)).shape
        torch.Size([2, 3, 32, 32])
    """
    import torchvision.transforms.v2.functional as TF

    side_max = images.shape[-1]
    out = torch.empty_like(images)
    for i, (image, box) in enumerate(zip(images, boxes.tolist())):
        top, left, side = crop_window(box, side_max, generator)
        out[i] = TF.resized_crop(image, top, left, side, side, [side_max, side_max], antialias=True)
    return out.clamp(0, 1)


def view_bank(sources, draws: int, backgrounds: str = "model", *, seed: int = 0) -> dict:
    """Every MNIST digit of ``sources`` (S,) drawn ``draws`` times, as :func:`digit_views` draws
    them, once: ``{"sources": (S,), "images": (S, draws, 3, 32, 32) uint8, "boxes": (S, draws, 4)}``.
    Drawing is most of a digit-views step's cost on a CPU; pass the bank to :func:`digit_views` and
    each step pairs two different draws of a digit instead of drawing it anew.

    Examples:
        >>> bank = view_bank([0, 1], draws=3)
        >>> bank["images"].shape, bank["images"].dtype
        (torch.Size([2, 3, 3, 32, 32]), torch.uint8)
    """
    if not (isinstance(draws, int) and draws >= 2):
        raise ValueError(f"draws must be an int >= 2 (a pair needs two different draws), got {draws!r}")
    if backgrounds not in BACKGROUNDS:
        raise ValueError(f"backgrounds must be one of {sorted(BACKGROUNDS)}, got {backgrounds!r}")
    sources = np.asarray(torch.as_tensor(sources).cpu(), np.int64)
    rng = np.random.default_rng(seed)
    images, boxes = draw_digits(np.repeat(sources, draws), rng, backgrounds)
    return {"sources": torch.from_numpy(sources),
            "images": (images * 255).round().to(torch.uint8).view(len(sources), draws, *images.shape[1:]),
            "boxes": boxes.view(len(sources), draws, 4)}


def digit_views(backgrounds: str = "model", *, jitter: float = JITTER, bank: dict | None = None):
    """``views(sources (B,) int64) -> (view_1, view_2)``, each (B, 3, 32, 32) in [0, 1]: the MNIST
    digits numbered ``sources`` (see :func:`~art_reps.data.digits_on_textures.split_sources`) drawn
    twice on the pictures ``backgrounds``, each view cropped around its digit and colour-jittered at
    strength ``jitter`` (p 0.8; grayscale p 0.2). With a ``bank`` (:func:`view_bank`) the two views
    are two different draws of the bank, cropped and jittered anew. Draws from torch's global
    generator, so a seeded training run is reproducible. Pass it to
    :func:`~art_reps.train.contrastive.train_contrastive`.

    Examples:
        >>> v1, v2 = digit_views()(torch.tensor([0, 1, 2]))
        >>> v1.shape, bool((v1 != v2).any())
        (torch.Size([3, 3, 32, 32]), True)
    """
    import torchvision.transforms.v2 as T

    if backgrounds not in BACKGROUNDS:
        raise ValueError(f"backgrounds must be one of {sorted(BACKGROUNDS)}, got {backgrounds!r}")
    if not (isinstance(jitter, (int, float)) and 0 <= jitter <= 1):
        raise ValueError(f"jitter must be a number in [0, 1], got {jitter!r}")
    colour = T.Compose([T.RandomApply([T.ColorJitter(0.8 * jitter, 0.8 * jitter, 0.8 * jitter, 0.2 * jitter)], p=0.8),
                        T.RandomGrayscale(0.2)])
    row = None if bank is None else {int(v): i for i, v in enumerate(bank["sources"].tolist())}

    def finish(images: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        return torch.stack([colour(image) for image in crop_around(images, boxes)]).clamp(0, 1)

    def drawn(sources: np.ndarray) -> torch.Tensor:
        rng = np.random.default_rng(int(torch.randint(2**62, ())))
        return finish(*draw_digits(sources, rng, backgrounds))

    def from_bank(sources: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        assert bank is not None and row is not None
        missing = [int(v) for v in sources if int(v) not in row]
        if missing:
            raise ValueError(f"sources {missing[:5]} are not in the view bank (it holds {len(row)} digits)")
        rows = torch.tensor([row[int(v)] for v in sources])
        draws = bank["images"].shape[1]
        first = torch.randint(draws, (len(rows),))
        second = (first + torch.randint(1, draws, (len(rows),))) % draws  # another draw of the same digit
        return (finish(bank["images"][rows, first].float() / 255, bank["boxes"][rows, first]),
                finish(bank["images"][rows, second].float() / 255, bank["boxes"][rows, second]))

    def views(sources: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        indices = np.asarray(torch.as_tensor(sources).cpu(), np.int64)
        return from_bank(indices) if bank is not None else (drawn(indices), drawn(indices))

    return views
