"""python -m seecgnet.convert: any readable record written in the challenge's format, read back by
the challenge's reader and scipy alike, and never written over anything."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from seecgnet.convert import main
from seecgnet.io.formats.dispatch import read_record
from seecgnet.io.records import STANDARD_LEADS, Sex
from seecgnet.io.records import read_record as read_challenge_record
from tests.paths import ROOT, SHARED

CSV_TEXT = (
    "# fs_hz: 500\n# age: 63.4\n# sex: F\n# dx: 164889003\n"
    "I,II,V1\n0.1234,-0.2,40.0\n0.3,0.4,-0.0004\n0.5,0.6,0.7\n"
)


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "tab.csv").write_text(CSV_TEXT)
    (folder / "bad.csv").write_text("I,II\n1,2\n")  # no rate
    return folder


def test_a_folder_is_written_in_the_challenges_format_and_reads_back(
    inputs: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert main([str(inputs), str(out)]) == 1  # bad.csv could not be read
    assert sorted(p.name for p in out.iterdir()) == ["tab.hea", "tab.mat"]
    original, written = read_record(inputs / "tab.csv"), read_challenge_record(out / "tab.hea")
    assert written.lead_names == ("I", "II", "V1")
    assert (written.fs_hz, written.age, written.sex, written.dx_codes) == (
        500.0,
        63.0,  # the 2020 harness reads the age with int()
        Sex.FEMALE,
        ("164889003",),
    )
    clipped = np.clip(original.signal, -32.767, 32.767)
    assert np.abs(written.signal - clipped).max() <= 0.0005 + 1e-7  # half of 1 µV per unit
    val = scipy.io.loadmat(out / "tab.mat")["val"]
    assert val.dtype == np.int16 and val[0, 0] == 123
    lines = (out / "tab.hea").read_text().splitlines()
    assert lines[0] == "tab 3 500 3"
    assert lines[1].split()[1:3] == ["16+24", "1000/mV"]


def test_only_its_own_unchanged_records_are_written_over(
    inputs: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "out"
    assert main([str(inputs / "tab.csv"), str(out)]) == 0
    assert (
        (out / "tab.hea")
        .read_text()
        .splitlines()[-1]
        .startswith("#Written by: python -m seecgnet.convert, sha256 ")
    )
    assert main([str(inputs / "tab.csv"), str(out)]) == 0  # its own record, replaced
    (out / "tab.mat").write_bytes(b"mine")  # changed since: the user's now
    assert main([str(inputs / "tab.csv"), str(out)]) == 2
    assert "tab.hea: exists and is not this command's own record" in capsys.readouterr().err
    assert (out / "tab.mat").read_bytes() == b"mine"
    assert main([str(inputs), str(inputs)]) == 2
    assert main([str(inputs / "tab.csv"), str(inputs)]) == 2
    assert "cannot be the input folder" in capsys.readouterr().err


@pytest.mark.skipif(not (SHARED / "data" / "formats").is_dir(), reason="shared files absent")
def test_the_ptb_record_converts_to_its_twelve_leads(tmp_path: Path) -> None:
    source = SHARED / "data" / "formats" / "wfdb" / "s0010_re.hea"
    assert main([str(source), str(tmp_path / "out")]) == 0
    written = read_challenge_record(tmp_path / "out" / "s0010_re.hea")
    assert written.lead_names == STANDARD_LEADS and written.n_samples == 38400
    assert np.abs(written.signal - read_record(source).signal).max() <= 0.0005 + 1e-7


def test_help_says_what_it_reads_and_that_it_writes_over_nothing() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "seecgnet.convert", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    assert "challenge" in result.stdout and "CSV" in result.stdout
    assert "Nothing is written over" in result.stdout
