"""Training windows per second from the record cache against reading and resampling the files.

For N synthetic records (written into a temporary folder by ``synthetic_dataset.py``, or the records
of ``--data``): the cache's build time and size on disk, then, over the same random items in one
process, the rate of
- training items (``TrainingWindows``: random window, noise, age and sex) whose signal comes from the
  cache, and from ``read_record`` + ``prepare_signal`` of the ``.mat`` for every item;
- whole prepared signals alone, both ways; and ``CachedStore.window`` reads of one 10 s window.
The files are fresh in the page cache in both cases, as they are in the second epoch of training.

    python benchmarks/data_loading.py [--n 500] [--data DIR] [--items 2000] [--workers 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.synthetic_dataset import write_mixed_dataset
from seecgnet.challenge.classes import load_scored_classes
from seecgnet.data.cache.build import cache_folder, open_cache
from seecgnet.data.cache.store import CachedStore
from seecgnet.data.dataset import TrainingWindows, prepare_signal
from seecgnet.data.signals import AgeStatistics, SignalSettings, cut_window
from seecgnet.io.records import read_record


class FileStore:
    """The cached store's records, each read and resampled from its files on every call."""

    def __init__(self, data_dir: Path, cached: CachedStore, settings: SignalSettings) -> None:
        self.headers = [data_dir / f"{name}.hea" for name in cached.names]
        self.names, self.labels = cached.names, cached.labels
        self.ages, self.sexes = cached.ages, cached.sexes
        self.lengths = cached.lengths
        self.settings = settings

    def __len__(self) -> int:
        return len(self.headers)

    def signal(self, index: int) -> np.ndarray:
        return prepare_signal(read_record(self.headers[index]), self.settings)

    def window(self, index: int, start: int, length: int) -> np.ndarray:
        return cut_window(self.signal(index), start, length)


def rate(read: Callable[[int], object], items: np.ndarray) -> float:
    """Calls per second of ``read`` over ``items``, after one untimed call."""
    read(int(items[0]))
    started = time.perf_counter()
    for item in items:
        read(int(item))
    return len(items) / (time.perf_counter() - started)


def folder_bytes(folder: Path, suffixes: tuple[str, ...] | None = None) -> int:
    return sum(
        path.stat().st_size
        for path in folder.iterdir()
        if path.is_file() and (suffixes is None or path.suffix in suffixes)
    )


def measure(data: Path, cache_dir: Path, items: int, workers: int) -> None:
    settings = SignalSettings()
    classes = load_scored_classes()
    started = time.perf_counter()
    cached, failures = open_cache(data, cache_dir, classes, settings, workers=workers)
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    cached, failures = open_cache(data, cache_dir, classes, settings, progress=False)
    reopen_s = time.perf_counter() - started
    cache_bytes = folder_bytes(cache_folder(cache_dir, data, settings))
    record_bytes = folder_bytes(data, (".hea", ".mat"))
    print(
        f"{len(cached)} records ({len(failures)} unreadable), {record_bytes / 1e6:.0f} MB of "
        f".hea + .mat, {cached.lengths.sum() / settings.fs_hz / 3600:.1f} h at 500 Hz"
    )
    print(
        f"cache build: {build_s:.1f} s with {workers} workers "
        f"({len(cached) / build_s:.0f} records/s), {cache_bytes / 1e6:.0f} MB on disk; "
        f"reopening it: {reopen_s:.2f} s"
    )

    files = FileStore(data, cached, settings)
    order = np.random.default_rng(0).integers(0, len(cached), size=items)
    figures = []
    for what, cache_read, file_read in (
        (
            "training item (window, noise, age, sex)",
            TrainingWindows(cached, range(len(cached)), settings, AgeStatistics(), 0).__getitem__,
            TrainingWindows(files, range(len(files)), settings, AgeStatistics(), 0).__getitem__,
        ),
        ("whole prepared signal", cached.signal, files.signal),
    ):
        from_cache, from_files = rate(cache_read, order), rate(file_read, order)
        figures.append(
            f"  {what}: cache {from_cache:.0f}/s, files {from_files:.0f}/s, "
            f"ratio {from_cache / from_files:.1f}"
        )
    window = settings.window_samples
    windowed = rate(lambda i: cached.window(i, 0, window), order)
    print(f"per item, the same {items} random items, one process:")
    print("\n".join(figures))
    print(f"  CachedStore.window (first 10 s only): {windowed:.0f}/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="synthetic records to write (500)")
    parser.add_argument("--data", type=Path, help="use the records of this folder instead")
    parser.add_argument("--items", type=int, default=2000, help="items timed each way (2000)")
    parser.add_argument("--workers", type=int, default=2, help="processes for the build (2)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic records (0)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="data_loading.") as scratch:
        data = args.data
        if data is None:
            data = Path(scratch) / "records"
            write_mixed_dataset(args.n, data, args.seed, args.workers)
        measure(data, Path(scratch) / "cache", args.items, args.workers)


if __name__ == "__main__":
    main()
