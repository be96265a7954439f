"""Records per second of the driver on a folder of real records: batched against one at a time.

- *batched*: ``predict_records`` as ``driver.py`` runs it: ``--workers`` processes read and prepare
  the records while the network runs on fixed-shape batches of windows drawn from many records.
- *one at a time*: the driver's earlier loop: read a record, put its windows through the network
  as one batch of their own (``Predictor.predict_record``), write its output, next record. It runs
  with PyTorch's default threads (as the earlier driver did) and with one thread; the better of
  the two is the reference.

Each path runs in a fresh Python process, as a driver run does, so each pays its own first-call
set-ups; the time runs from loading the model folder to the last output file written (imports
left out). The paths alternate, ``--repeat`` times each, and the best run of each is compared.
The CPU seconds (the process and its reading workers) show what each path costs when every core
is busy anyway, as on a machine shared with other work.
The default folder is the team's shared sample (295 records: 257-1000 Hz, 6 s to 30 min).

    python benchmarks/driver_folder.py [DATA] [--model model] [--workers 2] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from seecgnet.challenge.outputs import write_output
from seecgnet.io.records import find_records, read_record
from seecgnet.model_folder import load_model
from seecgnet.pipeline import predict_records

ROOT = Path(__file__).resolve().parents[1]
# (label, path, network threads: None for PyTorch's default)
RUNS = (
    ("batched", "batched", None),
    ("one at a time", "one_at_a_time", None),
    ("one at a time, 1 thread", "one_at_a_time", 1),
)


def cpu_seconds() -> float:
    """CPU seconds of this process and of its finished children (the reading workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_path(path: str, model: Path, data: Path, output: Path, workers: int) -> tuple[float, float]:
    """(Seconds, CPU seconds) from loading the model to the last output written, on one path."""
    headers = find_records(data)
    cpu_started = cpu_seconds()
    started = time.perf_counter()
    loaded = load_model(model)
    if path == "batched":
        predict_records(loaded, headers, output, progress=False, workers=workers)
    else:
        output.mkdir(parents=True, exist_ok=True)
        codes = loaded.classes.codes
        for header in headers:
            prediction = loaded.predictor.predict_record(read_record(header))
            write_output(
                output / f"{header.stem}.csv",
                header.stem,
                codes,
                prediction.labels,
                prediction.probabilities,
            )
    return time.perf_counter() - started, cpu_seconds() - cpu_started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "data", nargs="?", default=str(ROOT.parent / "shared" / "data" / "cinc2020")
    )
    parser.add_argument("--model", default=str(ROOT / "model"), help="model folder (model)")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="reading processes (cores)"
    )
    parser.add_argument("--repeat", type=int, default=2, help="runs of each path (2)")
    parser.add_argument("--path", help=argparse.SUPPRESS)  # one run, in a child process
    parser.add_argument("--threads", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    args = parser.parse_args()
    data, model = Path(args.data), Path(args.model)
    if args.path:
        if args.threads:
            torch.set_num_threads(args.threads)
        seconds, cpu = run_path(args.path, model, data, Path(args.output), args.workers)
        print(json.dumps({"seconds": seconds, "cpu_seconds": cpu}))
        return

    n_records = len(find_records(data))
    if n_records == 0:
        raise SystemExit(f"no records in {data}")
    best = {label: float("inf") for label, _, _ in RUNS}
    least_cpu = {label: float("inf") for label, _, _ in RUNS}
    with tempfile.TemporaryDirectory(prefix="driver_folder.") as scratch:
        for run in range(args.repeat):
            for label, path, threads in RUNS:
                command = [
                    sys.executable,
                    __file__,
                    str(data),
                    "--model",
                    str(model),
                    "--workers",
                    str(args.workers),
                    "--path",
                    path,
                    "--output",
                    str(Path(scratch) / f"{path}_{threads}_{run}"),
                ]
                if threads:
                    command += ["--threads", str(threads)]
                done = subprocess.run(command, capture_output=True, text=True, check=True)
                result = json.loads(done.stdout.strip().splitlines()[-1])
                seconds, cpu = result["seconds"], result["cpu_seconds"]
                best[label] = min(best[label], seconds)
                least_cpu[label] = min(least_cpu[label], cpu)
                print(
                    f"run {run + 1}, {label}: {seconds:.1f} s, {n_records / seconds:.1f} records/s, "
                    f"{cpu:.1f} CPU s"
                )
    print(
        f"{n_records} records in {data}; {args.workers} reading workers on the batched path; "
        f"PyTorch's default {torch.get_num_threads()} threads"
    )
    for label, _, _ in RUNS:
        print(
            f"{label:24s} {n_records / best[label]:7.1f} records/s, "
            f"{1000 * least_cpu[label] / n_records:6.1f} CPU ms per record (best of {args.repeat})"
        )
    single = min(best["one at a time"], best["one at a time, 1 thread"])
    print(f"batched / the better one-at-a-time: {single / best['batched']:.2f}x")


if __name__ == "__main__":
    main()
