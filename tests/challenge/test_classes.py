"""The scored classes read from the project's weights.csv."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from seecgnet.challenge.classes import (
    DEFAULT_WEIGHTS_PATH,
    EQUIVALENT_CODES,
    NORMAL_CODE,
    WeightsFileError,
    load_scored_classes,
)
from tests.paths import REFERENCE

SHARED_WEIGHTS = REFERENCE / "weights.csv"


def read_table(path: Path) -> tuple[list[str], np.ndarray]:
    with path.open(newline="") as handle:
        rows = [row for row in csv.reader(handle) if row]
    return [code.strip() for code in rows[0][1:]], np.array(
        [[float(cell) for cell in row[1:]] for row in rows[1:]]
    )


def test_the_2020_table_scores_24_classes_in_its_own_order() -> None:
    classes = load_scored_classes()
    header, _ = read_table(DEFAULT_WEIGHTS_PATH)
    folded = {second for _, second in EQUIVALENT_CODES}
    assert len(classes) == 24
    assert classes.codes == tuple(code for code in header if code not in folded)
    assert classes.weights.shape == (24, 24)
    assert np.allclose(np.diag(classes.weights), 1.0)


def test_equivalent_codes_share_the_index_of_the_code_listed_first() -> None:
    classes = load_scored_classes()
    for kept, folded in EQUIVALENT_CODES:
        assert classes.index_of(folded) == classes.index_of(kept)
        assert classes.codes[classes.index_of(kept)] == kept
        assert folded not in classes.codes


def test_unscored_codes_have_no_index() -> None:
    classes = load_scored_classes()
    assert classes.index_of("164865005") is None
    assert not classes.is_scored("164865005")
    assert classes.index_of(" 164889003 ") == classes.codes.index("164889003")


def test_sinus_rhythm_is_the_normal_class() -> None:
    classes = load_scored_classes()
    assert classes.codes[classes.normal_index] == NORMAL_CODE


def test_encode_marks_scored_classes_and_folds_equivalents() -> None:
    classes = load_scored_classes()
    vector = classes.encode(["59118001", "164865005", "426783006"])
    assert vector.dtype == bool
    assert np.flatnonzero(vector).tolist() == sorted(
        [classes.index_of("713427006"), classes.normal_index]
    )
    matrix = classes.encode_many([["164889003"], [], ["63593006", "284470004"]])
    assert matrix.shape == (3, 24)
    assert matrix.sum(axis=1).tolist() == [1, 0, 1]


@pytest.mark.skipif(not SHARED_WEIGHTS.exists(), reason="shared reference tables are absent")
def test_the_project_weights_are_the_challenges_published_weights() -> None:
    project_codes, project_values = read_table(DEFAULT_WEIGHTS_PATH)
    shared_codes, shared_values = read_table(SHARED_WEIGHTS)
    assert project_codes == shared_codes
    assert np.array_equal(project_values, shared_values)


def test_a_weights_file_whose_rows_and_columns_differ_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "weights.csv"
    path.write_text(",A,B\nA,1,0\nC,0,1\n")
    with pytest.raises(WeightsFileError, match="row codes differ"):
        load_scored_classes(path)


def test_a_missing_weights_file_is_refused_with_its_path(tmp_path: Path) -> None:
    with pytest.raises(WeightsFileError, match=r"missing\.csv"):
        load_scored_classes(tmp_path / "missing.csv")
