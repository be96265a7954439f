import numpy as np
import pytest
from torch import nn

from seecgnet.challenge.classes import load_scored_classes
from seecgnet.data.limb_leads import completed_presence
from seecgnet.data.signals import AgeStatistics, SignalSettings, lead_presence
from seecgnet.inference.prediction import Predictor
from seecgnet.io.reduced_leads import LEAD_SETS_2021
from seecgnet.trained.decision import (
    DECISIONS,
    DecisionRule,
    DecisionSettings,
    TuningRecords,
    decide,
    decision_for,
    decision_thresholds,
    lead_set_of,
    one_vote_union,
    per_sample_threshold,
)
from seecgnet.trained.tuning import tune_class_thresholds, tune_lead_set_divisors


def test_union_vote_keeps_a_class_seen_in_one_window():
    windows = np.array(
        [
            [0.9, 0.1, 0.0],
            [0.8, 0.2, 0.7],  # only this window sees the third class
            [0.7, 0.1, 0.1],
        ]
    )
    record = one_vote_union(windows)
    np.testing.assert_allclose(record, [0.9, 0.2, 0.7])
    assert decide(record, DecisionSettings(rule="fixed"))[2]


def test_union_of_thresholded_windows_equals_threshold_of_the_union():
    rng = np.random.default_rng(3)
    windows = rng.random((6, 24))
    for threshold in (0.2, 0.5, 0.8):
        union_of_labels = (windows >= threshold).any(axis=0)
        assert np.array_equal(one_vote_union(windows) >= threshold, union_of_labels)


def test_the_per_sample_rule_thresholds_the_records_union_not_each_window():
    windows = np.array([[0.9, 0.1], [0.1, 0.1]])  # (windows, classes)
    paper = DecisionSettings(rule="per_sample")
    # what the driver computes: the record's probabilities [0.9, 0.1] against 0.9 / 5 = 0.18
    assert decide(one_vote_union(windows), paper).tolist() == [True, False]
    # the union of each window's own decision would differ: the second window alone (0.1 / 5)
    # calls both classes positive
    assert decide(windows, paper).any(axis=0).tolist() == [True, True]
    # the predictor takes the union of the windows first, then decides
    predictor = Predictor(
        [nn.Identity()], load_scored_classes(), SignalSettings(), paper, AgeStatistics()
    )
    record = predictor.union_of_windows(windows[np.newaxis])  # (members, windows, classes)
    assert decide(record, predictor.decision).tolist() == [True, False]


@pytest.mark.parametrize(
    "settings",
    [
        DecisionSettings(rule="fixed", fixed_threshold=0.1),
        DecisionSettings(rule="per_class", class_thresholds=(0.5, 0.1)),
    ],
)
def test_a_threshold_that_does_not_depend_on_the_window_makes_it_a_union_of_windows(settings):
    windows = np.array([[0.9, 0.1], [0.1, 0.1], [0.3, 0.05]])
    record = decide(one_vote_union(windows), settings)
    assert record.tolist() == decide(windows, settings).any(axis=0).tolist() == [True, True]


def test_union_rejects_no_windows():
    with pytest.raises(ValueError, match="n_windows"):
        one_vote_union(np.zeros((0, 24)))


def test_per_sample_threshold_keeps_classes_within_a_fifth_of_the_top():
    # top 0.9 -> threshold 0.18: 0.18 is kept (at least), 0.17 is not
    probabilities = np.array([0.9, 0.18, 0.17, 0.5, 0.01])
    assert per_sample_threshold(probabilities, 5.0).tolist() == [True, True, False, True, False]


def test_per_sample_threshold_always_keeps_the_top_class_even_when_low():
    probabilities = np.array([[0.05, 0.02, 0.009], [0.3, 0.2, 0.1]])
    labels = per_sample_threshold(probabilities, 5.0)
    assert labels.tolist() == [[True, True, False], [True, True, True]]


def test_fixed_rule_uses_half_by_default():
    probabilities = np.array([0.5, 0.49, 0.99])
    assert decide(probabilities, DecisionSettings(rule=DecisionRule.FIXED)).tolist() == [
        True,
        False,
        True,
    ]


def test_per_class_rule_compares_each_class_with_its_own_threshold():
    settings = DecisionSettings(rule="per_class", class_thresholds=(0.1, 0.6, 0.3))
    probabilities = np.array([[0.2, 0.5, 0.3], [0.05, 0.7, 0.29]])
    assert decide(probabilities, settings).tolist() == [[True, False, True], [False, True, False]]


def test_per_class_rule_needs_thresholds_for_every_class():
    with pytest.raises(ValueError, match="no class thresholds"):
        decide(np.zeros(3), DecisionSettings(rule="per_class"))
    settings = DecisionSettings(rule="per_class", class_thresholds=(0.5, 0.5))
    with pytest.raises(ValueError, match="2 class thresholds for 3 classes"):
        decide(np.zeros(3), settings)


@pytest.mark.parametrize(
    "settings",
    [
        DecisionSettings(),
        DecisionSettings(rule="fixed", fixed_threshold=0.3),
        DecisionSettings(rule="per_class", class_thresholds=(0.2, 0.5, 0.7)),
        DecisionSettings(rule="per_lead_set", lead_set_divisors={"12": 3, "2": 1.5}),
    ],
    ids=["per_sample", "fixed", "per_class", "per_lead_set"],
)
def test_each_label_is_its_probability_against_the_threshold_the_rule_reports(settings):
    probabilities = np.array([[0.9, 0.15, 0.69], [0.1, 0.5, 0.02]], dtype=np.float32)
    # the first record read with all 12 leads, the second with I and II alone
    present = np.stack([np.ones(12, dtype=bool), lead_presence(("I", "II"))])
    thresholds = decision_thresholds(probabilities, settings, present)
    assert thresholds.shape == probabilities.shape
    np.testing.assert_array_equal(
        decide(probabilities, settings, present), probabilities >= thresholds
    )
    expected = {
        "per_sample": [[0.18] * 3, [0.1] * 3],
        "fixed": [[0.3] * 3] * 2,
        "per_class": [[0.2, 0.5, 0.7]] * 2,
        "per_lead_set": [[0.3] * 3, [0.5 / 1.5] * 3],
    }[settings.rule.value]
    np.testing.assert_allclose(thresholds, expected, rtol=1e-6)


ALL_SETS = list(LEAD_SETS_2021)


@pytest.mark.parametrize(
    ("leads", "computed", "expected"),
    [
        (LEAD_SETS_2021["12"], False, "12"),
        (("I", "II"), False, "2"),
        (("I", "II"), True, "6"),  # the six limb leads, as the 2- and 6-lead sets are read alike
        (("I", "II", "V2"), False, "3"),
        (("I", "II", "V2"), True, "4"),  # limb leads and V2: not the 6-lead set
        (LEAD_SETS_2021["6"] + ("V1", "V5"), False, "6"),
        (("V1", "V2"), False, "2"),  # none of the sets: the smallest
    ],
)
def test_a_record_is_decided_as_the_lead_set_that_covers_most_of_its_leads(
    leads, computed, expected
):
    present = lead_presence(leads)
    present = completed_presence(present) if computed else present
    assert lead_set_of(present, ALL_SETS) == expected
    assert lead_set_of(present, ["12"]) == "12"  # one set tuned: every record is decided by it


def test_the_per_lead_set_rule_holds_each_record_against_its_sets_divisor():
    settings = DecisionSettings(rule="per_lead_set", lead_set_divisors={"12": 5, "6": 2, "4": 3})
    probabilities = np.array([0.8, 0.3, 0.2, 0.1])
    limb = completed_presence(lead_presence(("I", "II")))
    with_v2 = completed_presence(lead_presence(("I", "II", "V2")))
    assert decide(probabilities, settings, np.ones(12, bool)).tolist() == [1, 1, 1, 0]  # 0.16
    assert decide(probabilities, settings, limb).tolist() == [1, 0, 0, 0]  # 0.4
    assert decide(probabilities, settings, with_v2).tolist() == [1, 1, 0, 0]  # 0.8 / 3
    # as a stack of records, each with its own leads
    stacked = decide(np.tile(probabilities, (3, 1)), settings, np.stack([limb, with_v2, limb]))
    assert stacked.sum(axis=1).tolist() == [1, 2, 1]


def test_the_per_lead_set_rule_needs_its_divisors_and_the_records_leads():
    with pytest.raises(ValueError, match="no lead-set divisors"):
        decide(np.ones(3), DecisionSettings(rule="per_lead_set"), np.ones(12, bool))
    settings = DecisionSettings(rule="per_lead_set", lead_set_divisors={"12": 5})
    with pytest.raises(ValueError, match="needs the leads each record was read with"):
        decide(np.ones(3), settings)
    with pytest.raises(ValueError, match="some of the lead sets"):
        DecisionSettings(rule="per_lead_set", lead_set_divisors={"5": 2.0})
    with pytest.raises(ValueError, match="at least 1"):
        DecisionSettings(rule="per_lead_set", lead_set_divisors={"2": 0.5})


def test_every_rule_has_its_decision_registered():
    assert list(DECISIONS) == list(DecisionRule)
    for rule, decision in DECISIONS.items():
        assert decision.rule is rule
        assert isinstance(decision_for(DecisionSettings(rule=rule)), decision)
    tuned = {rule for rule in DecisionRule if rule.tuned}
    assert tuned == {DecisionRule.PER_CLASS, DecisionRule.PER_LEAD_SET}


def _tuning_records(seed: int = 0) -> tuple[TuningRecords, object]:
    classes = load_scored_classes()
    rng = np.random.default_rng(seed)
    labels = rng.random((40, len(classes.codes))) < 0.2
    probabilities = np.clip(labels * 0.6 + rng.random(labels.shape) * 0.5, 0, 1)
    by_lead_set = {name: probabilities * (0.5 + 0.1 * k) for k, name in enumerate(LEAD_SETS_2021)}
    return TuningRecords(labels, probabilities, by_lead_set), classes


def test_a_tuned_rule_tunes_only_its_own_parameters_and_is_then_tuned():
    records, classes = _tuning_records()
    for rule, decision in DECISIONS.items():
        untuned = decision_for(DecisionSettings(rule=rule, divisor=4.0))
        assert untuned.is_tuned == (not decision.tuned_parameters)
        tuned = untuned.tune(records, classes)
        assert decision_for(tuned).is_tuned
        changed = {
            name
            for name in ("divisor", "fixed_threshold", "class_thresholds", "lead_set_divisors")
            if getattr(tuned, name) != getattr(untuned.settings, name)
        }
        assert changed == set(decision.tuned_parameters)


def test_the_per_class_rule_tunes_what_the_threshold_search_finds():
    records, classes = _tuning_records(1)
    tuned = decision_for(DecisionSettings(rule=DecisionRule.PER_CLASS)).tune(records, classes)
    expected = tune_class_thresholds(records.labels, records.probabilities, classes)
    assert tuned.class_thresholds == tuple(expected.tolist())


def test_the_per_lead_set_rule_tunes_a_divisor_per_lead_set_on_its_own_probabilities():
    records, classes = _tuning_records(2)
    tuned = decision_for(DecisionSettings(rule=DecisionRule.PER_LEAD_SET)).tune(records, classes)
    assert tuned.lead_set_divisors == tune_lead_set_divisors(
        records.labels, dict(records.by_lead_set), classes
    )
    with pytest.raises(ValueError, match="each lead set"):
        decision_for(tuned).tune(TuningRecords(records.labels, records.probabilities), classes)


def test_validation_chooses_the_epoch_by_each_rules_own_decision():
    records, classes = _tuning_records(3)
    labels, probabilities = records.labels, records.probabilities
    base = DecisionSettings(divisor=4.0)
    for rule in (DecisionRule.PER_SAMPLE, DecisionRule.FIXED):
        settings = base.with_rule(rule)
        assert decision_for(settings).for_validation(labels, probabilities, classes) == settings
    per_class = decision_for(base.with_rule(DecisionRule.PER_CLASS))
    chosen = per_class.for_validation(labels, probabilities, classes)
    assert chosen == per_class.tune(TuningRecords(labels, probabilities), classes)
    per_lead_set = decision_for(base.with_rule(DecisionRule.PER_LEAD_SET))
    assert per_lead_set.for_validation(labels, probabilities, classes) == base


def test_each_rule_describes_itself_with_its_values():
    divisors = {"12": 5.0, "2": 2.5}
    described = {
        rule: decision_for(
            DecisionSettings(
                rule=rule,
                divisor=4.0,
                fixed_threshold=0.25,
                class_thresholds=(0.3,) * 24,
                lead_set_divisors=divisors,
            )
        ).describe()
        for rule in DecisionRule
    }
    assert "/ 4" in described[DecisionRule.PER_SAMPLE]
    assert "0.25" in described[DecisionRule.FIXED]
    assert "class's threshold" in described[DecisionRule.PER_CLASS]
    assert "12 leads 5, 2 leads 2.5" in described[DecisionRule.PER_LEAD_SET]
