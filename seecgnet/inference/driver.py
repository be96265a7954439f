"""Predicting a folder of records, the job of ``driver.py``: one challenge output file per record,
read or not, with the model folder's predictor.

``driver.py`` is a thin wrapper around :func:`predict_folder`; cross-validation predicts its
held-out records with :func:`predict_records`, the same path.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from torch.utils.data import DataLoader
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from seecgnet.challenge.outputs import write_output
from seecgnet.destinations import (
    DestinationError,
    OwnOutput,
    check_output_files,
    first_line_is,
)
from seecgnet.errors import SeecgnetError
from seecgnet.inference.loading import LoadedModel, describe, load_model
from seecgnet.inference.prediction import Predictor, RecordOutcome
from seecgnet.inference.reading import ReadRecord, RecordReader, as_read, relogged, threads_beside
from seecgnet.io.formats.dispatch import find_records

log = logging.getLogger(__name__)


class NoRecordsError(SeecgnetError, ValueError):
    """The input folder holds no record header at all."""


class PredictionError(SeecgnetError, RuntimeError):
    """Records keep failing in the network: the model or the machine is at fault, not the data."""


# Unreadable files are the records' fault and never stop a run; this many failures in a row after
# reading (in resampling or in the network) point at the model or the machine instead.
MAX_MODEL_FAILURES_IN_A_ROW = 5


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
        raise NoRecordsError(
            f"no records in {input_dir} (no NAME.hea, and no file in another format read here)"
        )
    check_output_folder(output_dir, input_dir, [header.stem for header in headers])
    loaded = load_model(model_dir, device=device)
    log.info("loaded %s", describe(loaded))
    summary = predict_records(loaded, headers, output_dir, progress=progress, workers=workers)
    summary.seconds = time.perf_counter() - started
    return summary


def is_output_file(path: Path) -> bool:
    """Whether a file starts as the challenge output file of record NAME (its stem) does: with the
    line ``#NAME``."""
    expected = f"#{path.stem}".encode(errors="surrogateescape")
    return path.is_file() and first_line_is(path, lambda line: line.strip() == expected, 4096)


# The driver's outputs, replaced by a later run; any other NAME.csv in the output folder is refused.
OUTPUT_FILE = OwnOutput(
    "challenge output file", is_output_file, "whose first line is #NAME, the record's name"
)


def check_output_folder(output_dir: str | Path, input_dir: str | Path, names: list[str]) -> None:
    """Refuse an output folder that is a file, is the input folder, or holds a ``NAME.csv`` of one
    of the records that is not a challenge output file (whose first line is ``#NAME``): the driver
    replaces its own outputs, never anyone's other files."""
    if Path(output_dir).resolve() == Path(input_dir).resolve():
        raise DestinationError(
            f"{output_dir}: the output folder cannot be the input folder; name another folder"
        )
    check_output_files(output_dir, [f"{name}.csv" for name in names], OUTPUT_FILE)


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
        labels = predictor.decide_input(probabilities, item.prepared)
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
