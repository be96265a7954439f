"""K-fold cross-validation scored with the challenge metric, as the paper reports its method.

``python -m seecgnet.crossval DATA WORKDIR --folds 5`` splits the records into stratified folds
(saved in WORKDIR/folds.csv), and for each fold trains on the others, writes the held-out fold's
outputs in challenge format with the driver's own code (WORKDIR/fold_K/outputs/), and scores them.
A fold whose outputs are complete is skipped when the command runs again, and a fold cut off during
training resumes from its last epoch. With ``--baseline`` the plain 1-D ResNet goes through the same
folds (WORKDIR/baseline/fold_K/). With ``--members 2`` each fold trains a second network (another
seed) so that ensembles (mean and union of the members) can be compared on out-of-fold data.
Each method's per-fold training curves (loss and validation challenge metric by epoch) are drawn
in its training_curves.png.

Besides the model's own rule, three decision rules are compared on the same out-of-fold
probabilities: fixed 0.5, the paper's per-sample max/5, and per-class thresholds tuned on each
fold's *training* part (the inner validation records that chose its best epoch), never on the fold.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import logging
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from seecgnet.classes import ScoredClasses, load_scored_classes
from seecgnet.cli import (
    EXIT_OK,
    EXIT_USAGE,
    add_training_options,
    cache_dir_from_args,
    script_parser,
    settings_from_args,
    setup_logging,
)
from seecgnet.decision import decide, per_sample_threshold
from seecgnet.folds import MIN_RECORDS_TO_SPLIT, iterative_stratification
from seecgnet.metrics import Scores, challenge_metric, compute_scores
from seecgnet.outputs import load_outputs
from seecgnet.records import RecordError, find_records
from seecgnet.scoring import load_labels
from seecgnet.thresholds import tune_class_thresholds

if TYPE_CHECKING:  # the modules that load torch are imported where they are used: --help is quick
    from seecgnet.dataset import RecordStore
    from seecgnet.settings import Settings

log = logging.getLogger(__name__)

FOLDS_FILE = "folds.csv"
DONE_FILE = "done.json"
INNER_FILE = "inner_validation.npz"
RULES = ("per_sample", "fixed", "per_class")
EXIT_CODES = {
    EXIT_OK: "every fold is complete and the results are written",
    EXIT_USAGE: "wrong arguments, data too few for the folds, a work folder of other data, "
    "or a device this machine lacks",
}


class CrossValError(ValueError):
    """The work folder does not fit the data (another data set's folds, say)."""


def check_fold_sizes(folds: np.ndarray, validation_fraction: float) -> None:
    """Refuse folds whose training parts are too small to hold inner validation records out.

    Each fold chooses its best epoch and tunes its per-class thresholds on validation records
    held out of its training part; without them the fold cannot be finished, so this is checked
    before anything is written.
    """
    if validation_fraction <= 0:
        raise CrossValError(
            "cross-validation tunes each fold's thresholds on inner validation records: "
            f"the validation fraction must be above 0, not {validation_fraction}"
        )
    n_folds = int(folds.max()) + 1
    smallest = len(folds) - int(np.bincount(folds).max())
    if smallest < MIN_RECORDS_TO_SPLIT:
        raise CrossValError(
            f"{len(folds)} readable records in {n_folds} folds leave {smallest} record(s) to "
            f"train the largest fold's network on; every fold needs at least "
            f"{MIN_RECORDS_TO_SPLIT} training records so that some are held out to choose its "
            "epoch and tune its thresholds: use fewer folds or more records"
        )


def assign_folds(
    store: RecordStore, n_folds: int, seed: int, workdir: Path, validation_fraction: float
) -> np.ndarray:
    """The fold of each record: read from WORKDIR/folds.csv when it exists, else made and saved.

    Folds too small to finish (see :func:`check_fold_sizes`) are refused before anything is saved.
    """
    path = workdir / FOLDS_FILE
    if path.exists():
        with path.open(newline="") as handle:
            saved = {row["record"]: int(row["fold"]) - 1 for row in csv.DictReader(handle)}
        if set(saved) != set(store.names):
            raise CrossValError(
                f"{path} lists other records than the data folder: use a new work folder"
            )
        folds = np.array([saved[name] for name in store.names])
        if folds.max() + 1 != n_folds:
            raise CrossValError(f"{path} holds {folds.max() + 1} folds, not {n_folds}")
        check_fold_sizes(folds, validation_fraction)
        return folds
    folds = iterative_stratification(store.labels, n_folds, seed)
    check_fold_sizes(folds, validation_fraction)
    workdir.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["record", "fold"])
        writer.writerows((name, int(f) + 1) for name, f in zip(store.names, folds, strict=True))
    return folds


def member_dir(fold_dir: Path, member: int) -> Path:
    """Where a fold's member writes: the fold folder itself for the first network."""
    return fold_dir if member == 0 else fold_dir / f"member_{member + 1}"


def run_fold(
    store: RecordStore,
    headers: dict[str, Path],
    classes: ScoredClasses,
    settings: Settings,
    folds: np.ndarray,
    fold: int,
    fold_dir: Path,
    members: int = 1,
    progress: bool = True,
) -> None:
    """Train, save, tune and predict one fold, unless its done-file says that it is complete."""
    from seecgnet.model_folder import ModelSummary, load_model, save_model
    from seecgnet.pipeline import predict_records
    from seecgnet.training import train_model

    if (fold_dir / DONE_FILE).exists():
        log.info("%s is complete; skipping it", fold_dir)
        return
    train_indices = np.flatnonzero(folds != fold)
    held_out = [headers[store.names[i]] for i in np.flatnonzero(folds == fold)]
    for member in range(members):
        out = member_dir(fold_dir, member)
        seed = settings.training.seed + member
        member_settings = dataclasses.replace(
            settings, training=dataclasses.replace(settings.training, seed=seed)
        )
        log.info(
            "fold %d, network %d: training on %d records", fold + 1, member + 1, len(train_indices)
        )
        trained = train_model(
            store,
            classes,
            member_settings,
            train_indices=train_indices,
            checkpoint_dir=out / "checkpoint",
            resume=True,
            progress=progress,
        )
        inner_labels = store.labels[trained.validation_indices]
        thresholds = tune_class_thresholds(inner_labels, trained.validation_probabilities, classes)
        np.savez(
            out / INNER_FILE,
            labels=inner_labels,
            probabilities=trained.validation_probabilities,
            thresholds=thresholds,
        )
        best = next(e for e in trained.history if e.epoch == trained.best_epoch)
        save_model(
            out / "model",
            member_settings,
            classes,
            trained.age_stats,
            [trained.network.state_dict()],
            ModelSummary(len(train_indices), (best.epoch,), (best.validation_challenge_metric,)),
            histories=[trained.history],
        )
        # the held-out fold goes through exactly the driver's path: model folder, records, files
        predict_records(
            load_model(out / "model"),
            held_out,
            out / "outputs",
            progress=progress,
            workers=settings.training.workers,
        )
        shutil.rmtree(out / "checkpoint", ignore_errors=True)
    (fold_dir / DONE_FILE).write_text(
        json.dumps({"fold": fold + 1, "records": len(held_out), "members": members}) + "\n"
    )


@dataclass(frozen=True)
class FoldOutcome:
    """One fold's out-of-fold labels and probabilities, and the thresholds tuned on its inner part.

    ``probabilities`` is (members, records, classes); ``binary`` the first member's written labels.
    """

    fold: int
    names: tuple[str, ...]
    labels: np.ndarray
    probabilities: np.ndarray
    binary: np.ndarray
    thresholds: np.ndarray


def read_fold(
    fold_dir: Path, fold: int, names: list[str], headers: dict[str, Path], classes: ScoredClasses
) -> FoldOutcome:
    """Read back a complete fold's output files (with the scorer's reader) and inner thresholds."""
    labels = load_labels([headers[name] for name in names], classes)
    n_members = json.loads((fold_dir / DONE_FILE).read_text())["members"]
    probabilities, binary = [], None
    for member in range(n_members):
        out = member_dir(fold_dir, member)
        outputs = load_outputs([out / "outputs" / f"{name}.csv" for name in names], classes)
        probabilities.append(outputs.scalar)
        binary = outputs.binary if binary is None else binary
    thresholds = np.load(fold_dir / INNER_FILE)["thresholds"]
    return FoldOutcome(fold, tuple(names), labels, np.stack(probabilities), binary, thresholds)


def decide_by_rule(outcome: FoldOutcome, rule: str, settings: Settings) -> np.ndarray:
    """The first member's labels under one of the compared rules."""
    probabilities = outcome.probabilities[0]
    if rule == "per_sample":
        return per_sample_threshold(probabilities, settings.decision.divisor)
    if rule == "fixed":
        return probabilities >= settings.decision.fixed_threshold
    if rule == "per_class":
        return probabilities >= outcome.thresholds
    raise ValueError(f"unknown rule {rule!r}")


@dataclass(frozen=True)
class MethodResult:
    """A method's scores: per fold and pooled, for the model's rule and each compared rule."""

    method: str
    fold_scores: list[Scores]  # the files as written (the model's own rule)
    pooled_scores: Scores
    rule_challenge: dict[str, tuple[list[float], float]]  # rule -> (per fold, pooled)
    ensemble_challenge: dict[str, float]  # "single", "mean", "union" -> pooled (members > 1)


def score_method(
    method: str, outcomes: list[FoldOutcome], settings: Settings, classes: ScoredClasses
) -> MethodResult:
    """Score every fold and the pooled out-of-fold predictions."""
    fold_scores = [
        compute_scores(o.labels, o.probabilities[0], o.binary, classes) for o in outcomes
    ]
    labels = np.concatenate([o.labels for o in outcomes])
    pooled = compute_scores(
        labels,
        np.concatenate([o.probabilities[0] for o in outcomes]),
        np.concatenate([o.binary for o in outcomes]),
        classes,
    )
    rules = {}
    for rule in RULES:
        decided = [decide_by_rule(o, rule, settings) for o in outcomes]
        per_fold = [
            challenge_metric(o.labels, d, classes) for o, d in zip(outcomes, decided, strict=True)
        ]
        rules[rule] = (per_fold, challenge_metric(labels, np.concatenate(decided), classes))
    ensembles = {}
    if min(o.probabilities.shape[0] for o in outcomes) > 1:
        combined = {
            "single": [o.probabilities[0] for o in outcomes],
            "mean": [o.probabilities.mean(axis=0) for o in outcomes],
            "union": [o.probabilities.max(axis=0) for o in outcomes],
        }
        for name, parts in combined.items():
            binary = decide(np.concatenate(parts), settings.decision)
            ensembles[name] = challenge_metric(labels, binary, classes)
    return MethodResult(method, fold_scores, pooled, rules, ensembles)


def run_method(
    method: str,
    store: RecordStore,
    headers: dict[str, Path],
    classes: ScoredClasses,
    settings: Settings,
    folds: np.ndarray,
    root: Path,
    members: int,
    progress: bool,
) -> MethodResult:
    """Run (or resume) every fold of one method under ``root`` and score it."""
    outcomes = []
    for fold in range(int(folds.max()) + 1):
        fold_dir = root / f"fold_{fold + 1}"
        fold_dir.mkdir(parents=True, exist_ok=True)
        run_fold(store, headers, classes, settings, folds, fold, fold_dir, members, progress)
        names = [store.names[i] for i in np.flatnonzero(folds == fold)]
        outcomes.append(read_fold(fold_dir, fold + 1, names, headers, classes))
    return score_method(method, outcomes, settings, classes)


def main(argv: list[str] | None = None) -> int:
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
        "--folds", type=int, default=5, help="number of folds (default: %(default)s)"
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
    args = parser.parse_args(argv)
    setup_logging()
    from seecgnet.crossval_report import draw, draw_fold_curves, markdown, write_csv
    from seecgnet.pipeline import PredictionError, open_records
    from seecgnet.training import resolve_device

    started = time.perf_counter()
    workdir = Path(args.workdir)
    try:
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
        folds = assign_folds(
            store,
            args.folds,
            settings.training.seed,
            workdir,
            settings.training.validation_fraction,
        )
        methods = [("SE-ECGNet", settings, workdir)]
        if args.baseline:
            baseline_args = argparse.Namespace(**{**vars(args), "architecture": "baseline"})
            methods.append(
                ("plain 1-D ResNet", settings_from_args(baseline_args), workdir / "baseline")
            )
        results = [
            run_method(
                name,
                store,
                headers,
                classes,
                method_settings,
                folds,
                root,
                args.members,
                not args.quiet,
            )
            for name, method_settings, root in methods
        ]
    except (CrossValError, PredictionError, RecordError, ValueError, OSError) as error:
        print(f"crossval: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    write_csv(results, workdir / "results.csv")
    table = markdown(results)
    (workdir / "results.md").write_text(table)
    draw(results, workdir / "crossval.png")
    for _name, _settings, root in methods:
        fold_models = [root / f"fold_{k + 1}" / "model" for k in range(args.folds)]
        draw_fold_curves(fold_models, root / "training_curves.png")
    print(table)
    log.info(
        "%d records (%d unreadable), %d folds, %.0f s; results in %s",
        len(store),
        len(failures),
        args.folds,
        time.perf_counter() - started,
        workdir,
    )
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
