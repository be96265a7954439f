"""``python -m seecgnet.mitbih DATA WORKDIR --protocol intra|inter|ds1|patient-specific
[--extra-training DIR ...] [--baseline] [--settings FILE]``: the MIT-BIH Arrhythmia benchmark. Run
it again with the same options to resume.

The options are what a run needs (data, other databases to train on, work folder, protocol,
labelled minutes, networks, epochs, folds, seeds, threads); the experiment knobs (RR features,
sampling, the rhythm expert, re-basing, the choice of epoch and offsets, the adaptation) are read
from a settings file (:mod:`seecgnet.mitbih.settings_file`), whose keys ``--help`` lists with
their meanings and each protocol's defaults."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import textwrap
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
    InputPathError,
    check_apart,
    check_input_folder,
    check_work_folder,
)
from seecgnet.errors import SeecgnetError, exit_with_error
from seecgnet.mitbih.settings import (
    PROTOCOLS,
    RUN_MARKER,
    SEEDS_MARKER,
    AdaptationSettings,
    SplitSettings,
)
from seecgnet.mitbih.settings_file import SETTINGS_KEYS, default_text, protocol_settings
from seecgnet.trained.settings import SettingsError

if TYPE_CHECKING:
    from seecgnet.mitbih.run import BenchmarkSettings

log = logging.getLogger("seecgnet.mitbih")

EXIT_CODES = {
    EXIT_OK: "every network of the protocol is trained and scored; the results files are written",
    EXIT_USAGE: "wrong arguments, a bad settings file, a data folder without the database's "
    "records, or a work folder made with other settings (or one that is not a work folder of "
    "this benchmark, or the data folder, holds it or lies inside it)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C): run the same command again to resume",
}


def settings_help() -> str:
    """The settings file's keys, each with its meaning and default, for --help's epilog."""
    lines = [
        "settings file (--settings FILE): a JSON object of parts, each an object of keys, e.g.",
        '  {"training": {"rebase_share": 0.7}, "beats": {"neighbour_rows": true}}; its values',
        "  replace the protocol's defaults, and --epochs, --folds and --seed replace its values:",
    ]
    for part, key, text in SETTINGS_KEYS:
        entry = f"{part}.{key}: {text} (default: {default_text(part, key)})"
        lines.append(
            textwrap.fill(entry, width=90, initial_indent="  ", subsequent_indent="      ")
        )
    return "\n".join(lines)


def positive_minutes(text: str) -> float:
    """--labelled-minutes: a number of minutes above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of minutes, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def add_new_patient_options(parser: argparse.ArgumentParser) -> None:
    """--extra-training and --labelled-minutes, which serve the protocols on new patients."""
    parser.add_argument(
        "--extra-training",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="inter, ds1 and patient-specific: every record of this database (NAME.hea/.dat/.atr, "
        "e.g. the MIT-BIH Supraventricular Arrhythmia Database) trains beside DS1, in its folds, "
        "named DIRNAME/NAME; may be repeated (default: none)",
    )
    parser.add_argument(
        "--labelled-minutes",
        type=positive_minutes,
        metavar="N",
        help="patient-specific: minutes at the start of each DS2 record whose reference labels "
        f"adapt the networks, left out of the test (default: {AdaptationSettings().labelled_minutes:g})",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = script_parser(
        "Train and test SE-ECGNet (and with --baseline the plain 1-D ResNet) on the "
        "beats of the MIT-BIH Arrhythmia Database, under the intra-patient (random beats) or the "
        "inter-patient (de Chazal DS1 -> DS2) protocol; the ds1 protocol runs the inter-patient "
        "protocol's DS1 folds alone (never reading DS2), where its choices are made; the "
        "patient-specific protocol trains as the inter-patient one, then adapts the networks to "
        "each DS2 record with the reference labels of its first minutes and tests the rest of it, "
        "beside the inter-patient networks on the same beats. Writes "
        "settings.json, results.csv, results.md and confusion.png into WORKDIR (with --seeds, "
        "one WORKDIR/seed_K per seed and seeds.md, seeds.csv); run it again to resume. "
        "Experiment settings (RR features, sampling, the rhythm expert, re-basing, ...) are read "
        "from a settings file (--settings; its keys are listed below).",
        EXIT_CODES,
        prog="python -m seecgnet.mitbih",
    )
    parser.epilog = f"{settings_help()}\n\n{parser.epilog}"
    parser.add_argument("data", type=Path, help="folder of the database (NAME.hea/.dat/.atr)")
    parser.add_argument("workdir", type=Path, help="work folder for the cache, models, results")
    parser.add_argument("--protocol", choices=PROTOCOLS, required=True, help="evaluation protocol")
    add_new_patient_options(parser)
    parser.add_argument(
        "--baseline", action="store_true", help="also train the plain 1-D ResNet on the same split"
    )
    parser.add_argument(
        "--settings",
        type=Path,
        metavar="FILE",
        help="JSON file of experiment settings (keys below; default: the protocol's)",
    )
    epochs = default_text("training", "epochs")
    for flag, kind, default, text in (
        ("--epochs", whole_number(1), None, f"passes over the training beats (default: {epochs})"),
        ("--seed", int, 0, "seed of split and weights (default: %(default)s)"),
        ("--seeds", whole_number(1), 1,
         "run seeds SEED, SEED + 1, ... in WORKDIR/seed_K and summarise them in WORKDIR/seeds.md "
         "(default: %(default)s)"),
        ("--folds", whole_number(2), None,
         f"inter-patient and ds1: folds of DS1 records, one model each (default: {SplitSettings().folds})"),
    ):  # fmt: skip
        parser.add_argument(flag, type=kind, default=default, help=text)
    parser.add_argument(
        "--threads", type=whole_number(1), help="torch CPU threads (default: torch's own choice)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def check_protocol_options(args: argparse.Namespace) -> None:
    """Options that the protocol has no use for are a usage error, told before anything loads."""
    if args.extra_training and args.protocol == "intra":
        raise SettingsError(
            "--extra-training: the intra-patient protocol tests beats of its training patients; "
            "other databases train under inter, ds1 or patient-specific"
        )
    if args.labelled_minutes is not None and args.protocol != "patient-specific":
        raise SettingsError("--labelled-minutes serves --protocol patient-specific alone")
    names = [folder.resolve().name for folder in args.extra_training]
    if len(set(names)) < len(names):
        raise SettingsError(
            f"--extra-training: two folders of one name among {names}; their records would share "
            "names"
        )


def settings_from_args(args: argparse.Namespace) -> BenchmarkSettings:
    """The run's settings: the protocol's defaults, replaced by the settings file's values, and
    those by the options given."""
    from seecgnet.mitbih.run import BenchmarkSettings
    from seecgnet.mitbih.sources import extra_names

    parts = protocol_settings(args.protocol, args.settings)
    training, split, adaptation = parts["training"], parts["split"], parts["adaptation"]
    if args.labelled_minutes is not None:
        adaptation = dataclasses.replace(adaptation, labelled_minutes=args.labelled_minutes)
    if args.epochs is not None:
        training = dataclasses.replace(training, epochs=args.epochs)
    if args.folds is not None:
        split = dataclasses.replace(split, folds=args.folds)
    return BenchmarkSettings(
        protocol=args.protocol,
        architectures=("seecgnet", "baseline") if args.baseline else ("seecgnet",),
        beats=parts["beats"],
        split=dataclasses.replace(split, seed=args.seed),
        training=dataclasses.replace(training, seed=args.seed),
        selection=parts["selection"],
        extra_training=extra_names(args.extra_training),
        adaptation=adaptation,
    )


def _run(args: argparse.Namespace) -> str:
    """Run (or resume) the benchmark, one seed or several; the results' Markdown."""
    from seecgnet.mitbih.run import run_benchmark
    from seecgnet.mitbih.seeds import run_seeds

    settings = settings_from_args(args)
    extra, progress = args.extra_training, not args.quiet
    if args.seeds == 1:
        run_benchmark(settings, args.data, args.workdir, progress, extra)
        return (args.workdir / "results.md").read_text()
    seeds = list(range(args.seed, args.seed + args.seeds))
    return run_seeds(settings, seeds, args.data, args.workdir, progress, extra)


@interruptible(
    "python -m seecgnet.mitbih",
    "run the same command again to resume after the last whole epoch",
)
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging()
    try:
        protocol_settings(args.protocol, args.settings)  # a bad settings file is told at once
        check_protocol_options(args)
        check_input_folder(args.data, "folder of MIT-BIH records")
        for folder in args.extra_training:
            check_input_folder(folder, "extra training folder")
        check_apart(args.workdir, "work folder", args.data, "data folder")
        for folder in args.extra_training:
            check_apart(args.workdir, "work folder", folder, "extra training folder")
        marker = RUN_MARKER if args.seeds == 1 else SEEDS_MARKER
        check_work_folder(args.workdir, "work folder", marker)
    except (SettingsError, DestinationError, InputPathError) as error:
        print(f"mitbih: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    # imported once the arguments are known good: torch and wfdb take seconds to load
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.perf_counter()
    try:
        text = _run(args)
    # the package's expected errors; any other exception is a bug and keeps its traceback
    except (SeecgnetError, OSError) as error:
        return exit_with_error("mitbih", error)
    print(text)
    log.info(
        "%s in %.0f s; results in %s",
        "SE-ECGNet and the plain 1-D ResNet" if args.baseline else "SE-ECGNet",
        time.perf_counter() - started,
        args.workdir,
    )
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
