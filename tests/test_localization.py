"""Sensitivity maps as weakly supervised localisation (Aggarwal et al.)."""
import pytest
import torch

from art_reps.metrics import box_iou, calibrate_threshold, localization_scores, saliency_boxes
from art_reps.metrics.localization import saliency_points


def test_boxes_points_and_iou_on_constructed_maps():
    maps = torch.zeros(2, 16, 16)
    maps[0, 2:6, 3:9] = 1.0
    maps[0, 12, 12] = 0.9  # a smaller separate blob: the largest region wins
    maps[1, 8:16, 0:4] = 2.0
    maps[1, 9, 1] = 2.5
    assert saliency_boxes(maps).tolist() == [[3, 2, 9, 6], [0, 8, 4, 16]]
    assert saliency_points(maps)[1].tolist() == [1, 9]
    truth = torch.tensor([[3.0, 2, 9, 6], [0, 0, 4, 8]])
    assert box_iou(saliency_boxes(maps), truth).tolist() == pytest.approx([1.0, 0.0])
    scores = localization_scores(maps, truth)
    assert scores == {"box_accuracy": 0.5, "mean_iou": 0.5, "pointing_game": 0.5}
    assert calibrate_threshold(maps, truth, smooth=0.0) in (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45)


def test_bad_arguments():
    with pytest.raises(ValueError, match="threshold must be in"):
        saliency_boxes(torch.rand(1, 4, 4), threshold=1.5)
    with pytest.raises(ValueError, match="same batch size"):
        localization_scores(torch.rand(2, 4, 4), torch.zeros(3, 4))
    with pytest.raises(ValueError, match="saliency must have shape"):
        saliency_boxes(torch.rand(4, 4))
