"""Centred kernel alignment (CKA) that gives the same value however the data is batched.

Every kind keeps the features (float64) and computes once over all of them, so any split into
minibatches gives the full-data value exactly. Linear CKA takes the cheaper of two exact forms:
the feature-by-feature cross-covariances when the layers are narrow, the sample-by-sample Gram
matrices when they are wide (8 samples of 8,192 features need 8x8 matrices, not 8,192x8,192).
``'unbiased'`` is linear CKA from the unbiased HSIC estimator of Song et al. (2012), which STIR's
``linear_CKA_batch`` averages over minibatches; here it is taken over all samples at once.
(STIR's reference implementation overwrites its value with each batch and reports the last batch
only.)
"""
from __future__ import annotations

import torch


KINDS = ("linear", "unbiased", "rbf")


class CKA:
    """Accumulate paired features batch by batch, then ``compute()`` CKA over all of them.

    kind: ``'linear'``, ``'unbiased'`` (linear kernel, unbiased HSIC; needs at least 4 samples) or
    ``'rbf'`` (bandwidth ``sigma`` times the median pairwise distance).

    Examples:
        >>> x = torch.randn(100, 8, generator=torch.Generator().manual_seed(0))
        >>> rotation = torch.linalg.qr(torch.randn(8, 8))[0]
        >>> cka = CKA()
        >>> for i in range(0, 100, 30):
        ...     _ = cka.update(x[i:i + 30], 2 * x[i:i + 30] @ rotation)
        >>> round(cka.compute(), 6)
        1.0
    """

    def __init__(self, kind: str = "linear", sigma: float = 0.8):
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if not sigma > 0:
            raise ValueError(f"sigma must be > 0, got {sigma!r}")
        self.kind, self.sigma = kind, sigma
        self.n = 0
        self._features: tuple[list[torch.Tensor], list[torch.Tensor]] = ([], [])

    def update(self, x: torch.Tensor, y: torch.Tensor) -> "CKA":
        """Add a batch: x (B, ...) and y (B, ...) features of the same B inputs (flattened per row)."""
        if x.shape[0] != y.shape[0] or x.shape[0] == 0:
            raise ValueError(f"x and y must hold the same non-zero number of rows, got {x.shape[0]} and {y.shape[0]}")
        x, y = x.detach().flatten(1).double().cpu(), y.detach().flatten(1).double().cpu()
        if not (torch.isfinite(x).all() and torch.isfinite(y).all()):
            raise ValueError("x and y must be finite (no NaN or Inf)")
        self.n += x.shape[0]
        self._features[0].append(x)
        self._features[1].append(y)
        return self

    def compute(self) -> float:
        """CKA over every row seen so far (needs at least 2)."""
        if self.n < (4 if self.kind == "unbiased" else 2):
            raise ValueError(f"CKA ({self.kind}) needs at least {4 if self.kind == 'unbiased' else 2} samples, "
                             f"got {self.n}")
        x, y = torch.cat(self._features[0]), torch.cat(self._features[1])
        if self.kind == "rbf":
            return _rbf_cka(x, y, self.sigma)
        if self.kind == "unbiased":
            return _unbiased_cka(x, y)
        return _linear_cka(x - x.mean(0), y - y.mean(0))


def linear_cka(x: torch.Tensor, y: torch.Tensor) -> float:
    """Linear CKA of features x (N, ...) and y (N, ...) of the same N inputs, in [0, 1].

    Examples:
        >>> x = torch.randn(50, 4)
        >>> round(linear_cka(x, 3 * x + 1), 6)
        1.0
    """
    return CKA("linear").update(x, y).compute()


def rbf_cka(x: torch.Tensor, y: torch.Tensor, sigma: float = 0.8) -> float:
    """RBF-kernel CKA (bandwidth ``sigma`` times the median pairwise distance) of x and y (N, ...)."""
    return CKA("rbf", sigma).update(x, y).compute()


def _linear_cka(x: torch.Tensor, y: torch.Tensor) -> float:
    """Linear CKA of centred x (N, Dx) and y (N, Dy): ||y'x||^2 / (||x'x|| ||y'y||), which equals
    tr(KL) / (||K|| ||L||) for the Gram matrices K = xx', L = yy'; the smaller form is used."""
    n, dx, dy = x.shape[0], x.shape[1], y.shape[1]
    if max(dx, dy) <= n:
        cross, xx, yy = x.T @ y, x.T @ x, y.T @ y
    else:
        xx, yy = x @ x.T, y @ y.T
        cross = None
    denominator = xx.norm() * yy.norm()
    if denominator == 0:
        return 0.0
    numerator = cross.norm() ** 2 if cross is not None else (xx * yy).sum()
    return float(numerator / denominator)


def _unbiased_hsic(k: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """Song et al. (2012): HSIC from Gram matrices with zeroed diagonals, unbiased for n >= 4."""
    n = k.shape[0]
    k, m = k - torch.diag(torch.diag(k)), m - torch.diag(torch.diag(m))
    ones_k, ones_m = k.sum(0), m.sum(0)
    return ((k * m).sum() + ones_k.sum() * ones_m.sum() / ((n - 1) * (n - 2)) - 2 * (ones_k @ ones_m) / (n - 2)) / (
        n * (n - 3))


def _unbiased_cka(x: torch.Tensor, y: torch.Tensor) -> float:
    kx, ky = x @ x.T, y @ y.T
    denominator = (_unbiased_hsic(kx, kx) * _unbiased_hsic(ky, ky)).clamp_min(0).sqrt()
    return 0.0 if denominator == 0 else float(_unbiased_hsic(kx, ky) / denominator)


def _rbf_cka(x: torch.Tensor, y: torch.Tensor, sigma: float) -> float:
    def centred_gram(f):
        d2 = torch.cdist(f, f).pow(2)
        median = d2[~torch.eye(len(f), dtype=torch.bool)].median().clamp_min(1e-12)
        k = torch.exp(-d2 / (2 * sigma ** 2 * median))
        h = torch.eye(len(f), dtype=f.dtype) - 1.0 / len(f)
        return h @ k @ h

    kx, ky = centred_gram(x), centred_gram(y)
    denominator = kx.norm() * ky.norm()
    return 0.0 if denominator == 0 else float((kx * ky).sum() / denominator)
