"""A method's cross-validation results: out-of-fold labels and probabilities, scored per fold and
pooled, under the model's own decision rule and the rules compared beside it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seecgnet.challenge.classes import ScoredClasses
from seecgnet.challenge.metrics import Scores, challenge_metric, compute_scores
from seecgnet.inference.decision import decide, per_sample_threshold
from seecgnet.training.settings import Settings

# The decision rules compared on the same out-of-fold probabilities.
RULES = ("per_sample", "fixed", "per_class")


@dataclass(frozen=True)
class FoldOutcome:
    """One fold's out-of-fold labels and probabilities, and the thresholds tuned on its inner part.

    ``probabilities`` is (members, records, classes); ``binary`` the first member's written labels.
    """

    fold: int
    names: tuple[str, ...]
    labels: np.ndarray
    probabilities: np.ndarray
    binary: np.ndarray
    thresholds: np.ndarray


@dataclass(frozen=True)
class MethodResult:
    """A method's scores: per fold and pooled, for the model's rule and each compared rule."""

    method: str
    fold_scores: list[Scores]  # the files as written (the model's own rule)
    pooled_scores: Scores
    rule_challenge: dict[str, tuple[list[float], float]]  # rule -> (per fold, pooled)
    ensemble_challenge: dict[str, float]  # "single", "mean", "union" -> pooled (members > 1)
    # the out-of-fold labels and written outputs, (records, classes), fold after fold
    pooled_labels: np.ndarray | None = None
    pooled_binary: np.ndarray | None = None


def decide_by_rule(outcome: FoldOutcome, rule: str, settings: Settings) -> np.ndarray:
    """The first member's labels under one of the compared rules."""
    probabilities = outcome.probabilities[0]
    if rule == "per_sample":
        return per_sample_threshold(probabilities, settings.decision.divisor)
    if rule == "fixed":
        return probabilities >= settings.decision.fixed_threshold
    if rule == "per_class":
        return probabilities >= outcome.thresholds
    raise ValueError(f"unknown rule {rule!r}")


def score_method(
    method: str, outcomes: list[FoldOutcome], settings: Settings, classes: ScoredClasses
) -> MethodResult:
    """Score every fold and the pooled out-of-fold predictions."""
    fold_scores = [
        compute_scores(o.labels, o.probabilities[0], o.binary, classes) for o in outcomes
    ]
    labels = np.concatenate([o.labels for o in outcomes])
    binary = np.concatenate([o.binary for o in outcomes])
    pooled = compute_scores(
        labels, np.concatenate([o.probabilities[0] for o in outcomes]), binary, classes
    )
    rules = {}
    for rule in RULES:
        decided = [decide_by_rule(o, rule, settings) for o in outcomes]
        per_fold = [
            challenge_metric(o.labels, d, classes) for o, d in zip(outcomes, decided, strict=True)
        ]
        rules[rule] = (per_fold, challenge_metric(labels, np.concatenate(decided), classes))
    ensembles = _ensemble_scores(outcomes, labels, settings, classes)
    return MethodResult(method, fold_scores, pooled, rules, ensembles, labels, binary)


def _ensemble_scores(
    outcomes: list[FoldOutcome], labels: np.ndarray, settings: Settings, classes: ScoredClasses
) -> dict[str, float]:
    """Pooled challenge metric of one network, and of the mean and the union of the members;
    empty with one member per fold."""
    if min(o.probabilities.shape[0] for o in outcomes) < 2:
        return {}
    combined = {
        "single": [o.probabilities[0] for o in outcomes],
        "mean": [o.probabilities.mean(axis=0) for o in outcomes],
        "union": [o.probabilities.max(axis=0) for o in outcomes],
    }
    return {
        name: challenge_metric(labels, decide(np.concatenate(parts), settings.decision), classes)
        for name, parts in combined.items()
    }
