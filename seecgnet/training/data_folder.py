"""Training on a data folder, the job of ``train_model.py`` and ``team_code.py``: the folder's
readable records (through the on-disk cache), the networks' records, and the model folder shipped
with :func:`seecgnet.training.ship.ship`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seecgnet.challenge.classes import ScoredClasses, load_scored_classes
from seecgnet.data.cache.build import open_cache
from seecgnet.data.dataset import ReadFailure, RecordStore, load_store
from seecgnet.data.folds import iterative_stratification, validation_split
from seecgnet.data.signals import SignalSettings
from seecgnet.destinations import check_folder_destination
from seecgnet.errors import SeecgnetError
from seecgnet.io.formats.dispatch import find_records
from seecgnet.io.labels import Labels
from seecgnet.trained.ensemble import EnsembleRule
from seecgnet.trained.folder import MODEL_FILE, check_model_destination, read_manifest
from seecgnet.trained.routes import is_routed, member_folder, read_routed_manifest
from seecgnet.trained.settings import Settings
from seecgnet.training.checkpoint import (
    CheckpointError,
    check_checkpoint_folder,
    checkpoint_folder,
    remove_checkpoints,
    unfinished_run,
)
from seecgnet.training.ship import MemberPlan, NothingToTrainError, ship

log = logging.getLogger(__name__)


def open_records(
    data_dir: str | Path,
    classes: ScoredClasses,
    settings: SignalSettings,
    cache_dir: str | Path | None = None,
    workers: int = 1,
    progress: bool = True,
    labels: Labels | None = None,
) -> tuple[RecordStore, list[ReadFailure]]:
    """The readable records of a folder: through the on-disk cache, or in memory without one.
    ``labels`` (a labels file's) give the codes of the records they name, in place of their own.

    A missing folder (RecordError) or one without any header (NothingToTrainError) is refused
    before the cache is touched, so that a wrong path leaves no cache folder behind.
    """
    records = find_records(data_dir, require_signal=False)
    if labels is not None:
        unused = set(labels) - {record.stem for record in records}
        if unused:
            log.warning(
                "the labels file names %d records that %s does not hold, e.g. %s",
                len(unused),
                data_dir,
                ", ".join(sorted(unused)[:5]),
            )
    if not records:
        raise NothingToTrainError(
            f"{data_dir}: no readable record to train on (no NAME.hea, and no file in another "
            "format read here)"
        )
    if cache_dir is not None:
        check_folder_destination(cache_dir, "record cache folder")
    if cache_dir is None:
        return load_store(data_dir, classes, settings, workers=workers, labels=labels)
    return open_cache(
        data_dir, cache_dir, classes, settings, workers=workers, progress=progress, labels=labels
    )


@dataclass(frozen=True)
class TrainingReport:
    model_dir: Path
    n_records: int
    n_skipped: int
    best_epochs: tuple[int, ...]
    validation_challenge_metrics: tuple[float, ...]
    seconds: float


def train_folder(
    data_dir: str | Path,
    model_dir: str | Path,
    settings: Settings,
    folds: int = 1,
    ensemble: EnsembleRule = EnsembleRule.MEAN,
    resume: bool = False,
    progress: bool = True,
    cache_dir: str | Path | None = None,
    labels: Labels | None = None,
) -> TrainingReport:
    """Train on every readable record of ``data_dir`` and write the model folder ``model_dir``.

    With ``folds`` > 1 the records are split into that many stratified folds and one network is
    trained per fold on the others, choosing its best epoch on its own fold; the model folder then
    holds all of them and predicts with their ``ensemble`` combination. A tuned decision rule
    (per_class, per_lead_set) is tuned on validation records that the shipped model never trained
    on: a single network's own validation records, or for an ensemble a stratified part of the
    records (the validation fraction) held out of every fold, predicted by the ensemble itself
    (see :func:`seecgnet.training.ship.ship`).
    With ``cache_dir`` the prepared records go through the on-disk cache there (see
    :mod:`seecgnet.data.cache`). ``labels`` (``train_model.py --labels``, see
    :mod:`seecgnet.io.labels`) give the codes of the records they name.

    ``model_dir`` and the checkpoint folder beside it are checked before anything is read: an
    unfinished run's checkpoints there are continued with ``resume`` and refused without it, and
    ``resume`` with none is refused too (CheckpointError); a model that will be replaced is named
    in the log.
    """
    started = time.perf_counter()
    checkpoint_root = _check_destinations(data_dir, model_dir, folds)
    _check_resume(model_dir, checkpoint_root, resume)
    model_dir = Path(model_dir)
    classes = load_scored_classes()
    store, failures = _training_records(data_dir, classes, settings, cache_dir, progress, labels)
    plans, tuning = _member_plans(store, folds, settings, checkpoint_root)
    shipped = ship(
        store,
        classes,
        settings,
        model_dir,
        plans,
        ensemble=ensemble,
        tuning_indices=tuning,
        resume=resume,
        progress=progress,
    )
    best_epochs, best_scores = (), ()
    if shipped is not None:  # not a helper process of a distributed run
        best_epochs = shipped.summary.best_epochs
        best_scores = shipped.summary.validation_challenge_metric
        remove_checkpoints(checkpoint_root)  # the model folder now holds the result
    return TrainingReport(
        model_dir,
        len(store),
        len(failures),
        best_epochs,
        best_scores,
        time.perf_counter() - started,
    )


def _check_destinations(data_dir: str | Path, model_dir: str | Path, folds: int) -> Path:
    """Refuse a model folder that would lose a user's files (see
    :func:`seecgnet.trained.folder.check_model_destination`) or a checkpoint folder holding other
    files; the checkpoint folder, ``.NAME.checkpoint`` beside the model folder, which ``resume``
    continues from and which goes once the model is saved."""
    if folds < 1:
        raise ValueError(f"folds must be at least 1, got {folds}")
    check_model_destination(model_dir, data_dir)
    checkpoint_root = checkpoint_folder(model_dir)
    check_checkpoint_folder(checkpoint_root)
    return checkpoint_root


def _trained_records(model_dir: Path) -> str:
    """How many records trained the model in ``model_dir`` (a routed one: its first member), as
    the replacing line says it."""
    try:
        folder = model_dir
        if is_routed(folder):
            folder = member_folder(folder, read_routed_manifest(folder).table.members[0])
        return f"{read_manifest(folder)['n_training_records']} records"
    except (SeecgnetError, KeyError, IndexError):
        return "an unknown number of records"


def _check_resume(model_dir: str | Path, checkpoint_root: Path, resume: bool) -> None:
    """Refuse to start afresh over an unfinished run's checkpoints, or to resume with none; say
    which model a fresh run will replace."""
    run = unfinished_run(checkpoint_root)
    if run is not None and not resume:
        at = "" if run.epochs_done is None else f" at epoch {run.epochs_done} of {run.epochs}"
        raise CheckpointError(
            f"{model_dir} holds an unfinished run{at}: add --resume to continue it, or name "
            "another folder"
        )
    if run is None and resume:
        raise CheckpointError(
            f"{model_dir}: nothing to resume (no checkpoint in {checkpoint_root}); leave out "
            "--resume to start a new run"
        )
    manifest = Path(model_dir) / MODEL_FILE
    if not resume and manifest.is_file():
        # the manifest records no date: its file's is when the model was saved (or copied)
        saved = time.strftime("%Y-%m-%d %H:%M", time.localtime(manifest.stat().st_mtime))
        records = _trained_records(Path(model_dir))
        log.info(
            "replacing the model in %s (trained on %s, its %s dated %s) once the new one is "
            "complete",
            model_dir,
            records,
            MODEL_FILE,
            saved,
        )


def _training_records(
    data_dir: str | Path,
    classes: ScoredClasses,
    settings: Settings,
    cache_dir: str | Path | None,
    progress: bool,
    labels: Labels | None = None,
) -> tuple[RecordStore, list[ReadFailure]]:
    """The folder's readable records, the unreadable ones counted in a warning; none is an error."""
    store, failures = open_records(
        data_dir,
        classes,
        settings.signal,
        cache_dir=cache_dir,
        workers=max(1, settings.training.workers),
        progress=progress,
        labels=labels,
    )
    if failures:
        log.warning(
            "%d of %d records could not be read and were skipped",
            len(failures),
            len(failures) + len(store),
        )
    if len(store) == 0:
        raise NothingToTrainError(f"{data_dir}: no readable record to train on")
    log.info("training on %d records from %s", len(store), data_dir)
    return store, failures


def _member_plans(
    store: RecordStore, folds: int, settings: Settings, checkpoint_root: Path
) -> tuple[list[MemberPlan], np.ndarray | None]:
    """Each network's training records, the records that choose its epoch and its checkpoint
    folder (``checkpoint_root/member_K``), and the records an ensemble's decision is tuned on (None
    where none are set aside).

    Without folds: all records (training then holds a part out itself). With folds: each fold's own
    records; under a tuned rule a stratified part of the records is first set aside from every
    fold, since each of the others trains some member of the ensemble.
    """
    if folds <= 1:
        return [MemberPlan(np.arange(len(store)), None, checkpoint_root / "member_1")], None
    indices, tuning = np.arange(len(store)), None
    if settings.decision.rule.tuned:
        config = settings.training
        fit_part, tuning = validation_split(store.labels, config.validation_fraction, config.seed)
        if len(tuning) == 0:
            raise NothingToTrainError(
                f"the {settings.decision.rule.value} rule is tuned for an ensemble on records "
                f"held out of every fold: {len(store)} records with validation fraction "
                f"{config.validation_fraction} leave none"
            )
        indices = fit_part
    fold_of = iterative_stratification(store.labels[indices], folds, settings.training.seed)
    plans = [
        MemberPlan(
            indices[fold_of != k], indices[fold_of == k], checkpoint_root / f"member_{k + 1}"
        )
        for k in range(folds)
    ]
    for k, plan in enumerate(plans):
        log.info("fold %d/%d trains on %d records", k + 1, folds, len(plan.train_indices))
    return plans, tuning
