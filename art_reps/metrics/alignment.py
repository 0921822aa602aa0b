"""Does a model's invariance look like ours? Alignment of IRIs (Nanda et al.) and metamer success
(Feather et al.), with intervals."""
from __future__ import annotations

import torch

from ..core.checks import check_images, check_same_batch
from .recognition import activations, predict
from .statistics import mean_interval, proportion


def alignment_hits(iris: torch.Tensor, targets: torch.Tensor, seeds: torch.Tensor, distance,
                   batch_size: int = 64) -> torch.Tensor:
    """(N,) booleans: ``D(IRI, target) <= D(IRI, seed)`` (the IRI looks more like its target). The
    ``seeds`` are the other answer of the choice: the seeds for Nanda et al.'s criterion, or a digit
    of another class on the same background for a two-way choice (:func:`reproduction.controls.other_class`)."""
    check_same_batch(iris, targets, "iris", "targets")
    seeds = seeds.expand_as(iris) if seeds.shape[0] == 1 else seeds
    check_same_batch(iris, seeds, "iris", "seeds")
    out = []
    with torch.no_grad():
        for i in range(0, len(iris), batch_size):
            x = iris[i:i + batch_size]
            out.append((distance(x, targets[i:i + batch_size]) <= distance(x, seeds[i:i + batch_size])).cpu())
    return torch.cat(out)


def alignment_score(iris: torch.Tensor, targets: torch.Tensor, seeds: torch.Tensor, distances: dict, *,
                    level: float = 0.95, seed: int = 0) -> dict:
    """Share of IRIs (N, C, H, W) nearer their targets than their seeds, per distance in
    ``distances`` (name -> d(x, y) -> (N,)), with Wilson intervals, and averaged over them, with a
    bootstrap interval.

    Returns ``{name: {"score", "low", "high", "n"}, ..., "mean": {...}}``.

    Examples:
        >>> from art_reps.metrics.distances import ssim_distance
        >>> t = torch.rand(8, 3, 16, 16); s = torch.rand(8, 3, 16, 16)
        >>> alignment_score(t, t, s, {"ssim": ssim_distance})["ssim"]["score"]
        1.0
    """
    if not distances:
        raise ValueError("distances must name at least one distance")
    hits = {name: alignment_hits(iris, targets, seeds, d) for name, d in distances.items()}
    result = {name: proportion(h, level=level) for name, h in hits.items()}
    result["mean"] = mean_interval(torch.stack(list(hits.values()), 1).double(), level=level, seed=seed)
    return result


def spearman(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Row-wise Spearman rank correlation (N,) of a, b (N, D), tied values sharing their average
    rank (``scipy.stats.rankdata``), as ``scipy.stats.spearmanr``: ReLU maps hold many equal zeros.

    Examples:
        >>> spearman(torch.tensor([[1., 2, 3]]), torch.tensor([[10., 20, 30]])).round(decimals=6).tolist()
        [1.0]
    """
    from scipy.stats import rankdata

    ra, rb = (torch.from_numpy(rankdata(t.detach().flatten(1).double().cpu().numpy(), axis=1)) for t in (a, b))
    ra, rb = ra - ra.mean(1, keepdim=True), rb - rb.mean(1, keepdim=True)
    return (ra * rb).sum(1) / (ra.norm(dim=1) * rb.norm(dim=1)).clamp_min(1e-12)


def metamer_success(model, metamers: torch.Tensor, originals: torch.Tensor, *, layer: str,
                    null_images: torch.Tensor, null_pairs: int = 2000, seed: int = 0, per_item: bool = False) -> dict:
    """Feather et al.'s criteria for metamers (N, C, H, W) of ``originals``: the model predicts the
    same class, and the Spearman rho between metamer and original ``layer`` activations exceeds the
    largest rho of ``null_pairs`` random pairs of ``null_images`` (natural images).

    Returns rates ``same_class``, ``above_null`` and ``success`` (both; with ``per_item=True`` the
    (N,) booleans instead), the per-metamer ``rho`` and the ``null_max``.
    """
    check_images(null_images, "null_images")
    check_same_batch(metamers, originals, "metamers", "originals")
    flat = lambda x: activations(model, x, layer=layer).flatten(1).cpu()  # noqa: E731
    rho = spearman(flat(metamers), flat(originals))
    g = torch.Generator().manual_seed(seed)
    i, j = torch.randint(len(null_images), (2, null_pairs), generator=g)
    keep = i != j
    acts = flat(null_images)
    null_max = spearman(acts[i[keep]], acts[j[keep]]).max().item()
    same = predict(model, metamers) == predict(model, originals)
    above = rho > null_max
    items = {"same_class": same.cpu(), "above_null": above, "success": same.cpu() & above}
    shares = items if per_item else {k: v.float().mean().item() for k, v in items.items()}
    return {**shares, "rho": rho.tolist(), "null_max": null_max}

