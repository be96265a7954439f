"""``python -m seecgnet.mitbih DATA WORKDIR --protocol intra|inter|ds1 [--baseline]``: the MIT-BIH
Arrhythmia benchmark. Run it again with the same options to resume."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import time
from pathlib import Path

import torch

from seecgnet.cli import EXIT_OK, EXIT_USAGE, script_parser, setup_logging
from seecgnet.mitbih.beats import AAMI_CLASSES, BeatError, BeatSettings
from seecgnet.mitbih.run import BenchmarkSettings, SplitSettings, WorkdirError, run_benchmark
from seecgnet.mitbih.seeds import run_seeds
from seecgnet.mitbih.selection import SelectionSettings
from seecgnet.mitbih.splits import PROTOCOLS, SplitError
from seecgnet.mitbih.training import CLASS_WEIGHTINGS, BeatTrainingError, BeatTrainSettings
from seecgnet.training.checkpoint import CheckpointError
from seecgnet.training.settings import SettingsError

log = logging.getLogger("seecgnet.mitbih")

EXIT_CODES = {
    EXIT_OK: "every network of the protocol is trained and scored; the results files are written",
    EXIT_USAGE: "wrong arguments, a data folder without the database's records, or a work "
    "folder made with other options",
}


def _value_options() -> tuple[tuple[str, type, object, str], ...]:
    """(flag, type, default, help) of the options that take one value, defaults from settings."""
    train, split, beat = BeatTrainSettings(), SplitSettings(), BeatSettings()
    return (
        ("--epochs", int, train.epochs, "passes over the training beats"),
        ("--batch-size", int, train.batch_size, "beats per step"),
        ("--learning-rate", float, train.learning_rate, "peak one-cycle rate"),
        ("--hard-fraction", float, train.hard_fraction,
         "share of each batch's hardest beats the loss averages; 1 = no hard mining"),
        ("--amplitude-jitter", float, train.amplitude_jitter,
         "scale each training beat's leads by factors from [1 - j, 1 + j]"),
        ("--class-weighting", str, train.class_weighting,
         f"the loss's class weights, one of {', '.join(CLASS_WEIGHTINGS)} (of the class's beats)"),
        ("--sampling-power", float, train.sampling_power,
         "draw each epoch's beats with probability N_c^-p (0: every beat once; 1: classes equally)"),
        ("--epoch-beats", int, train.epoch_beats, "beats per epoch when sampling (0: all)"),
        ("--focal-gamma", float, train.focal_gamma, "focal loss exponent (0: cross-entropy)"),
        ("--adversary-weight", float, train.adversary_weight,
         "gradient reversal from a head that names the training record (0: no head)"),
        ("--rr-sequence", int, beat.rr_sequence_beats,
         "RR intervals on each side of the beat's own two given as features"),
        ("--seed", int, train.seed, "seed of split and weights"),
        ("--seeds", int, 1,
         "run seeds SEED, SEED + 1, ... in WORKDIR/seed_K and summarise them in WORKDIR/seeds.md"),
        ("--folds", int, split.folds, "inter-patient: folds of DS1 records, one model each"),
    )  # fmt: skip


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = script_parser(
        "Train and test SE-ECGNet (and with --baseline the plain 1-D ResNet) on the "
        "beats of the MIT-BIH Arrhythmia Database, under the intra-patient (random beats) or the "
        "inter-patient (de Chazal DS1 -> DS2) protocol; the ds1 protocol runs the inter-patient "
        "protocol's DS1 folds alone (never reading DS2), where its choices are made. Writes "
        "settings.json, results.csv, results.md and confusion.png into WORKDIR; run it again to "
        "resume.",
        EXIT_CODES,
        prog="python -m seecgnet.mitbih",
    )
    parser.add_argument("data", type=Path, help="folder of the database (NAME.hea/.dat/.atr)")
    parser.add_argument("workdir", type=Path, help="work folder for the cache, models, results")
    parser.add_argument("--protocol", choices=PROTOCOLS, required=True, help="evaluation protocol")
    parser.add_argument(
        "--baseline", action="store_true", help="also train the plain 1-D ResNet on the same split"
    )
    for flag, kind, default, text in _value_options():
        parser.add_argument(flag, type=kind, default=default, help=f"{text} (default: %(default)s)")
    train, beat, select = BeatTrainSettings(), BeatSettings(), SelectionSettings()
    parser.add_argument(
        "--rr-windows", type=float, nargs="*", default=list(beat.rr_windows_s), metavar="S",
        help="centred windows (s) whose median RR the beat's RR intervals are also divided by "
        "(default: %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--rr-absolute", action=argparse.BooleanOptionalAction, default=beat.rr_absolute,
        help="give the RR intervals in seconds as well as their ratios to the patient's rhythm",
    )  # fmt: skip
    parser.add_argument(
        "--rr-irregularity", action=argparse.BooleanOptionalAction, default=beat.rr_irregularity,
        help="give each RR window's irregularity (median successive change over median RR)",
    )  # fmt: skip
    parser.add_argument(
        "--rhythm-expert", action=argparse.BooleanOptionalAction, default=train.rhythm_expert,
        help="fit a classifier of the RR features alone first; the network learns on top of it",
    )  # fmt: skip
    parser.add_argument(
        "--s-by-timing", action=argparse.BooleanOptionalAction, default=train.s_by_timing,
        help="leave S against N to the rhythm expert alone (needs --rhythm-expert)",
    )  # fmt: skip
    parser.add_argument(
        "--neighbour-rows", action=argparse.BooleanOptionalAction, default=beat.neighbour_rows,
        help="add the previous and next beat's windows as rows of the image",
    )  # fmt: skip
    parser.add_argument(
        "--tune", nargs="*", default=list(select.tuned_classes), choices=AAMI_CLASSES,
        help="classes whose logit offset is chosen on the validation beats (default: %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--threads", type=int, help="torch CPU threads (default: torch's own choice)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser.parse_args(argv)


def settings_from_args(args: argparse.Namespace) -> BenchmarkSettings:
    return BenchmarkSettings(
        protocol=args.protocol,
        architectures=("seecgnet", "baseline") if args.baseline else ("seecgnet",),
        beats=dataclasses.replace(
            BeatSettings(),
            neighbour_rows=args.neighbour_rows,
            rr_windows_s=tuple(args.rr_windows),
            rr_sequence_beats=args.rr_sequence,
            rr_absolute=args.rr_absolute,
            rr_irregularity=args.rr_irregularity,
        ),
        split=dataclasses.replace(SplitSettings(), folds=args.folds, seed=args.seed),
        training=BeatTrainSettings(
            epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            hard_fraction=args.hard_fraction,
            amplitude_jitter=args.amplitude_jitter,
            class_weighting=args.class_weighting,
            sampling_power=args.sampling_power,
            epoch_beats=args.epoch_beats,
            focal_gamma=args.focal_gamma,
            adversary_weight=args.adversary_weight,
            rhythm_expert=args.rhythm_expert,
            s_by_timing=args.s_by_timing,
            seed=args.seed,
        ),
        selection=dataclasses.replace(SelectionSettings(), tuned_classes=tuple(args.tune)),
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging()
    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.perf_counter()
    try:
        settings = settings_from_args(args)
        if args.seeds < 1:
            raise SettingsError(f"--seeds must be at least 1, got {args.seeds}")
        if args.seeds == 1:
            run_benchmark(settings, args.data, args.workdir, progress=not args.quiet)
            text = (args.workdir / "results.md").read_text()
        else:
            seeds = list(range(args.seed, args.seed + args.seeds))
            text = run_seeds(settings, seeds, args.data, args.workdir, progress=not args.quiet)
    except (
        BeatError,
        BeatTrainingError,
        CheckpointError,
        SettingsError,
        SplitError,
        WorkdirError,
        OSError,
    ) as error:
        print(f"mitbih: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(text)
    log.info(
        "%s in %.0f s; results in %s",
        ", ".join(settings.architectures),
        time.perf_counter() - started,
        args.workdir,
    )
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
