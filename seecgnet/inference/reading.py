"""Reading records for prediction: headers read and prepared, in this process or in DataLoader
worker processes, beside the network that runs on them.

What reading a record logs (a warning about its age field, say) is held back with the record and
logged again where it is consumed, in the main process, so that every line goes above the
progress bar there, whichever process read the record.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch.utils.data import Dataset

from seecgnet.data.signals import lead_presence
from seecgnet.inference.inputs import input_preparation
from seecgnet.inference.prediction import NetworkInput, Predictor
from seecgnet.io.formats.dispatch import read_record
from seecgnet.io.records import STANDARD_LEADS, RecordError

if TYPE_CHECKING:
    from seecgnet.inference.routed import RoutedInput, RoutedPredictor


@dataclass(frozen=True)
class ReadRecord:
    """A header's record, read and prepared for the network, or why it could not be; ``logged``
    holds what reading it logged, to be logged again where the progress bar is drawn."""

    header: Path
    prepared: NetworkInput | RoutedInput | None
    error: str = ""
    record_at_fault: bool = True  # an unreadable file, rather than a failure after reading
    logged: tuple[logging.LogRecord, ...] = ()
    absent_leads: tuple[str, ...] = ()  # standard leads the record lacks (zeros for the network)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        # plain text only: the record may go to another process, and tracebacks do not pickle
        record.msg, record.args = record.getMessage(), None
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        self.records.append(record)


@contextlib.contextmanager
def collected_logs() -> Iterator[list[logging.LogRecord]]:
    """What the package logs inside the block, held back instead of printed."""
    package = logging.getLogger("seecgnet")
    handler, propagate = _Collect(), package.propagate
    package.addHandler(handler)
    package.propagate = False
    try:
        yield handler.records
    finally:
        package.removeHandler(handler)
        package.propagate = propagate


class RecordReader(Dataset):
    """The records of a list of headers, read and prepared (in DataLoader worker processes)."""

    def __init__(self, headers: Sequence[Path], predictor: Predictor | RoutedPredictor) -> None:
        self.headers = list(headers)
        self.prepare = input_preparation(predictor)  # no network: it goes to the workers

    def __len__(self) -> int:
        return len(self.headers)

    def __getitem__(self, index: int) -> ReadRecord:
        with collected_logs() as logged:
            item = self._read(self.headers[index])
        return dataclasses.replace(item, logged=tuple(logged))

    def _read(self, header: Path) -> ReadRecord:
        try:
            record = read_record(header)
            # the missing leads are summed up over the run (driver.predict_records), not warned
            # about per record and lead: a folder of 2-lead records would flood the log
            prepared = self.prepare(record, warn_missing_leads=False)
        # RuntimeError: what a library raises for an input it cannot take; one record must not
        # end the run for the thousands after it
        except (RecordError, ValueError, OSError, RuntimeError) as error:
            return ReadRecord(header, None, str(error), isinstance(error, RecordError))
        # lacking: neither named by the header nor computed (a named flat lead is warned about
        # when the record is read, and reaches the network as absent)
        named = lead_presence(record.lead_names)
        absent = tuple(
            lead
            for lead, held, listed in zip(STANDARD_LEADS, prepared.present, named, strict=True)
            if not (held or listed)
        )
        return ReadRecord(header, prepared, absent_leads=absent)


@contextlib.contextmanager
def threads_beside(workers: int, device: torch.device) -> Iterator[None]:
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


def as_read(item: ReadRecord) -> ReadRecord:
    """No collation: the loader hands over one record at a time."""
    return item


def relogged(item: ReadRecord) -> ReadRecord:
    """The record, once what reading it logged (in a worker, say) is logged here."""
    for record in item.logged:
        logging.getLogger(record.name).handle(record)
    return item
