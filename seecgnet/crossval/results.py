"""A method's cross-validation results: out-of-fold labels and probabilities, scored per fold and
pooled, under the model's own decision rule and the rules compared beside it, and with the
held-out records cut down to fewer leads."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from seecgnet.challenge.classes import ScoredClasses
from seecgnet.challenge.metrics import ChallengeMetric, Scores, challenge_metric, compute_scores
from seecgnet.crossval.folds import CrossValError
from seecgnet.data.limb_leads import completed_presence
from seecgnet.data.signals import lead_presence
from seecgnet.io.reduced_leads import LEAD_SETS_2021
from seecgnet.trained.decision import (
    DecisionRule,
    DecisionSettings,
    TuningRecords,
    decide,
    decision_for,
)
from seecgnet.trained.settings import Settings

# The decision rules compared on the same out-of-fold probabilities.
RULES = ("per_sample", "fixed", "per_class")


@dataclass(frozen=True)
class FoldOutcome:
    """One fold's out-of-fold labels and probabilities, and the thresholds tuned on its inner part.

    ``probabilities`` is (members, records, classes); ``binary`` the first member's written labels;
    ``lead_set_binary`` the first member's written labels for each lead set the records were
    predicted with ("12", "6"...), and ``lead_set_probabilities`` every member's probabilities for
    each, (members, records, classes). With several networks, ``inner_labels`` (records, classes) and
    ``inner_probabilities`` (members, records, classes) are their inner validation records', where
    they share them, and ``inner_lead_set_probabilities`` those records' read with each 2021 lead
    set (what the per_lead_set rule is tuned on; empty for folds made before it).
    """

    fold: int
    names: tuple[str, ...]
    labels: np.ndarray
    probabilities: np.ndarray
    binary: np.ndarray
    thresholds: np.ndarray
    lead_set_binary: dict[str, np.ndarray] = field(default_factory=dict)
    lead_set_probabilities: dict[str, np.ndarray] = field(default_factory=dict)
    inner_labels: np.ndarray | None = None
    inner_probabilities: np.ndarray | None = None
    inner_lead_set_probabilities: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class MethodResult:
    """A method's scores: per fold and pooled, for the model's rule and each compared rule, and
    the challenge metric of the written labels for each lead set."""

    method: str
    fold_scores: list[Scores]  # the files as written (the model's own rule)
    pooled_scores: Scores
    rule_challenge: dict[str, tuple[list[float], float]]  # rule -> (per fold, pooled)
    ensemble_challenge: dict[str, float]  # "single", "mean", "union" -> pooled (members > 1)
    fold_labels: tuple[str, ...] = ()  # each fold's name in the tables
    lead_set_challenge: dict[str, tuple[list[float], float]] = field(default_factory=dict)
    # with several networks per fold, their mean's challenge metric for each lead set (the model's
    # rule), and how many networks each fold has
    lead_set_ensemble: dict[str, tuple[list[float], float]] = field(default_factory=dict)
    members: int = 1
    # the out-of-fold labels and written outputs, (records, classes), fold after fold
    pooled_labels: np.ndarray | None = None
    pooled_binary: np.ndarray | None = None


def decide_by_rule(outcome: FoldOutcome, rule: str, settings: Settings) -> np.ndarray:
    """The first member's labels under one of the compared rules, with the model's values of its
    parameters; the per_class rule with the thresholds tuned on the fold's inner records."""
    decision = settings.decision.with_rule(rule)
    if decision.rule is DecisionRule.PER_CLASS:
        thresholds = tuple(outcome.thresholds.tolist())
        decision = dataclasses.replace(decision, class_thresholds=thresholds)
    return decide(outcome.probabilities[0], decision)


def score_method(
    method: str,
    outcomes: list[FoldOutcome],
    settings: Settings,
    classes: ScoredClasses,
    fold_labels: Sequence[str] | None = None,
) -> MethodResult:
    """Score every fold and the pooled out-of-fold predictions; ``fold_labels`` name the folds
    (by default "fold 1"...)."""
    fold_scores = [
        compute_scores(o.labels, o.probabilities[0], o.binary, classes) for o in outcomes
    ]
    labels = np.concatenate([o.labels for o in outcomes])
    binary = np.concatenate([o.binary for o in outcomes])
    pooled = compute_scores(
        labels, np.concatenate([o.probabilities[0] for o in outcomes]), binary, classes
    )
    rules = {
        rule: _challenge_by_fold(
            outcomes, [decide_by_rule(o, rule, settings) for o in outcomes], classes
        )
        for rule in RULES
    }
    lead_sets = {
        lead_set: _challenge_by_fold(
            outcomes, [o.lead_set_binary[lead_set] for o in outcomes], classes
        )
        for lead_set in outcomes[0].lead_set_binary
    }
    return MethodResult(
        method=method,
        fold_scores=fold_scores,
        pooled_scores=pooled,
        rule_challenge=rules,
        ensemble_challenge=_ensemble_scores(outcomes, labels, settings, classes),
        fold_labels=tuple(fold_labels or (f"fold {o.fold}" for o in outcomes)),
        lead_set_challenge=lead_sets,
        lead_set_ensemble=_lead_set_ensembles(outcomes, settings, classes),
        members=min(o.probabilities.shape[0] for o in outcomes),
        pooled_labels=labels,
        pooled_binary=binary,
    )


def _challenge_by_fold(
    outcomes: list[FoldOutcome], decided: list[np.ndarray], classes: ScoredClasses
) -> tuple[list[float], float]:
    """The challenge metric of each fold's ``decided`` labels, and of all of them pooled."""
    per_fold = [_fold_metric(o.labels, d, classes) for o, d in zip(outcomes, decided, strict=True)]
    labels = np.concatenate([o.labels for o in outcomes])
    return per_fold, challenge_metric(labels, np.concatenate(decided), classes)


def _fold_metric(labels: np.ndarray, decided: np.ndarray, classes: ScoredClasses) -> float:
    """A fold's challenge metric, or NaN where its labels leave the metric undefined (a held-out
    source whose correct labels score as "always sinus rhythm" does): the official scorer's 0.0
    would pull the mean over folds down for a fold that measured nothing, so it is left out."""
    metric = ChallengeMetric(labels, classes)
    return metric(decided) if metric.defined else float("nan")


def _ensemble_scores(
    outcomes: list[FoldOutcome], labels: np.ndarray, settings: Settings, classes: ScoredClasses
) -> dict[str, float]:
    """Pooled challenge metric of one network, and of the mean and the union of the members, under
    the model's rule; empty with one member per fold. Under the per_class rule each combination's
    thresholds are tuned on its own inner validation probabilities."""
    if min(o.probabilities.shape[0] for o in outcomes) < 2:
        return {}
    combiners = {
        "single": lambda p: p[0],
        "mean": _member_mean,
        "union": lambda p: p.max(axis=0),
    }
    scores = {}
    for name, combine in combiners.items():
        decided = [
            decide(
                combine(o.probabilities),
                _fold_decision(o, combine, settings, classes),
                _read_with("12", len(o.names), settings),
            )
            for o in outcomes
        ]
        scores[name] = challenge_metric(labels, np.concatenate(decided), classes)
    return scores


def _lead_set_ensembles(
    outcomes: list[FoldOutcome], settings: Settings, classes: ScoredClasses
) -> dict[str, tuple[list[float], float]]:
    """The challenge metric of the mean of each fold's networks for every lead set, under the
    model's rule (per_class: thresholds tuned on the mean's inner validation probabilities, all 12
    leads); empty with one network per fold."""
    if min(o.probabilities.shape[0] for o in outcomes) < 2:
        return {}
    decisions = [_fold_decision(o, _member_mean, settings, classes) for o in outcomes]
    return {
        lead_set: _challenge_by_fold(
            outcomes,
            [
                decide(
                    _member_mean(o.lead_set_probabilities[lead_set]),
                    decision,
                    _read_with(lead_set, len(o.names), settings),
                )
                for o, decision in zip(outcomes, decisions, strict=True)
            ],
            classes,
        )
        for lead_set in outcomes[0].lead_set_probabilities
    }


def _read_with(lead_set: str, n_records: int, settings: Settings) -> np.ndarray:
    """The leads (n_records, 12) bool records cut down to ``lead_set`` are read with (its leads, and
    the limb leads computed from them where the settings say so): what the per_lead_set rule
    decides by. A record that lacked some of them itself was read with fewer; the combinations
    of networks scored here do not know which, the driver's files (one network's rows) do."""
    present = lead_presence(LEAD_SETS_2021[lead_set])
    if settings.signal.complete_limb_leads:
        present = completed_presence(present)
    return np.broadcast_to(present, (n_records, len(present)))


def _member_mean(probabilities: np.ndarray) -> np.ndarray:
    """The mean of a fold's networks' probabilities, (members, ...) -> (...)."""
    return probabilities.mean(axis=0)


def _fold_decision(
    outcome: FoldOutcome,
    combine: Callable[[np.ndarray], np.ndarray],
    settings: Settings,
    classes: ScoredClasses,
) -> DecisionSettings:
    """The model's decision for one fold's combination of networks, tuned for it on its inner
    validation records where the rule is tuned."""
    decision = decision_for(settings.decision)
    if not decision.tuned_parameters:
        return settings.decision
    lead_sets = outcome.inner_lead_set_probabilities
    if (
        outcome.inner_probabilities is None
        or outcome.inner_labels is None
        or (decision.reads_lead_sets and not lead_sets)
    ):
        raise CrossValError(
            f"fold {outcome.fold}: its networks were not validated on the same inner records "
            "(or with each lead set: a work folder of an earlier version), so their ensembles "
            f"cannot be tuned for the {decision.rule.value} rule: use a new work folder"
        )
    records = TuningRecords(
        outcome.inner_labels,
        combine(outcome.inner_probabilities),
        {s: combine(p) for s, p in lead_sets.items()} if decision.reads_lead_sets else None,
    )
    return decision.tune(records, classes)
