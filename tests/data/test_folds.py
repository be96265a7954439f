import numpy as np
import pytest

from seecgnet.challenge.sources import UnknownSourceError
from seecgnet.data.folds import iterative_stratification, leave_one_source_out, validation_split


def _random_labels(n_records: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rates = np.array([0.4, 0.2, 0.1, 0.05, 0.03, 0.02])
    return rng.random((n_records, len(rates))) < rates


def test_every_record_is_in_exactly_one_fold():
    labels = _random_labels(301, seed=1)
    folds = iterative_stratification(labels, 5, seed=0)
    assert folds.shape == (301,)
    assert set(folds.tolist()) == {0, 1, 2, 3, 4}
    sizes = np.bincount(folds)
    assert sizes.max() - sizes.min() <= 2


def test_each_class_is_spread_across_folds_in_proportion():
    labels = _random_labels(500, seed=2)
    folds = iterative_stratification(labels, 5, seed=0)
    for c in range(labels.shape[1]):
        per_fold = np.array([labels[folds == k, c].sum() for k in range(5)])
        # iterative stratification deals each class out evenly: within one record of its share
        assert per_fold.max() - per_fold.min() <= 1, (c, per_fold)


def test_rare_class_with_as_many_records_as_folds_lands_once_per_fold():
    labels = np.zeros((50, 2), dtype=bool)
    labels[:5, 1] = True
    labels[10:40, 0] = True
    folds = iterative_stratification(labels, 5, seed=4)
    assert sorted(folds[:5].tolist()) == [0, 1, 2, 3, 4]


def test_folds_are_deterministic_for_a_seed_and_differ_between_seeds():
    labels = _random_labels(200, seed=3)
    first = iterative_stratification(labels, 5, seed=7)
    assert np.array_equal(first, iterative_stratification(labels, 5, seed=7))
    assert not np.array_equal(first, iterative_stratification(labels, 5, seed=8))


def test_too_few_records_for_the_folds_is_an_error():
    with pytest.raises(ValueError, match="3 records cannot fill 5 folds"):
        iterative_stratification(np.ones((3, 2), dtype=bool), 5)


def test_validation_split_holds_out_about_the_fraction_and_covers_every_record():
    labels = _random_labels(100, seed=5)
    train, validation = validation_split(labels, 0.2, seed=0)
    assert 18 <= len(validation) <= 22
    assert sorted(np.concatenate([train, validation]).tolist()) == list(range(100))


def test_validation_split_of_zero_keeps_every_record_for_training():
    train, validation = validation_split(_random_labels(10, seed=6), 0.0)
    assert len(train) == 10 and len(validation) == 0


def test_leave_one_source_out_makes_one_fold_per_source_in_the_challenges_order():
    names = ["JS00002", "A0001", "HR00001", "S0001", "A0002", "JS00001", "HR00002"]
    folds, sources = leave_one_source_out(names)
    assert sources == ("A", "S", "HR", "JS")
    np.testing.assert_array_equal(folds, [3, 0, 2, 1, 0, 3, 2])


def test_leave_one_source_out_refuses_one_source_and_unknown_ones():
    with pytest.raises(ValueError, match="at least two sources; all 2 are CPSC"):
        leave_one_source_out(["A0001", "A0002"])
    with pytest.raises(UnknownSourceError, match="prefix 'SYN'"):
        leave_one_source_out(["A0001", "SYN00001"])
