"""The folds of a cross-validation: each record's fold, made once (stratified, or one fold per source
database) and saved in the work folder's folds.csv and split.json, and read back from there."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from seecgnet.challenge.sources import source_label
from seecgnet.data.folds import MIN_RECORDS_TO_SPLIT, iterative_stratification, leave_one_source_out
from seecgnet.errors import SeecgnetError

if TYPE_CHECKING:
    from seecgnet.data.dataset import RecordStore

FOLDS_FILE = "folds.csv"  # written first: what makes a folder a cross-validation work folder
SPLIT_FILE = "split.json"

# The ways records are split into folds: multi-label stratified, or one fold per source database.
STRATIFIED, BY_SOURCE = "stratified", "source"


class CrossValError(SeecgnetError, ValueError):
    """The work folder does not fit the data (another data set's folds, say)."""


@dataclass(frozen=True)
class FoldPlan:
    """How the records are split: the split's kind, each record's fold (0..), and each fold's name
    in the tables ("fold 1", or the source held out, "CPSC (A)")."""

    split: str
    fold_of: np.ndarray
    labels: tuple[str, ...]

    @property
    def n_folds(self) -> int:
        return len(self.labels)


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
    store: RecordStore,
    n_folds: int | None,
    seed: int,
    workdir: Path,
    validation_fraction: float,
    split: str = STRATIFIED,
) -> FoldPlan:
    """The fold of each record: read from WORKDIR/folds.csv when it exists, else made and saved.

    ``split`` is STRATIFIED (``n_folds`` multi-label stratified folds) or BY_SOURCE (one fold per
    source database, ``n_folds`` None). A work folder made with another split, or for other
    records, is refused; so are folds too small to finish (see :func:`check_fold_sizes`), before
    anything is saved.
    """
    path = workdir / FOLDS_FILE
    saved = _read_saved_folds(workdir, store, split) if path.exists() else None
    if split == BY_SOURCE:
        folds, prefixes = leave_one_source_out(store.names)
        labels = tuple(source_label(prefix) for prefix in prefixes)
    else:
        folds, prefixes = None, ()
        labels = tuple(f"fold {k + 1}" for k in range(n_folds))
    if saved is not None:
        if folds is not None and not np.array_equal(saved, folds):
            raise CrossValError(f"{path} holds other folds than the records' sources")
        if saved.max() + 1 != len(labels):
            raise CrossValError(f"{path} holds {saved.max() + 1} folds, not {len(labels)}")
        check_fold_sizes(saved, validation_fraction)
        return FoldPlan(split, saved, labels)
    if folds is None:
        folds = iterative_stratification(store.labels, n_folds, seed)
    check_fold_sizes(folds, validation_fraction)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / SPLIT_FILE).write_text(json.dumps({"split": split}) + "\n")
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["record", "fold", *(["source"] if prefixes else [])])
        for name, fold in zip(store.names, folds, strict=True):
            writer.writerow([name, int(fold) + 1, *([prefixes[fold]] if prefixes else [])])
    return FoldPlan(split, folds, labels)


def _read_saved_folds(workdir: Path, store: RecordStore, split: str) -> np.ndarray:
    """The folds saved in a work folder, refused when made with another split or other records.

    A work folder without a split file was made before the source split existed: stratified.
    """
    split_path = workdir / SPLIT_FILE
    saved_split = json.loads(split_path.read_text())["split"] if split_path.exists() else STRATIFIED
    if saved_split != split:
        raise CrossValError(
            f"{workdir} holds folds made with --split {saved_split}, not --split {split}: use "
            "a new work folder"
        )
    with (workdir / FOLDS_FILE).open(newline="") as handle:
        saved = {row["record"]: int(row["fold"]) - 1 for row in csv.DictReader(handle)}
    if set(saved) != set(store.names):
        raise CrossValError(
            f"{workdir / FOLDS_FILE} lists other records than the data folder: use a new work "
            "folder"
        )
    return np.array([saved[name] for name in store.names])
