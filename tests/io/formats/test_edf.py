"""EDF, EDF+ and BDF: real files of other writers, and files edfio writes, read as records in mV."""

from __future__ import annotations

import logging
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from seecgnet.io.formats import edf
from seecgnet.io.formats.leads import MissingLibraryError
from seecgnet.io.records import STANDARD_LEADS, RecordError, Sex
from tests.io.formats.writers import quantisation_bound, small_record, write_edf
from tests.paths import SHARED

edfio = pytest.importorskip("edfio")

EDF_FILES = SHARED / "data" / "formats" / "edf"
needs_files = pytest.mark.skipif(not EDF_FILES.is_dir(), reason="no ../shared/data/formats")


def physical_by_hand(path: Path) -> dict[str, np.ndarray]:
    """Each signal's physical values, decoded from the file's bytes with EDF's formula alone."""
    data = path.read_bytes()
    n_signals = int(data[252:256])
    n_records = int(data[236:244])

    def column(offset: int, width: int) -> list[str]:
        start = 256 + offset * n_signals
        return [
            data[start + i * width : start + (i + 1) * width].decode().strip()
            for i in range(n_signals)
        ]

    labels = column(0, 16)
    physical_min = np.array(column(16 + 80 + 8, 8), float)
    physical_max = np.array(column(16 + 80 + 16, 8), float)
    digital_min = np.array(column(16 + 80 + 24, 8), float)
    digital_max = np.array(column(16 + 80 + 32, 8), float)
    per_record = np.array(column(16 + 80 + 40 + 80, 8), int)
    field = 256 * (n_signals + 1)
    samples = np.frombuffer(data, "<i2", n_records * per_record.sum(), field)
    samples = samples.reshape(n_records, per_record.sum())
    bounds = np.concatenate([[0], np.cumsum(per_record)])
    values = {}
    for i, label in enumerate(labels):
        digital = samples[:, bounds[i] : bounds[i + 1]].ravel().astype(float)
        gain = (physical_max[i] - physical_min[i]) / (digital_max[i] - digital_min[i])
        values[label] = physical_min[i] + (digital - digital_min[i]) * gain
    return values


def test_an_edf_reads_its_leads_in_mv_by_the_digital_to_physical_formula(tmp_path: Path) -> None:
    record = small_record()
    path = tmp_path / "twelve.edf"
    steps = write_edf(record, path, unit="uV", prefix="ECG ")
    read = edf.read(path)
    assert read.name == "twelve"
    assert read.lead_names == STANDARD_LEADS
    assert read.fs_hz == 250.0 and read.duration_s == 2.0
    assert (read.age, read.sex) == (74.0, Sex.FEMALE)
    by_hand = physical_by_hand(path)
    for row, lead in enumerate(STANDARD_LEADS):
        np.testing.assert_allclose(read.signal[row], by_hand[f"ECG {lead}"] / 1000, atol=1e-6)
    # and they are the written ones within half a step of 16 bits over each lead's range
    assert (np.abs(read.signal - record.signal) <= quantisation_bound(record.signal, steps)).all()


def test_other_signals_are_dropped_and_units_and_rates_read_per_signal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    wave = np.sin(np.arange(1000) / 10)
    signals = [
        edfio.EdfSignal(wave * 1000, 500, label="EKG V1", physical_dimension="uV"),
        edfio.EdfSignal(wave[::20], 25, label="Resp", physical_dimension="Ohm"),
        edfio.EdfSignal(wave, 500, label="II", physical_dimension="mV"),
        edfio.EdfSignal(wave / 1000, 500, label="aVR", physical_dimension="V"),
        edfio.EdfSignal(wave, 500, label="ECG", physical_dimension="mV"),
    ]
    path = tmp_path / "mixed.edf"
    edfio.Edf(signals).write(path)
    with caplog.at_level(logging.WARNING):
        read = edf.read(path)
    assert read.lead_names == ("V1", "II", "aVR")
    assert read.fs_hz == 500.0
    np.testing.assert_allclose(read.signal, np.stack([wave] * 3), atol=2e-4)
    assert math.isnan(read.age) and read.sex is Sex.UNKNOWN
    dropped = [r.getMessage() for r in caplog.records if "name no standard lead" in r.getMessage()]
    assert len(dropped) == 1 and "'Resp'" in dropped[0] and "'ECG'" in dropped[0]


@pytest.mark.parametrize(
    ("signals", "message"),
    [
        ([("ECG I", 500, "uV"), ("ECG II", 250, "uV")], "different rates"),
        ([("ECG I", 500, "degC")], "'degC' is not a voltage"),
        ([("Resp", 500, "Ohm"), ("EEG Fz", 500, "uV")], "no signal names a standard ECG lead"),
        ([("ECG I", 500, "uV"), ("Lead I", 500, "uV")], "lead I appears twice"),
    ],
)
def test_a_file_that_does_not_make_one_ecg_is_a_one_line_error(
    tmp_path: Path, signals: list, message: str
) -> None:
    path = tmp_path / "bad.edf"
    edfio.Edf(
        [
            edfio.EdfSignal(np.sin(np.arange(fs * 2) / 9), fs, label=label, physical_dimension=unit)
            for label, fs, unit in signals
        ]
    ).write(path)
    with pytest.raises(RecordError, match=message) as error:
        edf.read(path)
    assert str(path) in str(error.value) and "\n" not in str(error.value)


def test_an_uncalibrated_lead_is_refused_not_read_in_digital_units(tmp_path: Path) -> None:
    path = tmp_path / "flat.edf"
    write_edf(small_record(), path)
    data = bytearray(path.read_bytes())
    physical_min, physical_max = 256 + 104 * 12, 256 + 112 * 12  # signal 1's fields
    data[physical_max : physical_max + 8] = data[physical_min : physical_min + 8]
    path.write_bytes(bytes(data))
    with pytest.raises(RecordError, match=r"signal 'ECG I' is uncalibrated") as error:
        edf.read(path)
    assert str(error.value).count(str(path)) == 1


def test_a_discontinuous_edf_plus_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "gaps.edf"
    write_edf(small_record(), path)
    data = bytearray(path.read_bytes())
    data[192:197] = b"EDF+D"
    path.write_bytes(bytes(data))
    with pytest.raises(RecordError, match=r"discontinuous EDF\+D"):
        edf.read(path)


def test_a_bdf_reads_its_24_bit_samples(tmp_path: Path) -> None:
    record = small_record(fs_hz=500.0)
    path = tmp_path / "twelve.bdf"
    steps = write_edf(record, path, bdf=True, unit="mV", prefix="EKG ")
    assert edf.looks_like(path.read_bytes()[:1024])
    read = edf.read(path)
    assert read.lead_names == STANDARD_LEADS and read.fs_hz == 500.0
    assert (np.abs(read.signal - record.signal) <= quantisation_bound(record.signal, steps)).all()


@needs_files
def test_an_edf_of_annotations_only_says_so() -> None:
    path = EDF_FILES / "test_edfann.edf"
    assert edf.looks_like(path.read_bytes()[:1024])
    with pytest.raises(RecordError, match="holds no signal, only annotations"):
        edf.read(path)


@needs_files
def test_an_edf_of_test_signals_names_them_and_no_lead() -> None:
    with pytest.raises(
        RecordError, match=r"no signal names a standard ECG lead \(signals: 'squarewave'.*'ECG'"
    ):
        edf.read(EDF_FILES / "test_generator_2.edf")


def test_looks_like_knows_edf_and_bdf_by_their_first_bytes() -> None:
    assert edf.looks_like(b"0       X X X X" + b" " * 100)
    assert edf.looks_like(b"\xffBIOSEMI" + b" " * 100)
    assert not edf.looks_like(b"A0001 12 500 5000")
    assert not edf.looks_like(b"")


def test_without_edfio_reading_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "twelve.edf"
    write_edf(small_record(), path)
    monkeypatch.setitem(sys.modules, "edfio", None)
    with pytest.raises(MissingLibraryError, match=r'edfio.*pip install "seecgnet\[formats\]"'):
        edf.read(path)


def test_an_edf_cut_short_says_so(tmp_path: Path) -> None:
    path = tmp_path / "short.edf"
    write_edf(small_record(), path)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(RecordError, match="cut short: the header gives 1 data records"):
        edf.read(path)


def last_signal_first(data: bytes, sample_bytes: int) -> bytes:
    """The EDF file ``data`` with its last signal moved ahead of the others, in the header and in
    every data record (edfio writes the annotation signal last; other recorders write it first)."""
    n_signals, n_records = int(data[252:256]), int(data[236:244])
    order = [n_signals - 1, *range(n_signals - 1)]
    header, at = [data[:256]], 256
    for width in (16, 80, 8, 8, 8, 8, 8, 80, 8, 32):  # the signal header's fields, each for all
        fields = [data[at + width * i : at + width * (i + 1)] for i in range(n_signals)]
        header += [fields[i] for i in order]
        at += width * n_signals
    per_record = [int(field) for field in header[1 + 8 * n_signals : 1 + 9 * n_signals]]
    per_record = [per_record[order.index(i)] for i in range(n_signals)]  # in the file's order
    records = []
    for _ in range(n_records):
        blocks = []
        for count in per_record:
            blocks.append(data[at : at + count * sample_bytes])
            at += count * sample_bytes
        records += [blocks[i] for i in order]
    assert at == len(data)
    return b"".join(header + records)


@pytest.mark.parametrize("bdf", [False, True], ids=["edf+", "bdf+"])
def test_leads_are_taken_from_their_place_in_every_data_record(tmp_path: Path, bdf: bool) -> None:
    # 1 s data records of leads at 200 Hz beside a 10 Hz signal, and EDF+'s annotation signal
    # moved ahead of them: each lead's samples lie in pieces, one per record, after other signals
    time_s = np.arange(600) / 200
    signal_class, file_class = (edfio.BdfSignal, edfio.Bdf) if bdf else (edfio.EdfSignal, edfio.Edf)
    signals = [
        signal_class(np.sin(time_s * (3 + i)) * 800, 200, label=label, physical_dimension="uV")
        for i, label in enumerate(("ECG I", "ECG II", "V1"))
    ]
    signals.insert(1, signal_class(np.cos(time_s[::20]), 10, label="Temp", physical_dimension="C"))
    annotation = edfio.EdfAnnotation(0.5, None, "start")
    path = tmp_path / ("records.bdf" if bdf else "records.edf")
    file_class(signals, data_record_duration=1, annotations=[annotation]).write(path)
    path.write_bytes(last_signal_first(path.read_bytes(), 3 if bdf else 2))
    assert int(path.read_bytes()[236:244]) == 3
    read = edf.read(path)
    assert read.lead_names == ("I", "II", "V1")
    # edfio's own samples in physical units, from its own digital-to-physical step
    own = [s.data / 1000 for s in (edfio.read_bdf if bdf else edfio.read_edf)(path).signals]
    assert len(own) == 4 and (edfio.read_bdf if bdf else edfio.read_edf)(path).annotations
    expected = np.stack([own[0], own[2], own[3]]).astype(np.float32)
    np.testing.assert_allclose(read.signal, expected, rtol=0, atol=2 * np.spacing(np.float32(1)))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda data: data + b"\0" * 10, r"holds \d+ bytes, but its header's 1 data records"),
        (lambda data: data[:236] + b"-1".ljust(8) + data[244:], "gives -1 data records, not a"),
        (lambda data: data[:252] + b"twelve"[:4] + data[256:], "number of signals reads b'twel'"),
    ],
)
def test_a_file_whose_length_its_header_does_not_account_for_is_refused(
    tmp_path: Path, change, message: str
) -> None:
    path = tmp_path / "changed.edf"
    write_edf(small_record(), path)
    path.write_bytes(change(path.read_bytes()))
    with pytest.raises(RecordError, match=message) as error:
        edf.read(path)
    assert str(path) in str(error.value) and "\n" not in str(error.value)
