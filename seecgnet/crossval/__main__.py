"""``python -m seecgnet.crossval DATA WORKDIR [--folds 5 | --split source] [--baseline]
[--members 2] [--lead-sets 12 6 4 3 2]``: cross-validation scored with the challenge metric, with
all 12 leads and the 2021 lead sets. Run it again to resume."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from seecgnet.challenge.classes import load_scored_classes
from seecgnet.cli import (
    EXIT_OK,
    EXIT_USAGE,
    add_training_options,
    cache_dir_from_args,
    script_parser,
    settings_from_args,
    setup_logging,
)
from seecgnet.crossval.results import MethodResult
from seecgnet.data.folds import MIN_RECORDS_TO_SPLIT
from seecgnet.io.records import RecordError, find_records
from seecgnet.io.reduced_leads import LEAD_SETS_2021
from seecgnet.training.settings import Settings

log = logging.getLogger("seecgnet.crossval")

EXIT_CODES = {
    EXIT_OK: "every fold is complete and the results are written",
    EXIT_USAGE: "wrong arguments, data too few for the folds, records of no known source "
    "(--split source), a work folder of other data or made with another split, or a device "
    "this machine lacks",
}

DEFAULT_FOLDS = 5


@dataclass(frozen=True)
class Method:
    """A method run through the folds: its name in the tables, its settings, its work folder."""

    name: str
    settings: Settings
    root: Path


def build_parser() -> argparse.ArgumentParser:
    parser = script_parser(
        "Cross-validation of SE-ECGNet scored with the challenge metric: K stratified folds, or "
        "one fold per source database (--split source). Each fold's held-out records are scored "
        "with all 12 leads and cut down to the 2021 challenge's lead sets. Writes folds.csv, "
        "split.json, fold_K/ (model, outputs, outputs_N_leads), results.csv, results.md, "
        "crossval.png and training_curves.png (per-fold curves) into WORKDIR; run it again to "
        f"resume. Every fold's training part needs at least {MIN_RECORDS_TO_SPLIT} records (some "
        "are held out to choose its epoch).",
        EXIT_CODES,
        prog="python -m seecgnet.crossval",
    )
    parser.add_argument("data", help="folder of labelled records (NAME.hea + NAME.mat)")
    parser.add_argument("workdir", help="work folder for folds, models, outputs and results")
    parser.add_argument(
        "--split",
        choices=["stratified", "source"],
        default="stratified",
        help="stratified: multi-label stratified folds; source: leave one source database out, "
        "the source told by the record name's prefix (A CPSC, Q CPSC-Extra, I INCART, S PTB, "
        "HR PTB-XL, E Georgia, JS Chapman-Shaoxing; other names are refused) "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--folds",
        type=int,
        default=None,
        help=f"number of stratified folds (default: {DEFAULT_FOLDS}); not with --split source",
    )
    parser.add_argument(
        "--lead-sets",
        nargs="+",
        choices=list(LEAD_SETS_2021),
        default=list(LEAD_SETS_2021),
        metavar="N",
        help="lead sets of the 2021 challenge to score the held-out records with: 12; 6 (I, II, "
        "III, aVR, aVL, aVF); 4 (I, II, III, V2); 3 (I, II, V2); 2 (I, II) (default: all; the "
        "12-lead outputs are always written)",
    )
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="also run the plain 1-D ResNet through the same folds",
    )
    parser.add_argument(
        "--members",
        type=int,
        default=1,
        help="networks per fold, to compare ensembles (default: %(default)s)",
    )
    add_training_options(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.split == "source" and args.folds is not None:
        parser.error("--folds does not apply with --split source (one fold per source)")
    if args.folds is None and args.split == "stratified":
        args.folds = DEFAULT_FOLDS
    args.lead_sets = [s for s in LEAD_SETS_2021 if s in args.lead_sets]  # in the table's order
    setup_logging()
    # imported once the arguments are known good: running the folds loads torch
    from seecgnet.crossval.run import CrossValError
    from seecgnet.pipeline import PredictionError

    started = time.perf_counter()
    try:
        n_records, n_failures, methods, results = cross_validate(args)
    except (CrossValError, PredictionError, RecordError, ValueError, OSError) as error:
        print(f"crossval: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    write_results(results, methods, Path(args.workdir))
    log.info(
        "%d records (%d unreadable), %d folds (%s split), %.0f s; results in %s",
        n_records,
        n_failures,
        len(results[0].fold_labels),
        args.split,
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


def cross_validate(args: argparse.Namespace) -> tuple[int, int, list[Method], list[MethodResult]]:
    """Read the records, assign the folds, and run (or resume) every method through them.

    Returns the number of records read and of records that could not be read, the methods and
    their results.
    """
    from seecgnet.crossval.run import assign_folds, run_method
    from seecgnet.device import resolve_device
    from seecgnet.pipeline import open_records

    settings = settings_from_args(args)
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
    plan = assign_folds(
        store,
        args.folds,
        settings.training.seed,
        Path(args.workdir),
        settings.training.validation_fraction,
        args.split,
    )
    methods = methods_to_run(args, settings)
    results = [
        run_method(
            m.name,
            store,
            headers,
            classes,
            m.settings,
            plan,
            m.root,
            args.members,
            not args.quiet,
            args.lead_sets,
        )
        for m in methods
    ]
    return len(store), len(failures), methods, results


def write_results(results: list[MethodResult], methods: list[Method], workdir: Path) -> None:
    """results.csv, results.md, crossval.png and each method's training_curves.png; the table
    is printed too."""
    from seecgnet.crossval.report import draw, draw_fold_curves, markdown, write_csv
    from seecgnet.crossval.run import fold_curves

    write_csv(results, workdir / "results.csv")
    table = markdown(results)
    (workdir / "results.md").write_text(table)
    draw(results, workdir / "crossval.png")
    for method in methods:
        draw_fold_curves(
            fold_curves(method.root, results[0].fold_labels), method.root / "training_curves.png"
        )
    print(table)


if __name__ == "__main__":
    raise SystemExit(main())
