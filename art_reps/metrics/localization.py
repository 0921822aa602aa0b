"""Weakly supervised localisation from sensitivity maps (Aggarwal et al.): map -> box and point.

A map is turned into a box as in CAM-style weakly supervised localisation: normalise it to
[0, 1] per image, keep the pixels above ``threshold``, and box the largest connected region.
Scores: box accuracy (IoU >= 0.5 with the true box), mean IoU, and the pointing game (the
map's maximum falls inside the true box).
"""
from __future__ import annotations

import numpy as np
import torch
from scipy import ndimage

from .statistics import mean_interval, proportion


def _maps(saliency: torch.Tensor, smooth: float = 0.0) -> np.ndarray:
    """(N, C, H, W) gradients or (N, H, W) maps -> (N, H, W) magnitudes, Gaussian-smoothed with
    sigma ``smooth`` pixels, normalised to [0, 1] per image."""
    if saliency.dim() not in (3, 4):
        raise ValueError(f"saliency must have shape (N, C, H, W) or (N, H, W), got {tuple(saliency.shape)}")
    t = saliency.detach().abs().float()
    m = (t.sum(1) if t.dim() == 4 else t).cpu().numpy()
    if smooth > 0:
        m = ndimage.gaussian_filter(m, sigma=(0, smooth, smooth))
    m = m - m.reshape(len(m), -1).min(1)[:, None, None]
    return m / np.maximum(m.reshape(len(m), -1).max(1), 1e-12)[:, None, None]


def saliency_boxes(saliency: torch.Tensor, threshold: float = 0.5, smooth: float = 0.0) -> torch.Tensor:
    """(N, 4) boxes ``(x0, y0, x1, y1)`` (exclusive ends) around the largest region above ``threshold``.

    Examples:
        >>> m = torch.zeros(1, 8, 8); m[0, 2:4, 3:6] = 1
        >>> saliency_boxes(m).tolist()
        [[3.0, 2.0, 6.0, 4.0]]
    """
    if not 0.0 <= threshold < 1.0:
        raise ValueError(f"threshold must be in [0, 1), got {threshold!r}")
    boxes = []
    for m in _maps(saliency, smooth):
        labels, count = ndimage.label(m >= threshold)
        if count == 0:
            boxes.append((0.0, 0.0, float(m.shape[1]), float(m.shape[0])))
            continue
        sizes = ndimage.sum(np.ones_like(m), labels, index=range(1, count + 1))
        rows, cols = np.nonzero(labels == 1 + int(np.argmax(sizes)))
        boxes.append((cols.min(), rows.min(), cols.max() + 1.0, rows.max() + 1.0))
    return torch.tensor(boxes, dtype=torch.float32)


def saliency_points(saliency: torch.Tensor, smooth: float = 0.0) -> torch.Tensor:
    """(N, 2) ``(x, y)`` of each map's maximum (the pointing game's point)."""
    m = torch.from_numpy(_maps(saliency, smooth))
    idx = m.flatten(1).argmax(1)
    return torch.stack([idx % m.shape[2], idx // m.shape[2]], 1).float()


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Row-wise IoU of (N, 4) boxes ``(x0, y0, x1, y1)``.

    Examples:
        >>> box_iou(torch.tensor([[0., 0, 2, 2]]), torch.tensor([[1., 0, 3, 2]])).tolist()
        [0.3333333432674408]
    """
    w = (torch.min(a[:, 2], b[:, 2]) - torch.max(a[:, 0], b[:, 0])).clamp_min(0)
    h = (torch.min(a[:, 3], b[:, 3]) - torch.max(a[:, 1], b[:, 1])).clamp_min(0)
    inter = w * h
    area = lambda t: (t[:, 2] - t[:, 0]) * (t[:, 3] - t[:, 1])  # noqa: E731
    return inter / (area(a) + area(b) - inter).clamp_min(1e-12)


def _hits(boxes: torch.Tensor, points: torch.Tensor, truth: torch.Tensor) -> dict:
    """Per image: IoU with the true box, box hit (IoU >= 0.5), point inside the true box."""
    truth = truth.float()
    iou = box_iou(boxes.float(), truth)
    p = points.float()
    inside = (p[:, 0] >= truth[:, 0]) & (p[:, 0] < truth[:, 2]) & (p[:, 1] >= truth[:, 1]) & (p[:, 1] < truth[:, 3])
    return {"box_accuracy": iou >= 0.5, "mean_iou": iou, "pointing_game": inside}


def _summary(hits: dict, intervals: bool) -> dict:
    if not intervals:
        return {k: v.float().mean().item() for k, v in hits.items()}
    return {k: (proportion(v) if v.dtype == torch.bool else mean_interval(v)) for k, v in hits.items()}


def localization_scores(saliency: torch.Tensor, boxes: torch.Tensor, *, threshold: float = 0.5,
                        smooth: float = 0.0, intervals: bool = False) -> dict:
    """Box accuracy (IoU >= 0.5), mean IoU and pointing-game accuracy of maps against true boxes;
    with ``intervals=True`` each is ``{"score", "low", "high", "n"}`` (Wilson / bootstrap)."""
    if saliency.shape[0] != boxes.shape[0]:
        raise ValueError(f"saliency and boxes must have the same batch size, got {saliency.shape[0]} and "
                         f"{boxes.shape[0]}")
    hits = _hits(saliency_boxes(saliency, threshold, smooth), saliency_points(saliency, smooth), boxes)
    return _summary(hits, intervals)


def baseline_scores(boxes: torch.Tensor, calibration_boxes: torch.Tensor, *, size: int = 32, seed: int = 0,
                    intervals: bool = False) -> dict:
    """What needs no map, scored like :func:`localization_scores` on true ``boxes`` (N, 4):
    ``'centre'``, a box of the calibration boxes' median size in the middle of the image (its
    centre the point); ``'random'``, a calibration box's size at a uniformly random place (a random
    point).

    Examples:
        >>> truth = torch.tensor([[8., 8, 24, 24]] * 4)
        >>> baseline_scores(truth, truth)["centre"]["box_accuracy"]
        1.0
    """
    g = torch.Generator().manual_seed(seed)
    n = len(boxes)
    wh = (calibration_boxes[:, 2:] - calibration_boxes[:, :2]).float()
    w, h = wh.median(0).values.tolist()
    centre = torch.tensor([(size - w) / 2, (size - h) / 2, (size + w) / 2, (size + h) / 2]).expand(n, 4)
    sizes = wh[torch.randint(len(wh), (n,), generator=g)]
    corner = torch.rand(n, 2, generator=g) * (size - sizes)
    random = torch.cat([corner, corner + sizes], 1)
    points = {"centre": torch.full((n, 2), size / 2 - 0.5), "random": torch.rand(n, 2, generator=g) * size}
    return {k: _summary(_hits(b, points[k], boxes), intervals) for k, b in (("centre", centre), ("random", random))}


THRESHOLDS = tuple(round(0.05 * k, 2) for k in range(1, 14))


def calibrate_threshold(saliency: torch.Tensor, boxes: torch.Tensor, *, smooth: float = 1.0,
                        grid=THRESHOLDS) -> float:
    """The threshold in ``grid`` with the best box accuracy on held-out maps (never the test set)."""
    return max(grid, key=lambda t: localization_scores(saliency, boxes, threshold=t, smooth=smooth)["box_accuracy"])


def localize_model(model: torch.nn.Module, *, smooth: float = 1.0, **options) -> dict:
    """Aggarwal et al.'s protocol on the embedded data: class-sensitivity maps of ``model``, the box
    threshold calibrated on the 500 validation images (which no model trained on), scores with
    intervals on the 1000 test images (1000 distinct digits)."""
    from ..core import sensitivity
    from ..data import digits_on_textures

    calib, test = digits_on_textures("val"), digits_on_textures("test")
    threshold = calibrate_threshold(sensitivity(model, calib.images, calib.labels, **options), calib.boxes,
                                    smooth=smooth)
    scores = localization_scores(sensitivity(model, test.images, test.labels, **options), test.boxes,
                                 threshold=threshold, smooth=smooth, intervals=True)
    return {"threshold": threshold, "smooth": smooth, **scores}
