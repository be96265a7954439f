"""Reading challenge records: a WFDB header ``NAME.hea`` beside a MATLAB v4 matrix ``NAME.mat``.

The ``.mat`` holds one int16 matrix ``val`` (leads × samples) in digital units; the header gives,
per lead, the gain (digital units per mV) and the baseline, so the signal in mV is
``(val - baseline) / gain``. The comment lines ``#Age:``, ``#Sex:`` and ``#Dx:`` (SNOMED CT codes)
carry the demographics and the labels.

Quirks of the 2020 challenge data that this reader meets, and how it takes each:

- The first line of some headers (E00018 and 49 others of the shared set) starts with the file name
  ``E00018.mat`` where WFDB wants the record name. wfdb rejects that line, so such record lines go
  to :func:`_parse_record_line_ourselves`, which drops the ``.mat``.
- Units written ``1000/mv`` in lower case (the HR and S records): units are compared without case.
- Dates written ``15-May-2020`` before the time: not WFDB's ``HH:MM:SS DD/MM/YYYY``; wfdb silently
  takes the day for seconds. Neither date nor time is kept.
- ``#Age: NaN``, and ages that are missing or not numbers: the age is NaN.
- Empty entries in ``#Dx`` (``164889003,,426783006,``): dropped.
- Sampling rates of 257, 500 and 1000 Hz and records from 6 s to 30 min long in the 2020 data (500
  and 1000 Hz, 10 to 115 s in the shared set): nothing here assumes a rate or a length.

The signal is read with ``scipy.io.loadmat`` rather than ``wfdb.rdrecord``: wfdb reads the
``.mat`` as raw format-16 samples after a fixed 24-byte offset, which needs a header wfdb accepts
(it fails on the file-name quirk above) and trusts that offset blindly, while ``loadmat`` checks the
matrix's own header (type and shape). It is also what the challenge's driver does, so
:func:`read_record` and :func:`record_from_challenge` build a record from the very same matrix.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.io
from scipy.io.matlab import MatReadError

# wfdb.rdheader only reads files; the challenge's driver hands us a header's lines, so we call the
# line parsers that rdheader itself runs on a file's lines.
from wfdb.io import _header as wfdb_header

logger = logging.getLogger(__name__)

STANDARD_LEADS: tuple[str, ...] = (
    "I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6",
)  # fmt: skip


class RecordError(ValueError):
    """A record that cannot be read; the message names the file (or record) and the problem."""


class Sex(enum.Enum):
    MALE = "Male"
    FEMALE = "Female"
    UNKNOWN = "Unknown"

    @classmethod
    def parse(cls, text: str | None) -> Sex:
        """``Male``/``M`` and ``Female``/``F`` in any case; anything else or nothing is UNKNOWN."""
        word = (text or "").strip().lower()
        if word in ("male", "m"):
            return cls.MALE
        if word in ("female", "f"):
            return cls.FEMALE
        return cls.UNKNOWN


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


@dataclass(frozen=True)
class _Header:
    """What a header says, parsed; gains in digital units per mV, baselines in digital units."""

    name: str
    fs_hz: float
    n_samples: int
    lead_names: tuple[str, ...]
    gains: tuple[float, ...]
    baselines: tuple[float, ...]
    age: float
    sex: Sex
    dx_codes: tuple[str, ...]


def read_record(path: str | os.PathLike[str]) -> Record:
    """Read a record from its ``.hea`` path (or ``.mat`` path), or its path without extension.

    Raises RecordError for a missing or unreadable header, a missing ``.mat``, or a matrix whose
    shape disagrees with the header.
    """
    given = Path(path)
    base = given.with_suffix("") if given.suffix in (".hea", ".mat") else given
    header_path = base.with_name(base.name + ".hea")
    mat_path = base.with_name(base.name + ".mat")
    try:
        text = header_path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError as error:
        raise RecordError(f"{header_path}: no such header file") from error
    except OSError as error:
        raise RecordError(f"{header_path}: cannot read the header ({error})") from error
    header = _parse_header(text.splitlines(), str(header_path))
    if header.name != base.name:
        logger.warning("%s names its record %r", header_path, header.name)
    return _build_record(header, _load_val_matrix(mat_path), str(mat_path))


def record_from_challenge(data: np.ndarray, header_data: list[str]) -> Record:
    """Build a record from what the challenge's driver hands an entry.

    ``data`` is the ``.mat``'s ``val`` matrix (leads × samples, digital units, any numeric type: the
    driver passes float64) and ``header_data`` the header file's lines (with or without newlines).
    """
    header = _parse_header(header_data, "header handed by the challenge driver")
    return _build_record(header, data, f"record {header.name} from the challenge driver")


def find_records(directory: str | os.PathLike[str]) -> list[Path]:
    """The ``.hea`` files of a folder that have a ``.mat`` beside them, sorted by name."""
    folder = Path(directory)
    if not folder.is_dir():
        raise RecordError(f"{folder}: no such folder of records")
    headers = []
    for header_path in sorted(folder.glob("*.hea")):
        if header_path.with_suffix(".mat").is_file():
            headers.append(header_path)
        else:
            logger.warning("%s has no .mat beside it; skipped", header_path)
    return headers


def to_standard_leads(record: Record) -> Record:
    """The record with its leads in the order I, II, III, aVR, aVL, aVF, V1..V6.

    Leads are matched by name without case. A missing lead becomes a row of zeros, and a lead
    outside the twelve is dropped; both are logged as warnings naming the record and the lead.
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
        if source_row is None:
            logger.warning("record %s has no lead %s; filled with zeros", record.name, lead)
        else:
            signal[row] = record.signal[source_row]
    for extra in row_of:
        logger.warning("record %s: lead %s is not a standard lead; dropped", record.name, extra)
    return dataclasses.replace(record, signal=signal, lead_names=STANDARD_LEADS)


def _parse_header(lines: Sequence[str], source: str) -> _Header:
    """Parse a header's lines; ``source`` names the header in error messages."""
    stripped = [line.strip() for line in lines]
    spec_lines = [line for line in stripped if line and not line.startswith("#")]
    comments = _parse_comments(line for line in stripped if line.startswith("#"))
    if not spec_lines:
        raise RecordError(f"{source}: no record line")
    name, n_leads, fs_hz, n_samples = _parse_record_line(spec_lines[0], source)
    signal_lines = spec_lines[1:]
    if n_leads != len(signal_lines):
        raise RecordError(
            f"{source}: record line announces {n_leads} leads "
            f"but {len(signal_lines)} lead lines follow"
        )
    if n_leads < 1 or n_samples < 1 or not fs_hz > 0:
        raise RecordError(
            f"{source}: record line {spec_lines[0]!r} gives {n_leads} leads, {fs_hz} Hz, "
            f"{n_samples} samples"
        )
    try:
        fields = wfdb_header._parse_signal_lines(signal_lines)
    except ValueError as error:
        raise RecordError(f"{source}: unreadable lead line ({error})") from error
    for lead, units in zip(fields["sig_name"], fields["units"], strict=True):
        if lead is None:
            raise RecordError(f"{source}: a lead line has no lead name")
        if units.lower() != "mv":
            raise RecordError(f"{source}: lead {lead} is in {units!r}; only mV is supported")
    return _Header(
        name=name,
        fs_hz=fs_hz,
        n_samples=n_samples,
        lead_names=tuple(fields["sig_name"]),
        gains=tuple(float(gain) for gain in fields["adc_gain"]),
        baselines=tuple(float(baseline) for baseline in fields["baseline"]),
        age=_parse_age(comments.get("age")),
        sex=Sex.parse(comments.get("sex")),
        dx_codes=tuple(code.strip() for code in comments.get("dx", "").split(",") if code.strip()),
    )


def _parse_record_line(line: str, source: str) -> tuple[str, int, float, int]:
    """(record name, number of leads, sampling rate in Hz, number of samples) of the first line."""
    try:
        fields = wfdb_header._parse_record_line(line)
    except ValueError:
        # The file-name quirk: "E00018.mat 12 500 ..." where WFDB wants "E00018"; wfdb allows no dot
        # in a record name and raises HeaderSyntaxError (a ValueError).
        return _parse_record_line_ourselves(line, source)
    if fields["n_seg"] is not None:
        raise RecordError(f"{source}: multi-segment records are not challenge records")
    if fields["sig_len"] is None:
        raise RecordError(f"{source}: record line {line!r} gives no number of samples")
    return fields["record_name"], fields["n_sig"], float(fields["fs"]), fields["sig_len"]


def _parse_record_line_ourselves(line: str, source: str) -> tuple[str, int, float, int]:
    """Read ``NAME[.mat] LEADS FS SAMPLES [date time]`` ourselves, for record lines wfdb rejects."""
    tokens = line.split()
    if len(tokens) < 4:
        raise RecordError(
            f"{source}: record line {line!r} needs a name, the number of leads, the sampling rate "
            "and the number of samples"
        )
    try:
        return tokens[0].removesuffix(".mat"), int(tokens[1]), float(tokens[2]), int(tokens[3])
    except ValueError as error:
        raise RecordError(f"{source}: unreadable record line {line!r} ({error})") from error


def _parse_comments(lines: Iterable[str]) -> dict[str, str]:
    """``#Key: value`` lines as {lower-case key: value}; the first of a repeated key wins."""
    values: dict[str, str] = {}
    for line in lines:
        key, colon, value = line.lstrip("#").partition(":")
        if colon:
            values.setdefault(key.strip().lower(), value.strip())
    return values


def _parse_age(text: str | None) -> float:
    """Age in years; NaN when absent, not a number, or not a finite non-negative number."""
    try:
        age = float(text) if text is not None else math.nan
    except ValueError:
        return math.nan
    return age if math.isfinite(age) and age >= 0 else math.nan


def _load_val_matrix(mat_path: Path) -> np.ndarray:
    if not mat_path.is_file():
        raise RecordError(f"{mat_path}: no such .mat file")
    try:
        contents = scipy.io.loadmat(mat_path)
    except (OSError, ValueError, TypeError, MatReadError) as error:
        raise RecordError(f"{mat_path}: not a readable MATLAB file ({error})") from error
    if "val" not in contents:
        found = sorted(key for key in contents if not key.startswith("__"))
        raise RecordError(f"{mat_path}: no matrix named 'val' (found {found})")
    return contents["val"]


def _build_record(header: _Header, digital: np.ndarray, source: str) -> Record:
    """Convert the digital matrix to mV with the header's gains and baselines."""
    matrix = np.asarray(digital)
    if matrix.dtype.kind not in "iuf":
        raise RecordError(f"{source}: signal matrix of type {matrix.dtype} is not numeric")
    expected = (len(header.lead_names), header.n_samples)
    if matrix.shape != expected:
        raise RecordError(
            f"{source}: signal matrix is {matrix.shape} but the header gives "
            f"{expected[0]} leads × {expected[1]} samples"
        )
    baselines = np.asarray(header.baselines, dtype=np.float32)[:, np.newaxis]
    gains = np.asarray(header.gains, dtype=np.float32)[:, np.newaxis]
    return Record(
        name=header.name,
        signal=(matrix.astype(np.float32) - baselines) / gains,
        lead_names=header.lead_names,
        fs_hz=header.fs_hz,
        age=header.age,
        sex=header.sex,
        dx_codes=header.dx_codes,
    )
