"""The synthetic record generator: files that read back as asked, with the rhythm they claim."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import wfdb
from scipy.signal import find_peaks

from seecgnet.io.records import STANDARD_LEADS, Sex, find_records, read_record
from seecgnet.io.synthetic import (
    ATRIAL_FIBRILLATION,
    LOW_QRS_VOLTAGES,
    SINUS_BRADYCARDIA,
    SINUS_RHYTHM,
    SINUS_TACHYCARDIA,
    Rhythm,
    main,
    write_synthetic_dataset,
    write_synthetic_record,
)

LEAD_II = STANDARD_LEADS.index("II")


def r_peaks(signal_mv: np.ndarray, fs_hz: float) -> np.ndarray:
    """Sample indices of the R peaks of lead II (upright, the tallest wave of each beat)."""
    lead = signal_mv[LEAD_II]
    peaks, _ = find_peaks(lead, height=0.6 * lead.max(), distance=round(0.2 * fs_hz))
    return peaks


def rr_intervals_s(header: Path) -> np.ndarray:
    record = read_record(header)
    return np.diff(r_peaks(record.signal, record.fs_hz)) / record.fs_hz


@pytest.mark.parametrize(
    ("fs_hz", "duration_s", "age", "sex", "expected_sex"),
    [(500, 10.0, 63.0, "Male", Sex.MALE), (257, 12.5, 8.0, "Female", Sex.FEMALE)],
)
def test_record_reads_back_with_the_requested_rate_length_and_demographics(
    tmp_path: Path, fs_hz: float, duration_s: float, age: float, sex: str, expected_sex: Sex
) -> None:
    codes = (ATRIAL_FIBRILLATION, LOW_QRS_VOLTAGES)
    record = read_record(
        write_synthetic_record(
            tmp_path, "SYN1", fs_hz=fs_hz, duration_s=duration_s, age=age, sex=sex, dx_codes=codes
        )
    )
    assert record.name == "SYN1"
    assert record.fs_hz == fs_hz
    assert record.duration_s == pytest.approx(duration_s, abs=1 / fs_hz)
    assert record.lead_names == STANDARD_LEADS
    assert (record.age, record.sex, record.dx_codes) == (age, expected_sex, codes)


@pytest.mark.parametrize(("fs_hz", "heart_rate_bpm"), [(257, 45.0), (500, 75.0), (1000, 130.0)])
def test_mean_rr_interval_of_lead_ii_matches_the_heart_rate(
    tmp_path: Path, fs_hz: float, heart_rate_bpm: float
) -> None:
    header = write_synthetic_record(
        tmp_path, "SYN2", fs_hz=fs_hz, duration_s=20.0, heart_rate_bpm=heart_rate_bpm
    )
    assert rr_intervals_s(header).mean() == pytest.approx(60.0 / heart_rate_bpm, rel=0.02)


def test_atrial_fibrillation_is_irregular_where_sinus_rhythm_is_regular(tmp_path: Path) -> None:
    sinus = rr_intervals_s(write_synthetic_record(tmp_path, "SR", duration_s=30.0))
    fibrillation = rr_intervals_s(
        write_synthetic_record(tmp_path, "AF", duration_s=30.0, rhythm=Rhythm.ATRIAL_FIBRILLATION)
    )
    assert sinus.std() / sinus.mean() < 0.05
    assert fibrillation.std() / fibrillation.mean() > 0.15
    assert fibrillation.mean() == pytest.approx(60.0 / 75.0, rel=0.1)


def test_low_qrs_voltages_meet_the_clinical_definition(tmp_path: Path) -> None:
    # Low voltages: QRS peak to peak under 0.5 mV in all limb leads and 1 mV in all chest leads.
    normal = read_record(write_synthetic_record(tmp_path, "N", seed=7))
    low = read_record(write_synthetic_record(tmp_path, "L", seed=7, qrs_scale=0.25))
    half_qrs = round(0.05 * normal.fs_hz)

    def largest_qrs_mv(signal: np.ndarray) -> np.ndarray:
        peaks = r_peaks(normal.signal, normal.fs_hz)  # the same seed gives the same beat times
        peaks = peaks[(peaks >= half_qrs) & (peaks < signal.shape[1] - half_qrs)]
        windows = [np.ptp(signal[:, p - half_qrs : p + half_qrs], axis=1) for p in peaks]
        return np.max(windows, axis=0)

    low_qrs = largest_qrs_mv(low.signal)
    assert (low_qrs[:6] < 0.5).all() and (low_qrs[6:] < 1.0).all()
    assert (largest_qrs_mv(normal.signal)[:6] >= 0.5).any()


def test_limb_leads_obey_einthoven_and_goldberger(tmp_path: Path) -> None:
    signal = read_record(write_synthetic_record(tmp_path, "SYN3")).signal
    lead = dict(zip(STANDARD_LEADS, signal, strict=True))
    rounding_mv = 0.0015  # each lead is rounded to 1 µV on writing
    np.testing.assert_allclose(lead["III"], lead["II"] - lead["I"], atol=2 * rounding_mv)
    np.testing.assert_allclose(lead["aVR"] + lead["aVL"] + lead["aVF"], 0.0, atol=3 * rounding_mv)


def test_wfdb_reads_the_written_files_with_valid_checksums(tmp_path: Path) -> None:
    # wfdb.rdrecord is the reference reader: it reads the .mat as format 16 after a 24-byte offset.
    header = write_synthetic_record(tmp_path, "SYN4", fs_hz=257, heart_rate_bpm=110.0, seed=9)
    reference = wfdb.rdrecord(str(header.with_suffix("")))
    np.testing.assert_allclose(reference.p_signal.T, read_record(header).signal, atol=1e-6)
    digital = wfdb.rdrecord(str(header.with_suffix("")), physical=False).d_signal.T
    checksums = (digital.astype(np.int64).sum(axis=1) + 32768) % 65536 - 32768
    assert checksums.tolist() == reference.checksum
    assert digital[:, 0].tolist() == reference.init_value


def test_same_seed_writes_identical_files_and_another_seed_does_not(tmp_path: Path) -> None:
    first = write_synthetic_record(tmp_path / "a", "SYN5", seed=11)
    again = write_synthetic_record(tmp_path / "b", "SYN5", seed=11)
    other = write_synthetic_record(tmp_path / "c", "SYN5", seed=12)
    for suffix in (".hea", ".mat"):
        assert first.with_suffix(suffix).read_bytes() == again.with_suffix(suffix).read_bytes()
    assert first.with_suffix(".mat").read_bytes() != other.with_suffix(".mat").read_bytes()


def test_four_field_first_line_and_a_lead_subset_are_written_as_asked(tmp_path: Path) -> None:
    header = write_synthetic_record(
        tmp_path, "SYN6", four_field_first_line=True, lead_order=("V2", "I"), duration_s=2.0
    )
    lines = header.read_text().splitlines()
    assert lines[0] == "SYN6 2 500 1000"
    assert lines[1].endswith(" V2") and lines[2].endswith(" I")
    assert read_record(header).lead_names == ("V2", "I")


@pytest.mark.parametrize(
    ("argument", "value", "message"),
    [
        ("lead_order", ("I", "V7"), "V7"),
        ("lead_order", ("I", "I"), "distinct"),
        ("heart_rate_bpm", 0.0, "heart rate 0.0"),
        ("fs_hz", -500, "fs_hz=-500"),
    ],
)
def test_invalid_arguments_raise_value_error_naming_the_value(
    tmp_path: Path, argument: str, value: object, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        write_synthetic_record(tmp_path, "SYN7", **{argument: value})


@pytest.mark.parametrize(
    ("name", "sex", "dx_codes", "message"),
    [
        ("A 0001", "Male", (), "record name 'A 0001'"),
        ("Ä0001", "Male", (), "record name 'Ä0001'"),
        ("", "Male", (), "record name ''"),
        ("A0001", "Männlich", (), "'Männlich' must be ASCII on one line"),
        ("A0001", "Male", ("164889003\n#Dx: 1",), "must be ASCII on one line"),
    ],
)
def test_names_and_header_text_that_a_header_cannot_hold_raise_value_error(
    tmp_path: Path, name: str, sex: str, dx_codes: tuple[str, ...], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        write_synthetic_record(tmp_path, name, sex=sex, dx_codes=dx_codes)
    assert not any(tmp_path.iterdir())


def test_dataset_labels_match_what_its_signals_show(tmp_path: Path) -> None:
    headers = write_synthetic_dataset(tmp_path, 10, seed=3)
    assert headers == find_records(tmp_path)
    seen = set()
    for header in headers:
        record = read_record(header)
        seen.add(record.dx_codes)
        rr_s = rr_intervals_s(header)
        rate_bpm = 60.0 / rr_s.mean()
        if record.dx_codes == (SINUS_BRADYCARDIA,):
            assert rate_bpm < 60
        elif record.dx_codes == (SINUS_TACHYCARDIA,):
            assert rate_bpm > 100
        elif record.dx_codes == (SINUS_RHYTHM,):
            assert 60 <= rate_bpm <= 100
        elif record.dx_codes == (ATRIAL_FIBRILLATION,):
            assert rr_s.std() / rr_s.mean() > 0.1
        assert record.sex in (Sex.MALE, Sex.FEMALE)
        assert math.isnan(record.age) or 18 <= record.age <= 90
    assert seen == {
        (SINUS_RHYTHM,),
        (SINUS_BRADYCARDIA,),
        (SINUS_TACHYCARDIA,),
        (ATRIAL_FIBRILLATION,),
        (LOW_QRS_VOLTAGES, SINUS_RHYTHM),
    }


def test_command_line_help_describes_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    assert "--seed" in capsys.readouterr().out


def test_command_line_writes_the_requested_number_of_records(tmp_path: Path) -> None:
    assert main([str(tmp_path / "out"), "--n", "3", "--seed", "2"]) == 0
    assert [header.name for header in find_records(tmp_path / "out")] == [
        "SYN00001.hea",
        "SYN00002.hea",
        "SYN00003.hea",
    ]
