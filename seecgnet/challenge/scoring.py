"""Scoring a folder of output files against a folder of label headers, as the challenge does.

For each header ``NAME.hea`` in the labels folder (sorted by name; hidden files skipped) the output file
is ``NAME.csv`` in the outputs folder. A recording's labels are the scored classes on the ``#Dx`` line
of its header; nothing else in the header matters. The scores are those of
:mod:`seecgnet.challenge.metrics`, and ``evaluate_12ECG_score`` returns them as the official 2020
scorer's function does: the same values to the last bit, on every input the official scorer scores
(tested against it on generated folders, malformed files and degenerate label sets included).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seecgnet.challenge.classes import ScoredClasses, load_scored_classes
from seecgnet.challenge.metrics import SUMMARY_NAMES, Scores, compute_scores
from seecgnet.challenge.outputs import load_outputs, read_file_bytes
from seecgnet.errors import SeecgnetError

SCORES_HEADER = ",".join(SUMMARY_NAMES)
_DX_LINE = re.compile(r"^#Dx.*", re.MULTILINE)


class ChallengeFilesError(SeecgnetError, FileNotFoundError):
    """A labels or outputs folder, or the output file of a labelled recording, is missing."""


class LabelFileError(SeecgnetError, ValueError):
    """A header cannot be read, or its ``#Dx`` line cannot be parsed."""


@dataclass(frozen=True)
class RecordingFiles:
    """The recordings to score: their names, header paths and output paths, in the same order."""

    names: tuple[str, ...]
    header_paths: tuple[str, ...]
    output_paths: tuple[str, ...]


def find_recording_files(
    label_directory: str | Path, output_directory: str | Path
) -> RecordingFiles:
    """Pair each ``NAME.hea`` in ``label_directory`` with ``NAME.csv`` in ``output_directory``."""
    label_directory, output_directory = str(label_directory), str(output_directory)
    headers = sorted(
        entry.name
        for entry in _scan(label_directory, "labels")
        if entry.name.lower().endswith(".hea")
        and not entry.name.startswith(".")
        and entry.is_file()
    )
    if not headers:
        raise ChallengeFilesError(f"no label headers (*.hea) in {label_directory}")
    outputs = {entry.name for entry in _scan(output_directory, "outputs") if entry.is_file()}
    names = tuple(header[:-4] for header in headers)
    for header, name in zip(headers, names, strict=True):
        if name + ".csv" not in outputs:
            raise ChallengeFilesError(
                f"output file {os.path.join(output_directory, name + '.csv')} not found for "
                f"label file {os.path.join(label_directory, header)}"
            )
    return RecordingFiles(
        names=names,
        header_paths=tuple(os.path.join(label_directory, header) for header in headers),
        output_paths=tuple(os.path.join(output_directory, name + ".csv") for name in names),
    )


def _scan(directory: str, role: str) -> list[os.DirEntry]:
    try:
        with os.scandir(directory) as entries:
            return list(entries)
    except FileNotFoundError as error:
        raise ChallengeFilesError(f"{role} folder {directory} does not exist") from error
    except OSError as error:
        raise ChallengeFilesError(
            f"cannot list {role} folder {directory}: {error.strerror}"
        ) from error


def load_labels(header_paths: Sequence[str | Path], classes: ScoredClasses) -> np.ndarray:
    """Multi-hot labels (recordings × classes, bool) from the ``#Dx`` line of each header.

    A header must be UTF-8 text with exactly one line that starts with ``#Dx``, holding ``: ``;
    otherwise LabelFileError names it. (The official scorer fails on such a header too, or, for a
    missing or repeated ``#Dx`` line, silently gives the following recordings each other's labels.)
    """
    labels = np.zeros((len(header_paths), len(classes)), dtype=bool)
    classes_of_line: dict[str, list[int]] = {}
    rows: list[int] = []
    columns: list[int] = []
    for row, path in enumerate(header_paths):
        line = _dx_line(_read_header_text(path), path)
        found = classes_of_line.get(line)
        if found is None:
            found = classes_of_line[line] = _dx_classes(line, classes, path)
        rows.extend([row] * len(found))
        columns.extend(found)
    labels[rows, columns] = True
    return labels


def _read_header_text(path: str | Path) -> str:
    try:
        data = read_file_bytes(str(path))
    except OSError as error:
        raise LabelFileError(f"cannot read header {path}: {error.strerror}") from error
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise LabelFileError(
            f"header {path} is not UTF-8 text (byte {error.start}: {error.reason})"
        ) from error


def _dx_line(text: str, path: str | Path) -> str:
    """The header's one line that starts with ``#Dx`` (lines end at \\n, \\r\\n or \\r)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = _DX_LINE.findall(text)
    if len(lines) != 1:
        raise LabelFileError(
            f"header {path} has {len(lines)} #Dx lines; the scorer needs exactly one"
        )
    return lines[0]


def _dx_classes(line: str, classes: ScoredClasses, path: str | Path) -> list[int]:
    """The distinct class indices of the scored codes on one ``#Dx: code,code,...`` line; as the
    official scorer reads it, the codes end at a second ``: `` if there is one."""
    parts = line.split(": ")
    if len(parts) < 2:
        raise LabelFileError(f"header {path}: no ': ' after #Dx in {line!r}")
    indices = (classes.index_of(code) for code in parts[1].split(","))
    return sorted({index for index in indices if index is not None})


def score_directories(
    label_directory: str | Path,
    output_directory: str | Path,
    classes: ScoredClasses | None = None,
) -> Scores:
    """Every challenge score of the output files against the label headers."""
    classes = load_scored_classes() if classes is None else classes
    files = find_recording_files(label_directory, output_directory)
    labels = load_labels(files.header_paths, classes)
    outputs = load_outputs(files.output_paths, classes)
    return compute_scores(labels, outputs.scalar, outputs.binary, classes)


def evaluate_12ECG_score(
    label_directory: str | Path,
    output_directory: str | Path,
    classes: ScoredClasses | None = None,
) -> tuple:
    """The official scorer's function: classes, auroc, auprc, auroc_classes, auprc_classes,
    accuracy, f_measure, f_measure_classes, f_beta_measure, g_beta_measure, challenge_metric.

    ``classes`` defaults to the project's ``weights.csv``.
    """
    return score_directories(label_directory, output_directory, classes).as_official_tuple()


def format_scores(scores: Scores) -> str:
    """The official ``scores.csv`` text: a header line and one line of values (no final newline)."""
    return SCORES_HEADER + "\n" + _join_values(scores.summary())


def format_class_scores(scores: Scores) -> str:
    """The official ``class_scores.csv`` text: classes, AUROC, AUPRC and F-measure rows."""
    return "\n".join(
        (
            "Classes," + ",".join(scores.classes),
            "AUROC," + _join_values(scores.auroc_classes),
            "AUPRC," + _join_values(scores.auprc_classes),
            "F-measure," + _join_values(scores.f_measure_classes),
        )
    )


def _join_values(values: Sequence[float] | np.ndarray) -> str:
    return ",".join(f"{float(value):.3f}" for value in values)
