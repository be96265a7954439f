"""Finding a folder's records and reading one, by content: a header stands for its record, other
files are recognised by their first bytes, files of no format are skipped in one log line, and two
records of one name are refused naming both."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import wfdb

from seecgnet.io.formats.dispatch import find_records, format_of, read_record
from seecgnet.io.records import STANDARD_LEADS, RecordError
from seecgnet.io.records import read_record as read_challenge_record
from seecgnet.io.synthetic import write_synthetic_record

CSV_TEXT = "# fs_hz: 500\nI,II\n0.1,0.2\n0.3,0.4\n"


def _dat_record(folder: Path, name: str) -> None:
    digital = np.arange(24, dtype=np.int16).reshape(2, 12).T.copy()
    wfdb.wrsamp(
        name,
        fs=500,
        units=["mV"] * 12,
        sig_name=[lead.lower() for lead in STANDARD_LEADS],
        d_signal=np.tile(digital, (1, 6)),
        fmt=["212"] * 12,
        adc_gain=[200.0] * 12,
        baseline=[0] * 12,
        write_dir=str(folder),
    )


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    """A folder of a challenge record, a .dat record, CSV under two extensions and other files."""
    write_synthetic_record(tmp_path, "A1")
    _dat_record(tmp_path, "B2")
    (tmp_path / "C3.csv").write_text(CSV_TEXT)
    (tmp_path / "D4.txt").write_text(CSV_TEXT)
    (tmp_path / "RECORDS").write_text("A1\nB2\n")
    (tmp_path / "B2.atr").write_bytes(b"\x00\x01annotations")
    (tmp_path / "notes.md").write_text("# notes\n")
    return tmp_path


def test_a_mixed_folder_lists_one_entry_per_record_and_sums_up_the_rest(
    mixed: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="seecgnet.io.formats.dispatch"):
        found = find_records(mixed, require_signal=False)
    assert [path.name for path in found] == ["A1.hea", "B2.hea", "C3.csv", "D4.txt"]
    skipped = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert len(skipped) == 1 and "2 files" in skipped[0] and "RECORDS" in skipped[0]


def test_each_record_reads_by_its_content(mixed: Path) -> None:
    assert read_record(mixed / "A1.hea").name == "A1"
    dat = read_record(mixed / "B2")  # the path NAME of a WFDB record
    assert dat.lead_names == STANDARD_LEADS and dat.n_samples == 12
    assert read_record(mixed / "B2.dat").name == "B2"  # a signal file stands for its record
    assert read_record(mixed / "D4.txt").lead_names == ("I", "II")
    assert format_of(mixed / "notes.md") is None
    with pytest.raises(RecordError, match=r"notes\.md: not a record in any format read here"):
        read_record(mixed / "notes.md")


def test_a_challenge_record_reads_exactly_as_the_challenge_reader_reads_it(mixed: Path) -> None:
    ours, theirs = read_record(mixed / "A1.hea"), read_challenge_record(mixed / "A1.hea")
    assert ours.signal.tobytes() == theirs.signal.tobytes()
    assert (ours.lead_names, ours.dx_codes, ours.fs_hz) == (
        theirs.lead_names,
        theirs.dx_codes,
        theirs.fs_hz,
    )


def test_two_records_of_one_name_are_refused_naming_both(mixed: Path) -> None:
    (mixed / "A1.txt").write_text(CSV_TEXT)
    with pytest.raises(RecordError, match=r"A1\.hea and .*A1\.txt are both record 'A1'"):
        find_records(mixed, require_signal=False)


def test_a_header_without_signal_file_is_left_out_for_training_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_synthetic_record(tmp_path, "A1")
    (tmp_path / "A1.mat").unlink()
    assert find_records(tmp_path, require_signal=False) == [tmp_path / "A1.hea"]
    with caplog.at_level(logging.WARNING):
        assert find_records(tmp_path, require_signal=True) == []
    assert "A1.hea has no signal file beside it" in caplog.text


def test_a_missing_folder_or_a_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RecordError, match="no such folder"):
        find_records(tmp_path / "absent")
    (tmp_path / "f.csv").write_text(CSV_TEXT)
    with pytest.raises(RecordError, match="is a file, not a folder"):
        find_records(tmp_path / "f.csv")
