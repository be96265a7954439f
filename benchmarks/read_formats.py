"""Reading one record as EDF+, BDF and DICOM against reading its challenge ``.hea`` + ``.mat``.

The record (default: the shared A0001, 12 leads, 15 s at 500 Hz) is written as EDF+, BDF and DICOM
by edfio and pydicom (the tests' writers, ``tests/io/formats/writers.py``) into a temporary folder,
and the files are read ``--repeat`` times in turn, interleaved (the ``.mat``, the EDF+, the BDF,
the DICOM, then again), by the package's reader for each format (``seecgnet.io.formats.edf.read``,
``dicom.read``; ``seecgnet.io.records.read_record`` for the ``.mat``), in one process, the files in
the page cache. For each the median wall time of a read is given, and the median CPU time of the
reading thread: on a machine shared with other work the wall time counts the moments the reader
waits for a core (a DICOM read, long enough to be preempted, measured 10 ms wall for 2.7 ms CPU
on two busy cores), the CPU time does not. Issue 33 asks for EDF and DICOM within twice the
``.mat``'s time. With ``--aecg FILE`` an HL7 aECG file is timed too (its XML is a different record,
so its time is only a scale).

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


def median_ms(
    reads: list[tuple[Callable[[Path], object], Path]], repeat: int
) -> list[tuple[float, float]]:
    """Each read's median wall time and median thread CPU time (ms), the reads interleaved."""
    for read, path in reads:
        read(path)  # the first read imports the library
    wall: list[list[float]] = [[] for _ in reads]
    cpu: list[list[float]] = [[] for _ in reads]
    for _ in range(repeat):
        for index, (read, path) in enumerate(reads):
            started, started_cpu = time.perf_counter(), time.thread_time()
            read(path)
            cpu[index].append(time.thread_time() - started_cpu)
            wall[index].append(time.perf_counter() - started)
    return [
        (statistics.median(w) * 1000, statistics.median(c) * 1000)
        for w, c in zip(wall, cpu, strict=True)
    ]


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
        reads = [(read_record, args.record)]
        names = [".hea + .mat", "EDF+", "BDF", "DICOM"]
        for suffix, reader in ((".edf", edf.read), (".bdf", edf.read), (".dcm", dicom.read)):
            reads.append((reader, base.with_suffix(suffix)))
        if args.aecg:
            reads.append((aecg.read, args.aecg))
            names.append("aECG (another record)")
        times = median_ms(reads, args.repeat)
    (mat_wall, mat_cpu), *_ = times
    print(f"{'':<24} {'wall':>9}  {'× .mat':>6}  {'CPU':>9}  {'× .mat':>6}")
    for name, (wall, cpu) in zip(names, times, strict=True):
        print(
            f"{name:<24} {wall:6.3f} ms  {wall / mat_wall:6.2f}  {cpu:6.3f} ms  {cpu / mat_cpu:6.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
