"""Scores for what synthesised images show: maximising inputs, interpolation paths, manipulations.

Each score takes what a judge (a network not under test) said about the images, so that the same
function serves any judge.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .recognition import activations


@dataclass
class SelectiveChannels:
    """Channels of a layer selected for classes, and what the images say about them.

    channels (K,); classes (K,) the class each channel was selected for; top_indices (top, K) the
    images with the highest activation; top_class (K,) the majority class among them; purity (K,)
    the share of them that are of ``classes``; max_activation (K,) the highest activation.
    """

    channels: torch.Tensor
    classes: torch.Tensor
    top_indices: torch.Tensor
    top_class: torch.Tensor
    purity: torch.Tensor
    max_activation: torch.Tensor


def selective_channels(model, images: torch.Tensor, labels: torch.Tensor, *, layer: str, top: int = 10,
                       per_class: int = 1, min_purity: float = 0.0, batch_size: int = 500,
                       **representation_options) -> SelectiveChannels:
    """For each class, up to ``per_class`` channels of ``layer`` whose mean activation on that class
    stands out most (z-score of the class mean against all images), no channel twice, among those
    whose ``top`` most-activating images are at least ``min_purity`` of that class (Engstrom et
    al.'s class-selective channels); channels come class by class in rounds, so K <= 10 * per_class
    and a class gets fewer (or none) when too few of its channels are pure enough or left.

    Examples:
        >>> import art_reps
        >>> val = art_reps.data.digits_on_textures("val")[:200]
        >>> sel = selective_channels(art_reps.load_model("standard"), val.images, val.labels, layer="avgpool")
        >>> sel.channels.shape, sel.top_indices.shape
        (torch.Size([10]), torch.Size([10, 10]))
        >>> pure = selective_channels(art_reps.load_model("standard"), val.images, val.labels, layer="avgpool",
        ...                           per_class=5, min_purity=0.8)
        >>> bool((pure.purity >= 0.8).all())
        True
    """
    if isinstance(per_class, bool) or not isinstance(per_class, int) or per_class < 1:
        raise ValueError(f"per_class must be a positive int (the most channels a class gets), got {per_class!r}")
    if not 0.0 <= min_purity <= 1.0:
        raise ValueError(f"min_purity must be a share in [0, 1], got {min_purity!r}")
    acts = channel_activations(model, images, layer=layer, batch_size=batch_size, **representation_options)
    labels = labels.cpu()
    classes = labels.unique()
    top = min(top, len(images))
    top_indices = acts.topk(top, dim=0).indices                                   # (top, C)
    purity = (labels[top_indices][None] == classes[:, None, None]).float().mean(1)  # (classes, C)
    means = torch.stack([acts[labels == c].mean(0) for c in classes])
    z = (means - acts.mean(0)) / (acts.std(0) + 1e-6)
    z[purity < min_purity] = -float("inf")
    picked: list[int] = []
    rows: list[int] = []
    for _ in range(per_class):
        for i in range(len(classes)):
            z_c = z[i].clone()
            z_c[picked] = -float("inf")
            if z_c.max() > -float("inf"):
                picked.append(int(z_c.argmax()))
                rows.append(i)
    channels, chosen = torch.tensor(picked, dtype=torch.long), torch.tensor(rows, dtype=torch.long)
    return SelectiveChannels(channels, classes[chosen], top_indices[:, channels],
                             labels[top_indices[:, channels]].mode(0).values if len(channels) else chosen,
                             purity[chosen, channels], acts[:, channels].max(0).values)


def channel_activations(model, images: torch.Tensor, *, layer: str, batch_size: int = 500,
                        **representation_options) -> torch.Tensor:
    """(N, C) activations of ``layer`` (spatially averaged when it has a map), on the CPU."""
    a = activations(model, images, layer=layer, batch_size=batch_size, **representation_options).cpu()
    return a.flatten(2).mean(2) if a.dim() == 4 else a.flatten(1)


def path_scores(path_labels: torch.Tensor, start: torch.Tensor, end: torch.Tensor, *, per_item: bool = False) -> dict:
    """Judge labels along interpolation paths (N, n) from class ``start`` (N,) to ``end`` (N,).

    ``single_switch``: share of paths labelled start, ..., start, end, ..., end (one change, only
    the two endpoint classes); ``changes``: mean number of label changes (ideal 1);
    ``endpoint_classes``: share of all path images given one of the two endpoint classes.
    ``per_item=True``: the (N,) value of each path instead of the means.

    Examples:
        >>> path_scores(torch.tensor([[3, 3, 5, 5], [3, 5, 3, 5]]), torch.tensor([3, 3]), torch.tensor([5, 5]))
        {'single_switch': 0.5, 'changes': 2.0, 'endpoint_classes': 1.0}
    """
    if path_labels.dim() != 2 or path_labels.shape[0] != start.shape[0] or start.shape != end.shape:
        raise ValueError(f"path_labels must be (N, n) with start and end (N,), got {tuple(path_labels.shape)}, "
                         f"{tuple(start.shape)} and {tuple(end.shape)}")
    changes = (path_labels[:, 1:] != path_labels[:, :-1]).sum(1)
    in_ends = (path_labels == start[:, None]) | (path_labels == end[:, None])
    monotone = (path_labels[:, 0] == start) & (path_labels[:, -1] == end) & (changes == 1)
    items = {"single_switch": monotone, "changes": changes.float(), "endpoint_classes": in_ends.float().mean(1)}
    return items if per_item else {k: v.float().mean().item() for k, v in items.items()}


def manipulation_scores(before: torch.Tensor, after: torch.Tensor, labels: torch.Tensor,
                        added: torch.Tensor, *, visible: float = 0.05, per_item: bool = False) -> dict:
    """Judge probabilities (N, K) before and after adding the feature of class ``added`` (N,) to
    images of class ``labels`` (N,).

    ``class_kept``: the judge still says ``labels``; ``feature_visible``: the judge's probability of
    ``added`` rose by at least ``visible``; ``success``: both; ``added_probability_rise``: its mean rise.
    ``per_item=True``: the (N,) value of each image instead of the means.

    Examples:
        >>> b = torch.tensor([[0.9, 0.1, 0.0]]); a = torch.tensor([[0.6, 0.4, 0.0]])
        >>> manipulation_scores(b, a, torch.tensor([0]), torch.tensor([1]))["success"]
        1.0
    """
    if before.shape != after.shape or before.dim() != 2 or labels.shape != (before.shape[0],) or \
            added.shape != labels.shape:
        raise ValueError(f"before and after must be (N, K) with labels and added (N,), got {tuple(before.shape)}, "
                         f"{tuple(after.shape)}, {tuple(labels.shape)} and {tuple(added.shape)}")
    rows = torch.arange(len(labels))
    kept = after.argmax(1) == labels
    rise = after[rows, added] - before[rows, added]
    items = {"class_kept": kept, "feature_visible": rise >= visible, "success": kept & (rise >= visible),
             "added_probability_rise": rise}
    return items if per_item else {k: v.float().mean().item() for k, v in items.items()}
