import numpy as np
import pytest

from seecgnet.challenge.classes import load_scored_classes
from seecgnet.challenge.metrics import ChallengeMetric, challenge_metric
from seecgnet.inference.thresholds import (
    DEFAULT_CANDIDATES,
    best_shared_threshold,
    tune_class_thresholds,
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


def test_tuning_beats_every_shared_threshold():
    labels, probabilities, _ = _separable_case(seed=1)
    tuned = challenge_metric(
        labels, probabilities >= tune_class_thresholds(labels, probabilities, CLASSES), CLASSES
    )
    for shared in (0.2, 0.5, 0.8):
        assert tuned >= challenge_metric(labels, probabilities >= shared, CLASSES)


def test_a_class_the_data_says_nothing_about_keeps_the_shared_start():
    labels, probabilities, _ = _separable_case(seed=2)
    probabilities[:, 5] = 0.0  # class 5 never fires at any candidate and is never labelled
    labels[:, 5] = False
    thresholds = tune_class_thresholds(labels, probabilities, CLASSES)
    start = best_shared_threshold(ChallengeMetric(labels, CLASSES), probabilities)
    assert thresholds[5] == start
    # the search did move the others: class 5 stays put because no candidate scores better
    assert np.any(np.delete(thresholds, 5) != start)


def test_the_shared_start_is_the_candidate_scoring_best_for_every_class_at_once():
    labels, probabilities, _ = _separable_case(seed=3)
    metric = ChallengeMetric(labels, CLASSES)
    start = best_shared_threshold(metric, probabilities)
    best = max(metric(probabilities >= t) for t in DEFAULT_CANDIDATES)
    assert start in DEFAULT_CANDIDATES and metric(probabilities >= start) == best


def test_tuning_refuses_mismatched_or_empty_input():
    with pytest.raises(ValueError, match="differ"):
        tune_class_thresholds(np.zeros((3, 24), bool), np.zeros((4, 24)), CLASSES)
    with pytest.raises(ValueError, match="no records"):
        tune_class_thresholds(np.zeros((0, 24), bool), np.zeros((0, 24)), CLASSES)
