"""Measures of what synthesised images and maps show, by judges that are not the models under test."""
from .localization import (box_iou, calibrate_threshold, localization_scores, localize_model, saliency_boxes,
                           saliency_points)
from .recognition import cross_judge, judge_accuracy, predict

__all__ = ["box_iou", "calibrate_threshold", "cross_judge", "judge_accuracy", "localization_scores",
           "localize_model", "predict", "saliency_boxes", "saliency_points"]
