"""Peak resident memory of a short training run through the record cache, for growing data sets.

For each N: write N synthetic records (``synthetic_dataset.py``) into a scratch folder, build their
cache in one child process, then train the tiny network (``NetworkSettings.small()``) for one epoch
from the cache in another, and print the seconds and the peak resident memory (``ru_maxrss``) of
each child and of the largest of its own helper processes (decoding workers, DataLoader workers).
Memory should stay nearly flat as N grows: the cache holds the signals on disk and the training
process keeps only labels, ages, sexes and offsets. The scratch folder is deleted at the end.

    python benchmarks/memory.py [--n 2000 4000] [--batch-size 64] [--workers 2]

The issue's check, on the 2020 data set's size (about 14 GB of scratch disk; about 20 minutes on
a shared 2-core machine, most of it the epoch):

    python benchmarks/memory.py --n 5000 43101
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.synthetic_dataset import write_mixed_dataset
from seecgnet.challenge.classes import load_scored_classes
from seecgnet.data.cache.build import cache_folder, open_cache
from seecgnet.data.signals import SignalSettings
from seecgnet.models.settings import NetworkSettings
from seecgnet.trained.settings import Settings, TrainSettings

# Scratch disk per record, records and cache together, with a margin (synthetic_dataset.py's mix).
BYTES_PER_RECORD = 400_000


def peak_rss_mb() -> dict[str, float]:
    """Peak resident memory so far of this process and of its largest finished child, in MB."""
    # ru_maxrss is in kB on Linux
    return {
        "self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "children_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def child_build(args: argparse.Namespace) -> dict[str, object]:
    from joblib.externals.loky import get_reusable_executor

    started = time.perf_counter()
    store, failures = open_cache(
        args.data, args.cache, load_scored_classes(), SignalSettings(), workers=args.workers
    )
    seconds = time.perf_counter() - started
    get_reusable_executor().shutdown(wait=True)  # so that the workers' peaks are counted
    folder = cache_folder(args.cache, args.data, SignalSettings())
    size = sum(path.stat().st_size for path in folder.iterdir())
    return {
        "records": len(store),
        "failures": len(failures),
        "seconds": seconds,
        "cache_bytes": size,
        **peak_rss_mb(),
    }


def child_train(args: argparse.Namespace) -> dict[str, object]:
    from seecgnet.training.loop import train_model

    classes = load_scored_classes()
    store, _ = open_cache(args.data, args.cache, classes, SignalSettings(), progress=False)
    opened = peak_rss_mb()["self_mb"]
    settings = Settings(
        network=NetworkSettings.small(),
        training=TrainSettings(
            epochs=1,
            batch_size=args.batch_size,
            validation_fraction=args.validation_fraction,
            workers=args.loader_workers,
        ),
    )
    started = time.perf_counter()
    trained = train_model(store, classes, settings)
    seconds = time.perf_counter() - started
    del trained  # DataLoader workers end with it
    return {"seconds": seconds, "after_open_mb": opened, **peak_rss_mb()}


def run_child(stage: str, data: Path, cache: Path, args: argparse.Namespace) -> dict[str, float]:
    command = [
        sys.executable,
        __file__,
        "--child",
        stage,
        "--data",
        str(data),
        "--cache",
        str(cache),
        "--workers",
        str(args.workers),
        "--batch-size",
        str(args.batch_size),
        "--loader-workers",
        str(args.loader_workers),
        "--validation-fraction",
        str(args.validation_fraction),
    ]
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(n: int, scratch: Path, args: argparse.Namespace) -> str:
    free = shutil.disk_usage(scratch).free
    if free < n * BYTES_PER_RECORD:
        raise SystemExit(
            f"{scratch}: {free / 1e9:.1f} GB free, {n} records need about "
            f"{n * BYTES_PER_RECORD / 1e9:.1f} GB; pass --dir on a larger disk"
        )
    data, cache = scratch / f"records_{n}", scratch / f"cache_{n}"
    started = time.perf_counter()
    write_mixed_dataset(n, data, args.seed, args.workers)
    generate_s = time.perf_counter() - started
    build = run_child("build", data, cache, args)
    train = run_child("train", data, cache, args)
    shutil.rmtree(data)
    shutil.rmtree(cache)
    return (
        f"{n:>7} {generate_s:>10.0f} {build['seconds']:>8.0f} {build['cache_bytes'] / 1e9:>9.2f} "
        f"{build['self_mb']:>9.0f} {build['children_mb']:>11.0f} {train['seconds']:>8.0f} "
        f"{train['after_open_mb']:>10.0f} {train['self_mb']:>10.0f} {train['children_mb']:>10.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--n", type=int, nargs="+", default=[2000, 4000], help="records (2000 4000)"
    )
    parser.add_argument("--batch-size", type=int, default=64, help="training batch (64)")
    parser.add_argument("--workers", type=int, default=2, help="processes writing/decoding (2)")
    parser.add_argument("--loader-workers", type=int, default=0, help="DataLoader workers (0)")
    parser.add_argument(
        "--validation-fraction", type=float, default=0.0, help="records held out (0)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic records (0)")
    parser.add_argument("--dir", type=Path, help="scratch folder (default: a new temporary one)")
    parser.add_argument("--child", choices=("build", "train"), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--cache", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child is not None:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
        result = child_build(args) if args.child == "build" else child_train(args)
        print(json.dumps(result))
        return

    if args.dir is not None:
        args.dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="memory_benchmark.", dir=args.dir))
    print(
        f"tiny network, 1 epoch, batch {args.batch_size}, validation fraction "
        f"{args.validation_fraction}, {args.loader_workers} DataLoader workers; peaks in MB"
    )
    print(
        f"{'N':>7} {'generate s':>10} {'build s':>8} {'cache GB':>9} {'build RSS':>9} "
        f"{'decoder RSS':>11} {'train s':>8} {'opened RSS':>10} {'train RSS':>10} {'loader RSS':>10}"
    )
    try:
        for n in args.n:
            print(measure(n, scratch, args), flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
