"""Finding the records of a folder and reading one record, in whatever format it is written: the one
way every entry point (the driver, the report, training, cross-validation, ``convert``) reads.

- A WFDB header ``NAME.hea`` stands for its record, whether its samples are in ``NAME.mat`` (the
  challenge's records, read as :func:`seecgnet.io.records.read_record` reads them) or in signal
  files (:mod:`seecgnet.io.formats.wfdb_signals`). The files beside it that share its name
  (``NAME.mat``, ``NAME.dat``, ``NAME.xyz``, ``NAME.atr``) are its own, not records.
- Any other file is recognised by its content: its first :data:`HEAD_BYTES` bytes are shown to each
  format's ``looks_like`` in the order of :data:`READERS` (XML root, DICOM's ``DICM``, EDF's and BDF's
  first bytes, a CSV header row naming leads), whatever the file's extension. The first that
  recognises it reads it with its ``read``. A file of no format read here is skipped, and a folder's
  skipped files are summed up in one log line.
- A record's name is its file's name without the extension, as the driver names its output
  ``NAME.csv``; two records of one folder with the same name (``A.hea`` and ``A.edf``) are refused,
  naming both, before any work.

The readers of EDF, DICOM and HL7 aECG are found by their module's name, so a reader that is not
there is simply not asked.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
from pathlib import Path
from types import ModuleType

from seecgnet.io.formats.leads import MissingLibraryError
from seecgnet.io.formats.wfdb_signals import read_wfdb_record
from seecgnet.io.records import Record, RecordError, record_folder

__all__ = ["HEAD_BYTES", "READERS", "find_records", "format_of", "read_record", "record_name"]

logger = logging.getLogger(__name__)

HEAD_BYTES = 1024
# Each format's reader module, asked in this order; each has looks_like(head) and read(path).
READERS: tuple[tuple[str, str], ...] = (
    ("HL7 aECG", "seecgnet.io.formats.aecg"),
    ("DICOM", "seecgnet.io.formats.dicom"),
    ("EDF/BDF", "seecgnet.io.formats.edf"),
    ("CSV", "seecgnet.io.formats.csv_table"),
)
# Signal files of a header beside it, taken as its own without a look at their content.
_SIGNAL_SUFFIXES = frozenset({".mat", ".dat"})
# Files of no format named in the summary line; the others are counted.
_SKIPPED_NAMES_SHOWN = 5


@functools.cache
def _readers() -> list[tuple[str, ModuleType]]:
    found = []
    for label, module_name in READERS:
        try:
            found.append((label, importlib.import_module(module_name)))
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
    return found


def format_of(path: Path) -> tuple[str, ModuleType] | None:
    """The format (its label and reader module) whose ``looks_like`` recognises the file, or None."""
    try:
        with path.open("rb") as handle:
            head = handle.read(HEAD_BYTES)
    except OSError as error:
        raise RecordError(f"{path}: cannot read the file ({error.strerror})") from error
    for label, module in _readers():
        if module.looks_like(head):
            return label, module
    return None


def record_name(path: Path) -> str:
    """A record's name, which names its output: its file's name without the extension."""
    return path.stem


def read_record(path: str | os.PathLike[str]) -> Record:
    """Read the record at ``path``, in whatever format it is: a WFDB header ``NAME.hea`` (or its
    ``NAME.mat``, a signal file of it, or the path ``NAME``), or a file of another format.

    Raises RecordError, naming the file and the problem, for any record that cannot be read.
    """
    given = Path(path)
    if given.suffix == ".hea":
        return read_wfdb_record(given)
    if given.suffix == ".mat":
        return read_wfdb_record(given.with_suffix(".hea"))
    if not given.name:
        raise RecordError(f"{str(path)!r}: not the path of a record")
    if not given.is_file():  # the path NAME of a WFDB record NAME.hea
        return read_wfdb_record(given.with_name(given.name + ".hea"))
    found = format_of(given)
    if found is not None:
        try:
            return found[1].read(given)
        except MissingLibraryError as error:  # one record's fault here, as an unreadable file is
            raise RecordError(f"{given}: {error}") from error
    if given.with_suffix(".hea").is_file():  # a signal file of a WFDB record
        return read_wfdb_record(given.with_suffix(".hea"))
    raise RecordError(
        f"{given}: not a record in any format read here "
        f"(WFDB NAME.hea, {', '.join(label for label, _ in READERS)})"
    )


def find_records(directory: str | os.PathLike[str], require_signal: bool = True) -> list[Path]:
    """The records of a folder, one path each, sorted: a WFDB record's ``.hea``, another format's
    file. Files of no format read here are skipped, summed up in one log line.

    With ``require_signal`` (for training) a header with no other file of its name beside it is
    left out, with a warning; without it (for prediction, where every record must get an output)
    it is listed, and reading it says what is missing. An empty folder gives []; a missing folder,
    a path that is a file, or two records of the same name raise RecordError.
    """
    folder = record_folder(directory)
    try:
        files = sorted(entry.name for entry in os.scandir(folder) if entry.is_file())
    except OSError as error:
        raise RecordError(f"{folder}: cannot list the folder ({error.strerror})") from error
    headers = {name[: -len(".hea")]: folder / name for name in files if name.endswith(".hea")}
    companions: set[str] = set()
    records: dict[str, Path] = {}
    skipped: list[str] = []
    for name in files:
        path = folder / name
        if name.endswith(".hea") or name.startswith("."):
            continue
        if path.stem in headers and path.suffix in _SIGNAL_SUFFIXES:
            companions.add(path.stem)
            continue
        try:
            found = format_of(path)
        except RecordError:  # cannot be opened: no format can be told
            skipped.append(f"{name} (unreadable)")
            continue
        if found is not None:
            _add(records, path)
        elif path.stem in headers:
            companions.add(path.stem)
        else:
            skipped.append(name)
    for stem, header in headers.items():
        if require_signal and stem not in companions:
            logger.warning("%s has no signal file beside it; skipped", header)
        else:
            _add(records, header)
    _log_skipped(folder, skipped)
    return sorted(records.values())


def _add(records: dict[str, Path], path: Path) -> None:
    """Add a record, refusing a second one of the same name: both would write ``NAME.csv``."""
    name = record_name(path)
    if name in records:
        first, second = sorted((records[name], path))
        raise RecordError(
            f"{first} and {second} are both record {name!r}: their outputs would both be "
            f"{name}.csv; rename or move one of them"
        )
    records[name] = path


def _log_skipped(folder: Path, skipped: list[str]) -> None:
    if not skipped:
        return
    shown = ", ".join(skipped[:_SKIPPED_NAMES_SHOWN])
    more = len(skipped) - _SKIPPED_NAMES_SHOWN
    logger.info(
        "%s: %d files in no format read here skipped: %s%s",
        folder,
        len(skipped),
        shown,
        f" and {more} more" if more > 0 else "",
    )
