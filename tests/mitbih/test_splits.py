"""The intra- and inter-patient splits of the MIT-BIH beats."""

from __future__ import annotations

import numpy as np
import pytest

from seecgnet.mitbih.beats import AAMI_CLASSES, Beats, find_records
from seecgnet.mitbih.splits import (
    DS1,
    DS2,
    PACED,
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


def test_inter_split_keeps_every_record_in_one_part():
    beats = fake_beats([*DS1, *DS2], 200)
    split = inter_patient_split(beats, validation_records=4, seed=0)
    names = {
        part: {beats.records[k] for k in beats.record_index[getattr(split, part)]}
        for part in ("train", "validation", "test")
    }
    assert names["test"] == set(DS2)
    assert len(names["validation"]) == 4 and names["validation"] <= set(DS1)
    assert names["train"] == set(DS1) - names["validation"]
    s, v = AAMI_CLASSES.index("S"), AAMI_CLASSES.index("V")
    assert beats.class_counts(split.validation)[[s, v]].min() > 0


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
        inter_patient_split(beats, validation_records=4, seed=0)
