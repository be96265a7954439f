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

Most files of a run share one class line, so the reader groups files by their class line and converts
each group's values in a few calls over all of its files.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from seecgnet.classes import ScoredClasses

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
    binary = np.zeros((len(paths), len(classes)), dtype=bool)
    scalar = np.zeros((len(paths), len(classes)), dtype=np.float64)
    groups: dict[str, _FileGroup] = {}
    for row, path in enumerate(paths):
        lines = _content_lines(_read_text(str(path)))
        if len(lines) != 3:
            _warn_negative(path, f"{len(lines)} lines of values instead of 3")
            continue
        group = groups.get(lines[0])
        if group is None:
            group = groups[lines[0]] = _FileGroup()
        group.rows.append(row)
        group.binary_lines.append(lines[1])
        group.scalar_lines.append(lines[2])

    for class_line, group in groups.items():
        _fill_group(class_line, group, classes, paths, binary, scalar)
    scalar[np.isnan(scalar)] = 0.0
    return ScoredOutputs(binary=binary, scalar=scalar)


@dataclass
class _FileGroup:
    """The files that share one class line: their rows and their two value lines."""

    rows: list[int] = field(default_factory=list)
    binary_lines: list[str] = field(default_factory=list)
    scalar_lines: list[str] = field(default_factory=list)


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


def _fill_group(
    class_line: str,
    group: _FileGroup,
    classes: ScoredClasses,
    paths: Sequence[str | Path],
    binary: np.ndarray,
    scalar: np.ndarray,
) -> None:
    """Convert one group's value lines and put them in the rows and columns of the scored classes."""
    targets = [classes.index_of(code) for code in class_line.split(",")]
    positions_of: dict[int, list[int]] = {}
    for position, target in enumerate(targets):
        if target is not None:
            positions_of.setdefault(target, []).append(position)
    if not positions_of:
        return
    needed = 1 + max(max(positions) for positions in positions_of.values())

    bits, binary_complete = _value_matrix(group.binary_lines, len(targets), needed, _parse_binary)
    values, scalar_complete = _value_matrix(group.scalar_lines, len(targets), needed, _parse_scalar)
    complete = binary_complete & scalar_complete
    rows = np.asarray(group.rows)
    for row in rows[~complete]:
        _warn_negative(paths[row], f"fewer values than the {needed} needed")
    rows, bits, values = rows[complete], bits[complete], values[complete]

    single = [(target, pos[0]) for target, pos in positions_of.items() if len(pos) == 1]
    if single:
        columns, positions = (list(pair) for pair in zip(*single, strict=True))
        binary[np.ix_(rows, columns)] = bits[:, positions]
        scalar[np.ix_(rows, columns)] = values[:, positions]
    for target, positions in positions_of.items():
        if len(positions) > 1:  # the codes of an equivalent pair, or one code listed twice
            binary[rows, target] = bits[:, positions].any(axis=1)
            scalar[rows, target] = _nan_mean_rows(values[:, positions])


def _value_matrix(
    lines: list[str], width: int, needed: int, parse: Callable[[list[str]], np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Parse value lines into a (lines × columns) matrix, and which lines have the values needed.

    Every line usually holds one value per listed class; those are split all at once. Otherwise each
    line is split alone and its first ``needed`` values are kept; a shorter line gets zeros.
    """
    if all(line.count(",") == width - 1 for line in lines):
        matrix = parse(",".join(lines).split(",")).reshape(len(lines), width)
        return matrix, np.ones(len(lines), dtype=bool)
    fields = [line.split(",", needed)[:needed] for line in lines]
    complete = np.array([len(values) == needed for values in fields], dtype=bool)
    tokens = [
        token
        for values in fields
        for token in (values if len(values) == needed else ["0"] * needed)
    ]
    return parse(tokens).reshape(len(lines), needed), complete


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


def _nan_mean_rows(values: np.ndarray) -> np.ndarray:
    """Row means of the values that are not NaN (NaN where a row has none), as ``np.nanmean``."""
    present = ~np.isnan(values)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(present, values, 0.0).sum(axis=1) / present.sum(axis=1)
