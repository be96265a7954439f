"""WFDB records with .dat signal files: wfdb (rdrecord) is the oracle of every storage format, of
several signal files, skews and byte offsets; PTB's s0010_re reads as its twelve standard leads."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import wfdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seecgnet.io.formats.wfdb_signals import FORMATS, read_digital, read_wfdb_record, samples_in
from seecgnet.io.headers import RecordError, Sex, parse_header
from seecgnet.io.records import STANDARD_LEADS
from tests.paths import SHARED

FORMATS_DIR = SHARED / "data" / "formats" / "wfdb"
needs_format_files = pytest.mark.skipif(
    not FORMATS_DIR.is_dir(), reason="shared format files (../shared/data/formats) absent"
)


def _header(folder: Path, name: str):
    return parse_header((folder / f"{name}.hea").read_text().splitlines(), name, name)


@needs_format_files
def test_every_storage_format_of_binformats_reads_as_wfdb_reads_it() -> None:
    header = _header(FORMATS_DIR, "binformats")
    ours = read_digital(header, FORMATS_DIR)
    oracle = wfdb.rdrecord(str(FORMATS_DIR / "binformats"), physical=False).d_signal.T
    assert sorted(s.format for s in header.storage) == sorted(FORMATS)
    for row, storage in enumerate(header.storage):
        assert np.array_equal(ours[row], oracle[row]), f"format {storage.format}"


@needs_format_files
def test_ptb_record_reads_as_its_twelve_standard_leads_and_says_once_what_it_drops(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        record = read_wfdb_record(FORMATS_DIR / "s0010_re.hea")
    assert record.lead_names == STANDARD_LEADS
    assert (record.fs_hz, record.n_samples, record.age, record.sex) == (
        1000.0,
        38400,
        81.0,
        Sex.FEMALE,
    )
    oracle = wfdb.rdrecord(str(FORMATS_DIR / "s0010_re"), channels=list(range(12)))
    np.testing.assert_allclose(record.signal, oracle.p_signal.T, atol=1e-6)
    dropped = [r.getMessage() for r in caplog.records if "vx" in r.getMessage()]
    assert len(dropped) == 1 and "vx, vy, vz" in dropped[0]


def _write_two_file_record(folder: Path, skew: int, offset: int) -> np.ndarray:
    """A 3-lead record: I and II in format 16 after ``offset`` bytes, V1 in 212 delayed by
    ``skew`` frames in a second file; returns the digital samples written (3, 100)."""
    rng = np.random.default_rng(1)
    digital = rng.integers(-2000, 2000, size=(3, 100 + skew + skew % 2))  # 212 packs pairs
    (folder / "two_a.dat").write_bytes(b"\x55" * offset + digital[:2].T.astype("<i2").tobytes())
    v1 = digital[2]
    packed = bytearray()
    for a, b in zip(v1[0::2], v1[1::2], strict=True):
        a, b = int(a) & 0xFFF, int(b) & 0xFFF
        packed += bytes([a & 0xFF, (a >> 8) | ((b >> 8) << 4), b & 0xFF])
    (folder / "two_b.dat").write_bytes(bytes(packed))
    (folder / "two.hea").write_text(
        "two 3 500 100\n"
        f"two_a.dat 16+{offset} 1000/mV 16 0 0 0 0 I\n"
        f"two_a.dat 16+{offset} 1000/mV 16 0 0 0 0 II\n"
        f"two_b.dat 212:{skew} 500(10)/mV 12 0 0 0 0 v1\n"
        "#Dx: 426783006\n"
    )
    return digital


@pytest.mark.parametrize(("skew", "offset"), [(0, 0), (3, 0), (0, 10), (2, 6)])
def test_several_signal_files_skew_and_byte_offset_read_as_wfdb_reads_them(
    tmp_path: Path, skew: int, offset: int
) -> None:
    written = _write_two_file_record(tmp_path, skew, offset)
    record = read_wfdb_record(tmp_path / "two.hea")
    oracle = wfdb.rdrecord(str(tmp_path / "two"), physical=False)
    assert record.lead_names == ("I", "II", "V1")
    assert record.dx_codes == ("426783006",)
    ours = read_digital(_header(tmp_path, "two"), tmp_path)
    # wfdb marks a skewed lead's last `skew` samples invalid; we read them where the file holds them
    assert np.array_equal(ours[:, : 100 - skew], oracle.d_signal.T[:, : 100 - skew])
    assert np.array_equal(ours[2], written[2, skew : skew + 100])
    np.testing.assert_allclose(record.signal[2], (written[2, skew : skew + 100] - 10) / 500)


def test_challenge_record_in_dat_files_reads_as_its_mat(tmp_path: Path) -> None:
    from seecgnet.io.records import read_record
    from seecgnet.io.synthetic import write_synthetic_record

    header = write_synthetic_record(tmp_path / "mat", "SYN1")
    mat_record = read_record(header)
    digital = np.round(mat_record.signal * 1000).astype(np.int16)
    wfdb.wrsamp(
        "SYN1",
        fs=500,
        units=["mV"] * 12,
        sig_name=list(STANDARD_LEADS),
        d_signal=digital.T.copy(),
        fmt=["16"] * 12,
        adc_gain=[1000.0] * 12,
        baseline=[0] * 12,
        comments=["Age: 60", "Sex: Male", "Dx: 426783006"],
        write_dir=str(tmp_path),
    )
    dat_record = read_wfdb_record(tmp_path / "SYN1.hea")
    assert np.array_equal(dat_record.signal, mat_record.signal)
    assert (dat_record.age, dat_record.sex, dat_record.dx_codes) == (
        mat_record.age,
        mat_record.sex,
        mat_record.dx_codes,
    )


@pytest.mark.parametrize("storage_format", sorted(FORMATS))
def test_samples_in_counts_whole_samples(storage_format: int) -> None:
    group_bytes, group_samples = FORMATS[storage_format]
    assert samples_in(0, storage_format) == 0
    assert samples_in(10 * group_bytes, storage_format) == 10 * group_samples


def test_truncated_missing_and_unread_signal_files_are_one_line_errors(tmp_path: Path) -> None:
    _write_two_file_record(tmp_path, 0, 0)
    data = (tmp_path / "two_b.dat").read_bytes()
    (tmp_path / "two_b.dat").write_bytes(data[:-30])
    with pytest.raises(RecordError, match=r"two_b\.dat: truncated.*100 samples"):
        read_wfdb_record(tmp_path / "two.hea")
    (tmp_path / "two_b.dat").unlink()
    with pytest.raises(RecordError, match=r"two_b\.dat: no such signal file"):
        read_wfdb_record(tmp_path / "two.hea")
    (tmp_path / "two.hea").write_text("two 1 500 100\ntwo_a.dat 516 1000/mV 16 0 0 0 0 I\n")
    with pytest.raises(RecordError, match=r"storage format 516 is not one read here"):
        read_wfdb_record(tmp_path / "two.hea")
    (tmp_path / "two.hea").write_text("two 1 500 100\ntwo_a.dat 16 1000/mV 16 0 0 0 0 vx\n")
    with pytest.raises(RecordError, match=r"none of its leads \(vx\)"):
        read_wfdb_record(tmp_path / "two.hea")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cut=st.integers(min_value=0, max_value=1000),
    flips=st.lists(st.tuples(st.integers(0, 999), st.integers(0, 255)), max_size=8),
    header_edit=st.sampled_from(["", "16+7", "212", "80", "16:150", "8", "24"]),
)
def test_damaged_dat_files_read_or_fail_in_one_line(
    tmp_path: Path, cut: int, flips: list[tuple[int, int]], header_edit: str
) -> None:
    """Cut and overwritten signal files, and headers naming the wrong storage format, give a record
    or a RecordError naming the file, never another exception."""
    _write_two_file_record(tmp_path, 0, 0)
    data = bytearray((tmp_path / "two_a.dat").read_bytes()[:cut])
    for position, value in flips:
        if position < len(data):
            data[position] = value
    (tmp_path / "two_a.dat").write_bytes(bytes(data))
    if header_edit:
        text = (tmp_path / "two.hea").read_text().replace("16+0 ", header_edit + " ")
        (tmp_path / "two.hea").write_text(text)
    try:
        record = read_wfdb_record(tmp_path / "two.hea")
    except RecordError as error:
        assert "two" in str(error) and "\n" not in str(error)
    else:
        assert record.signal.shape == (3, 100)
        assert record.signal.dtype == np.float32
