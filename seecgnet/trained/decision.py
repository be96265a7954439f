"""From window probabilities to a record's labels: the one-vote union and the decision rules.

What is computed, in two steps:

1. the record's probability of each class is its largest window probability (``one_vote_union``);
2. the rule turns the record's probabilities into labels: a class is positive when its record
   probability is at least a threshold, which is a constant (``fixed``), the class's own tuned
   value (``per_class``), or, with the paper's ``per_sample`` rule, the record's largest
   probability (over all its classes and so over all its windows) divided by ``divisor``. The
   ``per_lead_set`` rule is the paper's with a divisor for each of the 2021 lead sets, tuned on
   validation records cut down to that set: a record is held against the divisor of the set it
   is read as (``lead_set_of``).

With a fixed or per-class threshold this is the union of the windows' own decisions: a class is
positive exactly when some window alone would say so. With the per_sample rule it is not: each
window would hold its classes against its own largest probability, and the record's threshold is
the largest of any window. For windows [[0.9, 0.1], [0.1, 0.1]] the record's probabilities are
[0.9, 0.1] and its threshold 0.9 / 5 = 0.18, so only the first class is positive, while the second
window on its own (threshold 0.1 / 5 = 0.02) would call both classes positive.

Each rule is a :class:`Decision` registered in ``DECISIONS`` under its :class:`DecisionRule`: it
knows its parameters, tunes them on validation records (:mod:`seecgnet.trained.tuning`), says which
decision validation chooses the epoch by, applies itself, and describes itself. Training,
cross-validation, the report and ``--decision`` all ask it, so a new rule is a new member of
``DecisionRule`` and its class here (with a field of ``DecisionSettings`` for a new parameter).

Shapes: window probabilities are (n_windows, classes); record probabilities are (classes,) or, for
many records at once, (records, classes).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import ClassVar

import numpy as np

from seecgnet.challenge.classes import ScoredClasses
from seecgnet.data.limb_leads import completed_presence
from seecgnet.data.signals import lead_presence
from seecgnet.io.reduced_leads import LEAD_SETS_2021
from seecgnet.trained.tuning import tune_class_thresholds, tune_lead_set_divisors


class DecisionRule(str, Enum):
    """The rules' names, as settings files and ``--decision`` spell them; each rule's behaviour is
    its :class:`Decision` in ``DECISIONS``."""

    PER_SAMPLE = "per_sample"  # the paper's rule: p >= max(p) / divisor
    FIXED = "fixed"  # p >= fixed_threshold
    PER_CLASS = "per_class"  # p >= class_thresholds[c], tuned to maximise the challenge metric
    PER_LEAD_SET = "per_lead_set"  # p >= max(p) / lead_set_divisors[the record's lead set]

    @property
    def tuned(self) -> bool:
        """Whether training tunes the rule's parameters on validation records."""
        return bool(DECISIONS[self].tuned_parameters)


@dataclass(frozen=True)
class DecisionSettings:
    """Which rule turns record probabilities into labels, and its parameters."""

    rule: DecisionRule = DecisionRule.PER_SAMPLE
    divisor: float = 5.0
    fixed_threshold: float = 0.5
    # Set by training when the rule is per_class (tuned on the validation records).
    class_thresholds: tuple[float, ...] | None = None
    # Set by training when the rule is per_lead_set: a 2021 lead set's name ("12", "6", ...) -> its
    # divisor, tuned on the validation records cut down to that set.
    lead_set_divisors: dict[str, float] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "rule", DecisionRule(self.rule))
        if self.divisor < 1:
            raise ValueError(f"divisor must be at least 1, got {self.divisor}")
        if self.class_thresholds is not None:
            object.__setattr__(self, "class_thresholds", tuple(map(float, self.class_thresholds)))
        if self.lead_set_divisors is not None:
            object.__setattr__(self, "lead_set_divisors", _checked_divisors(self.lead_set_divisors))

    def with_rule(self, rule: DecisionRule | str) -> DecisionSettings:
        """These settings deciding by ``rule``: the other values kept, except the parameters tuned
        for another rule, which do not belong to this one."""
        rule = DecisionRule(rule)
        if rule is self.rule:
            return self
        dropped = {name: None for name in DECISIONS[self.rule].tuned_parameters}
        return dataclasses.replace(self, rule=rule, **dropped)


def _checked_divisors(divisors: Mapping[str, float]) -> dict[str, float]:
    """The lead-set divisors as a new dict of floats; ValueError naming what is wrong."""
    unknown = sorted(set(divisors) - set(LEAD_SETS_2021))
    if unknown or not divisors:
        raise ValueError(
            f"lead_set_divisors must name some of the lead sets {list(LEAD_SETS_2021)}, "
            f"got {sorted(divisors)}"
        )
    checked = {str(name): float(value) for name, value in divisors.items()}
    low = {name: value for name, value in checked.items() if not value >= 1}
    if low:
        raise ValueError(f"lead-set divisors must be at least 1, got {low}")
    return checked


def lead_set_of(present: np.ndarray, names: Sequence[str]) -> str:
    """Which of the lead sets ``names`` (keys of LEAD_SETS_2021) a record read with leads
    ``present`` (12,) bool is decided as.

    Of the sets whose leads the record all has, the one that covers most of its leads once its
    limb leads are computed (as a network that computes them reads a record of that set: so a
    record of I, II and V2, completed to the six limb leads and V2, is the 3- or 4-lead set, not
    the 6-lead one), the larger set among equals; a record holding none of them, the smallest set.
    """
    if not names:
        raise ValueError("no lead sets to choose from")
    present = np.asarray(present, dtype=bool)
    by_size = sorted(names, key=lambda name: len(LEAD_SETS_2021[name]))
    best, best_key = by_size[0], (-1, -1)
    for name in by_size:
        leads = lead_presence(LEAD_SETS_2021[name])
        if not present[leads].all():
            continue
        key = (int((completed_presence(leads) & present).sum()), int(leads.sum()))
        if key > best_key:
            best, best_key = name, key
    return best


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


def decide(
    probabilities: np.ndarray, settings: DecisionSettings, present: np.ndarray | None = None
) -> np.ndarray:
    """Boolean labels for (classes,) or (records, classes) probabilities under the chosen rule;
    ``present``, (12,) or (records, 12) bool, the leads each record was read with (after any
    computed limb leads), is needed by the per_lead_set rule alone."""
    return probabilities >= decision_thresholds(probabilities, settings, present)


def decision_thresholds(
    probabilities: np.ndarray, settings: DecisionSettings, present: np.ndarray | None = None
) -> np.ndarray:
    """The threshold each probability is held against, shaped as ``probabilities``: a class is
    positive when its probability is at least its threshold (see each rule's Decision)."""
    return decision_for(settings).thresholds(probabilities, present)


@dataclass(frozen=True)
class TuningRecords:
    """Validation records a rule's parameters are tuned on: their labels (records, classes) bool,
    their probabilities (records, classes) read with all their leads, and for a rule that
    ``reads_lead_sets`` each 2021 lead set's name -> their probabilities read with only that set's
    leads (:func:`seecgnet.inference.prediction.lead_set_probabilities`)."""

    labels: np.ndarray
    probabilities: np.ndarray | None = None
    by_lead_set: Mapping[str, np.ndarray] | None = None


class Decision:
    """A decision rule with its parameters (``settings``): what it says, whether and how training
    tunes it, how validation scores an epoch with it, and the threshold of each probability.

    One subclass per :class:`DecisionRule`, registered in ``DECISIONS``; everything that tunes,
    applies or describes a rule (training, cross-validation, the report, ``--decision``) asks it.
    """

    rule: ClassVar[DecisionRule]
    summary: ClassVar[str]  # what the rule does, for --decision's help
    # The DecisionSettings fields training sets by tuning (none: the rule is used as it is).
    tuned_parameters: ClassVar[tuple[str, ...]] = ()
    # Whether tuning needs the records read with each 2021 lead set (TuningRecords.by_lead_set).
    reads_lead_sets: ClassVar[bool] = False

    def __init__(self, settings: DecisionSettings) -> None:
        if settings.rule is not self.rule:
            raise ValueError(f"{type(self).__name__} decides by {self.rule.value}, not {settings}")
        self.settings = settings

    @property
    def is_tuned(self) -> bool:
        """Whether its tuned parameters are set (a rule that is not tuned always is)."""
        return all(getattr(self.settings, name) for name in self.tuned_parameters)

    def tune(self, records: TuningRecords, classes: ScoredClasses) -> DecisionSettings:
        """The settings with the parameters that maximise the challenge metric on ``records``."""
        return self.settings

    def for_validation(
        self, labels: np.ndarray, probabilities: np.ndarray, classes: ScoredClasses
    ) -> DecisionSettings:
        """The decision validation scores an epoch with, given the validation records' labels and
        12-lead probabilities (records, classes): by default the rule as it is."""
        return self.settings

    def thresholds(self, probabilities: np.ndarray, present: np.ndarray | None) -> np.ndarray:
        """The threshold of each of ``probabilities`` (classes,) or (records, classes), for
        records read with leads ``present`` (12,) or (records, 12) bool (see ``decide``)."""
        raise NotImplementedError

    def describe(self) -> str:
        """The rule in words with its values, as the report prints it."""
        raise NotImplementedError


DECISIONS: dict[DecisionRule, type[Decision]] = {}


def registered(cls: type[Decision]) -> type[Decision]:
    """Register a Decision as its rule's, in ``DECISIONS``."""
    DECISIONS[cls.rule] = cls
    return cls


def decision_for(settings: DecisionSettings) -> Decision:
    """The Decision of the settings' rule, with their parameters."""
    return DECISIONS[settings.rule](settings)


def _largest_over(probabilities: np.ndarray, divisor: float | np.ndarray) -> np.ndarray:
    """Each record's largest probability divided by ``divisor``, shaped as ``probabilities``."""
    top = probabilities.max(axis=-1, keepdims=True)
    return np.broadcast_to(top / divisor, probabilities.shape)


@registered
class PerSample(Decision):
    """The paper's rule: p >= the record's largest p / divisor."""

    rule = DecisionRule.PER_SAMPLE
    summary = "the paper's per-sample max/divisor (default)"

    def thresholds(self, probabilities: np.ndarray, present: np.ndarray | None) -> np.ndarray:
        return _largest_over(probabilities, self.settings.divisor)

    def describe(self) -> str:
        return f"positive when p ≥ (the record's largest p) / {self.settings.divisor:g}"


@registered
class Fixed(Decision):
    """p >= one fixed threshold for every class."""

    rule = DecisionRule.FIXED
    summary = "a fixed threshold (0.5 unless a settings file says otherwise)"

    def thresholds(self, probabilities: np.ndarray, present: np.ndarray | None) -> np.ndarray:
        return np.full_like(probabilities, self.settings.fixed_threshold)

    def describe(self) -> str:
        return f"positive when p ≥ {self.settings.fixed_threshold:g}"


@registered
class PerClass(Decision):
    """p >= the class's own threshold, tuned for the challenge metric on validation records."""

    rule = DecisionRule.PER_CLASS
    summary = "per-class thresholds tuned on the validation records"
    tuned_parameters = ("class_thresholds",)

    def tune(self, records: TuningRecords, classes: ScoredClasses) -> DecisionSettings:
        if records.probabilities is None:
            raise ValueError("the per_class rule is tuned on the records' probabilities")
        thresholds = tune_class_thresholds(records.labels, records.probabilities, classes)
        return dataclasses.replace(self.settings, class_thresholds=tuple(thresholds.tolist()))

    def for_validation(
        self, labels: np.ndarray, probabilities: np.ndarray, classes: ScoredClasses
    ) -> DecisionSettings:
        """Thresholds tuned on these very records, as training tunes them for the model it saves.

        Tuned and scored on the same records, the score is optimistic; it serves to choose the
        epoch whose probabilities tune best, not to estimate the score on new records.
        """
        return self.tune(TuningRecords(labels, probabilities), classes)

    def thresholds(self, probabilities: np.ndarray, present: np.ndarray | None) -> np.ndarray:
        if self.settings.class_thresholds is None:
            raise ValueError("the per_class rule has no class thresholds: training tunes them")
        thresholds = np.asarray(self.settings.class_thresholds, dtype=probabilities.dtype)
        if thresholds.shape[-1] != probabilities.shape[-1]:
            raise ValueError(
                f"{thresholds.shape[-1]} class thresholds for {probabilities.shape[-1]} classes"
            )
        return np.broadcast_to(thresholds, probabilities.shape)

    def describe(self) -> str:
        return "positive when p ≥ the class's threshold, tuned on validation records"


@registered
class PerLeadSet(Decision):
    """The paper's rule with a divisor for each 2021 lead set, tuned on validation records cut
    down to that set; a record is held against the divisor of the set it is read as."""

    rule = DecisionRule.PER_LEAD_SET
    summary = (
        "max/divisor with a divisor for each 2021 lead set tuned on the validation records cut "
        "down to it"
    )
    tuned_parameters = ("lead_set_divisors",)
    reads_lead_sets = True

    def tune(self, records: TuningRecords, classes: ScoredClasses) -> DecisionSettings:
        if records.by_lead_set is None:
            raise ValueError(
                "the per_lead_set rule is tuned on the records read with each lead set"
            )
        divisors = tune_lead_set_divisors(records.labels, dict(records.by_lead_set), classes)
        return dataclasses.replace(self.settings, lead_set_divisors=divisors)

    def for_validation(
        self, labels: np.ndarray, probabilities: np.ndarray, classes: ScoredClasses
    ) -> DecisionSettings:
        """The paper's per_sample rule: validation reads all 12 leads, and the epoch is chosen by
        the paper's rule."""
        return dataclasses.replace(self.settings, rule=DecisionRule.PER_SAMPLE)

    def thresholds(self, probabilities: np.ndarray, present: np.ndarray | None) -> np.ndarray:
        divisors = record_divisors(self.settings, present).astype(probabilities.dtype)
        return _largest_over(probabilities, divisors)

    def describe(self) -> str:
        divisors = ", ".join(
            f"{name} leads {value:g}"
            for name, value in (self.settings.lead_set_divisors or {}).items()
        )
        return f"positive when p ≥ (the record's largest p) / its lead set's divisor ({divisors})"


def record_divisors(settings: DecisionSettings, present: np.ndarray | None) -> np.ndarray:
    """The per_lead_set rule's divisor of each record read with leads ``present``, (12,) or
    (records, 12) bool: shaped () or (records, 1)."""
    if settings.lead_set_divisors is None:
        raise ValueError("the per_lead_set rule has no lead-set divisors: training tunes them")
    if present is None:
        raise ValueError("the per_lead_set rule needs the leads each record was read with")
    present = np.asarray(present, dtype=bool)
    names = list(settings.lead_set_divisors)
    rows = present.reshape(-1, present.shape[-1])
    divisors = [settings.lead_set_divisors[lead_set_of(row, names)] for row in rows]
    return np.asarray(divisors).reshape(present.shape[:-1] + (1,) * (present.ndim - 1))
