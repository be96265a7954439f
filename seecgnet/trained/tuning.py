"""Decision parameters chosen to maximise the challenge metric on validation records: the searches
that the tuned rules' :class:`seecgnet.trained.decision.Decision` classes run.

Per-class thresholds (the per_class rule): coordinate ascent, starting from one threshold shared by
every class (the best on a grid), each class's threshold in turn moves to the candidate that scores
best with the others held fixed, for a few passes. Each move scores the whole set, so the search
calls the challenge metric thousands of times; it must run on records other than those it will be
scored on.

Lead-set divisors (the per_lead_set rule): for each 2021 lead set, the divisor of the paper's
max/divisor rule that scores best on the validation records cut down to that set, from a short
grid. One number per lead set: with fewer leads a network's probabilities are flatter, and the
paper's max/5 then calls more classes than it does with 12.
"""

from __future__ import annotations

import numpy as np

from seecgnet.challenge.classes import ScoredClasses
from seecgnet.challenge.metrics import ChallengeMetric

DEFAULT_CANDIDATES = np.round(np.arange(0.02, 0.99, 0.02), 2)

# The divisors the per_lead_set rule chooses from; among equally good ones, the nearest the
# paper's 5 (in ratio) wins.
DIVISOR_CANDIDATES = (1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)
PAPER_DIVISOR = 5.0


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


def tune_lead_set_divisors(
    labels: np.ndarray,
    probabilities: dict[str, np.ndarray],
    classes: ScoredClasses,
    candidates: tuple[float, ...] = DIVISOR_CANDIDATES,
) -> dict[str, float]:
    """For each lead set, the divisor maximising the challenge metric of the max/divisor rule.

    ``probabilities`` maps a lead set's name to the validation records' probabilities read with
    only that set's leads, (records, classes) each, ``labels`` (records, classes) being theirs.
    """
    labels = np.asarray(labels, dtype=bool)
    if len(labels) == 0:
        raise ValueError("no records to tune the lead-set divisors on")
    metric = ChallengeMetric(labels, classes)
    # the nearest the paper's divisor first, so that the first maximum is the one nearest it
    order = sorted(candidates, key=lambda d: (abs(np.log(d / PAPER_DIVISOR)), d))
    divisors = {}
    for name, p in probabilities.items():
        if p.shape != labels.shape:
            raise ValueError(f"lead set {name}: probabilities {p.shape} for labels {labels.shape}")
        top = p.max(axis=1, keepdims=True)
        scores = [metric(p >= top / d) for d in order]
        divisors[name] = float(order[int(np.argmax(scores))])
    return divisors
