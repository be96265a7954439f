"""``python -m seecgnet.mitbih DATA WORKDIR --protocol intra|inter|ds1 [--baseline]``: the MIT-BIH
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
from seecgnet.mitbih.settings import (
    AAMI_CLASSES,
    CLASS_WEIGHTINGS,
    PROTOCOLS,
    RUN_MARKER,
    SEEDS_MARKER,
    SelectionSettings,
    SplitSettings,
    protocol_defaults,
)
from seecgnet.trained.settings import SettingsError

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

# (flag, settings part, field, argparse keywords, help) of the options whose defaults are the
# protocol's (see settings.protocol_defaults); the help shows both protocols' defaults
PROTOCOL_OPTIONS = (
    ("--epochs", "training", "epochs", {"type": whole_number(1)}, "passes over the training beats"),
    ("--batch-size", "training", "batch_size", {"type": whole_number(1)}, "beats per step"),
    ("--learning-rate", "training", "learning_rate", {"type": float}, "peak one-cycle rate"),
    ("--hard-fraction", "training", "hard_fraction", {"type": float},
     "share of each batch's hardest beats the loss averages; 1 = no hard mining"),
    ("--amplitude-jitter", "training", "amplitude_jitter", {"type": float},
     "scale each training beat's leads by factors from [1 - j, 1 + j]"),
    ("--class-weighting", "training", "class_weighting", {"choices": CLASS_WEIGHTINGS},
     "the loss's class weights: 1/log, 1/sqrt or 1/N of the class's beats, or none"),
    ("--sampling-power", "training", "sampling_power", {"type": float},
     "draw each epoch's beats with probability N_c^-p (0: every beat once; 1: classes equally)"),
    ("--epoch-beats", "training", "epoch_beats", {"type": whole_number(0)},
     "beats per epoch when sampling (0: as many as there are training beats)"),
    ("--focal-gamma", "training", "focal_gamma", {"type": float},
     "focal loss exponent (0: cross-entropy)"),
    ("--adversary-weight", "training", "adversary_weight", {"type": float},
     "gradient reversal from a head that names the training record (0: no head)"),
    ("--rhythm-expert", "training", "rhythm_expert", {"action": argparse.BooleanOptionalAction},
     "fit a classifier of the RR features alone first; the network learns on top of it"),
    ("--s-by-timing", "training", "s_by_timing", {"action": argparse.BooleanOptionalAction},
     "leave S against N to the rhythm expert alone (needs --rhythm-expert)"),
    ("--expert-weight", "training", "expert_weight", {"type": float},
     "multiply the rhythm expert's logits by this before they join the network's"),
    ("--rebase-share", "training", "rebase_share", {"type": float},
     "share of training beats whose RR references are re-based by a factor from [0.6, 1]"),
    ("--rebase-template", "training", "rebase_template",
     {"action": argparse.BooleanOptionalAction},
     "re-based training beats of records with S beats: template rows against their S beats"),
    ("--rebase-runs", "training", "rebase_runs", {"action": argparse.BooleanOptionalAction},
     "re-based S training beats also get an interval after as long as the one before"),
    ("--select-rebased", "selection", "rebased", {"action": argparse.BooleanOptionalAction},
     "choose the epoch and offsets on the held-out DS1 records and their copy re-based to their "
     "S rhythm together (inter-patient and ds1)"),
    ("--rebased-runs", "selection", "rebased_runs", {"action": argparse.BooleanOptionalAction},
     "the re-based copy also gives each S beat an interval after as long as the one before"),
    ("--rr-windows", "beats", "rr_windows_s", {"type": float, "nargs": "*", "metavar": "S"},
     "centred windows (s) whose median RR the beat's RR intervals are also divided by"),
    ("--rr-quantile", "beats", "rr_quantile", {"type": float, "metavar": "Q"},
     "the windows' reference is the Q-quantile of their RR intervals instead (0.5: the median; "
     "above it the patient's slower beats, so premature beats stay short where most beats are)"),
    ("--rr-sequence", "beats", "rr_sequence_beats", {"type": whole_number(0)},
     "RR intervals on each side of the beat's own two given as features"),
    ("--rr-absolute", "beats", "rr_absolute", {"action": argparse.BooleanOptionalAction},
     "give the RR intervals in seconds as well as their ratios to the patient's rhythm"),
    ("--rr-irregularity", "beats", "rr_irregularity", {"action": argparse.BooleanOptionalAction},
     "give each RR window's irregularity (median successive change over median RR)"),
    ("--neighbour-rows", "beats", "neighbour_rows", {"action": argparse.BooleanOptionalAction},
     "add the previous and next beat's windows as rows of the image"),
)  # fmt: skip


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, tuple):
        return " ".join(f"{v:g}" for v in value) or "none"
    return str(value)


def _default_text(part: str, field: str) -> str:
    """ "12" when every protocol has the same default, else "12 intra-patient, 4 inter-patient and
    ds1"."""
    values = []
    for protocol in ("intra", "inter"):
        parts = dict(
            zip(("beats", "training", "selection"), protocol_defaults(protocol), strict=True)
        )
        values.append(_shown(getattr(parts[part], field)))
    if values[0] == values[1]:
        return values[0]
    return f"{values[0]} intra-patient, {values[1]} inter-patient and ds1"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def build_parser() -> argparse.ArgumentParser:
    parser = script_parser(
        "Train and test SE-ECGNet (and with --baseline the plain 1-D ResNet) on the "
        "beats of the MIT-BIH Arrhythmia Database, under the intra-patient (random beats) or the "
        "inter-patient (de Chazal DS1 -> DS2) protocol; the ds1 protocol runs the inter-patient "
        "protocol's DS1 folds alone (never reading DS2), where its choices are made. Writes "
        "settings.json, results.csv, results.md and confusion.png into WORKDIR (with --seeds, "
        "one WORKDIR/seed_K per seed and seeds.md, seeds.csv); run it again to resume.",
        EXIT_CODES,
        prog="python -m seecgnet.mitbih",
    )
    parser.add_argument("data", type=Path, help="folder of the database (NAME.hea/.dat/.atr)")
    parser.add_argument("workdir", type=Path, help="work folder for the cache, models, results")
    parser.add_argument("--protocol", choices=PROTOCOLS, required=True, help="evaluation protocol")
    parser.add_argument(
        "--baseline", action="store_true", help="also train the plain 1-D ResNet on the same split"
    )
    for flag, part, field, keywords, text in PROTOCOL_OPTIONS:
        default = _default_text(part, field).replace("%", "%%")
        parser.add_argument(flag, **keywords, help=f"{text} (default: {default})")
    split, select = SplitSettings(), SelectionSettings()
    for flag, kind, default, text in (
        ("--seed", int, 0, "seed of split and weights"),
        ("--seeds", whole_number(1), 1,
         "run seeds SEED, SEED + 1, ... in WORKDIR/seed_K and summarise them in WORKDIR/seeds.md"),
        ("--folds", whole_number(2), split.folds,
         "inter-patient and ds1: folds of DS1 records, one model each"),
    ):  # fmt: skip
        parser.add_argument(flag, type=kind, default=default, help=f"{text} (default: %(default)s)")
    parser.add_argument(
        "--tune", nargs="*", default=list(select.tuned_classes), choices=AAMI_CLASSES,
        help="classes whose logit offset is chosen on the validation beats (default: %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--threads", type=whole_number(1), help="torch CPU threads (default: torch's own choice)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def settings_from_args(args: argparse.Namespace) -> BenchmarkSettings:
    """The run's settings: the protocol's defaults, replaced by the options given."""
    from seecgnet.mitbih.run import BenchmarkSettings

    beats, training, selection = protocol_defaults(args.protocol)
    given: dict[str, dict[str, object]] = {"beats": {}, "training": {}, "selection": {}}
    for flag, part, field, _, _ in PROTOCOL_OPTIONS:
        value = getattr(args, flag[2:].replace("-", "_"))
        if value is not None:
            given[part][field] = tuple(value) if isinstance(value, list) else value
    return BenchmarkSettings(
        protocol=args.protocol,
        architectures=("seecgnet", "baseline") if args.baseline else ("seecgnet",),
        beats=dataclasses.replace(beats, **given["beats"]),
        split=dataclasses.replace(SplitSettings(), folds=args.folds, seed=args.seed),
        training=dataclasses.replace(training, **given["training"], seed=args.seed),
        selection=dataclasses.replace(
            selection, **given["selection"], tuned_classes=tuple(args.tune)
        ),
    )


def _run(args: argparse.Namespace) -> str:
    """Run (or resume) the benchmark, one seed or several; the results' Markdown."""
    from seecgnet.mitbih.run import run_benchmark
    from seecgnet.mitbih.seeds import run_seeds

    settings = settings_from_args(args)
    if args.seeds == 1:
        run_benchmark(settings, args.data, args.workdir, progress=not args.quiet)
        return (args.workdir / "results.md").read_text()
    seeds = list(range(args.seed, args.seed + args.seeds))
    return run_seeds(settings, seeds, args.data, args.workdir, progress=not args.quiet)


@interruptible(
    "python -m seecgnet.mitbih",
    "run the same command again to resume after the last whole epoch",
)
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging()
    try:
        check_apart(args.workdir, "work folder", args.data, "data folder")
        marker = RUN_MARKER if args.seeds == 1 else SEEDS_MARKER
        check_work_folder(args.workdir, "work folder", marker)
    except DestinationError as error:
        print(f"mitbih: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    # imported once the arguments are known good: torch and wfdb take seconds to load
    import torch

    from seecgnet.mitbih.beats import BeatError
    from seecgnet.mitbih.run import WorkdirError
    from seecgnet.mitbih.splits import SplitError
    from seecgnet.mitbih.training import BeatTrainingError
    from seecgnet.training.checkpoint import CheckpointError

    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.perf_counter()
    try:
        text = _run(args)
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
