"""Reading one record in the formats read here: the challenge's .mat against the same record in WFDB
format 16 and 212 (written by wfdb.wrsamp) and as a CSV table, through the one reader every entry
point uses (seecgnet.io.formats.dispatch.read_record), and through wfdb.rdrecord for comparison.

Each record of ``--data`` (the shared challenge records by default; the first ``--n``) is copied
into a temporary folder in every format, then read ``--repeats`` times per format with the files
in the page cache, the readers taking turns; the figure is the median over the records of each
record's median time.

    python benchmarks/read_dat_and_csv.py [--data DIR] [--n 50] [--repeats 5]
"""

from __future__ import annotations

import argparse
import logging
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import wfdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from seecgnet.io.formats.dispatch import read_record
from seecgnet.io.headers import parse_header
from seecgnet.io.records import read_val_matrix

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "cinc2020"


def write_copies(header_path: Path, root: Path) -> dict[str, Path]:
    """The record as .mat (a copy), WFDB 16, WFDB 212 and CSV under ``root``; each one's path."""
    name = header_path.stem
    header = parse_header(header_path.read_text().splitlines(), str(header_path), name)
    leads = list(header.lead_names)
    common = {"fs": header.fs_hz, "units": ["mV"] * len(leads), "sig_name": leads}
    paths = {}
    for kind in ("mat", "f16", "f212", "csv"):
        (root / kind).mkdir(exist_ok=True)
    for suffix in (".hea", ".mat"):
        shutil.copyfile(header_path.with_suffix(suffix), root / "mat" / f"{name}{suffix}")
    paths["mat"] = root / "mat" / f"{name}.hea"
    digital = np.asarray(read_val_matrix(header_path.with_suffix(".mat")), dtype=np.int64)
    wfdb.wrsamp(
        name,
        d_signal=digital.T.copy(),
        fmt=["16"] * len(leads),
        adc_gain=list(header.gains),
        baseline=list(header.baselines),
        write_dir=str(root / "f16"),
        **common,
    )
    paths["f16"] = root / "f16" / f"{name}.hea"
    signal = read_record(header_path).signal
    wfdb.wrsamp(
        name,
        p_signal=signal.T.astype(np.float64),
        fmt=["212"] * len(leads),
        write_dir=str(root / "f212"),
        **common,
    )
    paths["f212"] = root / "f212" / f"{name}.hea"
    rows = "\n".join(",".join(f"{v:.9g}" for v in row) for row in signal.T)
    paths["csv"] = root / "csv" / f"{name}.csv"
    paths["csv"].write_text(f"# fs_hz: {header.fs_hz:g}\n{','.join(leads)}\n{rows}\n")
    return paths


def median_ms(readers: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Each reader's median time in ms; the readers take turns, so a machine whose load changes
    during the run slows them alike."""
    times: dict[str, list[float]] = {label: [] for label in readers}
    for _ in range(repeats):
        for label, read in readers.items():
            started = time.perf_counter()
            read()
            times[label].append(time.perf_counter() - started)
    return {label: 1000 * statistics.median(spent) for label, spent in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the copies carry no #Dx: one warning per read
    headers = sorted(args.data.glob("*.hea"))[: args.n]
    with tempfile.TemporaryDirectory() as folder:
        copies = [write_copies(header, Path(folder)) for header in headers]
        for path in (p for c in copies for p in c.values()):  # into the page cache
            read_record(path)
        readers = {}
        for copy in copies:
            for kind in ("mat", "f16", "f212", "csv"):
                readers[f"read_record, {kind}", copy[kind]] = partial(read_record, copy[kind])
            for kind in ("f16", "f212"):
                base = str(copy[kind].with_suffix(""))
                readers[f"wfdb.rdrecord, {kind}", copy[kind]] = partial(wfdb.rdrecord, base)
        spent = median_ms(readers, args.repeats)
        print(f"{len(headers)} records of {args.data}, median ms per record read:")
        for label in dict.fromkeys(label for label, _ in readers):
            figures = [ms for (each, _), ms in spent.items() if each == label]
            print(f"  {label:20}: {statistics.median(figures):7.3f}")


if __name__ == "__main__":
    main()
