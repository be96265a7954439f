"""The scored diagnoses by name, and a record's diagnoses set beside its reference ``#Dx``.

The names and abbreviations are those of the challenge's table of scored diagnoses, read through
:func:`seecgnet.challenge.classes.scored_diagnoses`; the table writes its names in lower case, and
a report writes them as a clinician does ("1st degree AV block", "Q wave abnormal"). Each of the
three equivalent pairs is one class, named by both codes.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seecgnet.challenge.classes import ScoredClasses, load_scored_classes, scored_diagnoses
from seecgnet.challenge.outputs import load_outputs
from seecgnet.io.formats.dispatch import find_records

# A summary line's text for a record that could not be read (it has no diagnoses to show).
UNREAD = "(not read: see its error above; all-negative output)"

# How the table's lower-case words are written in a report: the abbreviations inside the names,
# the wave letters, and the table's one word run together.
_SPELLING = {"av": "AV", "qrs": "QRS", "pr": "PR", "qt": "QT", "t": "T", "qwave": "Q wave"}


def display_name(table_name: str) -> str:
    """A name of the diagnosis table as a report writes it: "low qrs voltages" -> "Low QRS voltages"."""
    words = [_SPELLING.get(word, word) for word in table_name.split()]
    name = " ".join(words)
    return re.sub(r"^[a-z]", lambda first: first.group().upper(), name)


@dataclass(frozen=True)
class ClassName:
    """How a class is shown: its abbreviation and name (both codes' for an equivalent pair)."""

    code: str
    abbreviation: str
    name: str


def class_names(classes: ScoredClasses) -> list[ClassName]:
    """The name of each class, in the classes' order; an unknown code is shown as itself."""
    folded = dict(classes.equivalents)
    names = []
    for code in classes.codes:
        codes = [code] + ([folded[code]] if code in folded else [])
        table = scored_diagnoses()
        known = [
            (table[c].abbreviation, display_name(table[c].name))
            if c in table
            else (c, f"SNOMED CT {c}")
            for c in codes
        ]
        names.append(
            ClassName(
                code,
                "/".join(abbreviation for abbreviation, _ in known),
                " / ".join(name for _, name in known),
            )
        )
    return names


class Agreement(str, enum.Enum):
    AGREE = "agree"  # the model and the reference both say present
    MISSED = "missed"  # in the reference, not found by the model
    EXTRA = "extra"  # found by the model, not in the reference
    NONE = ""  # neither, or no reference


@dataclass(frozen=True)
class DiagnosisRow:
    """One class of a record: the model's probability, threshold and decision, and the reference."""

    name: ClassName
    probability: float
    threshold: float
    positive: bool
    agreement: Agreement


def diagnosis_rows(
    classes: ScoredClasses,
    probabilities: np.ndarray,
    thresholds: np.ndarray,
    labels: np.ndarray,
    reference_codes: Sequence[str],
) -> list[DiagnosisRow]:
    """Every class, the model's positives first, then the missed ones, then the rest.

    Within each group rows run from the highest probability down. ``reference_codes`` are the
    header's ``#Dx`` codes (unscored ones are ignored); without any, no row is marked.
    """
    reference = classes.encode(reference_codes)
    has_reference = any(classes.is_scored(code) for code in reference_codes)
    rows = []
    for i, name in enumerate(class_names(classes)):
        agreement = Agreement.NONE
        if has_reference and (labels[i] or reference[i]):
            agreement = (
                Agreement.AGREE
                if labels[i] and reference[i]
                else Agreement.EXTRA
                if labels[i]
                else Agreement.MISSED
            )
        rows.append(
            DiagnosisRow(
                name, float(probabilities[i]), float(thresholds[i]), bool(labels[i]), agreement
            )
        )
    group = {Agreement.MISSED: 1}
    return sorted(
        rows,
        key=lambda row: (0 if row.positive else group.get(row.agreement, 2), -row.probability),
    )


def unscored_codes(classes: ScoredClasses, codes: Sequence[str]) -> list[str]:
    """The codes of a ``#Dx`` line that the challenge does not score (the model cannot name them)."""
    return [code for code in codes if code.strip() and not classes.is_scored(code)]


def summary_line(
    name: str, classes: ScoredClasses, labels: np.ndarray, probabilities: np.ndarray
) -> str:
    """``NAME: AF, IAVB``: a record's positive classes by abbreviation, the most probable first."""
    names = class_names(classes)
    order = np.argsort(-np.asarray(probabilities), kind="stable")
    positives = [names[i].abbreviation for i in order if labels[i]]
    return f"{name}: {', '.join(positives) if positives else '(none)'}"


def summary_lines(
    record_names: Sequence[str],
    output_dir: str | Path,
    classes: ScoredClasses,
    unread: Collection[str] = (),
) -> list[str]:
    """One summary line per record, read back from its challenge output file in ``output_dir``.

    Reading the written files means the summary says exactly what the challenge outputs say. The
    records named in ``unread`` could not be read: their (all-negative) outputs say nothing, and
    their lines say so instead of "(none)".
    """
    paths = [Path(output_dir) / f"{name}.csv" for name in record_names]
    outputs = load_outputs(paths, classes)
    return [
        f"{name}: {UNREAD}"
        if name in unread
        else summary_line(name, classes, labels, probabilities)
        for name, labels, probabilities in zip(
            record_names, outputs.binary, outputs.scalar, strict=True
        )
    ]


def folder_summary(
    input_dir: str | Path, output_dir: str | Path, unread: Collection[str] = ()
) -> list[str]:
    """The summary lines of every record of ``input_dir`` whose outputs are in ``output_dir``."""
    names = [header.stem for header in find_records(input_dir, require_signal=False)]
    return summary_lines(names, output_dir, load_scored_classes(), unread)
