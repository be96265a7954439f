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
from tests.paths import ROOT, SHARED

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


FORMATS = SHARED / "data" / "formats"


@pytest.mark.skipif(not FORMATS.is_dir(), reason="shared format files absent")
def test_the_real_files_of_other_writers_are_predicted_and_drawn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PTB's WFDB record, the HL7 aECG example and pydicom's DICOM ECG each get the bundled model's
    answer and a report page; the EDF+ files, which hold no ECG lead, an all-negative output."""
    import shutil

    from pydicom.data import get_testdata_file

    from seecgnet.report.__main__ import main as report_main

    folder = tmp_path / "in"
    folder.mkdir()
    for path in (FORMATS / "wfdb").glob("s0010_re.*"):
        shutil.copy(path, folder)
    shutil.copy(FORMATS / "aecg" / "Example aECG.xml", folder / "aecg_example.xml")
    shutil.copy(get_testdata_file("waveform_ecg.dcm"), folder / "dicom_ecg.dcm")
    shutil.copy(FORMATS / "edf" / "test_edfann.edf", folder)
    summary = predict_folder(MODEL, folder, tmp_path / "out", progress=False)
    outputs = {p.stem: p.read_text().splitlines() for p in (tmp_path / "out").glob("*.csv")}
    assert sorted(outputs) == ["aecg_example", "dicom_ecg", "s0010_re", "test_edfann"]
    assert summary.n_failed == 1 and set(outputs["test_edfann"][2].split(",")) == {"0"}
    for name in ("aecg_example", "dicom_ecg", "s0010_re"):
        probabilities = np.array(outputs[name][3].split(","), dtype=float)
        assert probabilities.shape == (24,) and 0 < probabilities.max() <= 1
        assert "1" in outputs[name][2].split(",")  # the max/5 rule always names a class
    monkeypatch.chdir(tmp_path)
    for name in ("aecg_example.xml", "dicom_ecg.dcm"):
        assert report_main([str(MODEL), str(folder / name)]) == 0
        page = tmp_path / f"{Path(name).stem}_report.png"
        assert page.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
