"""Reading challenge records: a WFDB header ``NAME.hea`` beside a MATLAB v4 matrix ``NAME.mat``.

Every command reads records through :mod:`seecgnet.io.formats.dispatch`, which reads these
records with the functions here, exactly as :func:`read_record` does, and the other formats too.

The ``.mat`` holds one int16 matrix ``val`` (leads × samples) in digital units; the header gives,
per lead, the gain (digital units per mV) and the baseline, so the signal in mV is
``(val - baseline) / gain``. The header's comment lines ``#Age:``, ``#Sex:`` and ``#Dx:`` (SNOMED CT
codes) carry the demographics and the labels. The header is read by the package's own parser,
:func:`seecgnet.io.headers.parse_header`, which lists what each header quirk gets (and what wfdb
would make of it); this module reads the files and the signal. Nothing here uses wfdb.

Sampling rates of 257, 500 and 1000 Hz and records from 6 s to 30 min long occur in the 2020 data;
nothing here assumes a rate or a length. What each fault of the files gets:

- The record's name is its file's name, as the driver names its outputs; a header naming another
  record gets a warning. Names may hold spaces and non-ASCII letters.
- A header that is missing, unreadable, empty, or binary (it holds NUL bytes): RecordError. Bytes
  that are not UTF-8 are read as U+FFFD, so they can only spoil a comment or a lead's name.
- A ``.mat`` that is missing, empty, truncated, not MATLAB, MATLAB 5 or later, or without a real
  matrix named ``val``: RecordError.
- ``val`` of any integer or floating-point type (MATLAB v4 has both; the challenge's driver hands
  float64). NaN or infinite samples are kept as read, with a warning naming the leads;
  :func:`seecgnet.data.dataset.prepare_signal` sets them to 0. A flat (constant) lead: kept, warned.
- A matrix whose shape disagrees with the header (11 leads for 12, fewer samples): RecordError.
  A header without a number of samples: the matrix's, with a warning.

The ``.mat`` is read by the small MATLAB v4 reader below, not ``scipy.io.loadmat``. Every challenge
file is v4 (WFDB reads the same files as format 16 after v4's 24-byte preamble). scipy's v5 reader
crashed the interpreter with a segmentation fault on a corrupted 600-byte v5 file found by fuzzing
(scipy 1.17), which would end a whole prediction run rather than one record; its v4 reader raises
IndexError, KeyError, TypeError or MemoryError on damaged files. On well-formed files the matrix
equals loadmat's (tested), so :func:`read_record` and :func:`record_from_challenge`, which gets the
driver's loadmat matrix, build the same record.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seecgnet.io.headers import Header, RecordError, Sex, parse_header

__all__ = [
    "STANDARD_LEADS",
    "Record",
    "RecordError",
    "Sex",
    "absent_standard_leads",
    "find_records",
    "read_record",
    "read_val_matrix",
    "read_wfdb_header",
    "record_from_challenge",
    "record_from_digital",
    "to_standard_leads",
]

logger = logging.getLogger(__name__)

STANDARD_LEADS: tuple[str, ...] = (
    "I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6",
)  # fmt: skip

# MATLAB v4 matrix header: five int32 (type word MOPT, rows, columns, imaginary flag, name length).
_V4_HEADER = struct.Struct("5i")
# The type word's P digit (precision) and the numpy type it stands for.
_V4_PRECISIONS = {0: "f8", 1: "f4", 2: "i4", 3: "i2", 4: "u2", 5: "u1"}
_V4_KINDS = {0: "numeric", 1: "text", 2: "sparse"}


@dataclass(frozen=True, eq=False)
class Record:
    """One ECG record: the signal in mV with the header's demographics and diagnosis codes.

    ``signal`` has shape (leads, samples), float32, in mV; its rows are named by ``lead_names`` in
    the header's order (see :func:`to_standard_leads`). ``fs_hz`` is the sampling rate in Hz,
    ``age`` is in years (NaN when unknown), ``dx_codes`` the SNOMED CT codes of the ``#Dx`` line.
    """

    name: str
    signal: np.ndarray
    lead_names: tuple[str, ...]
    fs_hz: float
    age: float
    sex: Sex
    dx_codes: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.signal.ndim != 2 or self.signal.shape[0] != len(self.lead_names):
            raise RecordError(
                f"record {self.name}: signal of shape {self.signal.shape} does not match "
                f"{len(self.lead_names)} lead names"
            )
        if not self.fs_hz > 0:
            raise RecordError(f"record {self.name}: sampling rate {self.fs_hz} Hz is not positive")

    @property
    def n_leads(self) -> int:
        return self.signal.shape[0]

    @property
    def n_samples(self) -> int:
        return self.signal.shape[1]

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.fs_hz


def read_record(path: str | os.PathLike[str]) -> Record:
    """Read a record from its ``.hea`` path (or ``.mat`` path), or its path without extension.

    Raises RecordError, naming the file and the problem, for any record that cannot be read; see the
    module's docstring for what each fault gets.
    """
    given = Path(path)
    base = given.with_suffix("") if given.suffix in (".hea", ".mat") else given
    if not base.name:
        raise RecordError(f"{str(path)!r}: not the path of a record")
    header_path = base.with_name(base.name + ".hea")
    mat_path = base.with_name(base.name + ".mat")
    header = read_wfdb_header(header_path, base.name)
    return record_from_digital(header, read_val_matrix(mat_path), str(mat_path), base.name)


def read_wfdb_header(header_path: Path, name: str) -> Header:
    """The header ``header_path`` of the record ``name`` (its file's name), parsed; a header naming
    another record gets a warning."""
    header = parse_header(_read_header_lines(header_path), str(header_path), name)
    if header.name != name:
        logger.warning(
            "%s names its record %r; the file's name %r is used", header_path, header.name, name
        )
    return header


def record_from_challenge(data: np.ndarray, header_data: list[str]) -> Record:
    """Build a record from what the challenge's driver hands an entry.

    ``data`` is the ``.mat``'s ``val`` matrix (leads × samples, digital units, any real numeric
    type: the driver passes float64) and ``header_data`` the header file's lines (with or without
    newlines). Raises RecordError for a header or matrix that does not make a record.
    """
    header = parse_header(header_data, "header handed by the challenge driver")
    return record_from_digital(
        header, data, f"record {header.name} from the challenge driver", header.name
    )


def record_folder(directory: str | os.PathLike[str]) -> Path:
    """``directory`` as a folder of records to list; RecordError for a missing one or a file."""
    folder = Path(directory)
    if not folder.exists():
        raise RecordError(f"{folder}: no such folder of records")
    if not folder.is_dir():
        raise RecordError(f"{folder}: is a file, not a folder of records")
    return folder


def find_records(directory: str | os.PathLike[str], require_signal: bool = True) -> list[Path]:
    """The ``.hea`` files of a folder, sorted by name.

    With ``require_signal`` (for training) a header without a ``.mat`` beside it is left out, with a
    warning. Without it (for prediction, where every header must get an output) every header is
    listed, and :func:`read_record` reports a missing ``.mat``. An empty folder gives []; a missing
    folder, or a path that is a file, raises RecordError.
    """
    folder = record_folder(directory)
    try:
        found = sorted(path for path in folder.glob("*.hea") if path.is_file())
    except OSError as error:
        raise RecordError(f"{folder}: cannot list the folder ({error.strerror})") from error
    headers = []
    for header_path in found:
        if require_signal and not header_path.with_suffix(".mat").is_file():
            logger.warning("%s has no .mat beside it; skipped", header_path)
        else:
            headers.append(header_path)
    return headers


def absent_standard_leads(lead_names: Sequence[str]) -> tuple[str, ...]:
    """The standard leads (in their order) that ``lead_names`` lacks, matched by name without case."""
    held = {lead.upper() for lead in lead_names}
    return tuple(lead for lead in STANDARD_LEADS if lead.upper() not in held)


def to_standard_leads(record: Record, warn_missing: bool = True) -> Record:
    """The record with its leads in the order I, II, III, aVR, aVL, aVF, V1..V6.

    Leads are matched by name without case. A missing lead becomes a row of zeros, and a lead
    outside the twelve is dropped; both are logged as warnings naming the record and the lead, the
    missing leads only with ``warn_missing`` (a caller that reads many reduced-lead records sums them
    up itself, with :func:`absent_standard_leads`).
    """
    if record.lead_names == STANDARD_LEADS:
        return record
    row_of: dict[str, int] = {}
    for row, lead in enumerate(record.lead_names):
        if lead.upper() in row_of:
            raise RecordError(f"record {record.name}: lead {lead!r} appears twice")
        row_of[lead.upper()] = row
    signal = np.zeros((len(STANDARD_LEADS), record.n_samples), dtype=record.signal.dtype)
    for row, lead in enumerate(STANDARD_LEADS):
        source_row = row_of.pop(lead.upper(), None)
        if source_row is not None:
            signal[row] = record.signal[source_row]
        elif warn_missing:
            logger.warning("record %s has no lead %s; filled with zeros", record.name, lead)
    for extra in row_of:
        logger.warning("record %s: lead %s is not a standard lead; dropped", record.name, extra)
    return dataclasses.replace(record, signal=signal, lead_names=STANDARD_LEADS)


def _read_header_lines(header_path: Path) -> list[str]:
    try:
        raw = header_path.read_bytes()
    except FileNotFoundError as error:
        raise RecordError(f"{header_path}: no such header file") from error
    except OSError as error:
        raise RecordError(f"{header_path}: cannot read the header ({error.strerror})") from error
    except ValueError as error:  # a NUL character in the path
        raise RecordError(f"{str(header_path)!r}: not a usable path ({error})") from error
    if not raw.strip():
        raise RecordError(f"{header_path}: empty header file")
    if b"\0" in raw:
        raise RecordError(f"{header_path}: binary data (NUL bytes), not a text header")
    return raw.decode("utf-8", errors="replace").splitlines()


def read_val_matrix(mat_path: Path) -> np.ndarray:
    """The matrix named ``val`` of a MATLAB v4 file, (rows, columns), in the type it is stored in."""
    try:
        data = mat_path.read_bytes()
    except FileNotFoundError as error:
        raise RecordError(f"{mat_path}: no such .mat file") from error
    except OSError as error:
        raise RecordError(f"{mat_path}: cannot read the file ({error.strerror})") from error
    if not data:
        raise RecordError(f"{mat_path}: empty .mat file")
    if data.startswith(b"MATLAB"):
        raise RecordError(
            f"{mat_path}: a MATLAB 5 or later file ({data[:19].decode('ascii', 'replace')!r}); "
            "challenge records are MATLAB v4"
        )
    names = []
    offset = 0
    while offset < len(data):
        name, matrix, offset = _read_v4_matrix(data, offset, mat_path)
        if name == "val":
            return matrix
        names.append(name)
    raise RecordError(f"{mat_path}: no matrix named 'val' (found {names})")


def _read_v4_matrix(data: bytes, offset: int, mat_path: Path) -> tuple[str, np.ndarray, int]:
    """The name and values of the v4 matrix whose header starts at ``offset``, and its end."""
    if len(data) - offset < _V4_HEADER.size:
        raise RecordError(f"{mat_path}: truncated: a matrix header at byte {offset} is cut short")
    # The type word's thousands digit is 0 for little-endian files and 1 for big-endian ones.
    for byte_order, machine in (("<", 0), (">", 1)):
        type_word, rows, columns, imaginary, name_length = struct.unpack_from(
            byte_order + _V4_HEADER.format, data, offset
        )
        if 0 <= type_word < 2000 and type_word // 1000 == machine:
            break
    else:
        raise RecordError(
            f"{mat_path}: not a MATLAB v4 file (no v4 matrix header at byte {offset})"
        )
    precision, kind = type_word // 10 % 10, type_word % 10
    if (
        type_word // 100 % 10 != 0
        or precision not in _V4_PRECISIONS
        or kind not in _V4_KINDS
        or imaginary not in (0, 1)
        or min(rows, columns) < 0
        or name_length < 1
    ):
        raise RecordError(
            f"{mat_path}: not a MATLAB v4 file (the matrix header at byte {offset} reads type "
            f"{type_word}, {rows} × {columns}, imaginary flag {imaginary}, name length {name_length})"
        )
    name_start = offset + _V4_HEADER.size
    values_start = name_start + name_length
    name = data[name_start:values_start].split(b"\0", 1)[0].decode("latin-1")
    dtype = np.dtype(byte_order + _V4_PRECISIONS[precision])
    count = rows * columns
    values_end = values_start + count * dtype.itemsize * (1 + imaginary)
    if values_end > len(data):
        raise RecordError(
            f"{mat_path}: truncated: matrix {name!r} of {rows} × {columns} {dtype.name} needs "
            f"{values_end - values_start} bytes but {max(0, len(data) - values_start)} follow"
        )
    if name == "val" and (kind != 0 or imaginary):
        what = "complex" if imaginary else _V4_KINDS[kind]
        raise RecordError(f"{mat_path}: 'val' is a {what} matrix, not real numbers")
    # v4 stores a matrix column by column
    values = np.frombuffer(data, dtype, count, values_start).reshape((rows, columns), order="F")
    return name, values, values_end


def record_from_digital(header: Header, digital: np.ndarray, source: str, name: str) -> Record:
    """The record of a digital matrix (leads × samples) in mV, with the header's gains and
    baselines; ``source`` names the matrix's file in messages."""
    matrix = np.asarray(digital)
    if matrix.dtype.kind not in "iuf":
        raise RecordError(f"{source}: signal matrix of type {matrix.dtype} is not real numbers")
    n_leads = len(header.lead_names)
    if (
        matrix.ndim != 2
        or matrix.shape[0] != n_leads
        or header.n_samples not in (None, matrix.shape[1])
    ):
        samples = "" if header.n_samples is None else f" × {header.n_samples} samples"
        raise RecordError(
            f"{source}: signal matrix is {matrix.shape} but the header gives {n_leads} leads{samples}"
        )
    if header.n_samples is None:
        if matrix.shape[1] == 0:
            raise RecordError(f"{source}: signal matrix {matrix.shape} holds no sample")
        logger.warning(
            "%s: the header gives no number of samples; the matrix's %d are used",
            source,
            matrix.shape[1],
        )
    # Casting float64 beyond float32's range gives infinity, which is reported below. The .mat
    # stores the matrix column by column; a row-major copy makes every later pass along a lead's
    # samples fast (the checks below ran 30 times slower on the column-major matrix).
    with np.errstate(over="ignore", invalid="ignore"):
        signal = matrix.astype(np.float32, order="C")
        signal -= np.asarray(header.baselines, dtype=np.float32)[:, np.newaxis]
        signal /= np.asarray(header.gains, dtype=np.float32)[:, np.newaxis]
    _warn_about_samples(signal, header.lead_names, source)
    return Record(
        name=name,
        signal=signal,
        lead_names=header.lead_names,
        fs_hz=header.fs_hz,
        age=header.age,
        sex=header.sex,
        dx_codes=header.dx_codes,
    )


def _warn_about_samples(signal: np.ndarray, lead_names: tuple[str, ...], source: str) -> None:
    """Warn about NaN or infinite samples, and about flat leads; both are kept as read."""
    finite = np.isfinite(signal)
    if not finite.all():
        leads = [lead_names[row] for row in np.flatnonzero(~finite.all(axis=1))]
        logger.warning(
            "%s: %d samples are NaN or infinite, in leads %s; kept as read",
            source,
            int(finite.size - np.count_nonzero(finite)),
            ", ".join(leads),
        )
    with np.errstate(invalid="ignore"):
        flat = np.ptp(signal, axis=1) == 0
    if flat.any():
        leads = [lead_names[row] for row in np.flatnonzero(flat)]
        logger.warning("%s: leads %s are flat (one value throughout)", source, ", ".join(leads))
