"""The scored classes: their list, their equivalences, their names and the multi-hot encoding.

This is the only module that knows which SNOMED CT codes the challenge scores. Everything else asks it.
It reads the challenge's two published tables, shipped in this folder as package data and read from
here alone (the project's top-level ``weights.csv``, where the challenge's layout puts it, is a
symbolic link to this one):

- ``weights.csv``, a square table whose header row and first column list 27 codes. Three pairs of
  codes are scored as one class; the challenge keeps the code that comes first in the table and
  folds the other into it, which leaves 24 distinct classes in the table's order;
- ``dx_mapping_scored.csv``, the table of the scored diagnoses: each code's name, abbreviation and
  counts per source database (the names in lower case, as the challenge wrote them).
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seecgnet.errors import SeecgnetError

# Pairs the challenge scores as one class (the 2020 scoring rules). The first code of each pair comes
# first in weights.csv and so represents the pair.
EQUIVALENT_CODES: tuple[tuple[str, str], ...] = (
    ("713427006", "59118001"),  # complete right bundle branch block = right bundle branch block
    ("284470004", "63593006"),  # premature atrial contraction = supraventricular premature beats
    ("427172004", "17338001"),  # premature ventricular contractions = ventricular premature beats
)

NORMAL_CODE = "426783006"  # sinus rhythm: the challenge metric's "inactive" reference class

DEFAULT_WEIGHTS_PATH = Path(__file__).with_name("weights.csv")
DIAGNOSIS_TABLE_PATH = Path(__file__).with_name("dx_mapping_scored.csv")


class WeightsFileError(SeecgnetError, ValueError):
    """One of the challenge's tables (weights.csv, the diagnosis table) is missing or malformed."""


@dataclass(frozen=True)
class ScoredClasses:
    """The scored classes in the challenge's order, and the reward weights between them.

    ``codes`` holds one representative code per class (24 for the 2020 table); ``weights[i, j]`` is the
    reward for predicting class ``j`` when class ``i`` is true.
    """

    codes: tuple[str, ...]
    weights: np.ndarray
    equivalents: tuple[tuple[str, str], ...] = EQUIVALENT_CODES
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.weights.shape != (len(self.codes), len(self.codes)):
            raise WeightsFileError(
                f"weights are {self.weights.shape} for {len(self.codes)} classes"
            )
        index = {code: i for i, code in enumerate(self.codes)}
        for kept, folded in self.equivalents:
            if kept in index:
                index[folded] = index[kept]
        object.__setattr__(self, "_index", index)

    def __len__(self) -> int:
        return len(self.codes)

    @property
    def normal_index(self) -> int:
        return self._index[NORMAL_CODE]

    def index_of(self, code: str) -> int | None:
        """The class index of a code (equivalent codes share one), or None for an unscored code."""
        return self._index.get(code.strip())

    def is_scored(self, code: str) -> bool:
        return code.strip() in self._index

    def encode(self, codes: Iterable[str]) -> np.ndarray:
        """Multi-hot vector (bool, one entry per class) of the scored classes among ``codes``."""
        vector = np.zeros(len(self.codes), dtype=bool)
        for code in codes:
            i = self._index.get(code.strip())
            if i is not None:
                vector[i] = True
        return vector

    def encode_many(self, code_lists: Iterable[Iterable[str]]) -> np.ndarray:
        """Multi-hot matrix (records × classes, bool)."""
        rows = [self.encode(codes) for codes in code_lists]
        if not rows:
            return np.zeros((0, len(self.codes)), dtype=bool)
        return np.stack(rows)


def load_scored_classes(path: str | Path = DEFAULT_WEIGHTS_PATH) -> ScoredClasses:
    """Read a challenge ``weights.csv`` and fold the equivalent codes into one class each."""
    path = Path(path)
    try:
        with path.open(newline="") as handle:
            rows = [row for row in csv.reader(handle) if row]
    except OSError as error:
        raise WeightsFileError(f"cannot read weights file {path}: {error.strerror}") from error
    if len(rows) < 2:
        raise WeightsFileError(f"{path}: expected a header row and one row per class")
    header = [cell.strip() for cell in rows[0][1:]]
    row_codes = [row[0].strip() for row in rows[1:]]
    if header != row_codes:
        raise WeightsFileError(f"{path}: the row codes differ from the column codes")
    try:
        table = np.array([[float(cell) for cell in row[1:]] for row in rows[1:]])
    except ValueError as error:
        raise WeightsFileError(f"{path}: {error}") from error
    if table.shape != (len(header), len(header)):
        raise WeightsFileError(f"{path}: the table is {table.shape}, not square")

    folded = {second for first, second in EQUIVALENT_CODES if first in header}
    keep = [i for i, code in enumerate(header) if code not in folded]
    codes = tuple(header[i] for i in keep)
    return ScoredClasses(codes=codes, weights=table[np.ix_(keep, keep)])


@dataclass(frozen=True)
class Diagnosis:
    """One row of the challenge's table of scored diagnoses."""

    code: str
    abbreviation: str
    name: str  # as the table writes it, in lower case: "1st degree av block"


@functools.cache
def scored_diagnoses(path: Path = DIAGNOSIS_TABLE_PATH) -> dict[str, Diagnosis]:
    """The challenge's table of scored diagnoses by SNOMED CT code, in the table's order."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as error:
        raise WeightsFileError(
            f"cannot read the diagnosis table {path}: {error.strerror}"
        ) from error
    try:
        return {
            row["SNOMED CT Code"].strip(): Diagnosis(
                row["SNOMED CT Code"].strip(), row["Abbreviation"].strip(), row["Dx"].strip()
            )
            for row in rows
        }
    except (KeyError, AttributeError) as error:
        raise WeightsFileError(
            f"{path}: expected the columns Dx, SNOMED CT Code, Abbreviation"
        ) from error
