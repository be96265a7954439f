import itertools

import numpy as np
import pytest

from seecgnet.challenge.classes import load_scored_classes
from seecgnet.challenge.metrics import ChallengeMetric, challenge_metric
from seecgnet.trained.tuning import (
    DIVISOR_CANDIDATES,
    best_shared_threshold,
    tune_class_thresholds,
    tune_lead_set_divisors,
)

CLASSES = load_scored_classes()


def _separable_case(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Probabilities where class c is present exactly when its probability exceeds a known cut."""
    rng = np.random.default_rng(seed)
    n_records = 200
    cuts = rng.choice([0.2, 0.4, 0.6, 0.8], size=len(CLASSES))
    probabilities = rng.random((n_records, len(CLASSES)))
    # keep every probability at least 0.03 away from its cut so that any threshold inside the gap
    # separates the classes perfectly
    probabilities = np.where(np.abs(probabilities - cuts) < 0.03, cuts + 0.05, probabilities)
    labels = probabilities > cuts
    return labels, probabilities, cuts


def test_tuned_thresholds_recover_known_cuts_and_score_perfectly():
    labels, probabilities, cuts = _separable_case(seed=0)
    thresholds = tune_class_thresholds(labels, probabilities, CLASSES)
    assert challenge_metric(labels, probabilities >= thresholds, CLASSES) == pytest.approx(1.0)
    # every tuned threshold lies in its class's gap: above every negative, at most every positive
    highest_negative = np.where(labels, -np.inf, probabilities).max(axis=0)
    lowest_positive = np.where(labels, probabilities, np.inf).min(axis=0)
    assert np.all(highest_negative < thresholds)
    assert np.all(thresholds <= lowest_positive)
    assert np.all(np.abs(thresholds - cuts) < 0.1)


@pytest.mark.parametrize("seed", range(8))
def test_tuning_finds_the_best_thresholds_an_exhaustive_search_finds(seed):
    """Three classes carry labels; every combination of their thresholds on a small grid is
    scored, and the tuned thresholds must score as well as the best of them."""
    rng = np.random.default_rng(seed)
    n_records, active = 30, rng.choice(len(CLASSES), 3, replace=False)
    labels = np.zeros((n_records, len(CLASSES)), dtype=bool)
    probabilities = np.zeros((n_records, len(CLASSES)))
    labels[:, active] = rng.random((n_records, 3)) < 0.4
    probabilities[:, active] = labels[:, active] * 0.3 + rng.random((n_records, 3)) * 0.7
    candidates = np.array([0.1, 0.3, 0.5, 0.7, 0.9])
    tuned = tune_class_thresholds(labels, probabilities, CLASSES, candidates=candidates)
    metric = ChallengeMetric(labels, CLASSES)
    best = -np.inf
    for combination in itertools.product(candidates, repeat=3):
        thresholds = np.full(len(CLASSES), 0.5)  # the other classes never fire above 0
        thresholds[active] = combination
        best = max(best, metric(probabilities >= thresholds))
    assert metric(probabilities >= tuned) == pytest.approx(best, abs=1e-12)
    assert set(tuned) <= set(candidates)


def test_a_class_the_data_says_nothing_about_keeps_the_shared_start():
    labels, probabilities, _ = _separable_case(seed=2)
    probabilities[:, 5] = 0.0  # class 5 never fires at any candidate and is never labelled
    labels[:, 5] = False
    thresholds = tune_class_thresholds(labels, probabilities, CLASSES)
    start = best_shared_threshold(ChallengeMetric(labels, CLASSES), probabilities)
    assert thresholds[5] == start
    # the search did move the others: class 5 stays put because no candidate scores better
    assert np.any(np.delete(thresholds, 5) != start)


def test_the_shared_start_is_the_first_candidate_of_the_best_plateau():
    """Worked by hand: atrial fibrillation at 0.5 to 0.9 in its five records and 0.1 to 0.3 in five
    sinus-rhythm records, so every threshold above 0.30 and at most 0.50 separates them perfectly
    (challenge metric 1) and none outside does; the first such candidate, 0.32, is the start, and
    since it already scores 1 every class keeps it."""
    af, sinus = CLASSES.index_of("164889003"), CLASSES.normal_index
    labels = np.zeros((10, len(CLASSES)), dtype=bool)
    probabilities = np.zeros((10, len(CLASSES)))
    labels[:5, af] = True
    labels[5:, sinus] = True
    probabilities[:5, af] = [0.5, 0.6, 0.7, 0.8, 0.9]
    probabilities[5:, af] = [0.1, 0.15, 0.2, 0.25, 0.3]
    probabilities[5:, sinus] = 0.95
    metric = ChallengeMetric(labels, CLASSES)
    assert best_shared_threshold(metric, probabilities) == 0.32
    assert metric(probabilities >= 0.32) == 1.0 > metric(probabilities >= 0.30)
    assert metric(probabilities >= 0.50) == 1.0 > metric(probabilities >= 0.52)
    np.testing.assert_array_equal(tune_class_thresholds(labels, probabilities, CLASSES), 0.32)


def test_tuning_refuses_mismatched_or_empty_input():
    with pytest.raises(ValueError, match="differ"):
        tune_class_thresholds(np.zeros((3, 24), bool), np.zeros((4, 24)), CLASSES)
    with pytest.raises(ValueError, match="no records"):
        tune_class_thresholds(np.zeros((0, 24), bool), np.zeros((0, 24)), CLASSES)


def test_each_lead_sets_divisor_is_the_candidate_that_scores_best_on_its_own_probabilities():
    rng = np.random.default_rng(3)
    labels = rng.random((40, len(CLASSES.codes))) < 0.1
    labels[np.arange(40), rng.integers(0, len(CLASSES.codes), 40)] = True
    sharp = np.where(labels, 0.9, 0.05) + rng.random(labels.shape) * 0.04  # max/2 separates
    flat = np.where(labels, 0.5, 0.2) + rng.random(labels.shape) * 0.2  # only a low divisor does
    divisors = tune_lead_set_divisors(labels, {"12": sharp, "2": flat}, CLASSES)
    metric = ChallengeMetric(labels, CLASSES)
    for name, p in (("12", sharp), ("2", flat)):
        scores = {d: metric(p >= p.max(axis=1, keepdims=True) / d) for d in DIVISOR_CANDIDATES}
        assert scores[divisors[name]] == max(scores.values())
        # among equally good divisors, the one nearest the paper's 5
        best = [d for d, v in scores.items() if v == max(scores.values())]
        assert divisors[name] == min(best, key=lambda d: abs(np.log(d / 5)))
    assert divisors["2"] < divisors["12"]


def test_divisor_tuning_refuses_mismatched_or_empty_input():
    labels = np.zeros((3, len(CLASSES.codes)), dtype=bool)
    with pytest.raises(ValueError, match="lead set 2"):
        tune_lead_set_divisors(labels, {"2": np.zeros((2, len(CLASSES.codes)))}, CLASSES)
    with pytest.raises(ValueError, match="no records"):
        tune_lead_set_divisors(labels[:0], {"2": np.zeros((0, len(CLASSES.codes)))}, CLASSES)
