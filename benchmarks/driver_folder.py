"""The driver on a folder of real records: records per second, and the network's share of the
machine's matmul rate.

- *batched*: ``predict_records`` as ``driver.py`` runs it: ``--workers`` processes read and prepare
  the records while the network runs on fixed-shape batches of windows drawn from many records.
- *one at a time* (with ``--one-at-a-time``): the driver's earlier loop: read a record, put its
  windows through the network as one batch of their own (``Predictor.predict_record``), write its
  output, next record; with PyTorch's default threads and with one thread.

Each path runs in a fresh Python process, as a driver run does, so each pays its own first-call
set-ups; the time runs from loading the model folder to the last output file written (imports
left out). The paths alternate, ``--repeat`` times each, and the best run of each counts. The CPU
seconds (the process and its reading workers) show what each path costs when every core is busy
anyway, as on a machine shared with other work.

Arithmetic: the network's multiply-adds per window (``count_multiply_adds``) times the windows of
the folder's records (10 s windows every 5 s at 500 Hz, as the driver cuts them; padding left
out), per second of the best batched run, as a fraction of the multiply-adds per second that
``torch.matmul`` of two float32 2048 × 2048 matrices reaches with PyTorch's default threads (all
the cores), measured before and after the runs (the better counts).
The default folder is the team's shared sample (295 records: 257-1000 Hz, 6 s to 30 min).

    python benchmarks/driver_folder.py [DATA] [--model model] [--workers 2] [--repeat 3]
        [--one-at-a-time]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.throughput import matmul_rate
from seecgnet.challenge.outputs import write_output
from seecgnet.cli import default_reading_workers
from seecgnet.data.signals import SignalSettings, window_starts
from seecgnet.inference.driver import predict_records
from seecgnet.inference.loading import load_model
from seecgnet.io.records import find_records, read_record
from seecgnet.models.registry import count_multiply_adds

ROOT = Path(__file__).resolve().parents[1]
# (label, path, network threads: None for PyTorch's default)
BATCHED = ("batched", "batched", None)
ONE_AT_A_TIME = (
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


def network_windows(headers: list[Path], settings: SignalSettings) -> int:
    """The windows the driver puts through the network for these records (padding left out)."""
    total = 0
    for header in headers:
        record = read_record(header)
        ratio = Fraction(settings.fs_hz) / Fraction(record.fs_hz).limit_denominator(1000)
        n_samples = -(-record.n_samples * ratio.numerator // ratio.denominator)  # resample_poly's
        total += len(window_starts(n_samples, settings.window_samples, settings.stride_samples))
    return total


def run_child(args: argparse.Namespace, label: str, path: str, threads: int | None, run: int):
    command = [
        sys.executable,
        __file__,
        args.data,
        "--model",
        args.model,
        "--workers",
        str(args.workers),
        "--path",
        path,
        "--output",
        str(Path(args.scratch) / f"{path}_{threads}_{run}"),
    ]
    if threads:
        command += ["--threads", str(threads)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "data", nargs="?", default=str(ROOT.parent / "shared" / "data" / "cinc2020")
    )
    parser.add_argument("--model", default=str(ROOT / "model"), help="model folder (model)")
    parser.add_argument(
        "--workers",
        type=int,
        default=default_reading_workers(),
        help="reading processes (the driver's default)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each path (3)")
    parser.add_argument(
        "--one-at-a-time", action="store_true", help="also time the earlier one-record loop"
    )
    parser.add_argument("--matmul-size", type=int, default=2048, help="matrix side (2048)")
    parser.add_argument("--path", help=argparse.SUPPRESS)  # one run, in a child process
    parser.add_argument("--threads", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    data, model = Path(args.data), Path(args.model)
    if args.path:
        if args.threads:
            torch.set_num_threads(args.threads)
        seconds, cpu = run_path(args.path, model, data, Path(args.output), args.workers)
        print(json.dumps({"seconds": seconds, "cpu_seconds": cpu}))
        return

    headers = find_records(data)
    if not headers:
        raise SystemExit(f"no records in {data}")
    loaded = load_model(model)
    macs = count_multiply_adds(loaded.predictor.networks[0], loaded.settings.network)
    windows = network_windows(headers, loaded.settings.signal)
    runs = (BATCHED, *(ONE_AT_A_TIME if args.one_at_a_time else ()))
    best = {label: float("inf") for label, _, _ in runs}
    least_cpu = {label: float("inf") for label, _, _ in runs}
    peak = matmul_rate(args.matmul_size, repeats=10)
    with tempfile.TemporaryDirectory(prefix="driver_folder.") as args.scratch:
        for run in range(args.repeat):
            for label, path, threads in runs:
                result = run_child(args, label, path, threads, run)
                seconds, cpu = result["seconds"], result["cpu_seconds"]
                best[label] = min(best[label], seconds)
                least_cpu[label] = min(least_cpu[label], cpu)
                print(
                    f"run {run + 1}, {label}: {seconds:.2f} s, {len(headers) / seconds:.1f} "
                    f"records/s, {cpu:.1f} CPU s"
                )
    rate = max(peak, matmul_rate(args.matmul_size, repeats=10))
    print(
        f"{len(headers)} records ({windows} windows of 10 s) in {data}; {args.workers} reading "
        f"workers on the batched path; PyTorch's default {torch.get_num_threads()} threads"
    )
    for label, _, _ in runs:
        print(
            f"{label:24s} {len(headers) / best[label]:7.1f} records/s, "
            f"{1000 * least_cpu[label] / len(headers):6.1f} CPU ms per record "
            f"(best of {args.repeat})"
        )
    achieved = macs * windows / best["batched"]
    print(
        f"network: {macs / 1e6:.1f} M multiply-adds per window; batched {achieved / 1e9:.2f} GMAC/s "
        f"= {100 * achieved / rate:.1f} % of the matmul rate ({rate / 1e9:.1f} GMAC/s, "
        f"{args.matmul_size}² float32, {torch.get_num_threads()} threads)"
    )
    if args.one_at_a_time:
        single = min(best["one at a time"], best["one at a time, 1 thread"])
        print(f"batched / the better one-at-a-time: {single / best['batched']:.2f}x")


if __name__ == "__main__":
    main()
