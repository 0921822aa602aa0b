"""Sensitivity maps as weakly supervised localisation (Aggarwal et al.)."""
import pytest
import torch

from art_reps.metrics import baseline_scores, box_iou, calibrate_threshold, localization_scores, saliency_boxes
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


def test_intervals_and_baselines():
    g = torch.Generator().manual_seed(0)
    truth = torch.tensor([[10.0, 10, 22, 22]]).repeat(200, 1)
    maps = torch.rand(200, 32, 32, generator=g) * 0.2
    maps[:150, 12:20, 12:20] = 1.0  # 150 of 200 maps point at the digit, 50 elsewhere
    maps[150:, 0:4, 26:30] = 1.0
    r = localization_scores(maps, truth, smooth=0.0, intervals=True)
    assert r["pointing_game"]["score"] == 0.75 and r["pointing_game"]["n"] == 200
    assert r["pointing_game"]["low"] < 0.75 < r["pointing_game"]["high"]
    base = baseline_scores(truth, truth)
    assert base["centre"]["box_accuracy"] == 1.0 and base["centre"]["pointing_game"] == 1.0
    off = torch.tensor([[0.0, 0, 10, 10]]).repeat(200, 1)
    b = baseline_scores(off, off, intervals=True)
    assert b["centre"]["box_accuracy"]["score"] == 0.0
    # a random point falls in a 10x10 box about 100/1024 of the time
    assert b["random"]["pointing_game"]["low"] < 100 / 1024 < b["random"]["pointing_game"]["high"]


def test_bad_arguments():
    with pytest.raises(ValueError, match="threshold must be in"):
        saliency_boxes(torch.rand(1, 4, 4), threshold=1.5)
    with pytest.raises(ValueError, match="same batch size"):
        localization_scores(torch.rand(2, 4, 4), torch.zeros(3, 4))
    with pytest.raises(ValueError, match="saliency must have shape"):
        saliency_boxes(torch.rand(4, 4))
