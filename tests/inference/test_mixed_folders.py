"""The driver on a folder that mixes formats: each record gets NAME.csv, a bad file an all-negative
one and a line naming it, and two records of one name stop the run before any work."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import wfdb

from seecgnet.inference.driver import predict_folder
from seecgnet.io.records import STANDARD_LEADS, RecordError, read_record
from seecgnet.io.synthetic import write_synthetic_record
from tests.paths import ROOT

MODEL = ROOT / "model"


def _as_csv(record, path: Path, rate_line: bool = True) -> None:
    rows = "\n".join(",".join(f"{v:.9g}" for v in row) for row in record.signal.T)
    rate = f"# fs_hz: {record.fs_hz:g}\n" if rate_line else ""
    path.write_text(
        f"{rate}# age: 60\n# sex: Male\n# dx: 426783006\n{','.join(record.lead_names)}\n{rows}\n"
    )


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    header = write_synthetic_record(folder, "MAT1", seed=1)
    record = read_record(header)
    _as_csv(record, folder / "CSV1.txt")
    _as_csv(record, folder / "NORATE.csv", rate_line=False)
    for name, keep in (("DAT1", None), ("CUT1", 1000)):
        wfdb.wrsamp(
            name,
            fs=500,
            units=["mV"] * 12,
            sig_name=[lead.lower() for lead in STANDARD_LEADS],
            d_signal=np.round(record.signal.T * 1000).astype(np.int16),
            fmt=["16"] * 12,
            adc_gain=[1000.0] * 12,
            baseline=[0] * 12,
            comments=["Age: 60", "Sex: Male", "Dx: 426783006"],
            write_dir=str(folder),
        )
        if keep:
            (folder / f"{name}.dat").write_bytes((folder / f"{name}.dat").read_bytes()[:keep])
    (folder / "README.md").write_text("# what these are\n")
    return folder


def test_every_record_of_a_mixed_folder_gets_its_output(
    mixed: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "out"
    with caplog.at_level(logging.INFO):
        summary = predict_folder(MODEL, mixed, out, progress=False)
    outputs = {path.stem: path.read_text().splitlines() for path in out.glob("*.csv")}
    assert sorted(outputs) == ["CSV1", "CUT1", "DAT1", "MAT1", "NORATE"]
    assert summary.n_failed == 2
    for bad in ("CUT1", "NORATE"):
        assert set(outputs[bad][2].split(",")) == {"0"}
    # the same signal in three formats: the same answer
    assert outputs["CSV1"][2:] == outputs["MAT1"][2:] == outputs["DAT1"][2:]
    assert "CUT1.dat: truncated" in caplog.text
    assert "NORATE.csv: no '# fs_hz: RATE' line" in caplog.text
    assert "1 files in no format read here skipped: README.md" in caplog.text


def test_two_records_of_one_name_stop_the_run_before_any_work(mixed: Path, tmp_path: Path) -> None:
    (mixed / "MAT1.csv").write_text((mixed / "CSV1.txt").read_text())
    with pytest.raises(RecordError, match=r"MAT1\.csv and .*MAT1\.hea are both record 'MAT1'"):
        predict_folder(MODEL, mixed, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()
