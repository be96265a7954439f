"""The two jobs of a challenge entry, on folders: train a model folder, and predict a folder of records.

``train_model.py``, ``driver.py`` and ``team_code.py`` are thin wrappers around these functions.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from torch.utils.data import DataLoader
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from seecgnet.challenge.classes import ScoredClasses, load_scored_classes
from seecgnet.challenge.outputs import write_output
from seecgnet.data.cache.build import open_cache
from seecgnet.data.dataset import ReadFailure, RecordStore, load_store
from seecgnet.data.folds import iterative_stratification, validation_split
from seecgnet.data.signals import AgeStatistics, SignalSettings
from seecgnet.destinations import DestinationError, check_folder_destination
from seecgnet.errors import SeecgnetError
from seecgnet.inference.decision import DecisionRule
from seecgnet.inference.prediction import (
    EnsembleRule,
    Predictor,
    RecordOutcome,
    lead_set_probabilities,
)
from seecgnet.inference.reading import ReadRecord, RecordReader, as_read, relogged, threads_beside
from seecgnet.inference.thresholds import tune_class_thresholds, tune_lead_set_divisors
from seecgnet.io.records import find_records
from seecgnet.model_folder import (
    LoadedModel,
    ModelSummary,
    check_model_destination,
    describe,
    load_model,
    save_model,
)
from seecgnet.training.checkpoint import (
    check_checkpoint_folder,
    checkpoint_folder,
    remove_checkpoints,
)
from seecgnet.training.loop import TrainedModel, train_model
from seecgnet.training.settings import Settings

log = logging.getLogger(__name__)


class NothingToTrainError(SeecgnetError, ValueError):
    """The data folder holds no readable record."""


class NoRecordsError(SeecgnetError, ValueError):
    """The input folder holds no record header at all."""


class PredictionError(SeecgnetError, RuntimeError):
    """Records keep failing in the network: the model or the machine is at fault, not the data."""


# Unreadable files are the records' fault and never stop a run; this many failures in a row after
# reading (in resampling or in the network) point at the model or the machine instead.
MAX_MODEL_FAILURES_IN_A_ROW = 5


def open_records(
    data_dir: str | Path,
    classes: ScoredClasses,
    settings: SignalSettings,
    cache_dir: str | Path | None = None,
    workers: int = 1,
    progress: bool = True,
) -> tuple[RecordStore, list[ReadFailure]]:
    """The readable records of a folder: through the on-disk cache, or in memory without one.

    A missing folder (RecordError) or one without any header (NothingToTrainError) is refused
    before the cache is touched, so that a wrong path leaves no cache folder behind.
    """
    if not find_records(data_dir, require_signal=False):
        raise NothingToTrainError(f"{data_dir}: no readable record to train on (no NAME.hea)")
    if cache_dir is not None:
        check_folder_destination(cache_dir, "record cache folder")
    if cache_dir is None:
        return load_store(data_dir, classes, settings, workers=workers)
    return open_cache(data_dir, cache_dir, classes, settings, workers=workers, progress=progress)


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
) -> TrainingReport:
    """Train on every readable record of ``data_dir`` and write the model folder ``model_dir``.

    With ``folds`` > 1 the records are split into that many stratified folds and one network is
    trained per fold on the others, choosing its best epoch on its own fold; the model folder then
    holds all of them and predicts with their ``ensemble`` combination. With the per_class decision
    rule the thresholds are tuned on validation records that the shipped model never trained on: a
    single network's own validation records, or for an ensemble a stratified part of the records
    (the validation fraction) held out of every fold, predicted by the ensemble itself.
    With ``cache_dir`` the prepared records go through the on-disk cache there (see
    :mod:`seecgnet.data.cache`).

    ``model_dir`` and the checkpoint folder beside it are checked before anything is read.
    """
    started = time.perf_counter()
    checkpoint_root = _check_destinations(data_dir, model_dir, folds)
    model_dir = Path(model_dir)
    classes = load_scored_classes()
    store, failures = _training_records(data_dir, classes, settings, cache_dir, progress)
    age_stats = AgeStatistics.from_ages(store.ages)
    plans, tuning = _member_plans(store, folds, settings)
    members = [
        train_model(
            store,
            classes,
            settings,
            train_indices=train_indices,
            validation_indices=validation_indices,
            checkpoint_dir=checkpoint_root / f"member_{k + 1}",
            resume=resume,
            progress=progress,
            age_stats=age_stats,
        )
        for k, (train_indices, validation_indices) in enumerate(plans)
    ]
    best_epochs, best_scores = (), ()
    if all(m.is_main for m in members):  # not a helper process of a distributed run
        shipped = Shipped(members, ensemble, tuning)
        best_epochs, best_scores = _save_members(
            model_dir, settings, store, classes, age_stats, shipped
        )
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
    :func:`seecgnet.model_folder.check_model_destination`) or a checkpoint folder holding other
    files; the checkpoint folder, ``.NAME.checkpoint`` beside the model folder, which ``resume``
    continues from and which goes once the model is saved."""
    if folds < 1:
        raise ValueError(f"folds must be at least 1, got {folds}")
    check_model_destination(model_dir, data_dir)
    checkpoint_root = checkpoint_folder(model_dir)
    check_checkpoint_folder(checkpoint_root)
    return checkpoint_root


def _training_records(
    data_dir: str | Path,
    classes: ScoredClasses,
    settings: Settings,
    cache_dir: str | Path | None,
    progress: bool,
) -> tuple[RecordStore, list[ReadFailure]]:
    """The folder's readable records, the unreadable ones counted in a warning; none is an error."""
    store, failures = open_records(
        data_dir,
        classes,
        settings.signal,
        cache_dir=cache_dir,
        workers=max(1, settings.training.workers),
        progress=progress,
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
    store: RecordStore, folds: int, settings: Settings
) -> tuple[list[tuple[np.ndarray, np.ndarray | None]], np.ndarray | None]:
    """Each network's training records and the records that choose its epoch, and the records an
    ensemble's per-class thresholds are tuned on (None where none are set aside).

    Without folds: all records (training then holds a part out itself). With folds: each fold's own
    records; under the per_class rule a stratified part of the records is first set aside from
    every fold, since each of the others trains some member of the ensemble.
    """
    if folds <= 1:
        return [(np.arange(len(store)), None)], None
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
    plans = [(indices[fold_of != k], indices[fold_of == k]) for k in range(folds)]
    for k, (train_indices, _) in enumerate(plans):
        log.info("fold %d/%d trains on %d records", k + 1, folds, len(train_indices))
    return plans, tuning


@dataclass(frozen=True)
class Shipped:
    """What a model folder ships: its trained networks, how they are combined, and the records
    set aside to tune their per-class thresholds (None: a single network's validation records)."""

    members: list[TrainedModel]
    ensemble: EnsembleRule
    tuning_indices: np.ndarray | None = None


def _save_members(
    model_dir: Path,
    settings: Settings,
    store: RecordStore,
    classes: ScoredClasses,
    age_stats: AgeStatistics,
    shipped: Shipped,
) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Write the trained networks as one model folder; their best epochs and validation scores."""
    members = shipped.members
    if settings.decision.rule.tuned:
        settings = _with_tuned_decision(settings, store, classes, age_stats, shipped)
    best_epochs = tuple(m.best_epoch for m in members)
    best_scores = tuple(
        next(e.validation_challenge_metric for e in m.history if e.epoch == m.best_epoch)
        for m in members
    )
    save_model(
        model_dir,
        settings,
        classes,
        age_stats,
        [m.network.state_dict() for m in members],
        ModelSummary(len(store), best_epochs, best_scores),
        ensemble=shipped.ensemble,
        histories=[m.history for m in members],
    )
    return best_epochs, best_scores


def _with_tuned_decision(
    settings: Settings,
    store: RecordStore,
    classes: ScoredClasses,
    age_stats: AgeStatistics,
    shipped: Shipped,
) -> Settings:
    """Settings whose per-class thresholds or lead-set divisors are tuned on the probabilities of
    what is shipped: the single network's on its validation records, or the ensemble's on the
    records set aside."""
    device = next(shipped.members[0].network.parameters()).device
    shipping = Predictor(
        [m.network for m in shipped.members],
        classes,
        settings.signal,
        settings.decision,
        age_stats,
        ensemble=shipped.ensemble,
        device=device,
    )
    single = shipped.tuning_indices is None
    indices = shipped.members[0].validation_indices if single else shipped.tuning_indices
    rule = settings.decision.rule
    if len(indices) == 0:
        raise NothingToTrainError(
            f"the {rule.value} rule needs validation records to be tuned on: raise "
            "--validation-fraction or give more records"
        )
    if rule is DecisionRule.PER_LEAD_SET:
        divisors = tune_lead_set_divisors(
            store.labels[indices], lead_set_probabilities(shipping, store, indices), classes
        )
        log.info("lead-set divisors tuned on %d validation records: %s", len(indices), divisors)
        decision = dataclasses.replace(settings.decision, lead_set_divisors=divisors)
    else:
        # a single network's validation probabilities were kept by training
        probabilities = (
            shipped.members[0].validation_probabilities
            if single
            else shipping.store_probabilities(store, indices)
        )
        thresholds = tune_class_thresholds(store.labels[indices], probabilities, classes)
        log.info("per-class thresholds tuned on %d validation records", len(indices))
        decision = dataclasses.replace(
            settings.decision, class_thresholds=tuple(thresholds.tolist())
        )
    return dataclasses.replace(settings, decision=decision)


@dataclass
class DriverSummary:
    """What a prediction run did: every input record gets an output file, read or not."""

    n_records: int = 0
    n_failed: int = 0
    seconds: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)
    failing_in_a_row: int = 0  # after reading: in preparation or the network


def predict_folder(
    model_dir: str | Path,
    input_dir: str | Path,
    output_dir: str | Path,
    device: str = "cpu",
    progress: bool = True,
    workers: int = 0,
) -> DriverSummary:
    """Write one challenge CSV per record of ``input_dir`` into ``output_dir``; see predict_records.

    The input folder (missing, or without records) and the output folder are checked before the
    model is loaded, so that a wrong path is reported at once; the output folder is made only once
    the model has loaded, so that a model that cannot be loaded leaves nothing behind.
    """
    started = time.perf_counter()
    # headers without a .mat too: each gets an (all-negative) output and its reason in the log
    headers = find_records(input_dir, require_signal=False)
    if not headers:
        raise NoRecordsError(f"no records (NAME.hea) in {input_dir}")
    check_output_folder(output_dir, input_dir, [header.stem for header in headers])
    loaded = load_model(model_dir, device=device)
    log.info("loaded %s", describe(loaded))
    summary = predict_records(loaded, headers, output_dir, progress=progress, workers=workers)
    summary.seconds = time.perf_counter() - started
    return summary


def check_output_folder(output_dir: str | Path, input_dir: str | Path, names: list[str]) -> None:
    """Refuse an output folder that is a file, is the input folder, or holds a ``NAME.csv`` of one
    of the records that is not a challenge output file (whose first line is ``#NAME``): the driver
    replaces its own outputs, never anyone's other files."""
    check_folder_destination(output_dir, "output folder")
    if Path(output_dir).resolve() == Path(input_dir).resolve():
        raise DestinationError(
            f"{output_dir}: the output folder cannot be the input folder; name another folder"
        )
    folder = Path(output_dir)
    if not folder.is_dir():
        return
    for name in names:
        path = folder / f"{name}.csv"
        if path.exists() and not _is_output_file(path, name):
            raise DestinationError(
                f"{path}: it would be replaced by the record's output, but it is not a challenge "
                f"output file (no '#{name}' first line); move it or name another output folder"
            )


def _is_output_file(path: Path, name: str) -> bool:
    """Whether a file starts as a challenge output file of record ``name`` does."""
    try:
        with path.open("rb") as handle:
            first = handle.readline(4096)
    except OSError:
        return False
    return path.is_file() and first.strip() == f"#{name}".encode(errors="surrogateescape")


def _alone_after_failed_batch(
    predictor: Predictor, item: ReadRecord, outcome: RecordOutcome[ReadRecord]
) -> tuple[np.ndarray | None, RuntimeError | None]:
    """A record whose batch failed in the network, run again on its own: one passing fault (a
    record in the batch too long for the memory left, say) costs no record an answer. Returns the
    probabilities, or None and the error of the second try."""
    log.warning(
        "%s: its batch failed in the network (%s); trying it alone",
        item.header,
        outcome.network_error,
    )
    try:
        return predictor.input_probabilities(item.prepared), None
    except RuntimeError as error:
        return None, error


def _reading_failures_stop_the_run(
    outcomes: Iterator[RecordOutcome[ReadRecord]],
) -> Iterator[RecordOutcome[ReadRecord]]:
    """The outcomes as they come; a reading process that died (killed, out of memory) ends the run
    with a PredictionError, which the scripts report in one line, instead of a traceback."""
    try:
        yield from outcomes
    except RuntimeError as error:
        raise PredictionError(f"reading or predicting the records stopped: {error}") from error


def predict_records(
    loaded: LoadedModel,
    headers: Sequence[Path],
    output_dir: str | Path,
    progress: bool = True,
    workers: int = 0,
) -> DriverSummary:
    """Write one challenge CSV per header into ``output_dir``.

    ``workers`` processes read and prepare the records (0: this process) while the network runs
    on batches of windows drawn from many records (``Predictor.predict_stream``). A record that
    cannot be read gets an all-negative output (all labels 0, all probabilities 0, as the challenge
    scores a missing answer) and one log line naming the file and the reason. Log lines are
    printed above the progress bar.
    """
    started = time.perf_counter()
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    predictor = loaded.predictor
    summary = DriverSummary()
    absent: dict[tuple[str, ...], list[str]] = {}  # missing leads -> the records lacking them
    reader = DataLoader(
        RecordReader(headers, predictor),
        batch_size=None,
        num_workers=workers,
        collate_fn=as_read,
    )
    stream = _reading_failures_stop_the_run(
        predictor.predict_stream((relogged(item), item.prepared) for item in reader)
    )
    with threads_beside(workers, predictor.device), logging_redirect_tqdm():
        for outcome in tqdm(stream, total=len(headers), desc="records", disable=not progress):
            if _write_outcome(loaded, outcome, output_dir, summary) and outcome.tag.absent_leads:
                absent.setdefault(outcome.tag.absent_leads, []).append(outcome.tag.header.stem)
    _log_absent_leads(absent, summary.n_records)
    summary.seconds = time.perf_counter() - started
    return summary


def _write_outcome(
    loaded: LoadedModel,
    outcome: RecordOutcome[ReadRecord],
    output_dir: Path,
    summary: DriverSummary,
) -> bool:
    """Decide and write one record's output; a record without probabilities gets an all-negative
    one, is logged and counted, and too many such failures in a row stop the run. Returns whether
    the record was predicted."""
    predictor, codes = loaded.predictor, loaded.classes.codes
    item = outcome.tag
    name = item.header.stem
    probabilities, network_error = outcome.probabilities, outcome.network_error
    if network_error is not None:
        probabilities, network_error = _alone_after_failed_batch(predictor, item, outcome)
    predicted = probabilities is not None
    if probabilities is not None:
        labels = predictor.decide(probabilities, item.prepared.present)
        summary.failing_in_a_row = 0
    else:
        error = item.error if network_error is None else str(network_error)
        # the reader's errors name the file already; others get its name in front
        where = "" if str(item.header.with_suffix("")) in error else f"{item.header}: "
        log.error("%s%s; writing an all-negative output", where, error)
        summary.n_failed += 1
        summary.failures.append((name, error))
        labels = np.zeros(len(codes), dtype=bool)
        probabilities = np.zeros(len(codes), dtype=np.float32)
        if network_error is not None or not item.record_at_fault:
            summary.failing_in_a_row += 1
            if summary.failing_in_a_row >= MAX_MODEL_FAILURES_IN_A_ROW:
                raise PredictionError(
                    f"{summary.failing_in_a_row} records in a row failed in preparation or in "
                    f"the network, the last ({item.header}) with: {error}; stopping, since the "
                    "model or the machine rather than the records is likely at fault"
                ) from network_error
    write_output(output_dir / f"{name}.csv", name, codes, labels, probabilities)
    summary.n_records += 1
    return predicted


# Records named in the line that sums up missing leads; the others are counted.
_ABSENT_LEADS_NAMES_SHOWN = 5


def _log_absent_leads(absent: dict[tuple[str, ...], list[str]], n_records: int) -> None:
    """One warning per set of missing leads, for the whole run: how many records lack them (their
    rows were zeros for the network) and the first of those records' names."""
    for leads, names in absent.items():
        shown = ", ".join(names[:_ABSENT_LEADS_NAMES_SHOWN])
        more = len(names) - _ABSENT_LEADS_NAMES_SHOWN
        log.warning(
            "%d of %d records lack lead%s %s, read as zeros: %s%s",
            len(names),
            n_records,
            "s" if len(leads) > 1 else "",
            ", ".join(leads),
            shown,
            f" and {more} more" if more > 0 else "",
        )
