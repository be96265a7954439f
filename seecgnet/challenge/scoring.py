"""Scoring a folder of output files against a folder of label headers, as the challenge does.

For each header ``NAME.hea`` in the labels folder (sorted by name; hidden files skipped) the output file
is ``NAME.csv`` in the outputs folder. A recording's labels are the scored classes on the ``#Dx`` lines
of its header; nothing else in the header matters. The scores are those of ``seecgnet.metrics``, and
``evaluate_12ECG_score`` returns them as the official 2020 scorer's function does.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seecgnet.challenge.classes import ScoredClasses, load_scored_classes
from seecgnet.challenge.metrics import SUMMARY_NAMES, Scores, compute_scores
from seecgnet.challenge.outputs import load_outputs, read_file_bytes

logger = logging.getLogger(__name__)

SCORES_HEADER = ",".join(SUMMARY_NAMES)


class ChallengeFilesError(FileNotFoundError):
    """A labels or outputs folder, or the output file of a labelled recording, is missing."""


class LabelFileError(ValueError):
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
    """Multi-hot labels (recordings × classes, bool) from the ``#Dx`` lines of the headers."""
    labels = np.zeros((len(header_paths), len(classes)), dtype=bool)
    classes_of_line: dict[bytes, list[int]] = {}
    rows: list[int] = []
    columns: list[int] = []
    for row, path in enumerate(header_paths):
        try:
            data = read_file_bytes(str(path))
        except OSError as error:
            raise LabelFileError(f"cannot read header {path}: {error.strerror}") from error
        dx_lines = _dx_lines(data)
        if not dx_lines:
            logger.warning("header %s has no #Dx line: no scored class for this recording", path)
        for line in dx_lines:
            found = classes_of_line.get(line)
            if found is None:
                found = classes_of_line[line] = _dx_classes(line, classes, path)
            rows.extend([row] * len(found))
            columns.extend(found)
    labels[rows, columns] = True
    return labels


def _dx_lines(data: bytes) -> list[bytes]:
    """The lines of a header that start with ``#Dx`` (usually one)."""
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    lines = []
    start = data.find(b"#Dx")
    while start != -1:
        end = data.find(b"\n", start)
        end = len(data) if end == -1 else end
        if start == 0 or data[start - 1] == ord("\n"):
            lines.append(data[start:end])
        start = data.find(b"#Dx", end)
    return lines


def _dx_classes(line: bytes, classes: ScoredClasses, path: str | Path) -> list[int]:
    """The distinct class indices of the scored codes on one ``#Dx: code,code,...`` line."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as error:
        raise LabelFileError(f"header {path}: the #Dx line is not UTF-8 text") from error
    parts = text.split(": ")
    if len(parts) < 2:
        raise LabelFileError(f"header {path}: no ': ' after #Dx in {text!r}")
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
