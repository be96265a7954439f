"""From window probabilities to a record's labels: the one-vote union and the decision rules.

What is computed, in two steps:

1. the record's probability of each class is its largest window probability (``one_vote_union``);
2. the rule turns the record's probabilities into labels: a class is positive when its record
   probability is at least a threshold, which is a constant (``fixed``), the class's own tuned
   value (``per_class``), or, with the paper's ``per_sample`` rule, the record's largest
   probability (over all its classes and so over all its windows) divided by ``divisor``.

With a fixed or per-class threshold this is the union of the windows' own decisions: a class is
positive exactly when some window alone would say so. With the per_sample rule it is not: each
window would hold its classes against its own largest probability, and the record's threshold is
the largest of any window. For windows [[0.9, 0.1], [0.1, 0.1]] the record's probabilities are
[0.9, 0.1] and its threshold 0.9 / 5 = 0.18, so only the first class is positive, while the second
window on its own (threshold 0.1 / 5 = 0.02) would call both classes positive.

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

    One vote in favour: for a threshold t that does not depend on the window, max over windows
    >= t exactly when some window has the class at t or above, so thresholding the maximum is the
    union of the windows' labels. The per_sample rule's threshold is taken from the record's
    probabilities, not each window's (see the module's docstring): there it is not such a union.
    """
    if window_probabilities.ndim != 2 or window_probabilities.shape[0] == 0:
        raise ValueError(
            f"expected (n_windows >= 1, classes) probabilities, got {window_probabilities.shape}"
        )
    return window_probabilities.max(axis=0)


def per_sample_threshold(probabilities: np.ndarray, divisor: float = 5.0) -> np.ndarray:
    """Labels where a class's probability is at least the record's largest divided by ``divisor``.

    Works on record probabilities, (classes,) or (records, classes), after the windows' union;
    each record always gets at least its top class.
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
