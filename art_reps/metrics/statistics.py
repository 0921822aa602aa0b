"""Intervals for the figures we report: Wilson intervals for proportions, bootstrap intervals for
means, t intervals over a few seeds, all from ``scipy.stats``."""
from __future__ import annotations

import numpy as np
import torch

LEVEL = 0.95


def _as_array(values) -> np.ndarray:
    a = values.detach().double().cpu().numpy() if isinstance(values, torch.Tensor) else np.asarray(values, float)
    a = a.reshape(len(a), -1).mean(1) if a.ndim > 1 else a
    if a.size == 0:
        raise ValueError("values must not be empty")
    if not np.isfinite(a).all():
        raise ValueError("values must be finite")
    return a


def proportion(hits, *, level: float = LEVEL) -> dict:
    """Share of true ``hits`` (N,) with its Wilson score interval (``scipy.stats.binomtest``).

    Examples:
        >>> r = proportion(torch.tensor([True] * 75 + [False] * 25))
        >>> r["score"], round(r["low"], 3), round(r["high"], 3), r["n"]
        (0.75, 0.657, 0.825, 100)
    """
    from scipy.stats import binomtest

    a = _as_array(hits)
    if not np.isin(a, (0.0, 1.0)).all():
        raise ValueError("hits must be booleans (or 0/1)")
    k, n = int(a.sum()), len(a)
    ci = binomtest(k, n).proportion_ci(confidence_level=level, method="wilson")
    return {"score": k / n, "low": float(ci.low), "high": float(ci.high), "n": n}


def mean_interval(values, *, level: float = LEVEL, seed: int = 0) -> dict:
    """Mean of ``values`` (N,) (or of the row means of (N, J)) with a BCa bootstrap interval
    (``scipy.stats.bootstrap``, 2000 resamples); a constant sample gets the point as its interval.

    Examples:
        >>> r = mean_interval(torch.arange(100.0))
        >>> r["score"], r["low"] < 49.5 < r["high"], r["n"]
        (49.5, True, 100)
    """
    from scipy.stats import bootstrap

    a = _as_array(values)
    mean = float(a.mean())
    if len(a) < 2 or np.ptp(a) == 0:
        return {"score": mean, "low": mean, "high": mean, "n": len(a)}
    ci = bootstrap((a,), np.mean, confidence_level=level, n_resamples=2000, method="BCa",
                   rng=np.random.default_rng(seed)).confidence_interval
    return {"score": mean, "low": float(ci.low), "high": float(ci.high), "n": len(a)}


def seeds_interval(values, *, level: float = LEVEL, bounds: tuple[float, float] | None = None) -> dict:
    """Mean over a few independent runs (seeds) with a Student t interval (``scipy.stats.t``),
    clipped to ``bounds`` where the quantity has them (a share, STIR and CKA lie in [0, 1]).

    Examples:
        >>> r = seeds_interval([0.40, 0.42, 0.44])
        >>> round(r["score"], 2), round(r["low"], 3), round(r["high"], 3), r["n"]
        (0.42, 0.37, 0.47, 3)
        >>> seeds_interval([0.98, 1.0, 0.99], bounds=(0, 1))["high"]
        1.0
    """
    from scipy.stats import t

    a = _as_array(values)
    if len(a) < 2:
        raise ValueError(f"an interval over seeds needs at least 2 runs, got {len(a)}")
    mean, sem = float(a.mean()), float(a.std(ddof=1) / np.sqrt(len(a)))
    half = float(t.ppf((1 + level) / 2, len(a) - 1)) * sem
    low, high = mean - half, mean + half
    if bounds is not None:
        low, high = max(low, float(bounds[0])), min(high, float(bounds[1]))
    return {"score": mean, "low": low, "high": high, "n": len(a)}


def _as_runs(values, name: str) -> np.ndarray:
    """(R, N) floats: one row a training run, one column a target."""
    a = values.detach().double().cpu().numpy() if isinstance(values, torch.Tensor) else np.asarray(values, float)
    a = a[None] if a.ndim == 1 else a
    if a.ndim != 2 or a.size == 0 or not np.isfinite(a).all():
        raise ValueError(f"{name} must be finite values of shape (runs, targets), got shape {a.shape}")
    return a


def runs_interval(runs, baseline=None, *, level: float = LEVEL, seed: int = 0, resamples: int = 2000) -> dict:
    """The mean of ``runs`` (R, N): R independently trained models, each with a value per target
    (its mean over noise seeds), or its difference from ``baseline`` (R', N) on the same targets;
    with a percentile interval of a two-level bootstrap that draws the targets (paired across both)
    and, for each model kind, its training runs, so that the interval holds the variance between
    training runs as well as between targets. ``n`` targets, ``runs`` R (and R').

    Examples:
        >>> r = runs_interval(torch.stack([torch.linspace(0, 1, 50), torch.linspace(0.2, 1.2, 50)]))
        >>> round(r["score"], 2), r["low"] < 0.6 < r["high"], r["n"], r["runs"]
        (0.6, True, 50, 2)
    """
    sets = [_as_runs(runs, "runs")] + ([] if baseline is None else [_as_runs(baseline, "baseline")])
    if baseline is not None:
        if sets[1].shape[1] != sets[0].shape[1]:
            raise ValueError(f"runs and baseline must score the same targets, got {sets[0].shape[1]} and "
                             f"{sets[1].shape[1]}")
    signs = (1.0, -1.0)[:len(sets)]
    score = float(sum(sign * a.mean() for sign, a in zip(signs, sets)))
    n = sets[0].shape[1]
    rng = np.random.default_rng(seed)
    draws = np.zeros(resamples)
    targets = rng.integers(0, n, (resamples, n))
    for sign, a in zip(signs, sets):
        picked = rng.integers(0, len(a), (resamples, len(a)))
        draws += sign * np.stack([a[picked[b]][:, targets[b]].mean() for b in range(resamples)])
    low, high = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2])
    # a constant sample's quantiles can miss its mean by a rounding error: the interval holds the point
    return {"score": score, "low": float(min(low, score)), "high": float(max(high, score)), "n": n,
            "runs": len(sets[0]), **({"baseline_runs": len(sets[1])} if baseline is not None else {})}


def interval_text(r: dict, digits: int = 2) -> str:
    """``'0.75 [0.66, 0.83]'``."""
    return f"{r['score']:.{digits}f} [{r['low']:.{digits}f}, {r['high']:.{digits}f}]"
