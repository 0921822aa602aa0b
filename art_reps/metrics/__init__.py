"""Measures of what synthesised images show, by judges that are not the models under test."""
from .recognition import cross_judge, judge_accuracy, predict

__all__ = ["cross_judge", "judge_accuracy", "predict"]
