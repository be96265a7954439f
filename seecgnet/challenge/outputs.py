"""The challenge's output files: writing one per recording, and reading thousands of them quickly.

An output file has a ``#RECORD`` comment line and three lines of comma-separated values::

    #A0001
    270492004,164889003,...      the class codes
    0,1,...                      the binary outputs
    0.12,0.87,...                the scalar outputs (probabilities)

The reader reads every file as the official 2020 scorer does (checked against it on generated
files, malformed ones included):

- blank lines and lines that start with ``#`` (after spaces) are ignored. The rest, the *lines of
  values*, must be at least three and all hold the same number of comma-separated values; the first
  three are read (class codes, binary outputs, scalar outputs) and a fourth or later is not, though
  its width counts. A file that breaks either rule (two lines, a binary line one value short, a
  scalar line one value long) is a formatting error: every class is negative for that recording,
  and one warning names the file;
- classes may come in any order, unscored classes may be listed, and the two codes of an equivalent
  pair (or one code twice) may be listed separately: their binary outputs are combined with "any"
  and their scalar outputs with the mean of the values that are not NaN (``np.nanmean``, to the
  last bit);
- a binary value is positive when it reads ``1``, ``True``, ``true``, ``T`` or ``t`` (after stripping
  spaces) and negative otherwise;
- a scalar value is whatever Python's ``float`` makes of it (spaces around it, ``nan``, ``1_0``);
  text that is not a number counts as 0, and NaN becomes 0 once equivalent classes are combined.

"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from seecgnet.challenge.classes import ScoredClasses
from seecgnet.errors import SeecgnetError

logger = logging.getLogger(__name__)

_TRUE_TOKENS = frozenset({"1", "True", "true", "T", "t"})
_READ_CHUNK_BYTES = 8192  # a challenge header or output file fits in one read
# numpy sums fewer values than this one after another, and more pairwise
_SEQUENTIAL_SUM_BELOW = 8


class OutputFileError(SeecgnetError, ValueError):
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
        problem = _format_error(lines)
        if problem:
            _warn_negative(path, problem)
            continue
        layout = layouts.get(lines[0])
        if layout is None:
            layout = layouts[lines[0]] = _Layout.of(lines[0], classes)
        if layout.needed:  # without a scored class listed, nothing of this file is read
            values.add(row, layout, lines[1], lines[2])
    return values.scored(len(paths), len(classes))


def _format_error(lines: list[str]) -> str:
    """Why the lines of values of a file make it a formatting error ("" when they do not)."""
    if len(lines) < 3:
        return f"{len(lines)} lines of values instead of at least 3"
    widths = {line.count(",") + 1 for line in lines}
    if len(widths) > 1:
        return f"lines of values of different widths {sorted(widths)}"
    return ""


@dataclass(frozen=True)
class _Layout:
    """Where a class line puts its values: the scored class of each listed position (-1 for an
    unscored code) up to the last scored one, and how many values a line holds."""

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
    """The value lines of every well-formed file, gathered so that all of them are converted and
    put in place with a few array operations, whatever the class order of each file."""

    binary_lines: list[str] = field(default_factory=list)
    scalar_lines: list[str] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    widths: list[int] = field(default_factory=list)
    columns: list[np.ndarray] = field(default_factory=list)

    def add(self, row: int, layout: _Layout, binary_line: str, scalar_line: str) -> None:
        """Take one file's binary and scalar lines, each ``layout.width`` values wide."""
        self.binary_lines.append(binary_line)
        self.scalar_lines.append(scalar_line)
        self.rows.append(row)
        self.widths.append(layout.width)
        self.columns.append(layout.columns)

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
        scalar[rows[once], columns[once]] = values[once] + 0.0  # -0.0 reads 0.0, as in numpy's mean
        if not once.all():
            shared = ~once
            scalar.flat[np.unique(cells[shared])] = _nan_means(cells[shared], values[shared])
        scalar[np.isnan(scalar)] = 0.0
        return ScoredOutputs(binary=binary, scalar=scalar)


def _nan_means(cells: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``np.nanmean`` of the values of each cell, in the order they come, for the sorted distinct
    ``cells``: to the last bit, as numpy sums them (NaN counted as 0 in the sum, not in the count).

    numpy adds fewer than eight values one after another, as ``np.bincount`` does for every cell at
    once; a cell listed eight times or more (numpy then sums pairwise) gets its own ``np.nanmean``.
    """
    order = np.argsort(cells, kind="stable")
    cells, values = cells[order], values[order]
    distinct, first, counts = np.unique(cells, return_index=True, return_counts=True)
    group = np.repeat(np.arange(distinct.size), counts)
    present = ~np.isnan(values)
    sums = np.bincount(group, np.where(present, values, 0.0), minlength=distinct.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / np.bincount(group[present], minlength=distinct.size)
    for index in np.flatnonzero(counts >= _SEQUENTIAL_SUM_BELOW):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # only NaN: NaN, read as 0 after
            means[index] = np.nanmean(values[first[index] : first[index] + counts[index]])
    return means


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
