"""The challenge's output files: writing one per recording, and reading thousands of them quickly.

An output file has a ``#RECORD`` comment line and three lines of comma-separated values::

    #A0001
    270492004,164889003,...      the class codes
    0,1,...                      the binary outputs
    0.12,0.87,...                the scalar outputs (probabilities)

The reader accepts everything the official 2020 scorer accepts, and reads it the same way:

- blank lines and lines that start with ``#`` are ignored; the rest must be exactly three lines,
  otherwise the file is a formatting error and every class is negative for that recording (one
  warning names the file);
- classes may come in any order, unscored classes may be listed, and the two codes of an equivalent
  pair may be listed separately: their binary outputs are combined with "any" and their scalar outputs
  with the mean of the values that are not NaN;
- a binary value is positive when it reads ``1``, ``True``, ``true``, ``T`` or ``t`` (after stripping
  spaces) and negative otherwise;
- a scalar value is whatever Python's ``float`` makes of it (spaces around it, ``nan``); text that is
  not a number counts as 0, and NaN becomes 0 once equivalent classes are combined;
- values after the last scored class are never looked at.

The reader gathers the value lines of all files and converts them in a few calls over all of them, so
files that each list the classes in their own order read as fast as files that share one order.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from seecgnet.challenge.classes import ScoredClasses

logger = logging.getLogger(__name__)

_TRUE_TOKENS = frozenset({"1", "True", "true", "T", "t"})
_READ_CHUNK_BYTES = 8192  # a challenge header or output file fits in one read


class OutputFileError(ValueError):
    """An output file cannot be read at all (missing, unreadable, not UTF-8 text)."""


@dataclass(frozen=True)
class ScoredOutputs:
    """The outputs of many recordings for the scored classes, in the classes' order.

    ``binary`` is (recordings × classes) bool; ``scalar`` is (recordings × classes) float64 with no NaN.
    """

    binary: np.ndarray
    scalar: np.ndarray


def write_output(
    path: str | Path,
    record_name: str,
    classes: Sequence[str],
    labels: ArrayLike,
    probabilities: ArrayLike,
) -> None:
    """Write one recording's outputs as a challenge output file at ``path``.

    ``labels`` are the binary outputs (bool or 0/1), ``probabilities`` the scalar outputs, one per entry
    of ``classes``. Probabilities are written with ``repr`` so that they read back exactly.
    """
    labels = np.asarray(labels)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if labels.ndim != 1 or probabilities.ndim != 1:
        raise ValueError(f"{record_name}: labels and probabilities must be 1-D")
    if not len(classes) == labels.size == probabilities.size:
        raise ValueError(
            f"{record_name}: {len(classes)} classes, {labels.size} labels and "
            f"{probabilities.size} probabilities"
        )
    if not np.isin(labels, (0, 1)).all():
        raise ValueError(f"{record_name}: labels must be 0/1, got {np.unique(labels).tolist()}")
    for code in classes:
        if not code.strip() or any(char in code for char in ",\r\n"):
            raise ValueError(f"{record_name}: class code {code!r} cannot be written")
    if not record_name or any(char in record_name for char in "\r\n"):
        raise ValueError(f"record name {record_name!r} cannot be written")
    text = "\n".join(
        (
            f"#{record_name}",
            ",".join(classes),
            ",".join("1" if label else "0" for label in labels.tolist()),
            ",".join(map(repr, probabilities.tolist())),
        )
    )
    # surrogateescape: a record name with bytes that are not UTF-8 is written back as those bytes
    Path(path).write_text(text + "\n", encoding="utf-8", errors="surrogateescape", newline="")


def read_file_bytes(path: str) -> bytes:
    """The whole content of a small file, with as few system calls as possible."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        data = os.read(descriptor, _READ_CHUNK_BYTES)
        if len(data) == _READ_CHUNK_BYTES:
            parts = [data]
            while chunk := os.read(descriptor, 1 << 20):
                parts.append(chunk)
            data = b"".join(parts)
    finally:
        os.close(descriptor)
    return data


def load_outputs(paths: Sequence[str | Path], classes: ScoredClasses) -> ScoredOutputs:
    """Read the output files ``paths`` (one per recording, in order) for the scored ``classes``."""
    values = _ValueColumns()
    layouts: dict[str, _Layout] = {}
    for row, path in enumerate(paths):
        lines = _content_lines(_read_text(str(path)))
        if len(lines) != 3:
            _warn_negative(path, f"{len(lines)} lines of values instead of 3")
            continue
        layout = layouts.get(lines[0])
        if layout is None:
            layout = layouts[lines[0]] = _Layout.of(lines[0], classes)
        if layout.needed == 0:  # no scored class listed: nothing of this file is read
            continue
        if not values.add(row, layout, lines[1], lines[2]):
            _warn_negative(path, f"fewer values than the {layout.needed} needed")
    return values.scored(len(paths), len(classes))


@dataclass(frozen=True)
class _Layout:
    """Where a class line puts its values: the scored class of each listed position (-1 for an
    unscored code), up to the last scored one, and how many values a line must hold."""

    width: int
    needed: int
    columns: np.ndarray

    @classmethod
    def of(cls, class_line: str, classes: ScoredClasses) -> _Layout:
        targets = [classes.index_of(code) for code in class_line.split(",")]
        scored = [position for position, target in enumerate(targets) if target is not None]
        needed = 1 + scored[-1] if scored else 0
        columns = np.array([-1 if t is None else t for t in targets[:needed]], dtype=np.intp)
        return cls(len(targets), needed, columns)


@dataclass
class _ValueColumns:
    """The value lines of every readable file, gathered so that all of them are converted and put
    in place with a few array operations, whatever the class order of each file.

    Every file contributes ``needed`` values or, when its lines hold exactly one value per listed
    class (the usual case), all of them, so that its lines are joined without being split first.
    """

    binary_lines: list[str] = field(default_factory=list)
    scalar_lines: list[str] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    widths: list[int] = field(default_factory=list)
    columns: list[np.ndarray] = field(default_factory=list)

    def add(self, row: int, layout: _Layout, binary_line: str, scalar_line: str) -> bool:
        """Take one file's value lines; False when one of them has fewer values than needed."""
        commas = layout.width - 1
        if binary_line.count(",") == commas and scalar_line.count(",") == commas:
            width = layout.width
        else:
            # values after the last scored class are never looked at, however many there are
            width = layout.needed
            binary_fields = binary_line.split(",", width)[:width]
            scalar_fields = scalar_line.split(",", width)[:width]
            if len(binary_fields) < width or len(scalar_fields) < width:
                return False
            binary_line, scalar_line = ",".join(binary_fields), ",".join(scalar_fields)
        self.binary_lines.append(binary_line)
        self.scalar_lines.append(scalar_line)
        self.rows.append(row)
        self.widths.append(width)
        self.columns.append(layout.columns)
        return True

    def scored(self, n_recordings: int, n_classes: int) -> ScoredOutputs:
        """The (recordings × classes) outputs: an equivalent pair (or a code listed twice) combines
        its binary values with "any" and its scalar values with the mean of those not NaN."""
        binary = np.zeros((n_recordings, n_classes), dtype=bool)
        scalar = np.zeros((n_recordings, n_classes), dtype=np.float64)
        if not self.rows:
            return ScoredOutputs(binary=binary, scalar=scalar)
        bits = _parse_binary(",".join(self.binary_lines).split(","))
        values = _parse_scalar(",".join(self.scalar_lines).split(","))
        # the first ``needed`` values of each file's ``width``: (file, position) -> flat token
        widths = np.asarray(self.widths)
        needed = np.array([len(columns) for columns in self.columns])
        starts = np.cumsum(widths) - widths
        tokens = np.repeat(starts - np.cumsum(needed) + needed, needed) + np.arange(needed.sum())
        rows = np.repeat(np.asarray(self.rows), needed)
        columns = np.concatenate(self.columns)
        scored = columns >= 0
        tokens, rows, columns = tokens[scored], rows[scored], columns[scored]
        bits, values = bits[tokens], values[tokens]

        binary[rows[bits], columns[bits]] = True
        cells = rows * n_classes + columns
        listed = np.bincount(cells, minlength=n_recordings * n_classes)
        once = listed[cells] == 1
        scalar[rows[once], columns[once]] = values[once]
        if not once.all():
            shared = ~once
            cells, values = cells[shared], values[shared]
            present = ~np.isnan(values)
            size = n_recordings * n_classes
            sums = np.bincount(cells[present], values[present], minlength=size)
            counts = np.bincount(cells[present], minlength=size)
            with np.errstate(invalid="ignore", divide="ignore"):
                scalar.flat[cells] = sums[cells] / counts[cells]
        scalar[np.isnan(scalar)] = 0.0
        return ScoredOutputs(binary=binary, scalar=scalar)


def _read_text(path: str) -> str:
    try:
        return read_file_bytes(path).decode("utf-8")
    except OSError as error:
        raise OutputFileError(f"cannot read output file {path}: {error.strerror}") from error
    except UnicodeDecodeError as error:
        raise OutputFileError(
            f"output file {path} is not UTF-8 text (byte {error.start}: {error.reason})"
        ) from error


def _content_lines(text: str) -> list[str]:
    """The lines that are neither blank nor comments, split as Python's text mode splits them."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return [line for line in text.split("\n") if (bare := line.strip()) and bare[0] != "#"]


def _warn_negative(path: str | Path, reason: str) -> None:
    logger.warning(
        "output file %s has formatting errors (%s): every class is negative for this recording",
        path,
        reason,
    )


def _parse_binary(tokens: list[str]) -> np.ndarray:
    positive = map(_TRUE_TOKENS.__contains__, map(str.strip, tokens))
    return np.fromiter(positive, dtype=bool, count=len(tokens))


def _parse_scalar(tokens: list[str]) -> np.ndarray:
    try:
        return np.fromiter(map(float, tokens), dtype=np.float64, count=len(tokens))
    except ValueError:
        return np.fromiter(map(_float_or_zero, tokens), dtype=np.float64, count=len(tokens))


def _float_or_zero(token: str) -> float:
    try:
        return float(token)
    except ValueError:
        return 0.0
