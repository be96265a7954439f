"""The two jobs of a challenge entry, on folders: train a model folder, and predict a folder of records.

``train_model.py``, ``driver.py`` and ``team_code.py`` are thin wrappers around these functions.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from seecgnet.challenge.classes import ScoredClasses, load_scored_classes
from seecgnet.challenge.outputs import write_output
from seecgnet.data.cache.build import open_cache
from seecgnet.data.dataset import ReadFailure, RecordStore, load_store, prepare_signal
from seecgnet.data.folds import iterative_stratification
from seecgnet.data.signals import AgeStatistics, SignalSettings, demographic_features
from seecgnet.inference.decision import DecisionRule, decide
from seecgnet.inference.prediction import EnsembleRule, NetworkInput, Predictor, RecordOutcome
from seecgnet.inference.thresholds import tune_class_thresholds
from seecgnet.io.records import RecordError, absent_standard_leads, find_records, read_record
from seecgnet.model_folder import LoadedModel, ModelSummary, describe, load_model, save_model
from seecgnet.training.loop import TrainedModel, train_model
from seecgnet.training.settings import Settings

log = logging.getLogger(__name__)


class NothingToTrainError(ValueError):
    """The data folder holds no readable record."""


class NoRecordsError(ValueError):
    """The input folder holds no record header at all."""


class PredictionError(RuntimeError):
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
    rule the thresholds are tuned on the validation records' probabilities and saved in the settings.
    With ``cache_dir`` the prepared records go through the on-disk cache there (see
    :mod:`seecgnet.data.cache`).
    """
    started = time.perf_counter()
    model_dir = Path(model_dir)
    classes = load_scored_classes()
    store, failures = _training_records(data_dir, classes, settings, cache_dir, progress)
    age_stats = AgeStatistics.from_ages(store.ages)
    checkpoint_root = model_dir.with_name(f".{model_dir.name}.checkpoint")
    members = []
    for k, (train_indices, validation_indices) in enumerate(_member_plans(store, folds, settings)):
        if folds > 1:
            log.info("fold %d/%d: training on %d records", k + 1, folds, len(train_indices))
        members.append(
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
        )
    best_epochs, best_scores = (), ()
    if all(m.is_main for m in members):  # not a helper process of a distributed run
        best_epochs, best_scores = _save_members(
            model_dir, settings, store, classes, age_stats, members, ensemble
        )
        shutil.rmtree(checkpoint_root, ignore_errors=True)  # the model folder now holds the result
    return TrainingReport(
        model_dir,
        len(store),
        len(failures),
        best_epochs,
        best_scores,
        time.perf_counter() - started,
    )


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
) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """Each network's training records and the records that choose its epoch: with folds, each
    fold's own records; without, all records (training then holds a part out itself)."""
    if folds <= 1:
        return [(np.arange(len(store)), None)]
    fold_of = iterative_stratification(store.labels, folds, settings.training.seed)
    return [(np.flatnonzero(fold_of != k), np.flatnonzero(fold_of == k)) for k in range(folds)]


def _save_members(
    model_dir: Path,
    settings: Settings,
    store: RecordStore,
    classes: ScoredClasses,
    age_stats: AgeStatistics,
    members: list[TrainedModel],
    ensemble: EnsembleRule,
) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Write the trained networks as one model folder; their best epochs and validation scores."""
    if settings.decision.rule is DecisionRule.PER_CLASS:
        settings = _with_tuned_thresholds(settings, store, members, classes)
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
        ensemble=ensemble,
        histories=[m.history for m in members],
    )
    return best_epochs, best_scores


def _with_tuned_thresholds(
    settings: Settings, store: RecordStore, members: list[TrainedModel], classes: ScoredClasses
) -> Settings:
    """Settings whose per-class thresholds are tuned on the members' validation probabilities."""
    indices = np.concatenate([m.validation_indices for m in members])
    if len(indices) == 0:
        raise ValueError("the per_class rule needs validation records to tune its thresholds")
    probabilities = np.concatenate([m.validation_probabilities for m in members])
    thresholds = tune_class_thresholds(store.labels[indices], probabilities, classes)
    log.info("per-class thresholds tuned on %d validation records", len(indices))
    decision = dataclasses.replace(settings.decision, class_thresholds=tuple(thresholds.tolist()))
    return dataclasses.replace(settings, decision=decision)


@dataclass
class DriverSummary:
    """What a prediction run did: every input record gets an output file, read or not."""

    n_records: int = 0
    n_failed: int = 0
    seconds: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)


def predict_folder(
    model_dir: str | Path,
    input_dir: str | Path,
    output_dir: str | Path,
    device: str = "cpu",
    progress: bool = True,
    workers: int = 0,
) -> DriverSummary:
    """Write one challenge CSV per record of ``input_dir`` into ``output_dir``; see predict_records.

    The input folder (missing, or without records) and the output folder (cannot be made) are
    checked before the model is loaded, so that a wrong path is reported at once.
    """
    started = time.perf_counter()
    # headers without a .mat too: each gets an (all-negative) output and its reason in the log
    headers = find_records(input_dir, require_signal=False)
    if not headers:
        raise NoRecordsError(f"no records (NAME.hea) in {input_dir}")
    Path(output_dir).mkdir(parents=True, exist_ok=True)
    loaded = load_model(model_dir, device=device)
    log.info("loaded %s", describe(loaded))
    summary = predict_records(loaded, headers, output_dir, progress=progress, workers=workers)
    summary.seconds = time.perf_counter() - started
    return summary


@dataclass(frozen=True)
class _ReadRecord:
    """A header's record, read and prepared for the network, or why it could not be."""

    header: Path
    prepared: NetworkInput | None
    error: str = ""
    record_at_fault: bool = True  # an unreadable file, rather than a failure after reading
    absent_leads: tuple[str, ...] = ()  # standard leads the record lacks (zeros for the network)


class _RecordReader(Dataset):
    """The records of a list of headers, read and prepared (in DataLoader worker processes)."""

    def __init__(self, headers: Sequence[Path], predictor: Predictor) -> None:
        self.headers = list(headers)
        self.signal_settings = predictor.signal_settings
        self.age_stats = predictor.age_stats

    def __len__(self) -> int:
        return len(self.headers)

    def __getitem__(self, index: int) -> _ReadRecord:
        header = self.headers[index]
        try:
            record = read_record(header)
            # the missing leads are summed up over the run (see _log_absent_leads), not warned
            # about per record and lead: a folder of 2-lead records would flood the log
            signal = prepare_signal(record, self.signal_settings, warn_missing_leads=False)
        # RuntimeError: what a library raises for an input it cannot take; one record must not
        # end the run for the thousands after it
        except (RecordError, ValueError, OSError, RuntimeError) as error:
            return _ReadRecord(header, None, str(error), isinstance(error, RecordError))
        demographics = demographic_features(record.age, record.sex, self.age_stats)
        absent = absent_standard_leads(record.lead_names)
        return _ReadRecord(header, NetworkInput(signal, demographics), absent_leads=absent)


@contextlib.contextmanager
def _threads_beside(workers: int, device: torch.device) -> Iterator[None]:
    """On a CPU the network's threads leave a core to each reading process (up to half of them):
    a thread that waits for a core taken by a reader stalls every layer of the network (on our
    2-core machine, shared with other work, 295 records took 20 s with two network threads beside
    two readers and 6 s with one)."""
    before = torch.get_num_threads()
    if device.type == "cpu" and workers > 0:
        # at most half the threads go, so that many readers on a many-core machine leave the
        # network more than one thread
        torch.set_num_threads(max(1, before - min(workers, before // 2)))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _alone_after_failed_batch(
    predictor: Predictor, item: _ReadRecord, outcome: RecordOutcome[_ReadRecord]
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
    outcomes: Iterator[RecordOutcome[_ReadRecord]],
) -> Iterator[RecordOutcome[_ReadRecord]]:
    """The outcomes as they come; a reading process that died (killed, out of memory) ends the run
    with a PredictionError, which the scripts report in one line, instead of a traceback."""
    try:
        yield from outcomes
    except RuntimeError as error:
        raise PredictionError(f"reading or predicting the records stopped: {error}") from error


def _as_read(item: _ReadRecord) -> _ReadRecord:
    """No collation: the loader hands over one record at a time."""
    return item


def _predicted_records(
    headers: Sequence[Path], predictor: Predictor, workers: int
) -> Iterator[RecordOutcome[_ReadRecord]]:
    """The records read by ``workers`` processes (0: this one) and run through the network in
    batches of windows, as they come."""
    reader = DataLoader(
        _RecordReader(headers, predictor),
        batch_size=None,
        num_workers=workers,
        collate_fn=_as_read,
    )
    return _reading_failures_stop_the_run(
        predictor.predict_stream((item, item.prepared) for item in reader)
    )


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
    scores a missing answer) and one log line naming the file and the reason.
    """
    started = time.perf_counter()
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    codes = loaded.classes.codes
    predictor = loaded.predictor
    summary = DriverSummary()
    failing_in_a_row = 0
    absent: dict[tuple[str, ...], list[str]] = {}  # missing leads -> the records lacking them
    stream = _predicted_records(headers, predictor, workers)
    with _threads_beside(workers, predictor.device):
        for outcome in tqdm(stream, total=len(headers), desc="records", disable=not progress):
            item = outcome.tag
            name = item.header.stem
            probabilities, network_error = outcome.probabilities, outcome.network_error
            if network_error is not None:
                probabilities, network_error = _alone_after_failed_batch(predictor, item, outcome)
            if probabilities is not None:
                labels = decide(probabilities, predictor.decision)
                failing_in_a_row = 0
                if item.absent_leads:
                    absent.setdefault(item.absent_leads, []).append(name)
            else:
                error = item.error if network_error is None else str(network_error)
                log.error("%s: %s; writing an all-negative output", item.header, error)
                summary.n_failed += 1
                summary.failures.append((name, error))
                labels = np.zeros(len(codes), dtype=bool)
                probabilities = np.zeros(len(codes), dtype=np.float32)
                if network_error is not None or not item.record_at_fault:
                    failing_in_a_row += 1
                    if failing_in_a_row >= MAX_MODEL_FAILURES_IN_A_ROW:
                        raise PredictionError(
                            f"{failing_in_a_row} records in a row failed in preparation or in the "
                            f"network, the last ({item.header}) with: {error}; stopping, since the "
                            "model or the machine rather than the records is likely at fault"
                        ) from network_error
            write_output(output_dir / f"{name}.csv", name, codes, labels, probabilities)
            summary.n_records += 1
    _log_absent_leads(absent, summary.n_records)
    summary.seconds = time.perf_counter() - started
    return summary


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
