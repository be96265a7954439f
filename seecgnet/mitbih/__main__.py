"""``python -m seecgnet.mitbih DATA WORKDIR --protocol intra|inter [--baseline]``: the MIT-BIH
Arrhythmia benchmark. Run it again with the same options to resume."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from seecgnet.cli import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    interruptible,
    script_parser,
    setup_logging,
    whole_number,
)
from seecgnet.destinations import (
    DestinationError,
    check_apart,
    check_work_folder,
    os_error_text,
)
from seecgnet.mitbih.settings import PROTOCOLS, BeatTrainSettings, SplitSettings
from seecgnet.training.settings import SettingsError

if TYPE_CHECKING:
    from seecgnet.mitbih.run import BenchmarkSettings

log = logging.getLogger("seecgnet.mitbih")

EXIT_CODES = {
    EXIT_OK: "every network of the protocol is trained and scored; the results files are written",
    EXIT_USAGE: "wrong arguments, a data folder without the database's records, or a work "
    "folder made with other options (or one that is not a work folder of this benchmark, or the "
    "data folder, holds it or lies inside it)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C): run the same command again to resume",
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def build_parser() -> argparse.ArgumentParser:
    parser = script_parser(
        "Train and test SE-ECGNet (and with --baseline the plain 1-D ResNet) on the "
        "beats of the MIT-BIH Arrhythmia Database, under the intra-patient (random beats) or the "
        "inter-patient (de Chazal DS1 -> DS2) protocol. Writes settings.json, results.csv, "
        "results.md and confusion.png into WORKDIR; run it again to resume.",
        EXIT_CODES,
        prog="python -m seecgnet.mitbih",
    )
    parser.add_argument("data", type=Path, help="folder of the database (NAME.hea/.dat/.atr)")
    parser.add_argument("workdir", type=Path, help="work folder for the cache, models, results")
    parser.add_argument("--protocol", choices=PROTOCOLS, required=True, help="evaluation protocol")
    parser.add_argument(
        "--baseline", action="store_true", help="also train the plain 1-D ResNet on the same split"
    )
    train, split = BeatTrainSettings(), SplitSettings()
    for flag, kind, default, text in (
        ("--epochs", whole_number(1), train.epochs, "passes over the training beats"),
        ("--batch-size", whole_number(1), train.batch_size, "beats per step"),
        ("--learning-rate", float, train.learning_rate, "peak one-cycle rate"),
        (
            "--hard-fraction",
            float,
            train.hard_fraction,
            "share of each batch's hardest beats the loss averages; 1 = no hard mining",
        ),
        (
            "--amplitude-jitter",
            float,
            train.amplitude_jitter,
            "scale each training beat's leads by factors from [1 - j, 1 + j]",
        ),
        ("--seed", int, train.seed, "seed of split and weights"),
        (
            "--validation-records",
            whole_number(1),
            split.validation_records,
            "inter-patient: DS1 records held out to choose the epoch",
        ),
    ):
        parser.add_argument(flag, type=kind, default=default, help=f"{text} (default: %(default)s)")
    parser.add_argument(
        "--threads", type=whole_number(1), help="torch CPU threads (default: torch's own choice)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def settings_from_args(args: argparse.Namespace) -> BenchmarkSettings:
    from seecgnet.mitbih.run import BenchmarkSettings

    return BenchmarkSettings(
        protocol=args.protocol,
        architectures=("seecgnet", "baseline") if args.baseline else ("seecgnet",),
        split=dataclasses.replace(
            SplitSettings(), validation_records=args.validation_records, seed=args.seed
        ),
        training=BeatTrainSettings(
            epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            hard_fraction=args.hard_fraction,
            amplitude_jitter=args.amplitude_jitter,
            seed=args.seed,
        ),
    )


@interruptible(
    "python -m seecgnet.mitbih",
    "run the same command again to resume after the last whole epoch",
)
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging()
    try:
        check_apart(args.workdir, "work folder", args.data, "data folder")
        check_work_folder(args.workdir, "work folder", "settings.json")
    except DestinationError as error:
        print(f"mitbih: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    # imported once the arguments are known good: torch and wfdb take seconds to load
    import torch

    from seecgnet.mitbih.beats import BeatError
    from seecgnet.mitbih.run import WorkdirError, run_benchmark
    from seecgnet.mitbih.splits import SplitError
    from seecgnet.mitbih.training import BeatTrainingError
    from seecgnet.training.checkpoint import CheckpointError

    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.perf_counter()
    try:
        settings = settings_from_args(args)
        results = run_benchmark(settings, args.data, args.workdir, progress=not args.quiet)
    except (
        BeatError,
        BeatTrainingError,
        CheckpointError,
        SettingsError,
        SplitError,
        WorkdirError,
        ValueError,
    ) as error:
        print(f"mitbih: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as error:
        print(f"mitbih: error: {os_error_text(error)}", file=sys.stderr)
        return EXIT_USAGE
    print((args.workdir / "results.md").read_text())
    log.info(
        "%s in %.0f s; results in %s",
        ", ".join(r.method for r in results),
        time.perf_counter() - started,
        args.workdir,
    )
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
