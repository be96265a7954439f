"""``python -m seecgnet.crossval DATA WORKDIR [--folds 5 | --split source]
[--architectures seecgnet,resnext,...] [--baseline] [--members 2] [--lead-sets 12 6 4 3 2]
[--routed [--routes FILE]]``: cross-validation scored with the challenge metric, with all 12 leads
and the 2021 lead sets (with ``--routed``, a routed model and each candidate for its routes: see
:mod:`seecgnet.crossval.routed`). Run it again to resume."""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from seecgnet.challenge.classes import load_scored_classes
from seecgnet.cli import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    add_training_options,
    cache_dir_from_args,
    interruptible,
    labels_from_args,
    script_parser,
    settings_from_args,
    setup_logging,
    whole_number,
)
from seecgnet.crossval.folds import BY_SOURCE, STRATIFIED
from seecgnet.crossval.results import MethodResult
from seecgnet.data.folds import MIN_RECORDS_TO_SPLIT
from seecgnet.destinations import (
    check_apart,
    check_input_folder,
    check_work_folder,
)
from seecgnet.errors import SeecgnetError, exit_with_error
from seecgnet.io.formats.dispatch import find_records
from seecgnet.io.reduced_leads import LEAD_SETS_2021
from seecgnet.models.settings import ARCHITECTURE_NAMES, ARCHITECTURES
from seecgnet.trained.settings import Settings

if TYPE_CHECKING:
    import numpy as np

    from seecgnet.challenge.classes import ScoredClasses
    from seecgnet.crossval.folds import FoldPlan

log = logging.getLogger("seecgnet.crossval")

EXIT_CODES = {
    EXIT_OK: "every fold is complete and the results are written",
    EXIT_USAGE: "wrong arguments, data too few for the folds, records of no known source "
    "(--split source), a work folder of other data, of another architecture or made with another "
    "split (or not a work folder of this command, or the data folder, holding it or inside it), "
    "or a device this machine lacks",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C): run the same command again to resume",
}

DEFAULT_FOLDS = 5


@dataclass(frozen=True)
class Method:
    """A method run through the folds: its name in the tables, its settings, its work folder."""

    name: str
    settings: Settings
    root: Path


def architecture_list(text: str) -> list[str]:
    """The architectures of ``--architectures``: known names, comma-separated, each once."""
    names = list(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))
    unknown = [name for name in names if name not in ARCHITECTURES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown architecture(s) {', '.join(unknown) or '(none given)'}: choose from "
            + ", ".join(ARCHITECTURES)
        )
    return names


def build_parser() -> argparse.ArgumentParser:
    parser = script_parser(
        "Cross-validation of SE-ECGNet scored with the challenge metric: K stratified folds, or "
        "one fold per source database (--split source). Each fold's held-out records are scored "
        "with all 12 leads and cut down to the 2021 challenge's lead sets. Writes folds.csv, "
        "split.json, fold_K/ (model, outputs, outputs_N_leads), results.csv, results.md, "
        "architectures.csv, crossval.png and training_curves.png (per-fold curves) into WORKDIR; "
        f"run it again to resume. Every fold's training part needs at least {MIN_RECORDS_TO_SPLIT} "
        "records (some are held out to choose its epoch).",
        EXIT_CODES,
        prog="python -m seecgnet.crossval",
    )
    parser.add_argument(
        "data", help="folder of labelled records (WFDB, or the other formats of docs/formats.md)"
    )
    parser.add_argument("workdir", help="work folder for folds, models, outputs and results")
    _add_fold_options(parser)
    _add_method_options(parser)
    add_training_options(parser)
    return parser


def _add_fold_options(parser: argparse.ArgumentParser) -> None:
    """How the records are split into folds, and the lead sets the held-out ones are scored with."""
    parser.add_argument(
        "--split",
        choices=[STRATIFIED, BY_SOURCE],
        default=STRATIFIED,
        help="stratified: multi-label stratified folds; source: leave one source database out, "
        "the source told by the record name's prefix (A CPSC, Q CPSC-Extra, I INCART, S PTB, "
        "HR PTB-XL, E Georgia, JS Chapman-Shaoxing; other names are refused) "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--folds",
        type=whole_number(2),
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


def _add_method_options(parser: argparse.ArgumentParser) -> None:
    """Which networks go through the folds, and how many of each per fold."""
    parser.add_argument(
        "--architectures",
        type=architecture_list,
        metavar="LIST",
        help="run these networks through the same folds, one after the other, e.g. "
        f"{','.join(ARCHITECTURES)}: SE-ECGNet's folds in WORKDIR itself, each other's in "
        "WORKDIR/NAME; a --settings file sets its own architecture's network, the others take "
        "their defaults (default: --architecture's network alone)",
    )
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="also run the plain 1-D ResNet through the same folds (as baseline in --architectures)",
    )
    parser.add_argument(
        "--members",
        type=whole_number(1),
        default=1,
        help="networks per fold, to compare ensembles (default: %(default)s)",
    )
    parser.add_argument(
        "--routed",
        action="store_true",
        help="score a routed model as train_model.py --routed ships it: each fold trains every "
        "member network, and the held-out records of every lead set go through the routes; "
        "WORKDIR/routes.csv holds each candidate's figures per lead set (docs/lead_sets.md: "
        "'Routed models')",
    )
    parser.add_argument(
        "--routes",
        metavar="JSON",
        help="with --routed: the routes file to score (default: train_model.py --routed's)",
    )


@interruptible(
    "python -m seecgnet.crossval",
    "run the same command again to resume (complete folds are kept, a fold cut off in training "
    "resumes after its last whole epoch)",
)
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.architectures and args.architecture:
        parser.error("give --architecture or --architectures, not both")
    if args.split == "source" and args.folds is not None:
        parser.error("--folds does not apply with --split source (one fold per source)")
    if args.folds is None and args.split == "stratified":
        args.folds = DEFAULT_FOLDS
    args.lead_sets = [s for s in LEAD_SETS_2021 if s in args.lead_sets]  # in the table's order
    if args.routes and not args.routed:
        parser.error("--routes goes with --routed")
    if args.routed and (args.architectures or args.baseline or args.any_leads or args.limb_leads):
        parser.error("--routed trains its own members: leave out --architectures, --baseline, "
                     "--any-leads and --limb-leads")  # fmt: skip
    try:
        settings = settings_from_args(args)
        if args.routed:
            from seecgnet.training.routed import load_routes

            args.routes = load_routes(args.routes)
    except SeecgnetError as error:
        parser.error(str(error))
    try:
        check_input_folder(args.data, "folder of records")  # told before torch takes seconds
    except SeecgnetError as error:
        return exit_with_error("crossval", error)
    setup_logging()
    # imported once the arguments are known good: running the folds loads torch
    from seecgnet.crossval.folds import FOLDS_FILE

    started = time.perf_counter()
    try:
        check_apart(args.workdir, "work folder", args.data, "data folder")
        check_work_folder(args.workdir, "work folder", FOLDS_FILE)
        n_records, n_failures, methods, results = cross_validate(args, settings)
        write_results(results, methods, Path(args.workdir))
    except (SeecgnetError, OSError) as error:  # anything else is a bug: its traceback says where
        return exit_with_error("crossval", error)
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


def method_root(workdir: Path, architecture: str) -> Path:
    """Where an architecture's folds go: SE-ECGNet's in the work folder itself (where they were
    before it held others), every other architecture's in WORKDIR/NAME."""
    return workdir if architecture == "seecgnet" else workdir / architecture


def methods_to_run(args: argparse.Namespace, settings: Settings) -> list[Method]:
    """The --architectures (or the settings' architecture alone), then with --baseline the plain
    1-D ResNet, each with the run's options and in its own folder."""
    architectures = list(args.architectures or [settings.architecture])
    if args.baseline and "baseline" not in architectures:
        architectures.append("baseline")
    methods = []
    for architecture in architectures:
        own = argparse.Namespace(**{**vars(args), "architecture": architecture})
        if architecture != "seecgnet":  # --pretrained holds SE-ECGNet's lead-shared layers
            own.pretrained = None
        methods.append(
            Method(
                ARCHITECTURE_NAMES[architecture],
                settings_from_args(own),
                method_root(Path(args.workdir), architecture),
            )
        )
    return methods


def cross_validate(
    args: argparse.Namespace, settings: Settings
) -> tuple[int, int, list[Method], list[MethodResult]]:
    """Read the records, assign the folds, and run (or resume) every method through them.

    Returns the number of records read and of records that could not be read, the methods and
    their results.
    """
    from seecgnet.crossval.folds import assign_folds
    from seecgnet.crossval.run import run_method
    from seecgnet.device import resolve_device
    from seecgnet.training.data_folder import open_records

    resolve_device(settings.training.device)  # before any record is read
    classes = load_scored_classes()
    store, failures = open_records(
        args.data,
        classes,
        settings.signal,
        cache_dir=cache_dir_from_args(args),
        labels=labels_from_args(args),
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
    methods = routed_members(args, settings) if args.routed else methods_to_run(args, settings)
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
    if args.routed:
        score_routed(args, settings, store.names, store.labels, headers, plan, classes)
    return len(store), len(failures), methods, results


def routed_members(args: argparse.Namespace, settings: Settings) -> list[Method]:
    """Every member recipe (each a candidate for every route, whichever the routes use), each
    through the folds in its own folder."""
    from seecgnet.crossval.routed import member_root
    from seecgnet.training.routed import member_settings

    return [
        Method(f"SE-ECGNet {name}", own, member_root(Path(args.workdir), name))
        for name, own in member_settings(settings).items()
    ]


def score_routed(
    args: argparse.Namespace,
    settings: Settings,
    names: Sequence[str],
    truth: np.ndarray,
    headers: dict[str, Path],
    plan: FoldPlan,
    classes: ScoredClasses,
) -> None:
    """Predict every fold's held-out records through its routed candidates, and write routes.csv;
    ``truth`` (records, classes) the records' labels as training read them."""
    from seecgnet.crossval import routed
    from seecgnet.training.routed import MEMBER_RECIPES

    workdir = Path(args.workdir)
    members = list(MEMBER_RECIPES)
    lead_sets, workers = args.lead_sets, settings.training.workers
    routed.run_candidates(
        workdir, plan, names, headers, members, args.routes, classes, lead_sets, workers,
        not args.quiet,
    )  # fmt: skip
    scores = routed.score_candidates(workdir, plan, names, truth, members, classes, lead_sets)
    routed.write_routes_csv(
        scores, plan.split, settings.training.seed, workdir / routed.ROUTES_FILE
    )


def write_results(results: list[MethodResult], methods: list[Method], workdir: Path) -> None:
    """results.csv, results.md (the architectures side by side first), architectures.csv,
    crossval.png and each method's training_curves.png; the tables are printed too."""
    from seecgnet.crossval.compare import (
        architecture_row,
        comparison_markdown,
        paired_bootstrap,
        write_comparison_csv,
    )
    from seecgnet.crossval.run import fold_curves, fold_seconds
    from seecgnet.crossval.tables import draw, draw_fold_curves, markdown, write_csv

    n_folds = len(results[0].fold_labels)
    differences = paired_bootstrap(results, load_scored_classes())
    rows = [
        architecture_row(r, m.settings.network, fold_seconds(m.root, n_folds), d)
        for r, m, d in zip(results, methods, differences, strict=True)
    ]
    write_csv(results, workdir / "results.csv")
    write_comparison_csv(rows, workdir / "architectures.csv")
    table = comparison_markdown(rows) + "\n" + markdown(results)
    (workdir / "results.md").write_text(table)
    draw(results, workdir / "crossval.png")
    for method in methods:
        draw_fold_curves(
            fold_curves(method.root, results[0].fold_labels), method.root / "training_curves.png"
        )
    print(table)


if __name__ == "__main__":
    raise SystemExit(main())
