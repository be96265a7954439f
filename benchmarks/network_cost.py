"""Cost of SE-ECGNet, the plain 1-D ResNet baseline, ResNeXt and ResNeSt on this machine's CPU.

For each network: trainable parameters, multiply-adds per 10 s window, training throughput
(forward + backward + Adam step, train mode) and inference throughput (eval mode, no_grad), in
windows per second, with torch's default number of threads. Random inputs; timings on a shared
machine are noisy, so read them as an order of magnitude.

    python benchmarks/network_cost.py [--batch-size 32] [--repeats 5] [--network all]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

# The package is used from a checkout rather than installed; find it beside this script.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from seecgnet.models.settings import ARCHITECTURES

NETWORKS = tuple(ARCHITECTURES)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=32, help="windows per batch (32)")
    parser.add_argument("--repeats", type=int, default=5, help="timed batches per measurement (5)")
    parser.add_argument(
        "--network", choices=(*NETWORKS, "all"), default="all", help="what to measure (all)"
    )
    return parser.parse_args()


def windows_per_second(step: Callable[[], None], batch_size: int, repeats: int) -> float:
    step()  # the first pass allocates memory and picks kernels; leave it out of the timing
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    return repeats * batch_size / (time.perf_counter() - start)


def measure(name: str, batch_size: int, repeats: int) -> str:
    """One line: parameters, multiply-adds per window, train and inference windows/s."""
    from seecgnet.models.registry import build_network, count_multiply_adds, count_parameters
    from seecgnet.training.loss import hard_mining_bce

    settings = ARCHITECTURES[name]()
    model = build_network(settings)
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(batch_size, 1, settings.n_leads, settings.window_samples, generator=generator)
    demographics = torch.randn(batch_size, settings.n_demographics, generator=generator)
    targets = (torch.rand(batch_size, settings.n_classes, generator=generator) < 0.1).float()
    weights = torch.ones(settings.n_classes)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def train_step() -> None:
        model.train()
        optimizer.zero_grad()
        hard_mining_bce(model(x, demographics), targets, weights).backward()
        optimizer.step()

    def inference_step() -> None:
        model.eval()
        with torch.no_grad():
            model(x, demographics)

    return (
        f"{name}: {count_parameters(model):,} parameters, "
        f"{count_multiply_adds(model, settings) / 1e6:.1f} M multiply-adds per window, "
        f"train {windows_per_second(train_step, batch_size, repeats):.1f} windows/s, "
        f"inference {windows_per_second(inference_step, batch_size, repeats):.1f} windows/s"
    )


def main() -> None:
    args = parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch_size}")
    for name in NETWORKS if args.network == "all" else (args.network,):
        print(measure(name, args.batch_size, args.repeats))


if __name__ == "__main__":
    main()
