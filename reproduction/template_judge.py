"""A ground-truth judge that learns nothing: which class's glyphs match the image's strokes best.

Seed-free: the image's local contrast (each pixel's RGB distance from the median colour of its
``window`` x ``window`` neighbourhood: strokes a few pixels wide stand out from the picture around
them, and nothing is compared with a seed). Position- and size-invariant: the normalised
cross-correlation of that contrast with every glyph of a bank (``per_class`` MNIST digits of each
class from the *training* split, so never a test image's own digit) drawn at each height of the
data's 14-22 px, at every place. The class of the best match is the answer: a ten-way choice,
chance 0.1.

Examples:
    >>> import art_reps
    >>> test = art_reps.data.digits_on_textures("test")[:50]
    >>> judge = TemplateJudge(per_class=10)
    >>> judge.predict(test.images).shape
    torch.Size([50])
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from art_reps.core.checks import check_count, check_images


def local_contrast(images: torch.Tensor, window: int = 7, batch_size: int = 250) -> torch.Tensor:
    """(N, 1, H, W): each pixel's RGB distance from the median colour of its neighbourhood."""
    pad = window // 2
    out = []
    for i in range(0, len(images), batch_size):
        x = images[i:i + batch_size].float()
        n, c, h, w = x.shape
        patches = F.unfold(F.pad(x, (pad,) * 4, mode="replicate"), window).view(n, c, window * window, h * w)
        median = patches.median(dim=2).values.view(n, c, h, w)
        out.append((x - median).norm(dim=1, keepdim=True))
    return torch.cat(out)


class TemplateJudge:
    """See the module docstring. ``sizes``: the glyph heights tried; ``seed`` picks the bank."""

    def __init__(self, per_class: int = 30, sizes=(14, 16, 18, 20, 22), window: int = 7, seed: int = 0):
        from art_reps.data.digits_on_textures import place, source_classes, split_sources
        from art_reps.data.glyphs import mnist_glyphs

        self.per_class, self.sizes = check_count(per_class, "per_class", maximum=350), tuple(sizes)
        self.window = check_count(window, "window", maximum=31)
        rng = np.random.default_rng(seed)
        train, classes = split_sources("train"), source_classes()
        glyphs = mnist_glyphs().glyphs
        self.bank = [int(k) for c in range(10)
                     for k in rng.choice(train[classes[train] == c], self.per_class, replace=False)]
        self.bank_classes = torch.tensor([int(classes[k]) for k in self.bank])
        self.templates = {}
        for s in self.sizes:
            t = torch.from_numpy(np.stack([place(glyphs[k], s, 0, 0, shape=(s, s)) for k in self.bank]))[:, None]
            t = t - t.mean((2, 3), keepdim=True)
            self.templates[s] = t / t.flatten(1).norm(dim=1).clamp_min(1e-8).view(-1, 1, 1, 1)

    def scores(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 10): each class's best normalised cross-correlation, over glyphs, heights and places."""
        check_images(images, "images")
        contrast = local_contrast(images.detach().cpu(), self.window)
        best = torch.full((len(images), len(self.bank)), -1.0)
        for s, t in self.templates.items():
            ones = torch.ones(1, 1, s, s)
            total, squares = F.conv2d(contrast, ones), F.conv2d(contrast ** 2, ones)
            spread = (squares - total ** 2 / (s * s)).clamp_min(0).sqrt()
            ncc = F.conv2d(contrast, t) / spread.clamp_min(1e-6)
            best = torch.maximum(best, ncc.flatten(2).amax(2))
        per_class = torch.full((len(images), 10), -1.0)
        return per_class.scatter_reduce(1, self.bank_classes.expand(len(images), -1), best, "amax")

    def predict(self, images: torch.Tensor) -> torch.Tensor:
        """(N,) the class whose glyphs match best."""
        return self.scores(images).argmax(1)
