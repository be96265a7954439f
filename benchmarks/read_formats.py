"""Reading one record as EDF+, BDF and DICOM against reading its challenge ``.hea`` + ``.mat``.

The record (default: the shared A0001, 12 leads, 15 s at 500 Hz) is written as EDF+, BDF and DICOM
by edfio and pydicom (the tests' writers, ``tests/io/formats/writers.py``) into a temporary folder,
and each file is read ``--repeat`` times in turn by the package's reader for its format
(``seecgnet.io.formats.edf.read``, ``dicom.read``; ``seecgnet.io.records.read_record`` for the
``.mat``); the median time of each counts, in one process, the files fresh in the page cache. Issue
33 asks for EDF and DICOM within twice the ``.mat``'s time. With ``--aecg FILE`` an HL7 aECG file is
timed too (its XML is a different record, so its time is only a scale).

    python benchmarks/read_formats.py [RECORD] [--repeat 200] [--aecg FILE]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from seecgnet.io.formats import aecg, dicom, edf
from seecgnet.io.records import read_record
from tests.io.formats.writers import write_dicom, write_edf

SHARED_RECORD = Path(__file__).resolve().parents[2] / "shared" / "data" / "cinc2020" / "A0001"


def median_ms(read: Callable[[Path], object], path: Path, repeat: int) -> float:
    read(path)  # the first read imports the library
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        read(path)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("record", nargs="?", type=Path, default=SHARED_RECORD)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--aecg", type=Path)
    args = parser.parse_args(argv)
    record = read_record(args.record)
    print(f"{record.name}: {record.n_leads} leads, {record.duration_s:g} s at {record.fs_hz:g} Hz")
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder) / record.name
        write_edf(record, base.with_suffix(".edf"))
        write_edf(record, base.with_suffix(".bdf"), bdf=True)
        write_dicom(record, base.with_suffix(".dcm"))
        mat_ms = median_ms(read_record, args.record, args.repeat)
        rows = [(".hea + .mat", mat_ms)]
        for suffix, reader in ((".edf", edf.read), (".bdf", edf.read), (".dcm", dicom.read)):
            rows.append((suffix, median_ms(reader, base.with_suffix(suffix), args.repeat)))
    if args.aecg:
        rows.append(("aECG (another record)", median_ms(aecg.read, args.aecg, args.repeat)))
    for name, ms in rows:
        print(f"{name:<24} {ms:8.3f} ms  {ms / mat_ms:5.2f} × the .mat")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
