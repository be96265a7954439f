"""``python -m seecgnet.crossval DATA WORKDIR --folds 5 [--baseline] [--members 2]``: K-fold
cross-validation scored with the challenge metric. Run it again to resume."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from seecgnet.challenge.classes import load_scored_classes
from seecgnet.cli import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    add_training_options,
    cache_dir_from_args,
    interruptible,
    script_parser,
    settings_from_args,
    setup_logging,
    whole_number,
)
from seecgnet.crossval.results import MethodResult
from seecgnet.data.folds import MIN_RECORDS_TO_SPLIT
from seecgnet.destinations import DestinationError, check_apart, check_work_folder, os_error_text
from seecgnet.io.records import RecordError, find_records
from seecgnet.training.settings import Settings, SettingsError

log = logging.getLogger("seecgnet.crossval")

EXIT_CODES = {
    EXIT_OK: "every fold is complete and the results are written",
    EXIT_USAGE: "wrong arguments, data too few for the folds, a work folder of other data (or "
    "not a work folder of this command, or the data folder, holding it or inside it), or a "
    "device this machine lacks",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C): run the same command again to resume",
}


@dataclass(frozen=True)
class Method:
    """A method run through the folds: its name in the tables, its settings, its work folder."""

    name: str
    settings: Settings
    root: Path


def build_parser() -> argparse.ArgumentParser:
    parser = script_parser(
        "K-fold cross-validation of SE-ECGNet scored with the challenge metric. Writes folds.csv, "
        "fold_K/ (model, outputs), results.csv, results.md, crossval.png and training_curves.png "
        "(per-fold curves) into WORKDIR; run it again to resume. Every fold's training part "
        f"needs at least {MIN_RECORDS_TO_SPLIT} records (some are held out to choose its epoch).",
        EXIT_CODES,
        prog="python -m seecgnet.crossval",
    )
    parser.add_argument("data", help="folder of labelled records (NAME.hea + NAME.mat)")
    parser.add_argument("workdir", help="work folder for folds, models, outputs and results")
    parser.add_argument(
        "--folds", type=whole_number(2), default=5, help="number of folds (default: %(default)s)"
    )
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="also run the plain 1-D ResNet through the same folds",
    )
    parser.add_argument(
        "--members",
        type=whole_number(1),
        default=1,
        help="networks per fold, to compare ensembles (default: %(default)s)",
    )
    add_training_options(parser)
    return parser


@interruptible(
    "python -m seecgnet.crossval",
    "run the same command again to resume (complete folds are kept, a fold cut off in training "
    "resumes after its last whole epoch)",
)
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = settings_from_args(args)
    except (SettingsError, ValueError) as error:
        parser.error(str(error))
    setup_logging()
    # imported once the arguments are known good: running the folds loads torch
    from seecgnet.crossval.run import FOLDS_FILE, CrossValError
    from seecgnet.pipeline import PredictionError

    started = time.perf_counter()
    try:
        check_apart(args.workdir, "work folder", args.data, "data folder")
        check_work_folder(args.workdir, "work folder", FOLDS_FILE)
        n_records, n_failures, methods, results = cross_validate(args, settings)
        write_results(results, methods, Path(args.workdir), args.folds)
    except (CrossValError, DestinationError, PredictionError, RecordError, ValueError) as error:
        print(f"crossval: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as error:
        print(f"crossval: error: {os_error_text(error)}", file=sys.stderr)
        return EXIT_USAGE
    log.info(
        "%d records (%d unreadable), %d folds, %.0f s; results in %s",
        n_records,
        n_failures,
        args.folds,
        time.perf_counter() - started,
        args.workdir,
    )
    return EXIT_OK


def methods_to_run(args: argparse.Namespace, settings: Settings) -> list[Method]:
    """SE-ECGNet, and with --baseline the plain 1-D ResNet in WORKDIR/baseline."""
    workdir = Path(args.workdir)
    methods = [Method("SE-ECGNet", settings, workdir)]
    if args.baseline:
        baseline_args = argparse.Namespace(**{**vars(args), "architecture": "baseline"})
        methods.append(
            Method("plain 1-D ResNet", settings_from_args(baseline_args), workdir / "baseline")
        )
    return methods


def cross_validate(
    args: argparse.Namespace, settings: Settings
) -> tuple[int, int, list[Method], list[MethodResult]]:
    """Read the records, assign the folds, and run (or resume) every method through them.

    Returns the number of records read and of records that could not be read, the methods and
    their results.
    """
    from seecgnet.crossval.run import assign_folds, run_method
    from seecgnet.device import resolve_device
    from seecgnet.pipeline import open_records

    resolve_device(settings.training.device)  # before any record is read
    classes = load_scored_classes()
    store, failures = open_records(
        args.data,
        classes,
        settings.signal,
        cache_dir=cache_dir_from_args(args),
        workers=max(1, settings.training.workers),
        progress=not args.quiet,
    )
    headers = {path.stem: path for path in find_records(args.data)}
    folds = assign_folds(
        store,
        args.folds,
        settings.training.seed,
        Path(args.workdir),
        settings.training.validation_fraction,
    )
    methods = methods_to_run(args, settings)
    results = [
        run_method(
            m.name,
            store,
            headers,
            classes,
            m.settings,
            folds,
            m.root,
            args.members,
            not args.quiet,
        )
        for m in methods
    ]
    return len(store), len(failures), methods, results


def write_results(
    results: list[MethodResult], methods: list[Method], workdir: Path, n_folds: int
) -> None:
    """results.csv, results.md, crossval.png and each method's training_curves.png; the table
    is printed too."""
    from seecgnet.crossval.report import draw, draw_fold_curves, markdown, write_csv
    from seecgnet.crossval.run import fold_curves

    write_csv(results, workdir / "results.csv")
    table = markdown(results)
    (workdir / "results.md").write_text(table)
    draw(results, workdir / "crossval.png")
    for method in methods:
        draw_fold_curves(fold_curves(method.root, n_folds), method.root / "training_curves.png")
    print(table)


if __name__ == "__main__":
    raise SystemExit(main())
