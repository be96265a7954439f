"""A labels file: each record's SNOMED CT codes, for training on records whose format carries none
(EDF, DICOM, HL7 aECG, CSV without a ``# dx:`` line) or to replace a header's ``#Dx``.

The file is a CSV table with a header row whose first column is ``record``; each later row names a
record (its file's name without the extension, as the driver names its output) and its codes, in
the second column or in several, separated by commas, semicolons or spaces::

    record,dx
    ptb_00001,"426783006,164889003"
    holter_17,164889003 59118001

A record the file names is trained on with the file's codes, whatever its own ``#Dx`` says; a
record it does not name keeps its own codes, and a record with neither is skipped and counted, as a
record without ``#Dx`` always was. A code that is not a number, a record named twice or with no
code, or a file without the header row: LabelsFileError naming the file and the line.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from pathlib import Path

from seecgnet.errors import SeecgnetError

__all__ = ["Labels", "LabelsFileError", "read_labels"]

# Each record's codes, by the record's name.
Labels = Mapping[str, tuple[str, ...]]

_SEPARATORS = re.compile(r"[,;\s]+")
_CODE = re.compile(r"\d+", re.ASCII)


class LabelsFileError(SeecgnetError, ValueError):
    """A labels file that cannot be read; the message names the file, the line and the problem."""


def read_labels(path: str | Path) -> Labels:
    """{record name: its SNOMED CT codes} of a labels file (see the module's docstring)."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise LabelsFileError(f"{path}: cannot read the labels file ({error})") from error
    if not rows or not rows[0] or rows[0][0].strip().lower() != "record":
        raise LabelsFileError(f"{path}: line 1 must be the header row 'record,dx'")
    labels: dict[str, tuple[str, ...]] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        name = row[0].strip()
        codes = tuple(code for code in _SEPARATORS.split(" ".join(row[1:])) if code)
        if not codes:
            raise LabelsFileError(f"{path}: line {line}: record {name!r} has no code")
        odd = [code for code in codes if not _CODE.fullmatch(code)]
        if odd:
            raise LabelsFileError(
                f"{path}: line {line}: {', '.join(map(repr, odd))} is not a SNOMED CT code"
            )
        if name in labels:
            raise LabelsFileError(f"{path}: line {line}: record {name!r} is named a second time")
        labels[name] = codes
    return labels
