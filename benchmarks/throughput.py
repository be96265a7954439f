"""Training and prediction records per second of the default SE-ECGNet, against this CPU's matmul rate.

- Training: batches of windows drawn from synthetic 10 s records (``TrainingWindows``) go through
  forward, hard-mined BCE, backward and the training core's AdamW step, as in ``train_model``; the
  batches are drawn beforehand, so this is the network's rate (``data_loading.py`` measures the
  loading). One window per record per epoch, so windows/s is records/s.
- Driver: a model folder with the default settings (untrained weights: the rate does not depend on
  them) is written by ``save_model``, loaded by ``load_model``, and ``predict_records`` writes the
  challenge outputs of synthetic 10 s records (one window each), reading the files as the driver
  does, with ``--workers`` reading processes. A first run over one batch of records sets the
  network up for its batch shape; the faster of two timed runs counts.
- Times are the fastest of several calls (see ``timed``), so that other work on the machine
  disturbs the figures less; ``OMP_NUM_THREADS=1`` measures one core (the matmul too).
- Arithmetic: multiply-adds per window (``count_multiply_adds``) × windows/s, × 3 for training
  (the backward pass costs about twice the forward), as a fraction of the multiply-adds/s that
  ``torch.matmul`` of two float32 2048 × 2048 matrices reaches in the same process and threads.

    python benchmarks/throughput.py [--batch-size 32] [--steps 5] [--records 256] [--workers 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from seecgnet.challenge.classes import load_scored_classes
from seecgnet.cli import default_reading_workers
from seecgnet.data.dataset import TrainingWindows, load_store
from seecgnet.data.signals import AgeStatistics
from seecgnet.inference.driver import predict_records
from seecgnet.inference.loading import load_model
from seecgnet.inference.prediction import WINDOWS_PER_BATCH
from seecgnet.io.records import find_records
from seecgnet.io.synthetic import write_synthetic_dataset, write_synthetic_record
from seecgnet.models.registry import build_network, count_multiply_adds, count_parameters
from seecgnet.trained.folder import ModelSummary, save_model
from seecgnet.trained.settings import Settings
from seecgnet.training.loss import class_weights, hard_mining_bce
from seecgnet.training.optimisation import one_cycle


def timed(step: Callable[[], None], repeats: int) -> float:
    """Seconds of the fastest of ``repeats`` calls of ``step``, after one untimed call: on a machine
    shared with other work the fastest call is the best estimate of what the code does alone."""
    step()
    fastest = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        step()
        fastest = min(fastest, time.perf_counter() - started)
    return fastest


def matmul_rate(size: int, repeats: int) -> float:
    """Multiply-adds per second of a float32 size × size matrix product."""
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=generator)
    b = torch.randn(size, size, generator=generator)
    return size**3 / timed(lambda: torch.matmul(a, b), repeats)


def training_rate(settings: Settings, folder: Path, batch_size: int, steps: int) -> float:
    """Training windows per second of the network, on batches drawn beforehand."""
    classes = load_scored_classes()
    write_synthetic_dataset(folder, batch_size * (steps + 1), seed=0)
    store, _ = load_store(folder, classes, settings.signal)
    windows = TrainingWindows(store, range(len(store)), settings.signal, AgeStatistics(), seed=0)
    loader = DataLoader(windows, batch_size=batch_size, shuffle=True, drop_last=True)
    batches = list(loader)  # steps + 1 of them
    network = build_network(settings.network)
    network.train()
    # the training core's optimiser and schedule, as train_model sets them up
    optimisation = one_cycle(network.parameters(), settings.training, len(batches))
    weights = class_weights(store.labels.sum(axis=0), settings.loss)
    position = iter(range(len(batches)))

    def step() -> None:
        x, demographics, targets = batches[next(position)]
        loss = hard_mining_bce(
            network(x, demographics), targets, weights, settings.loss.hard_fraction
        )
        optimisation.step(loss)

    return batch_size / timed(step, steps)


def driver_rate(
    settings: Settings, scratch: Path, n_records: int, workers: int
) -> tuple[float, float]:
    """(Records per second through predict_records, seconds to load the model folder)."""
    classes = load_scored_classes()
    model = scratch / "model"
    network = build_network(settings.network)
    summary = ModelSummary(
        n_training_records=0, best_epochs=(0,), validation_challenge_metric=(0.0,)
    )
    save_model(model, settings, classes, AgeStatistics(), [network.state_dict()], summary)
    warm_up = WINDOWS_PER_BATCH["cpu"]
    for i in range(n_records + warm_up):
        write_synthetic_record(scratch / "records", f"D{i:04d}", seed=i)
    headers = find_records(scratch / "records")
    started = time.perf_counter()
    loaded = load_model(model)
    load_s = time.perf_counter() - started
    predict_records(loaded, headers[:warm_up], scratch / "warm-up", False, workers)
    seconds = float("inf")
    for run in range(2):  # the faster of two runs, as ``timed``
        started = time.perf_counter()
        summary_out = predict_records(
            loaded, headers[warm_up:], scratch / f"out{run}", False, workers
        )
        seconds = min(seconds, time.perf_counter() - started)
    if summary_out.n_failed:
        raise RuntimeError(
            f"{summary_out.n_failed} synthetic records failed: {summary_out.failures}"
        )
    return n_records / seconds, load_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=32, help="training batch (32)")
    parser.add_argument("--steps", type=int, default=5, help="timed training steps (5)")
    parser.add_argument("--records", type=int, default=256, help="records through the driver (256)")
    parser.add_argument(
        "--workers",
        type=int,
        default=default_reading_workers(),
        help="driver's reading processes (the driver's default)",
    )
    parser.add_argument("--matmul-size", type=int, default=2048, help="matrix side (2048)")
    args = parser.parse_args()

    settings = Settings()  # the paper's network and signal settings
    network = build_network(settings.network)
    macs = count_multiply_adds(network, settings.network)
    peak = matmul_rate(args.matmul_size, repeats=10)
    with tempfile.TemporaryDirectory(prefix="throughput.") as scratch:
        train = training_rate(settings, Path(scratch) / "train", args.batch_size, args.steps)
        driver, load_s = driver_rate(settings, Path(scratch), args.records, args.workers)
    peak_after = matmul_rate(args.matmul_size, repeats=10)

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    rate = max(peak, peak_after)
    print(
        f"matmul {args.matmul_size}² float32: {peak / 1e9:.1f} GMAC/s before the runs, "
        f"{peak_after / 1e9:.1f} after; the better, {rate / 1e9:.1f} GMAC/s "
        f"({2 * rate / 1e9:.1f} GFLOP/s), is the reference"
    )
    print(
        f"SE-ECGNet, default settings: {count_parameters(network):,} parameters, "
        f"{macs / 1e6:.1f} M multiply-adds per 10 s window"
    )
    for what, per_s, passes in (
        (f"training, batch {args.batch_size}", train, 3),
        (f"driver (predict_records, {args.workers} workers)", driver, 1),
    ):
        achieved = macs * per_s * passes
        print(
            f"{what}: {per_s:.1f} records/s -> {achieved / 1e9:.2f} GMAC/s "
            f"= {100 * achieved / rate:.0f} % of the matmul rate"
        )
    print(f"model folder load: {load_s:.2f} s")


if __name__ == "__main__":
    main()
