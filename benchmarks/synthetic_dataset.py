"""Write N synthetic challenge records of mixed rates and lengths, in parallel, for the benchmarks.

The mix follows the shape of the 2020 training data at a smaller total size: most records are 10 s
at 500 Hz; some are 6-30 s at 500 Hz, some 10-60 s at 1000 Hz (as PTB), some 1-5 min at 257 Hz
and one in 2,000 is 30 min at 257 Hz (as INCART). The mean record is about 13.5 s long, 160 kB on
disk; 43,101 records take about 7 GB. Labels cycle through five kinds whose signals differ
(sinus rhythm, bradycardia, tachycardia, atrial fibrillation, low QRS voltages). Record ``i``
depends only on (seed, i), so any number of workers writes the same files.

    python benchmarks/synthetic_dataset.py N DIR [--seed 0] [--workers 2]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from seecgnet.io.synthetic import (
    ATRIAL_FIBRILLATION,
    LOW_QRS_VOLTAGES,
    SINUS_BRADYCARDIA,
    SINUS_RHYTHM,
    SINUS_TACHYCARDIA,
    Rhythm,
    write_synthetic_record,
)

# (diagnoses, heart rate range in bpm, rhythm, QRS scale)
KINDS = (
    ((SINUS_RHYTHM,), (60.0, 100.0), Rhythm.SINUS, 1.0),
    ((SINUS_BRADYCARDIA,), (40.0, 55.0), Rhythm.SINUS, 1.0),
    ((SINUS_TACHYCARDIA,), (105.0, 150.0), Rhythm.SINUS, 1.0),
    ((ATRIAL_FIBRILLATION,), (70.0, 140.0), Rhythm.ATRIAL_FIBRILLATION, 1.0),
    ((LOW_QRS_VOLTAGES, SINUS_RHYTHM), (60.0, 100.0), Rhythm.SINUS, 0.25),
)
# (probability, rate in Hz, shortest and longest duration in s)
RATES_AND_LENGTHS = (
    (0.9015, 500.0, 10.0, 10.0),
    (0.06, 500.0, 6.0, 30.0),
    (0.03, 1000.0, 10.0, 60.0),
    (0.008, 257.0, 60.0, 300.0),
    (0.0005, 257.0, 1800.0, 1800.0),
)
RECORDS_PER_TASK = 64  # records written per job handed to a worker


def write_one(folder: Path, index: int, seed: int) -> int:
    """Write record ``index`` (named B000001...); return its size in bytes."""
    rng = np.random.default_rng([seed, index])
    codes, rate_range, rhythm, qrs_scale = KINDS[index % len(KINDS)]
    weights = np.array([row[0] for row in RATES_AND_LENGTHS])
    _, fs_hz, shortest_s, longest_s = RATES_AND_LENGTHS[rng.choice(len(weights), p=weights)]
    header = write_synthetic_record(
        folder,
        f"B{index + 1:06d}",
        fs_hz=fs_hz,
        duration_s=round(float(rng.uniform(shortest_s, longest_s)), 1),
        heart_rate_bpm=float(rng.uniform(*rate_range)),
        rhythm=rhythm,
        qrs_scale=qrs_scale,
        dx_codes=codes,
        age=math.nan if rng.random() < 0.05 else float(rng.integers(18, 91)),
        sex=("Male", "Female")[int(rng.integers(2))],
        seed=int(rng.integers(2**31)),
    )
    return header.stat().st_size + header.with_suffix(".mat").stat().st_size


def write_many(folder: Path, indices: range, seed: int) -> tuple[int, int]:
    """Write records ``indices``; return how many and their bytes."""
    return len(indices), sum(write_one(folder, index, seed) for index in indices)


def write_mixed_dataset(
    n: int, folder: Path, seed: int = 0, workers: int = 2, progress: bool = True
) -> int:
    """Write records 1..n into ``folder`` in ``workers`` processes; return their total bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    tasks = [
        range(start, min(n, start + RECORDS_PER_TASK)) for start in range(0, n, RECORDS_PER_TASK)
    ]
    results = Parallel(n_jobs=workers, return_as="generator_unordered")(
        delayed(write_many)(folder, task, seed) for task in tasks
    )
    total = 0
    with tqdm(total=n, desc="synthetic records", unit="record", disable=not progress) as bar:
        for count, written in results:
            total += written
            bar.update(count)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, help="number of records")
    parser.add_argument("dir", type=Path, help="new or empty folder to write into")
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (2)")
    args = parser.parse_args()
    if args.n < 1:
        parser.error(f"N must be at least 1, got {args.n}")
    if args.dir.exists() and (not args.dir.is_dir() or any(args.dir.iterdir())):
        # the records it writes would replace files of the same names
        parser.error(f"{args.dir}: not a new or empty folder")
    started = time.perf_counter()
    total = write_mixed_dataset(args.n, args.dir, args.seed, args.workers)
    seconds = time.perf_counter() - started
    print(
        f"wrote {args.n} records, {total / 1e9:.2f} GB, to {args.dir} in {seconds:.1f} s "
        f"({args.n / seconds:.0f} records/s, {args.workers} workers)"
    )


if __name__ == "__main__":
    main()
