"""Randomised smoothing (Cohen et al. 2019): a classifier that answers with the class its base
classifier names most often under Gaussian noise, and whose answer provably holds within an L2
radius of the input.

``Smoothed(base, sigma, samples)`` is an ``nn.Module`` whose output (N, K) is the share of
``samples`` noisy copies of each image that the base classifier puts in each class (its argmax is
the vote); the noise comes from a generator seeded the same way at every call, so the judge
answers the same image the same way. :meth:`Smoothed.certify` is Cohen et al.'s CERTIFY: the class
chosen on ``n0`` copies, its probability bounded from below (Clopper-Pearson, one-sided ``alpha``,
scipy) on ``n`` more, and the radius ``sigma * Phi^-1(p_lower)``; it abstains where ``p_lower <= 0.5``.

Examples:
    >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 3))
    >>> smooth = Smoothed(net, sigma=0.25, samples=8)
    >>> smooth(torch.rand(2, 3, 2, 2)).sum(1).tolist()
    [1.0, 1.0]
"""
from __future__ import annotations

import torch
from torch import nn


class Smoothed(nn.Module):
    def __init__(self, base: nn.Module, sigma: float, samples: int = 32, seed: int = 0, batch_size: int = 2048):
        super().__init__()
        if not sigma > 0:
            raise ValueError(f"sigma must be > 0, got {sigma!r}")
        self.base, self.sigma, self.samples, self.seed, self.batch_size = base, float(sigma), samples, seed, batch_size

    def _counts(self, x: torch.Tensor, samples: int, seed: int) -> torch.Tensor:
        """(N, K) how many of ``samples`` noisy copies of each image the base puts in each class."""
        generator = torch.Generator().manual_seed(seed)
        counts: torch.Tensor | None = None
        per_chunk = max(1, self.batch_size // max(len(x), 1))
        done = 0
        while done < samples:
            k = min(per_chunk, samples - done)
            noisy = x.repeat_interleave(k, 0)
            noise = torch.randn(noisy.shape, generator=generator, dtype=noisy.dtype).to(noisy.device)
            votes = self.base(noisy + self.sigma * noise).argmax(1).view(len(x), k)
            chunk = torch.nn.functional.one_hot(votes, self._classes(x)).sum(1)
            counts = chunk if counts is None else counts + chunk
            done += k
        assert counts is not None  # samples >= 1
        return counts

    def _classes(self, x: torch.Tensor) -> int:
        if not hasattr(self, "_k"):
            with torch.no_grad():
                self._k = self.base(x[:1]).shape[1]
        return self._k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self._counts(x, self.samples, self.seed).float() / self.samples

    @torch.no_grad()
    def certify(self, x: torch.Tensor, *, n0: int = 100, n: int = 1000, alpha: float = 0.001, seed: int = 1):
        """(predictions (N,), -1 where it abstains; radii (N,), 0 where it abstains)."""
        from scipy.stats import binomtest, norm

        chosen = self._counts(x, n0, seed).argmax(1)
        counts = self._counts(x, n, seed + 1).gather(1, chosen.view(-1, 1)).squeeze(1)
        lower = torch.tensor([binomtest(int(c), n).proportion_ci(1 - 2 * alpha, method="exact").low for c in counts])
        certified = lower > 0.5
        radius = torch.where(certified, self.sigma * torch.from_numpy(norm.ppf(lower.clamp(0.5, 1 - 1e-12).numpy())),
                             torch.zeros(()))
        return torch.where(certified, chosen.cpu(), torch.full_like(chosen.cpu(), -1)), radius.float()
