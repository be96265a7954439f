"""Shared challenge records written as EDF+, BDF and DICOM by edfio and pydicom, read back equal.

Each format quantises the signal its own way; a sample read back lies within half a quantisation
step of the ``.mat`` record's (plus float32 rounding, :func:`quantisation_bound`):
- EDF+: 16 bits over each lead's range, (max - min) / 65535, about 0.1 uV for a 6 mV range;
- BDF: 24 bits over the same range, about 0.0004 uV;
- DICOM: int16 samples of 1 uV (the ``.mat``'s own step, so the samples come back exactly), or
  of the coarser sensitivity a lead beyond ±32 mV needs.
Age (whole years) and sex are kept by all three.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from seecgnet.io.formats import dicom, edf
from seecgnet.io.records import read_record
from tests.io.formats.writers import quantisation_bound, write_dicom, write_edf
from tests.paths import CINC2020

pytest.importorskip("edfio")
pytest.importorskip("pydicom")


def round_trip_records(count: int = 24) -> list[Path]:
    """The first ``count`` shared records at 500 Hz that fit a DICOM 12-lead ECG (16384 samples)."""
    if not CINC2020.is_dir():
        return []
    chosen = []
    for header in sorted(CINC2020.glob("*.hea")):
        fields = header.read_text().split(maxsplit=4)
        if fields[2] == "500" and int(fields[3]) <= 16384:
            chosen.append(header)
        if len(chosen) == count:
            break
    return chosen


RECORDS = round_trip_records()
needs_records = pytest.mark.skipif(not RECORDS, reason="no ../shared/data/cinc2020")

WRITERS = {
    "edf+": lambda record, path: write_edf(record, path.with_suffix(".edf"), unit="uV"),
    "bdf": lambda record, path: write_edf(record, path.with_suffix(".bdf"), bdf=True, unit="mV"),
    "dicom": lambda record, path: write_dicom(record, path.with_suffix(".dcm"), median_beat=True),
}
READERS = {"edf+": (edf, ".edf"), "bdf": (edf, ".bdf"), "dicom": (dicom, ".dcm")}


@needs_records
@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_shared_records_come_back_within_the_formats_quantisation(
    kind: str, tmp_path: Path
) -> None:
    assert len(RECORDS) >= 20
    reader, suffix = READERS[kind]
    worst = 0.0
    for header in RECORDS:
        record = read_record(header)
        steps = WRITERS[kind](record, tmp_path / record.name)
        path = (tmp_path / record.name).with_suffix(suffix)
        assert reader.looks_like(path.read_bytes()[:1024])
        back = reader.read(path)
        assert back.name == record.name
        assert back.lead_names == record.lead_names
        assert (back.fs_hz, back.n_samples) == (record.fs_hz, record.n_samples)
        assert back.sex is record.sex
        assert back.age == record.age or (np.isnan(back.age) and np.isnan(record.age))
        error = np.abs(back.signal - record.signal)
        assert (error <= quantisation_bound(record.signal, steps)).all(), record.name
        worst = max(worst, float(error.max()))
    assert worst < 1e-3  # under 1 uV in every format
