"""Measures of what synthesised images and maps show, by judges that are not the models under test."""
from .alignment import alignment_hits, alignment_score, metamer_success, spearman
from . import distances
from .ground_truth import drawn_structure, mask_judge
from .pag import pag_score
from .plausibility import plausibility, plausibility_hits
from .localization import (baseline_scores, box_iou, calibrate_threshold, localization_scores, localize_model,
                           saliency_boxes,
                           saliency_points)
from .recognition import (activations, answer, feature_similarity, judge_accuracy, predict, probabilities,
                          recognised)
from .similarity import CKA, linear_cka, rbf_cka
from .statistics import interval_text, mean_interval, proportion, runs_interval, seeds_interval
from .stir import stir, stir_matrix
from .synthesis import (SelectiveChannels, channel_activations, manipulation_scores, path_scores,
                        selective_channels)

__all__ = ["distances", "pag_score", "plausibility", "plausibility_hits", "CKA", "drawn_structure", "mask_judge",
           "interval_text", "mean_interval", "proportion", "seeds_interval", "runs_interval", "activations",
           "alignment_hits", "alignment_score", "linear_cka", "metamer_success", "rbf_cka",
           "spearman", "stir", "stir_matrix", "SelectiveChannels", "baseline_scores", "box_iou", "calibrate_threshold",
           "channel_activations",
           "feature_similarity", "judge_accuracy", "localization_scores", "localize_model",
           "manipulation_scores", "path_scores", "predict", "answer", "recognised", "probabilities", "saliency_boxes",
           "saliency_points",
           "selective_channels"]
