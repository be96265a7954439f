"""From window probabilities to a record's labels: the one-vote union and the decision rules.

Shapes: window probabilities are (n_windows, classes); record probabilities are (classes,) or, for
many records at once, (records, classes).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np


class DecisionRule(str, Enum):
    PER_SAMPLE = "per_sample"  # the paper's rule: p >= max(p) / divisor
    FIXED = "fixed"  # p >= fixed_threshold
    PER_CLASS = "per_class"  # p >= class_thresholds[c], tuned to maximise the challenge metric


@dataclass(frozen=True)
class DecisionSettings:
    """Which rule turns record probabilities into labels, and its parameters."""

    rule: DecisionRule = DecisionRule.PER_SAMPLE
    divisor: float = 5.0
    fixed_threshold: float = 0.5
    # Set by training when the rule is per_class (tuned on the validation records).
    class_thresholds: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "rule", DecisionRule(self.rule))
        if self.divisor < 1:
            raise ValueError(f"divisor must be at least 1, got {self.divisor}")
        if self.class_thresholds is not None:
            object.__setattr__(self, "class_thresholds", tuple(map(float, self.class_thresholds)))


def one_vote_union(window_probabilities: np.ndarray) -> np.ndarray:
    """A record's probabilities from its windows' (n_windows, classes): the largest per class.

    One vote in favour: with any threshold t, max over windows >= t exactly when some window says
    the class is present, so thresholding the maximum is the union of the windows' labels.
    """
    if window_probabilities.ndim != 2 or window_probabilities.shape[0] == 0:
        raise ValueError(
            f"expected (n_windows >= 1, classes) probabilities, got {window_probabilities.shape}"
        )
    return window_probabilities.max(axis=0)


def per_sample_threshold(probabilities: np.ndarray, divisor: float = 5.0) -> np.ndarray:
    """Labels where a class's probability is at least the record's largest divided by ``divisor``.

    Works on (classes,) or (records, classes); each record always gets at least its top class.
    """
    top = probabilities.max(axis=-1, keepdims=True)
    return probabilities >= top / divisor


def decide(probabilities: np.ndarray, settings: DecisionSettings) -> np.ndarray:
    """Boolean labels for (classes,) or (records, classes) probabilities under the chosen rule."""
    return probabilities >= decision_thresholds(probabilities, settings)


def decision_thresholds(probabilities: np.ndarray, settings: DecisionSettings) -> np.ndarray:
    """The threshold each probability is held against, shaped as ``probabilities``.

    A class is positive when its probability is at least its threshold: the record's largest
    divided by the divisor (per_sample), the fixed threshold, or the class's tuned threshold.
    """
    if settings.rule is DecisionRule.PER_SAMPLE:
        top = probabilities.max(axis=-1, keepdims=True)
        return np.broadcast_to(top / settings.divisor, probabilities.shape)
    if settings.rule is DecisionRule.FIXED:
        return np.full_like(probabilities, settings.fixed_threshold)
    if settings.class_thresholds is None:
        raise ValueError("the per_class rule has no class thresholds: training tunes them")
    thresholds = np.asarray(settings.class_thresholds, dtype=probabilities.dtype)
    if thresholds.shape[-1] != probabilities.shape[-1]:
        raise ValueError(
            f"{thresholds.shape[-1]} class thresholds for {probabilities.shape[-1]} classes"
        )
    return np.broadcast_to(thresholds, probabilities.shape)
