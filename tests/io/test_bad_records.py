"""Messy and broken records (tests/corpus.py): each reads as documented or fails as documented."""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import re
from pathlib import Path

import numpy as np
import pytest

from seecgnet.challenge.classes import load_scored_classes
from seecgnet.data.dataset import (
    PreparedRecord,
    ReadFailure,
    load_store,
    prepare_record,
    prepare_signal,
)
from seecgnet.data.signals import SignalSettings
from seecgnet.io.records import STANDARD_LEADS, Record, RecordError, Sex, find_records, read_record
from seecgnet.io.synthetic import write_synthetic_record
from tests.corpus import (
    CORPUS,
    INFINITE_SAMPLES,
    NAN_SAMPLES,
    CorpusEntry,
    Readable,
    Unreadable,
    write_corpus,
)

READABLE = [entry for entry in CORPUS if isinstance(entry.outcome, Readable)]
UNREADABLE = [entry for entry in CORPUS if isinstance(entry.outcome, Unreadable)]


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("corpus"))


def entry_named(stem: str) -> CorpusEntry:
    return next(entry for entry in CORPUS if entry.stem == stem)


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_corpus_stems_are_distinct_and_cover_both_outcomes() -> None:
    stems = [entry.stem for entry in CORPUS]
    assert len(set(stems)) == len(stems)
    assert READABLE and UNREADABLE


@pytest.mark.parametrize("entry", READABLE, ids=lambda entry: entry.stem)
def test_readable_entry_reads_with_its_fields_and_only_its_warning(
    corpus_dir: Path, entry: CorpusEntry, caplog: pytest.LogCaptureFixture
) -> None:
    expected = entry.outcome
    assert isinstance(expected, Readable)
    with caplog.at_level(logging.WARNING):
        record = read_record(entry.header(corpus_dir))
    assert record.name == (expected.name or entry.stem)
    assert record.lead_names == expected.lead_names
    assert record.fs_hz == expected.fs_hz
    assert record.n_samples == expected.n_samples
    assert record.signal.dtype == np.float32
    assert record.age == expected.age or (math.isnan(record.age) and math.isnan(expected.age))
    assert record.sex is expected.sex
    assert record.dx_codes == expected.dx_codes
    warnings = warnings_of(caplog)
    if expected.warning is None:
        assert warnings == []
    else:
        assert len(warnings) == 1, warnings
        assert re.search(expected.warning, warnings[0]), warnings[0]
        assert entry.stem in warnings[0]


@pytest.mark.parametrize("entry", UNREADABLE, ids=lambda entry: entry.stem)
def test_unreadable_entry_raises_record_error_naming_the_file_and_the_problem(
    corpus_dir: Path, entry: CorpusEntry
) -> None:
    expected = entry.outcome
    assert isinstance(expected, Unreadable)
    header = entry.header(corpus_dir)
    with pytest.raises(RecordError) as raised:
        read_record(header)
    message = str(raised.value)
    assert message.startswith(str(header.with_suffix(expected.names)) + ":"), message
    assert re.search(expected.problem, message), message


def test_gain_zero_and_missing_gain_use_wfdb_default_of_200(corpus_dir: Path) -> None:
    clean = read_record(entry_named("clean").header(corpus_dir))
    for stem, lead in (("gain_zero", 7), ("gain_missing", 8)):  # V2, V3
        record = read_record(entry_named(stem).header(corpus_dir))
        np.testing.assert_allclose(record.signal[lead], clean.signal[lead] * 1000 / 200, rtol=1e-6)
        others = np.arange(12) != lead
        np.testing.assert_array_equal(record.signal[others], clean.signal[others])


def test_non_finite_samples_are_kept_where_they_were(corpus_dir: Path) -> None:
    signal = read_record(entry_named("samples_nan_inf").header(corpus_dir)).signal
    rows, samples = zip(*NAN_SAMPLES, strict=True)
    assert np.isnan(signal[rows, samples]).all()
    (row, first), (_, second) = INFINITE_SAMPLES
    assert signal[row, first] == np.inf and signal[row, second] == -np.inf
    assert np.isfinite(signal).sum() == signal.size - len(NAN_SAMPLES) - len(INFINITE_SAMPLES)


def test_prepare_signal_sets_non_finite_samples_to_zero_with_a_warning(
    corpus_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    record = read_record(entry_named("samples_nan_inf").header(corpus_dir))
    with caplog.at_level(logging.WARNING, logger="seecgnet.data.dataset"):
        signal = prepare_signal(record, SignalSettings())  # 500 Hz: no resampling
    assert np.isfinite(signal).all()
    rows, samples = zip(*NAN_SAMPLES, *INFINITE_SAMPLES, strict=True)
    assert not signal[rows, samples].any()
    finite = np.isfinite(record.signal)
    np.testing.assert_array_equal(signal[finite], record.signal[finite])
    assert any("samples_nan_inf" in m and "12 non-finite" in m for m in warnings_of(caplog))


def test_a_non_finite_sample_is_zeroed_before_resampling_and_counted_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rng = np.random.default_rng(0)
    signal = rng.normal(0.0, 0.5, (12, 2570)).astype(np.float32)  # 10 s at 257 Hz
    signal[3, 1000] = np.nan
    record = Record("REC257", signal, STANDARD_LEADS, 257.0, 50.0, Sex.FEMALE, ("426783006",))
    with caplog.at_level(logging.WARNING, logger="seecgnet.data.dataset"):
        prepared = prepare_signal(record, SignalSettings())
    assert prepared.shape == (12, 5000) and np.isfinite(prepared).all()
    assert warnings_of(caplog) == ["REC257: 1 non-finite samples set to 0 mV"]
    # the same as resampling the record with that sample at 0 mV
    zeroed = dataclasses.replace(record, signal=np.nan_to_num(signal, nan=0.0))
    np.testing.assert_array_equal(prepared, prepare_signal(zeroed, SignalSettings()))


def test_prepare_record_keeps_the_dx_codes_and_fails_a_record_without_any(
    tmp_path: Path,
) -> None:
    codes = ("164889003", "426783006")
    header = write_synthetic_record(tmp_path, "WITH_DX", fs_hz=1000, duration_s=4.0, dx_codes=codes)
    prepared = prepare_record(header, SignalSettings())
    assert isinstance(prepared, PreparedRecord)
    assert prepared.name == "WITH_DX" and prepared.dx_codes == codes
    assert prepared.signal.shape == (12, 2000)

    header = write_synthetic_record(tmp_path, "NO_DX", dx_codes=())
    failure = prepare_record(header, SignalSettings())
    assert failure == ReadFailure(header, "no diagnosis code (#Dx) to learn from")


def test_flat_lead_is_kept_as_zeros(corpus_dir: Path) -> None:
    signal = read_record(entry_named("lead_flat").header(corpus_dir)).signal
    assert not signal[9].any()  # V4
    assert signal[8].any() and signal[10].any()


def test_find_records_lists_every_header_unless_a_signal_is_required(
    corpus_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    every = sorted(entry.header(corpus_dir) for entry in CORPUS)
    assert find_records(corpus_dir, require_signal=False) == every
    with caplog.at_level(logging.WARNING, logger="seecgnet.io.records"):
        with_signal = find_records(corpus_dir)
    missing = entry_named("mat_missing").header(corpus_dir)
    assert with_signal == [header for header in every if header != missing]
    assert warnings_of(caplog) == [f"{missing} has no .mat beside it; skipped"]


def test_load_store_skips_exactly_the_unreadable_records_and_keeps_labels_unchanged(
    corpus_dir: Path,
) -> None:
    classes = load_scored_classes()
    store, failures = load_store(corpus_dir, classes, SignalSettings())

    # every unreadable record fails, the header without a .mat too; a readable record without
    # any diagnosis code is skipped as well, since training on it would invent negative labels
    no_diagnosis = {e.stem for e in READABLE if not entry_named(e.stem).outcome.dx_codes}
    assert no_diagnosis  # the corpus holds such records
    failed = sorted(failure.path.stem for failure in failures)
    assert failed == sorted([entry.stem for entry in UNREADABLE] + list(no_diagnosis))
    for failure in failures:
        if failure.path.stem in no_diagnosis:
            assert "no diagnosis code" in failure.reason
        else:
            assert str(failure.path.with_suffix("")) in failure.reason  # names the .hea or .mat

    assert sorted(store.names) == sorted(e.stem for e in READABLE if e.stem not in no_diagnosis)
    for index, name in enumerate(store.names):
        expected = entry_named(name).outcome
        assert isinstance(expected, Readable)
        np.testing.assert_array_equal(store.labels[index], classes.encode(expected.dx_codes))
        assert store.sexes[index] is expected.sex
        signal = store.signal(index)
        assert signal.shape[0] == 12 and np.isfinite(signal).all()
    dx_line_twice = store.names.index("dx_line_twice")
    assert store.labels[dx_line_twice].sum() == 1  # the first #Dx line's sinus rhythm only


def test_file_name_with_undecodable_bytes_reads_under_its_escaped_name(tmp_path: Path) -> None:
    header = write_synthetic_record(tmp_path, "PLACEHOLDER")
    stem = os.fsdecode(b"X\xff0001")  # the byte 0xff is not UTF-8: a surrogate escape
    try:
        header.rename(tmp_path / f"{stem}.hea")
    except OSError:
        pytest.skip("this file system refuses file names that are not UTF-8")
    header.with_suffix(".mat").rename(tmp_path / f"{stem}.mat")
    assert find_records(tmp_path) == [tmp_path / f"{stem}.hea"]
    assert read_record(tmp_path / f"{stem}.hea").name == stem
