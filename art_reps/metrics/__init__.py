"""Measures of what synthesised images and maps show, by judges that are not the models under test."""
from .localization import (box_iou, calibrate_threshold, localization_scores, localize_model, saliency_boxes,
                           saliency_points)
from .recognition import cross_judge, feature_similarity, judge_accuracy, predict, probabilities
from .synthesis import (SelectiveChannels, channel_activations, manipulation_scores, path_scores,
                        selective_channels)

__all__ = ["SelectiveChannels", "box_iou", "calibrate_threshold", "channel_activations", "cross_judge",
           "feature_similarity", "judge_accuracy", "localization_scores", "localize_model",
           "manipulation_scores", "path_scores", "predict", "probabilities", "saliency_boxes", "saliency_points",
           "selective_channels"]
