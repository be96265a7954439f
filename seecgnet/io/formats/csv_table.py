"""Reading an ECG written as a CSV table, in the one layout documented here (docs/formats.md):

```
# fs_hz: 500
# age: 63
# sex: female
# dx: 164889003,426783006
I,II,III,aVR,aVL,aVF,V1,V2,V3,V4,V5,V6
0.012,0.034,0.022,-0.023,-0.005,0.028,0.010,0.051,0.060,0.044,0.031,0.020
...
```

- Comment lines, before the header row, begin with ``#`` and hold ``key: value``. ``fs_hz`` (the
  sampling rate in Hz) is required: a rate is never guessed. ``units`` is optional: ``mV`` (the
  default), ``uV``/``µV`` or ``V``; other units are refused. ``age``, ``sex`` and ``dx`` (SNOMED CT
  codes) are read as a WFDB header's ``#Age``, ``#Sex`` and ``#Dx``.
- The header row names one column per lead, in any order, with any name :func:`standard_lead_name`
  reads (``I``, ``ii``, ``ECG V1``, ``aVR``). A column naming no standard lead (a time column,
  ``V7``) is dropped, said once; a lead named twice, or no standard lead at all, is refused.
- Every other line is one sample of every column, a number (``nan`` is kept, and set to 0 when the
  signal is prepared); the separator is a comma. A line with fewer or more values than the header
  row, an empty value or a word: a RecordError naming the file, the line and the column.

The record's name is the file's name without its extension; the file is recognised by its content
(:func:`looks_like`), whatever its extension.
"""

from __future__ import annotations

import csv
import io
import logging
import math
from pathlib import Path

import numpy as np

from seecgnet.io.comments import comment_demographics
from seecgnet.io.formats.leads import standard_lead_name
from seecgnet.io.headers import RecordError
from seecgnet.io.records import Record

__all__ = ["UNITS_PER_MV", "looks_like", "read"]

logger = logging.getLogger(__name__)

# The units a table may be written in, and how many of them make a millivolt.
UNITS_PER_MV = {"mv": 1.0, "uv": 1000.0, "µv": 1000.0, "v": 0.001}


def looks_like(head: bytes) -> bool:
    """Whether a file's first bytes are text whose first line after the comments names a lead."""
    if b"\0" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:  # the head may cut a character in two
        text = head[: error.start].decode("utf-8")
    lines = text.splitlines()
    for number, line in enumerate(lines):
        if line.strip() and not line.lstrip().startswith("#"):
            # a header row cut off by the head's end cannot be judged whole, but its first names can
            names = line.split(",")[:-1] if number == len(lines) - 1 else line.split(",")
            return any(standard_lead_name(name) for name in names)
    return False


def read(path: Path) -> Record:
    """Read the CSV table ``path``; RecordError names the file, line and column of any fault."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise RecordError(f"{path}: cannot read the CSV file ({error})") from error
    lines = text.splitlines()
    comments = []
    first = 0
    while first < len(lines) and (not lines[first].strip() or lines[first].lstrip()[:1] == "#"):
        comments.append(lines[first].lstrip()[1:] if lines[first].strip() else "")
        first += 1
    if first == len(lines):
        raise RecordError(f"{path}: no header row naming the leads")
    age, sex, codes, values = comment_demographics(comments, str(path))
    fs_hz = _rate(values.get("fs_hz"), path)
    scale = _units(values.get("units", "mV"), path)
    columns, names = _lead_columns(lines[first], first + 1, path)
    width = len(next(csv.reader([lines[first]])))
    signal = _samples(lines[first + 1 :], first + 2, width, path)[columns].astype(np.float32)
    if scale != 1.0:
        signal /= np.float32(scale)
    return Record(path.stem, signal, names, fs_hz, age, sex, codes)


def _rate(text: str | None, path: Path) -> float:
    if text is None:
        raise RecordError(f"{path}: no '# fs_hz: RATE' line: the sampling rate is not given")
    try:
        fs_hz = float(text)
    except ValueError:
        fs_hz = math.nan
    if not (math.isfinite(fs_hz) and fs_hz > 0):
        raise RecordError(f"{path}: fs_hz {text!r} is not a positive number of Hz")
    return fs_hz


def _units(text: str, path: Path) -> float:
    scale = UNITS_PER_MV.get(text.strip().lower())
    if scale is None:
        raise RecordError(
            f"{path}: units {text!r} cannot be interpreted (read here: mV, uV, µV, V)"
        )
    return scale


def _lead_columns(row: str, line: int, path: Path) -> tuple[list[int], tuple[str, ...]]:
    """The columns that name standard leads, and their standard names; the others are said once."""
    columns: list[int] = []
    names: list[str] = []
    others: list[str] = []
    for column, label in enumerate(next(csv.reader([row]))):
        lead = standard_lead_name(label)
        if lead is None:
            others.append(label.strip() or f"column {column + 1} (unnamed)")
        elif lead in names:
            raise RecordError(
                f"{path}: line {line}, column {column + 1}: lead {lead} appears twice ({label!r})"
            )
        else:
            columns.append(column)
            names.append(lead)
    if not columns:
        raise RecordError(f"{path}: line {line}: no column names a standard ECG lead ({row!r})")
    if others:
        logger.warning("%s: columns %s name no standard lead; dropped", path, ", ".join(others))
    return columns, tuple(names)


def _samples(lines: list[str], first_line: int, width: int, path: Path) -> np.ndarray:
    """The table's values as (columns, samples); the first fault found is named by line and column."""
    rows = [line for line in lines if line.strip()]
    if not rows:
        raise RecordError(f"{path}: no samples after the header row")
    try:
        table = np.loadtxt(
            io.StringIO("\n".join(rows)), delimiter=",", ndmin=2, dtype=np.float64, comments=None
        )
    except ValueError:
        table = None
    if table is None or table.shape[1] != width:
        _raise_first_fault(lines, first_line, width, path)
    return table.T


def _raise_first_fault(lines: list[str], first_line: int, width: int, path: Path) -> None:
    for number, line in enumerate(lines, start=first_line):
        if not line.strip():
            continue
        fields = line.split(",")
        if len(fields) != width:
            raise RecordError(
                f"{path}: line {number}: {len(fields)} values where the header row names {width} "
                "columns"
            )
        for column, field in enumerate(fields, start=1):
            try:
                float(field)
            except ValueError:
                raise RecordError(
                    f"{path}: line {number}, column {column}: {field.strip()!r} is not a number"
                ) from None
    raise RecordError(f"{path}: the samples cannot be read as a table of numbers")
