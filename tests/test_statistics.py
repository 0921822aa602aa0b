"""Intervals: Wilson for proportions, BCa bootstrap for means, t over seeds."""
import math

import pytest
import torch

from art_reps.metrics import interval_text, mean_interval, proportion, runs_interval, seeds_interval


def wilson(k, n, z=1.959963984540054):
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


@pytest.mark.parametrize("k,n", [(0, 20), (3, 20), (75, 100), (100, 100), (412, 1000)])
def test_proportion_is_the_wilson_interval(k, n):
    r = proportion(torch.tensor([True] * k + [False] * (n - k)))
    lo, hi = wilson(k, n)
    assert r["score"] == k / n and r["n"] == n
    assert r["low"] == pytest.approx(max(lo, 0), abs=1e-9) and r["high"] == pytest.approx(min(hi, 1), abs=1e-9)


def test_zero_of_twenty_is_not_certain():
    """A percentile bootstrap of 0/20 gives [0, 0]; the Wilson interval admits up to ~0.16."""
    r = proportion([0] * 20)
    assert r["low"] == 0 and 0.15 < r["high"] < 0.17


def test_mean_interval_covers_and_narrows():
    g = torch.Generator().manual_seed(0)
    small = mean_interval(torch.randn(30, generator=g) + 1)
    big = mean_interval(torch.randn(3000, generator=g) + 1)
    assert small["low"] < 1 < small["high"] and big["low"] < 1 < big["high"]
    assert big["high"] - big["low"] < 0.3 * (small["high"] - small["low"])
    assert mean_interval([0.5] * 10) == {"score": 0.5, "low": 0.5, "high": 0.5, "n": 10}


def test_seeds_interval_is_students_t():
    r = seeds_interval([1.0, 2.0, 3.0])
    assert r["score"] == 2.0 and r["high"] - 2.0 == pytest.approx(4.302652729911275 * 1 / math.sqrt(3))
    with pytest.raises(ValueError, match="at least 2 runs"):
        seeds_interval([1.0])


def test_bad_input_and_text():
    with pytest.raises(ValueError, match="booleans"):
        proportion([0.5, 1.0])
    with pytest.raises(ValueError, match="empty"):
        proportion([])
    with pytest.raises(ValueError, match="finite"):
        mean_interval([float("nan"), 1.0])
    assert interval_text({"score": 0.75, "low": 0.657, "high": 0.825}) == "0.75 [0.66, 0.82]"


def test_runs_interval_holds_the_variance_between_training_runs():
    g = torch.Generator().manual_seed(0)
    targets = torch.rand(200, generator=g)
    one = runs_interval(targets[None])
    close = mean_interval(targets)  # one run: the targets' bootstrap alone
    assert one["score"] == pytest.approx(close["score"]) and abs(one["low"] - close["low"]) < 0.01
    apart = runs_interval(torch.stack([targets - 0.2, targets, targets + 0.2]))  # runs that disagree
    assert apart["score"] == pytest.approx(one["score"]) and apart["runs"] == 3
    assert apart["high"] - apart["low"] > 3 * (one["high"] - one["low"])
    paired = runs_interval(torch.stack([targets + 0.1, targets + 0.1]), targets[None])  # a constant effect
    assert paired["score"] == pytest.approx(0.1) and paired["low"] == pytest.approx(0.1)
    assert paired["high"] == pytest.approx(0.1) and paired["baseline_runs"] == 1
    with pytest.raises(ValueError, match="must score the same targets"):
        runs_interval(targets[None], targets[None, :10])
    with pytest.raises(ValueError, match=r"shape \(runs, targets\)"):
        runs_interval(torch.zeros(2, 3, 4))
