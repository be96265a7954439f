"""Properties of the output-file reader: any file gives clean outputs or the project's own error."""

import logging
import string
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seecgnet.challenge.classes import EQUIVALENT_CODES, load_scored_classes
from seecgnet.challenge.outputs import OutputFileError, load_outputs, write_output

CLASSES = load_scored_classes()
# every code a file may name: the scored ones, the folded equivalents and a few unscored ones
CODES = [*CLASSES.codes, *(folded for _, folded in EQUIVALENT_CODES), "164951009", "17338001x"]
SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
TEXT = st.text(alphabet=string.printable + "éü\u00a0\ufeff", max_size=600)


def _read(path: Path) -> tuple[np.ndarray, np.ndarray] | None:
    try:
        outputs = load_outputs([path], CLASSES)
    except OutputFileError as error:
        assert str(path) in str(error)
        return None
    return outputs.binary, outputs.scalar


@SETTINGS
@given(text=TEXT)
def test_arbitrary_text_reads_as_outputs_or_the_projects_own_error(tmp_path, text):
    path = tmp_path / "A0001.csv"
    path.write_text(text, encoding="utf-8", newline="")
    result = _read(path)
    if result is not None:
        binary, scalar = result
        assert binary.shape == scalar.shape == (1, len(CLASSES))
        assert binary.dtype == bool and np.isfinite(scalar).all()


@SETTINGS
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes_read_as_outputs_or_the_projects_own_error(tmp_path, data):
    path = tmp_path / "A0001.csv"
    path.write_bytes(data)
    _read(path)


@SETTINGS
@given(
    lines=st.lists(
        st.lists(
            st.sampled_from(["1", "0", "T", "f", "nan", " 0.5 ", "x", "", "1e-3"]), max_size=30
        ),
        max_size=5,
    )
)
def test_damaged_value_lines_read_as_outputs_or_all_negative_with_a_warning(tmp_path, lines):
    header = ",".join(CLASSES.codes)
    path = tmp_path / "A0001.csv"
    path.write_text("\n".join(["#A0001", header, *(",".join(line) for line in lines)]))
    result = _read(path)
    assert result is not None  # valid UTF-8 text is never an error, at worst all negative
    binary, scalar = result
    assert np.isfinite(scalar).all() and binary.shape == (1, len(CLASSES))


@SETTINGS
@given(
    order=st.permutations(range(len(CLASSES))),
    labels=st.lists(st.booleans(), min_size=len(CLASSES), max_size=len(CLASSES)),
    probabilities=st.lists(
        st.floats(0.0, 1.0, allow_nan=False, width=64), min_size=len(CLASSES), max_size=len(CLASSES)
    ),
    name=st.text(alphabet=string.ascii_letters + string.digits + "_", min_size=1, max_size=12),
)
def test_every_valid_file_round_trips_exactly(tmp_path, order, labels, probabilities, name):
    codes = [CLASSES.codes[i] for i in order]
    path = tmp_path / f"{name}.csv"
    write_output(path, name, codes, np.array(labels), np.array(probabilities))
    binary, scalar = _read(path)
    # back in the classes' own order, exactly as written
    expected_binary = np.zeros(len(CLASSES), dtype=bool)
    expected_scalar = np.zeros(len(CLASSES))
    expected_binary[list(order)] = labels
    expected_scalar[list(order)] = probabilities
    np.testing.assert_array_equal(binary[0], expected_binary)
    np.testing.assert_array_equal(scalar[0], expected_scalar)


def test_a_malformed_file_warns_once_and_reads_all_negative(tmp_path, caplog):
    path = tmp_path / "A0001.csv"
    path.write_text("#A0001\n" + ",".join(CLASSES.codes))
    with caplog.at_level(logging.WARNING):
        binary, scalar = _read(path)
    assert not binary.any() and not scalar.any()
    assert sum("A0001.csv" in r.getMessage() for r in caplog.records) == 1
