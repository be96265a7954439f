"""The folds of a cross-validation in a work folder: assigned once, each trained, saved, tuned and
predicted (or skipped when complete), and read back.

Work folder layout::

    folds.csv                         each record's fold
    fold_K/model/, fold_K/outputs/    the fold's model folder and the held-out records' CSVs
    fold_K/inner_validation.npz       its inner validation labels, probabilities and thresholds
    fold_K/member_2/ ...              further networks of the fold (--members)
    fold_K/done.json                  written last: the fold is complete, its architecture, and
                                      the seconds its networks took to train, tune and predict
    NAME/fold_K/ ...                  the same for each further architecture (--architectures,
                                      --baseline): baseline/, resnext/, resnest/
"""

from __future__ import annotations

import csv
import dataclasses
import json
import logging
import time
from pathlib import Path

import numpy as np

from seecgnet.challenge.classes import ScoredClasses
from seecgnet.challenge.outputs import load_outputs
from seecgnet.challenge.scoring import load_labels
from seecgnet.crossval.report import FoldCurve
from seecgnet.crossval.results import FoldOutcome, MethodResult, score_method
from seecgnet.data.dataset import RecordStore
from seecgnet.data.folds import (
    MIN_RECORDS_TO_SPLIT,
    iterative_stratification,
    validation_split,
)
from seecgnet.destinations import remove_own_files
from seecgnet.inference.decision import DecisionRule
from seecgnet.inference.thresholds import tune_class_thresholds
from seecgnet.model_folder import SETTINGS_FILE, ModelSummary, load_model, read_manifest, save_model
from seecgnet.pipeline import predict_records
from seecgnet.training.checkpoint import CHECKPOINT_FILES
from seecgnet.training.curves import CURVE_CSV, read_curve_csv
from seecgnet.training.loop import train_model
from seecgnet.training.settings import Settings

log = logging.getLogger(__name__)

FOLDS_FILE = "folds.csv"  # written first: what makes a folder a cross-validation work folder
DONE_FILE = "done.json"
INNER_FILE = "inner_validation.npz"


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
    if (fold_dir / DONE_FILE).exists():
        check_fold_architecture(fold_dir, settings.architecture)
        log.info("%s is complete; skipping it", fold_dir)
        return
    started = time.perf_counter()
    train_indices = np.flatnonzero(folds != fold)
    held_out = [headers[store.names[i]] for i in np.flatnonzero(folds == fold)]
    # one inner split for every network of the fold, so that their ensembles are validated (and
    # their per-class thresholds tuned) on the same records
    config = settings.training
    fit, inner = validation_split(
        store.labels[train_indices], config.validation_fraction, config.seed
    )
    for member in range(members):
        member_settings = dataclasses.replace(
            settings, training=dataclasses.replace(config, seed=config.seed + member)
        )
        log.info(
            "fold %d, network %d: training on %d records", fold + 1, member + 1, len(train_indices)
        )
        run_member(
            store,
            classes,
            member_settings,
            (train_indices[fit], train_indices[inner]),
            held_out,
            member_dir(fold_dir, member),
            progress,
        )
    done = {
        "fold": fold + 1,
        "records": len(held_out),
        "members": members,
        "architecture": settings.architecture,
        "seconds": round(time.perf_counter() - started, 1),
    }
    (fold_dir / DONE_FILE).write_text(json.dumps(done) + "\n")


def check_fold_architecture(fold_dir: Path, architecture: str) -> None:
    """Refuse to count a complete fold of another architecture as this one's (a work folder
    reused with other options); folds done before done.json named it are read from the model."""
    done = json.loads((fold_dir / DONE_FILE).read_text())
    found = done.get("architecture")
    if found is None:
        model_settings = fold_dir / "model" / SETTINGS_FILE
        found = json.loads(model_settings.read_text()).get("architecture", "seecgnet")
    if found != architecture:
        raise CrossValError(
            f"{fold_dir} holds a {found} fold, not {architecture}: use a new work folder"
        )


def fold_seconds(root: Path, n_folds: int) -> list[float | None]:
    """The seconds each complete fold under ``root`` took, from its done-file; None for a fold
    done before the time was recorded. A fold resumed after a cut counts only its last run."""
    return [
        json.loads((root / f"fold_{k}" / DONE_FILE).read_text()).get("seconds")
        for k in range(1, n_folds + 1)
    ]


def run_member(
    store: RecordStore,
    classes: ScoredClasses,
    settings: Settings,
    split: tuple[np.ndarray, np.ndarray],
    held_out: list[Path],
    out: Path,
    progress: bool,
) -> None:
    """One network of a fold: trained on the first part of ``split`` (resuming from its
    checkpoint), its epoch chosen and its thresholds tuned on the second (the inner validation
    records), saved as a model folder, and the held-out records predicted."""
    fit, inner = split
    trained = train_model(
        store,
        classes,
        settings,
        train_indices=fit,
        validation_indices=inner,
        checkpoint_dir=out / "checkpoint",
        resume=True,
        progress=progress,
    )
    inner_labels = store.labels[inner]
    thresholds = tune_class_thresholds(inner_labels, trained.validation_probabilities, classes)
    np.savez(
        out / INNER_FILE,
        labels=inner_labels,
        probabilities=trained.validation_probabilities,
        thresholds=thresholds,
        names=np.array([store.names[i] for i in inner], dtype=str),
    )
    if settings.decision.rule is DecisionRule.PER_CLASS:  # the fold's model decides with them
        tuned = dataclasses.replace(settings.decision, class_thresholds=tuple(thresholds.tolist()))
        settings = dataclasses.replace(settings, decision=tuned)
    best = next(e for e in trained.history if e.epoch == trained.best_epoch)
    save_model(
        out / "model",
        settings,
        classes,
        trained.age_stats,
        [trained.network.state_dict()],
        ModelSummary(len(fit) + len(inner), (best.epoch,), (best.validation_challenge_metric,)),
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
    remove_own_files(out / "checkpoint", CHECKPOINT_FILES)


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
    inner = [np.load(member_dir(fold_dir, m) / INNER_FILE) for m in range(n_members)]
    inner_labels, inner_probabilities = None, None
    if n_members > 1 and _same_inner_records(inner):
        inner_labels = inner[0]["labels"]
        inner_probabilities = np.stack([part["probabilities"] for part in inner])
    return FoldOutcome(
        fold,
        tuple(names),
        labels,
        np.stack(probabilities),
        binary,
        thresholds,
        inner_labels,
        inner_probabilities,
    )


def _same_inner_records(inner: list[np.lib.npyio.NpzFile]) -> bool:
    """Whether a fold's networks were validated on the same records (folds made before the record
    names were saved, or with one inner split per network, were not)."""
    if any("names" not in part for part in inner):
        return False
    return all(np.array_equal(part["names"], inner[0]["names"]) for part in inner)


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


def fold_curves(root: Path, n_folds: int) -> list[FoldCurve]:
    """Every fold's training curve (its first network's), from the folds' model folders in fold
    order; a fold whose model has no curve file (trained before curves were recorded) is left out."""
    curves = []
    for k in range(1, n_folds + 1):
        folder = root / f"fold_{k}" / "model"
        if (folder / CURVE_CSV).is_file():
            history = read_curve_csv(folder / CURVE_CSV)[0]
            best_epoch = read_manifest(folder)["best_epochs"][0]
            curves.append(FoldCurve(f"fold {k}", history, best_epoch))
    return curves
