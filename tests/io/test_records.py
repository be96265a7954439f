"""Reading challenge records: the shared real records, and synthetic ones with each quirk."""

from __future__ import annotations

import contextlib
import logging
import math
import re
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import wfdb
from hypothesis import given, settings
from hypothesis import strategies as st

from seecgnet.io.records import (
    STANDARD_LEADS,
    Record,
    RecordError,
    Sex,
    absent_standard_leads,
    find_records,
    read_record,
    record_from_challenge,
    to_standard_leads,
)
from seecgnet.io.synthetic import write_synthetic_record
from tests.io.wfdb_oracle import read_with_wfdb
from tests.paths import CINC2020

DATA_DIR = CINC2020
needs_shared_data = pytest.mark.skipif(
    not DATA_DIR.is_dir(), reason="shared challenge records (../shared/data/cinc2020) absent"
)


def shared_record(name: str) -> Path:
    header = DATA_DIR / f"{name}.hea"
    if not header.is_file():
        pytest.skip(f"shared record {name} absent")
    return header


def edit_header(header: Path, old: str, new: str) -> None:
    text = header.read_text()
    assert old in text, f"{old!r} not in {header}"
    header.write_text(text.replace(old, new))


def assert_same_record(left: Record, right: Record) -> None:
    assert left.name == right.name
    assert left.lead_names == right.lead_names
    assert left.fs_hz == right.fs_hz
    assert left.age == right.age or (math.isnan(left.age) and math.isnan(right.age))
    assert left.sex == right.sex
    assert left.dx_codes == right.dx_codes
    assert left.signal.dtype == right.signal.dtype
    np.testing.assert_array_equal(left.signal, right.signal)


def challenge_driver_inputs(header: Path) -> tuple[np.ndarray, list[str]]:
    """What the 2020 challenge's driver.py hands an entry: float64 ``val``, the header's lines."""
    data = np.asarray(scipy.io.loadmat(header.with_suffix(".mat"))["val"], dtype=np.float64)
    with header.open() as file:
        return data, file.readlines()


# ----- the shared real records -----


@needs_shared_data
def test_every_shared_record_reads_as_twelve_finite_leads_in_float32() -> None:
    headers = find_records(DATA_DIR)
    assert headers
    for header in headers:
        record = read_record(header)
        assert record.name == header.stem
        assert record.lead_names == STANDARD_LEADS
        assert record.signal.dtype == np.float32
        assert record.n_samples > 0
        assert np.isfinite(record.signal).all()


@needs_shared_data
def test_shared_signals_equal_loadmat_scaled_by_the_header_gains_and_baselines() -> None:
    # Expected values: scipy.io.loadmat's matrix and the header's fields, split here by hand.
    for header in find_records(DATA_DIR):
        lines = header.read_text().splitlines()
        n_leads = int(lines[0].split()[1])
        gains, baselines = [], []
        for line in lines[1 : 1 + n_leads]:
            fields = line.split()
            gain_text = fields[2].split("/")[0]
            if "(" in gain_text:
                gain_text, baseline_text = gain_text.rstrip(")").split("(")
            else:
                baseline_text = fields[4]  # WFDB: the baseline defaults to the ADC zero
            gains.append(float(gain_text))
            baselines.append(float(baseline_text))
        val = scipy.io.loadmat(header.with_suffix(".mat"))["val"].astype(np.float64)
        expected = (val - np.array(baselines)[:, None]) / np.array(gains)[:, None]
        np.testing.assert_allclose(
            read_record(header).signal, expected, rtol=1e-6, atol=1e-7, err_msg=header.name
        )


@needs_shared_data
def test_shared_header_with_file_name_on_first_line_reads_with_its_gain() -> None:
    record = read_record(shared_record("E00018"))
    assert record.name == "E00018"
    assert record.signal[0, 0] == pytest.approx(263 / 4880)  # first value and gain of lead I
    assert record.dx_codes == ("445118002", "426177001")


@needs_shared_data
def test_shared_header_with_age_nan_reads_age_as_nan() -> None:
    record = read_record(shared_record("E00002"))
    assert math.isnan(record.age)
    assert record.sex is Sex.FEMALE


@needs_shared_data
def test_shared_1000_hz_record_with_lower_case_units_reads_rate_and_length() -> None:
    record = read_record(shared_record("S0001"))
    assert record.fs_hz == 1000.0
    assert record.n_samples == 38400
    assert record.duration_s == pytest.approx(38.4)
    assert record.dx_codes == ("251146004", "426783006")


@needs_shared_data
@pytest.mark.parametrize("name", ["A0001", "E00018", "S0001"])
def test_challenge_driver_inputs_give_the_same_record_as_read_record_for_shared(name: str) -> None:
    header = shared_record(name)
    assert_same_record(record_from_challenge(*challenge_driver_inputs(header)), read_record(header))


# ----- synthetic records with each quirk -----


def test_challenge_driver_inputs_give_the_same_record_as_read_record_for_synthetic(
    tmp_path: Path,
) -> None:
    header = write_synthetic_record(tmp_path, "A0001", age=math.nan, dx_codes=("164889003", ""))
    assert_same_record(record_from_challenge(*challenge_driver_inputs(header)), read_record(header))


def test_record_path_may_be_the_header_the_mat_or_the_name_without_extension(
    tmp_path: Path,
) -> None:
    header = write_synthetic_record(tmp_path, "A0002")
    paths = (header, str(header), header.with_suffix(".mat"), str(header.with_suffix("")))
    for path in paths:
        assert read_record(path).name == "A0002"


def test_257_hz_record_reads_its_rate_and_duration(tmp_path: Path) -> None:
    record = read_record(write_synthetic_record(tmp_path, "I0001", fs_hz=257, duration_s=30.0))
    assert record.fs_hz == 257.0
    assert record.n_samples == 7710
    assert record.duration_s == pytest.approx(30.0)


def test_four_field_first_line_without_date_reads(tmp_path: Path) -> None:
    header = write_synthetic_record(tmp_path, "A0001", duration_s=15.0, four_field_first_line=True)
    assert header.read_text().splitlines()[0] == "A0001 12 500 7500"
    record = read_record(header)
    assert (record.fs_hz, record.n_samples) == (500.0, 7500)


def test_file_name_in_place_of_record_name_on_first_line_reads(tmp_path: Path) -> None:
    header = write_synthetic_record(tmp_path, "E00018", seed=3)
    before = read_record(header)
    edit_header(header, "E00018 12 500", "E00018.mat 12 500")
    assert_same_record(read_record(header), before)


def test_lower_case_mv_units_give_the_same_values(tmp_path: Path) -> None:
    header = write_synthetic_record(tmp_path, "HR00001", seed=4)
    before = read_record(header)
    edit_header(header, "1000/mV", "1000/mv")
    assert_same_record(read_record(header), before)


def test_units_other_than_millivolts_are_refused(tmp_path: Path) -> None:
    header = write_synthetic_record(tmp_path, "A0003")
    edit_header(header, "1000/mV 16 0", "1000/uV 16 0")
    with pytest.raises(RecordError, match=re.escape(str(header)) + ".*uV"):
        read_record(header)


@pytest.mark.parametrize(
    ("age", "edit", "expected"),
    [
        (74.0, None, 74.0),
        (math.nan, None, math.nan),
        (None, None, math.nan),
        (50.0, ("#Age: 50", "#Age: unknown"), math.nan),
        (50.0, ("#Age: 50", "#Age:"), math.nan),
    ],
    ids=["number", "NaN", "missing-line", "not-a-number", "empty"],
)
def test_age_is_nan_when_absent_or_unparseable(
    tmp_path: Path, age: float | None, edit: tuple[str, str] | None, expected: float
) -> None:
    header = write_synthetic_record(tmp_path, "A0004", age=age)
    if edit is not None:
        edit_header(header, *edit)
    read_age = read_record(header).age
    assert read_age == expected or (math.isnan(read_age) and math.isnan(expected))


def test_empty_dx_entries_are_dropped_and_codes_stripped(tmp_path: Path) -> None:
    header = write_synthetic_record(tmp_path, "A0005", dx_codes=("164889003", "", " 426783006", ""))
    assert "#Dx: 164889003,, 426783006," in header.read_text()
    assert read_record(header).dx_codes == ("164889003", "426783006")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Male", Sex.MALE),
        ("male", Sex.MALE),
        ("M", Sex.MALE),
        ("Female", Sex.FEMALE),
        ("FEMALE", Sex.FEMALE),
        ("f", Sex.FEMALE),
        ("Unknown", Sex.UNKNOWN),
        ("", Sex.UNKNOWN),
        (None, Sex.UNKNOWN),
    ],
)
def test_sex_parses_any_case_and_single_letters(text: str | None, expected: Sex) -> None:
    assert Sex.parse(text) is expected


def test_lower_case_sex_in_a_header_reads(tmp_path: Path) -> None:
    assert read_record(write_synthetic_record(tmp_path, "A0006", sex="female")).sex is Sex.FEMALE


def test_leads_in_another_order_keep_the_header_order_until_standardised(tmp_path: Path) -> None:
    shuffled = ("V6", "aVL", "I", "V1", "III", "aVF", "V3", "II", "V2", "aVR", "V5", "V4")
    standard = read_record(write_synthetic_record(tmp_path / "a", "A0007", seed=5))
    record = read_record(
        write_synthetic_record(tmp_path / "b", "A0007", seed=5, lead_order=shuffled)
    )
    assert record.lead_names == shuffled
    reordered = to_standard_leads(record)
    assert reordered.lead_names == STANDARD_LEADS
    np.testing.assert_array_equal(reordered.signal, standard.signal)


def test_standard_leads_match_names_without_case(tmp_path: Path) -> None:
    header = write_synthetic_record(tmp_path, "A0008", seed=6)
    standard = read_record(header)
    edit_header(header, " 0 aVR\n", " 0 AVR\n")
    edit_header(header, " 0 V1\n", " 0 v1\n")
    record = read_record(header)
    assert "AVR" in record.lead_names and "v1" in record.lead_names
    reordered = to_standard_leads(record)
    assert reordered.lead_names == STANDARD_LEADS
    np.testing.assert_array_equal(reordered.signal, standard.signal)


def test_missing_lead_is_zero_filled_with_a_warning_naming_record_and_lead(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    eleven = tuple(lead for lead in STANDARD_LEADS if lead != "V3")
    record = read_record(write_synthetic_record(tmp_path, "A0009", lead_order=eleven))
    assert record.n_leads == 11
    with caplog.at_level(logging.WARNING, logger="seecgnet.io.records"):
        reordered = to_standard_leads(record)
    assert reordered.n_leads == 12
    assert not reordered.signal[STANDARD_LEADS.index("V3")].any()
    assert reordered.signal[STANDARD_LEADS.index("V4")].any()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("A0009" in message and "V3" in message for message in warnings)


def test_missing_leads_can_be_left_to_the_caller_to_report(
    caplog: pytest.LogCaptureFixture,
) -> None:
    signal = np.arange(4 * 10, dtype=np.float32).reshape(4, 10) + 1
    record = Record("A0011", signal, ("II", "v2", "I", "X"), 500.0, 60.0, Sex.MALE, ("426783006",))
    assert absent_standard_leads(record.lead_names) == (
        "III", "aVR", "aVL", "aVF", "V1", "V3", "V4", "V5", "V6",
    )  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="seecgnet.io.records"):
        standard = to_standard_leads(record, warn_missing=False)
    np.testing.assert_array_equal(standard.signal[[0, 1, 7]], record.signal[[2, 0, 1]])
    # a lead outside the twelve is still reported: only the missing ones are left to the caller
    assert [r.getMessage() for r in caplog.records] == [
        "record A0011: lead X is not a standard lead; dropped"
    ]


def test_standard_record_is_returned_unchanged(tmp_path: Path) -> None:
    record = read_record(write_synthetic_record(tmp_path, "A0010"))
    assert to_standard_leads(record) is record


@pytest.mark.parametrize(
    ("old", "new", "field", "wfdb_reads"),
    [
        ("A0025 12 500 5000", "A0025 12 fast 5000", "fs", 250),
        ("A0025 12 500 5000", "A0025 12.5 5000", "fs", 0.5),
        ("A0025 12 500 5000", "A0025 12 500 5000abc", "sig_len", 5000),
        ("16+24", "16x+24", "samps_per_frame", 1),
        ("1000/mV", "1000mV", "units", "mV"),
        ("1000/mV", "1000(12/mV", "baseline", 12),
        ("1000/mV 16 0 ", "1000/mV 16 " + "9" * 30 + " ", "adc_zero", int("9" * 30)),
        (" 0 I\n", " 0x I\n", "sig_name", "x I"),
    ],
    ids=["rate", "leads", "samples", "format", "units", "baseline", "adc-zero", "lead-name"],
)
def test_header_that_wfdb_misreads_silently_is_refused_by_our_parser(
    tmp_path: Path, old: str, new: str, field: str, wfdb_reads: object
) -> None:
    header = write_synthetic_record(tmp_path, "A0025")
    edit_header(header, old, new)
    read = getattr(wfdb.rdheader(str(header.with_suffix(""))), field)
    assert (read[0] if isinstance(read, list) else read) == wfdb_reads  # without a word
    assert read_with_wfdb(header, "A0025").why_not.startswith("misread")
    with pytest.raises(RecordError, match=re.escape(str(header))):
        read_record(header)


# ----- errors -----


def test_missing_mat_raises_record_error_naming_the_mat(tmp_path: Path) -> None:
    header = write_synthetic_record(tmp_path, "A0011")
    header.with_suffix(".mat").unlink()
    with pytest.raises(RecordError, match=re.escape(str(header.with_suffix(".mat")))):
        read_record(header)


def test_missing_header_raises_record_error_naming_the_header(tmp_path: Path) -> None:
    with pytest.raises(RecordError, match=re.escape(str(tmp_path / "A0012.hea"))):
        read_record(tmp_path / "A0012")


def test_matrix_shorter_than_the_header_says_raises_record_error(tmp_path: Path) -> None:
    header = write_synthetic_record(tmp_path, "A0013")
    edit_header(header, "A0013 12 500 5000", "A0013 12 500 6000")
    with pytest.raises(RecordError, match=r"A0013\.mat.*\(12, 5000\).*6000 samples"):
        read_record(header)


def test_driver_matrix_disagreeing_with_the_header_raises_record_error(tmp_path: Path) -> None:
    data, lines = challenge_driver_inputs(write_synthetic_record(tmp_path, "A0014"))
    with pytest.raises(RecordError, match="A0014"):
        record_from_challenge(data.T, lines)
    with pytest.raises(RecordError, match="A0014"):
        record_from_challenge(data[:11], lines)


def test_header_announcing_more_leads_than_it_lists_raises_record_error(tmp_path: Path) -> None:
    header = write_synthetic_record(tmp_path, "A0015")
    edit_header(header, "A0015 12 500", "A0015 13 500")
    with pytest.raises(RecordError, match=re.escape(str(header)) + ".*13 leads"):
        read_record(header)


def test_unreadable_record_line_raises_record_error_naming_the_header(tmp_path: Path) -> None:
    header = write_synthetic_record(tmp_path, "A0016")
    edit_header(header, "A0016 12 500 5000", "A0016 twelve leads")
    with pytest.raises(RecordError, match=re.escape(str(header))):
        read_record(header)


def test_record_refuses_a_signal_that_does_not_match_its_lead_names() -> None:
    with pytest.raises(RecordError, match="X1"):
        Record("X1", np.zeros((3, 10), np.float32), ("I", "II"), 500.0, 50.0, Sex.MALE, ())


# ----- finding records -----


def test_find_records_lists_sorted_headers_that_have_a_mat(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    for name in ("B0002", "A0001", "C0003"):
        write_synthetic_record(tmp_path, name, duration_s=1.0)
    (tmp_path / "C0003.mat").unlink()
    with caplog.at_level(logging.WARNING, logger="seecgnet.io.records"):
        headers = find_records(tmp_path)
    assert headers == [tmp_path / "A0001.hea", tmp_path / "B0002.hea"]
    assert "C0003.hea" in caplog.text


def test_find_records_in_a_missing_folder_raises_record_error(tmp_path: Path) -> None:
    with pytest.raises(RecordError, match="no_such_folder"):
        find_records(tmp_path / "no_such_folder")


def test_find_records_in_an_empty_folder_returns_an_empty_list(tmp_path: Path) -> None:
    assert find_records(tmp_path) == []


def test_find_records_on_a_file_raises_record_error_naming_it(tmp_path: Path) -> None:
    header = write_synthetic_record(tmp_path, "A0017", duration_s=1.0)
    with pytest.raises(RecordError, match=re.escape(str(header)) + ": is a file"):
        find_records(header)


def test_find_records_without_required_signal_lists_headers_missing_their_mat(
    tmp_path: Path,
) -> None:
    for name in ("A0018", "A0019"):
        write_synthetic_record(tmp_path, name, duration_s=1.0)
    (tmp_path / "A0019.mat").unlink()
    (tmp_path / "folder.hea").mkdir()
    assert find_records(tmp_path, require_signal=False) == [
        tmp_path / "A0018.hea",
        tmp_path / "A0019.hea",
    ]


def test_header_that_is_a_folder_raises_record_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "A0020.hea").mkdir()
    with pytest.raises(RecordError, match=re.escape(str(tmp_path / "A0020.hea"))):
        read_record(tmp_path / "A0020")


# ----- the MATLAB v4 reader -----


def v4_matrix(name: str, values: np.ndarray, type_word: int, byte_order: str = "<") -> bytes:
    """One MATLAB v4 matrix, written by hand: header, NUL-terminated name, values by column."""
    rows, columns = values.shape
    header = struct.pack(byte_order + "5i", type_word, rows, columns, 0, len(name) + 1)
    return (
        header
        + name.encode()
        + b"\0"
        + values.astype(values.dtype.newbyteorder(byte_order)).tobytes(order="F")
    )


@pytest.mark.parametrize("dtype", [np.int16, np.float64, np.float32, np.int32, np.uint16, np.uint8])
def test_v4_matrix_equals_what_loadmat_reads_for_each_numeric_type(
    tmp_path: Path, dtype: type
) -> None:
    # scipy.io.loadmat is the reference: the challenge's driver reads .mat files with it.
    header = write_synthetic_record(tmp_path, "A0022", lead_order=("I", "II", "V1"), duration_s=1.0)
    mat = header.with_suffix(".mat")
    val = (scipy.io.loadmat(mat)["val"] % 200).astype(dtype)
    scipy.io.savemat(mat, {"before": val[:1, :7], "val": val, "after": val[:2]}, format="4")
    expected = scipy.io.loadmat(mat)["val"]
    record = read_record(header)
    np.testing.assert_array_equal(record.signal, expected.astype(np.float32) / 1000)


def test_big_endian_v4_file_reads_the_same_values(tmp_path: Path) -> None:
    header = write_synthetic_record(tmp_path, "A0023", lead_order=("I", "II"), duration_s=1.0)
    little = read_record(header)
    val = scipy.io.loadmat(header.with_suffix(".mat"))["val"]
    # type word 1030: big-endian (1), int16 (3), numeric (0)
    header.with_suffix(".mat").write_bytes(v4_matrix("val", val, 1030, byte_order=">"))
    np.testing.assert_array_equal(read_record(header).signal, little.signal)


@pytest.mark.parametrize(
    ("matrix", "problem"),
    [
        (v4_matrix("val", np.zeros((2, 500), np.int16), 31), "'val' is a text matrix"),
        (v4_matrix("val", np.zeros((2, 500), np.int16), 32), "'val' is a sparse matrix"),
        (struct.pack("<5i", 30, 2, 500, 1, 4) + b"val\0" + bytes(16000), "'val' is a complex"),
        (struct.pack("<5i", 30, 2**31 - 1, 2**31 - 1, 0, 4) + b"val\0", "truncated: matrix 'val'"),
        (struct.pack("<5i", 90, 2, 500, 0, 4) + b"val\0" + bytes(8000), "type 90"),
        (struct.pack("<5i", 30, -2, 500, 0, 4) + b"val\0", r"-2 × 500"),
    ],
    ids=["text", "sparse", "complex", "huge", "unknown-precision", "negative-rows"],
)
def test_v4_matrix_that_is_not_a_real_signal_raises_record_error(
    tmp_path: Path, matrix: bytes, problem: str
) -> None:
    header = write_synthetic_record(tmp_path, "A0024", lead_order=("I", "II"), duration_s=1.0)
    header.with_suffix(".mat").write_bytes(matrix)
    with pytest.raises(
        RecordError, match=re.escape(str(header.with_suffix(".mat"))) + ".*" + problem
    ):
        read_record(header)


@dataclass(frozen=True)
class FuzzRecord:
    header: Path
    header_bytes: bytes
    mat_bytes: bytes


@pytest.fixture(scope="module")
def fuzz_record(tmp_path_factory: pytest.TempPathFactory) -> FuzzRecord:
    header = write_synthetic_record(
        tmp_path_factory.mktemp("fuzz"), "F0001", lead_order=("I", "II", "V1"), duration_s=0.2
    )
    return FuzzRecord(header, header.read_bytes(), header.with_suffix(".mat").read_bytes())


def damaged(clean: bytes, data: st.DataObject) -> bytes:
    """``clean`` with one to four bytes changed (often in the first 64) and perhaps cut short."""
    spoilt = bytearray(clean)
    for _ in range(data.draw(st.integers(1, 4))):
        limit = data.draw(st.sampled_from([min(64, len(spoilt)), len(spoilt)]))
        spoilt[data.draw(st.integers(0, limit - 1))] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        del spoilt[data.draw(st.integers(0, len(spoilt))) :]
    return bytes(spoilt)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_damaged_mat_gives_a_record_or_a_record_error(
    fuzz_record: FuzzRecord, data: st.DataObject
) -> None:
    fuzz_record.header.write_bytes(fuzz_record.header_bytes)
    fuzz_record.header.with_suffix(".mat").write_bytes(damaged(fuzz_record.mat_bytes, data))
    with contextlib.suppress(RecordError):
        assert read_record(fuzz_record.header).n_leads == 3


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_damaged_or_arbitrary_header_bytes_give_a_record_or_a_record_error(
    fuzz_record: FuzzRecord, data: st.DataObject
) -> None:
    if data.draw(st.booleans()):
        header_bytes = data.draw(st.binary(max_size=400))
    else:
        header_bytes = damaged(fuzz_record.header_bytes, data)
    fuzz_record.header.write_bytes(header_bytes)
    fuzz_record.header.with_suffix(".mat").write_bytes(fuzz_record.mat_bytes)
    with contextlib.suppress(RecordError):
        read_record(fuzz_record.header)
