"""The intra- and inter-patient splits of the MIT-BIH beats."""

from __future__ import annotations

import numpy as np
import pytest

from seecgnet.mitbih.beats import AAMI_CLASSES, Beats, find_records
from seecgnet.mitbih.splits import (
    DS1,
    DS2,
    PACED,
    Split,
    SplitError,
    inter_patient_split,
    intra_patient_split,
    protocol_records,
)
from tests.paths import MITDB

MITDB = MITDB


def fake_beats(records: list[str], per_record: int, seed: int = 0) -> Beats:
    """Beats without signals: random labels, N mostly, every record with some S and V."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(5, size=len(records) * per_record, p=[0.8, 0.08, 0.08, 0.03, 0.01])
    n = len(labels)
    return Beats(
        records=tuple(records),
        windows=np.zeros((n, 2, 4), dtype=np.float32),
        rr=np.zeros((n, 8), dtype=np.float32),
        labels=labels.astype(np.int64),
        record_index=np.repeat(np.arange(len(records)), per_record),
    )


def test_de_chazal_sets_hold_44_records_and_leave_out_the_paced_ones():
    assert len(DS1) == len(DS2) == 22
    assert not set(DS1) & set(DS2)
    assert not set(PACED) & (set(DS1) | set(DS2))


def test_intra_split_is_stratified_disjoint_and_complete():
    beats = fake_beats([f"r{k}" for k in range(10)], 500)
    split = intra_patient_split(beats, test_fraction=0.2, validation_fraction=0.1, seed=3)
    parts = np.concatenate([split.train, split.validation, split.test])
    assert sorted(parts.tolist()) == list(range(len(beats)))
    test_share = beats.class_counts(split.test) / beats.class_counts()
    np.testing.assert_allclose(test_share, 0.2, atol=0.01)
    validation_share = beats.class_counts(split.validation) / (
        beats.class_counts() - beats.class_counts(split.test)
    )
    np.testing.assert_allclose(validation_share, 0.1, atol=0.02)


def test_intra_split_depends_on_the_seed_only():
    beats = fake_beats([f"r{k}" for k in range(4)], 300)
    first = intra_patient_split(beats, 0.2, 0.1, seed=1)
    np.testing.assert_array_equal(first.test, intra_patient_split(beats, 0.2, 0.1, 1).test)
    assert not np.array_equal(first.test, intra_patient_split(beats, 0.2, 0.1, 2).test)


def test_inter_split_deals_ds1_into_folds_of_whole_records_and_tests_ds2():
    beats = fake_beats([*DS1, *DS2], 200)
    split = inter_patient_split(beats, n_folds=4, seed=0)

    def names(indices: np.ndarray) -> set[str]:
        return {beats.records[k] for k in beats.record_index[indices]}

    assert names(split.test) == set(DS2) and names(split.train) == set(DS1)
    fold_names = [names(fold) for fold in split.folds]
    assert len(fold_names) == 4 and sorted(len(f) for f in fold_names) == [5, 5, 6, 6]
    assert set().union(*fold_names) == set(DS1)
    assert sum(len(f) for f in fold_names) == len(DS1)  # no record in two folds
    s, v = AAMI_CLASSES.index("S"), AAMI_CLASSES.index("V")
    for fit, validation in split.members():
        assert not names(fit) & names(validation)
        assert names(fit) | names(validation) == set(DS1)
        assert beats.class_counts(validation)[[s, v]].min() > 0
    np.testing.assert_array_equal(np.sort(split.validation), np.sort(split.train))


def test_a_saved_split_loads_with_its_folds(tmp_path):
    beats = fake_beats([*DS1, *DS2], 50)
    split = inter_patient_split(beats, n_folds=3, seed=1)
    split.save(tmp_path / "split.npz")
    loaded = Split.load(tmp_path / "split.npz", "inter")
    assert len(loaded.folds) == 3
    for saved, again in zip(split.folds, loaded.folds, strict=True):
        np.testing.assert_array_equal(saved, again)
    intra = intra_patient_split(beats, 0.2, 0.1, seed=0)
    intra.save(tmp_path / "intra.npz")
    assert Split.load(tmp_path / "intra.npz", "intra").folds == ()
    assert len(intra.members()) == 1


def test_ds1_protocol_reads_ds1_alone():
    assert protocol_records("ds1", [*DS1, *DS2, *PACED]) == list(DS1)
    with pytest.raises(SplitError, match="needs records"):
        protocol_records("ds1", list(DS2))


def test_inter_protocol_refuses_a_folder_without_the_de_chazal_records():
    with pytest.raises(SplitError, match="needs records"):
        protocol_records("inter", ["100", "101"])


@pytest.mark.skipif(not (MITDB / "RECORDS").exists(), reason="no MIT-BIH data")
def test_real_database_lists_48_records_and_both_de_chazal_sets():
    available = find_records(MITDB)
    assert len(available) == 48
    assert protocol_records("inter", available) == [*DS1, *DS2]
    assert set(available) - set(DS1) - set(DS2) == set(PACED)


def test_inter_split_refuses_records_without_supraventricular_beats():
    beats = fake_beats([*DS1, *DS2], 50)
    no_s = beats.labels.copy()
    no_s[no_s == AAMI_CLASSES.index("S")] = 0
    beats = Beats(beats.records, beats.windows, beats.rr, no_s, beats.record_index)
    with pytest.raises(SplitError, match="S and V beats"):
        inter_patient_split(beats, n_folds=4, seed=0)
