"""Per-class thresholds chosen to maximise the challenge metric.

The search is coordinate ascent: starting from one threshold shared by every class (the best on a
grid), each class's threshold in turn moves to the candidate that scores best with the others held
fixed, for a few passes. Each move scores the whole set, so the search calls the challenge metric
thousands of times; it must run on records other than those it will be scored on.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from seecgnet.challenge.classes import ScoredClasses
from seecgnet.challenge.metrics import ChallengeMetric
from seecgnet.inference.decision import DecisionRule, DecisionSettings

DEFAULT_CANDIDATES = np.round(np.arange(0.02, 0.99, 0.02), 2)


def best_shared_threshold(
    metric: ChallengeMetric, probabilities: np.ndarray, candidates: np.ndarray = DEFAULT_CANDIDATES
) -> float:
    """The candidate that scores best as the threshold of every class: where tuning starts.

    ``probabilities`` is (records, classes), scored by ``metric``; the first of equals wins.
    """
    scores = [metric(probabilities >= t) for t in candidates]
    return float(candidates[int(np.argmax(scores))])


def tune_class_thresholds(
    labels: np.ndarray,
    probabilities: np.ndarray,
    classes: ScoredClasses,
    candidates: np.ndarray = DEFAULT_CANDIDATES,
    passes: int = 2,
) -> np.ndarray:
    """Thresholds (classes,) maximising the challenge metric of ``probabilities >= thresholds``.

    ``labels`` and ``probabilities`` are (records, classes). Among equally good candidates the one
    nearest the shared starting threshold wins, so classes the data says nothing about stay there.
    """
    labels = np.asarray(labels, dtype=bool)
    if labels.shape != probabilities.shape or labels.ndim != 2:
        raise ValueError(f"labels {labels.shape} and probabilities {probabilities.shape} differ")
    if len(labels) == 0:
        raise ValueError("no records to tune thresholds on")

    metric = ChallengeMetric(labels, classes)  # the label-only part is computed once

    def score(thresholds: np.ndarray) -> float:
        return metric(probabilities >= thresholds)

    start = best_shared_threshold(metric, probabilities, candidates)
    thresholds = np.full(labels.shape[1], start)
    best = score(thresholds)
    order = np.argsort(np.abs(candidates - start), kind="stable")  # nearest to the start first
    for _ in range(passes):
        improved = False
        for c in range(labels.shape[1]):
            values = []
            for candidate in candidates[order]:
                trial = thresholds.copy()
                trial[c] = candidate
                values.append(score(trial))
            top = int(np.argmax(values))  # the first maximum: the one nearest the start
            if values[top] > best + 1e-12:
                best, improved = values[top], True
                thresholds[c] = candidates[order][top]
        if not improved:
            break
    return thresholds


def validation_decision(
    decision: DecisionSettings,
    labels: np.ndarray,
    probabilities: np.ndarray,
    classes: ScoredClasses,
) -> DecisionSettings:
    """The decision that validation scores an epoch with: the rule as it is, or for the per_class
    rule thresholds tuned on these very records, as training tunes them for the model it saves.

    Tuned and scored on the same records, the per_class score is optimistic; it serves to choose
    the epoch whose probabilities tune best, not to estimate the score on new records.
    """
    if decision.rule is not DecisionRule.PER_CLASS:
        return decision
    thresholds = tune_class_thresholds(labels, probabilities, classes)
    return dataclasses.replace(decision, class_thresholds=tuple(thresholds.tolist()))
