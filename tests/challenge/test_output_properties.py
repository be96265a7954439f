"""Properties of the output-file reader: any file gives clean outputs or the project's own error."""

import logging
import string
from pathlib import Path

import numpy as np
import pytest
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
BITS = st.sampled_from(["1", "0", "T", "t", "True", "true", "f", "F", " 1 ", "x", ""])
VALUES = st.one_of(
    st.sampled_from(["nan", "inf", "-0.0", "x", "", " 0.25 ", "1e-3", "1_0", "0x1"]),
    st.floats(-2.0, 2.0, allow_nan=False).map(repr),
)
DAMAGE = st.one_of(
    st.sampled_from(["", "  ", "#A0001", "  # a note", "1,0,1", "0.5"]),
    st.text(alphabet=string.printable, max_size=40),
)


@st.composite
def output_files(draw: st.DrawFn, damaged: bool = True) -> str:
    """The text of an output file: three lines of values as wide as each other, naming scored,
    equivalent and unscored codes, perhaps with a damaged or extra line put anywhere."""
    width = draw(st.integers(1, 30))
    lines = [
        ",".join(draw(st.lists(st.sampled_from(CODES), min_size=width, max_size=width))),
        ",".join(draw(st.lists(BITS, min_size=width, max_size=width))),
        ",".join(draw(st.lists(VALUES, min_size=width, max_size=width))),
    ]
    for line in draw(st.lists(DAMAGE, max_size=2)) if damaged else ():
        lines.insert(draw(st.integers(0, len(lines))), line)
    return "\n".join(lines)


def _read(path: Path) -> tuple[np.ndarray, np.ndarray] | None:
    try:
        outputs = load_outputs([path], CLASSES)
    except OutputFileError as error:
        assert str(path) in str(error)
        return None
    return outputs.binary, outputs.scalar


def _content_lines(text: str) -> list[str]:
    """The lines that carry values, as Python's text mode splits a file: neither blank nor
    comments (a ``#`` after spaces)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return [line for line in lines if line.strip() and not line.strip().startswith("#")]


def _numbers(text: str) -> list[float]:
    """Every value of the text that Python's float reads as a number, NaN left out."""
    found = []
    for line in _content_lines(text):
        for token in line.split(","):
            try:
                value = float(token)
            except ValueError:
                continue
            if not np.isnan(value):
                found.append(value)
    return found


def _named_classes(text: str) -> np.ndarray:
    """The classes a file names in its line of class codes (the first line of values)."""
    lines = _content_lines(text)
    return CLASSES.encode(lines[0].split(",")) if lines else np.zeros(len(CLASSES), bool)


def _check_read_as_written(text: str, binary: np.ndarray, scalar: np.ndarray) -> None:
    """What any reading of an output file must respect, however it treats a malformed one: only
    classes the file names can be positive or have a score, and every score is one of the file's
    numbers or a mean of several (an equivalent pair's), where a value that is not a number reads
    as 0, as the official scorer reads it."""
    assert binary.shape == scalar.shape == (1, len(CLASSES)) and binary.dtype == bool
    named = _named_classes(text)
    assert not (binary[0] & ~named).any()
    assert not (scalar[0][~named]).any()
    numbers = [*_numbers(text), 0.0]
    given = scalar[0][scalar[0] != 0]
    if given.size:
        assert min(numbers) <= given.min() and given.max() <= max(numbers)


@SETTINGS
@given(text=st.one_of(TEXT, output_files()))
def test_arbitrary_text_reads_as_its_own_values_or_the_projects_own_error(tmp_path, text):
    path = tmp_path / "A0001.csv"
    path.write_text(text, encoding="utf-8", newline="")
    result = _read(path)
    if result is not None:
        _check_read_as_written(text, *result)


@SETTINGS
@given(data=st.binary(max_size=400))
def test_bytes_that_are_not_utf8_are_the_projects_own_error_naming_the_file(tmp_path, data):
    path = tmp_path / "A0001.csv"
    path.write_bytes(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        with pytest.raises(OutputFileError, match=r"A0001\.csv.*not UTF-8"):
            load_outputs([path], CLASSES)
        return
    result = _read(path)
    if result is not None:
        _check_read_as_written(text, *result)


@SETTINGS
@given(
    text=st.one_of(output_files(damaged=False), output_files(), TEXT),
    inserted=st.lists(
        st.tuples(st.integers(0, 50), st.sampled_from(["", "  ", "#x", " # y,1,2", "\t#"])),
        max_size=4,
    ),
)
def test_comment_and_blank_lines_anywhere_change_nothing(tmp_path, text, inserted):
    lines = text.split("\n")
    for position, line in inserted:
        lines.insert(min(position, len(lines)), line)
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text(text, encoding="utf-8", newline="")
    second.write_text("\n".join(lines), encoding="utf-8", newline="")
    a, b = _read(first), _read(second)
    assert (a is None) == (b is None)
    if a is not None:
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])


@SETTINGS
@given(
    lines=st.lists(
        st.lists(
            st.sampled_from(["1", "0", "T", "f", "nan", " 0.5 ", "x", "", "1e-3"]),
            min_size=len(CLASSES),
            max_size=len(CLASSES),
        ),
        min_size=2,
        max_size=2,
    )
)
def test_value_lines_as_wide_as_the_classes_read_value_by_value(tmp_path, lines):
    path = tmp_path / "A0001.csv"
    path.write_text("\n".join(["#A0001", ",".join(CLASSES.codes), *(",".join(v) for v in lines)]))
    result = _read(path)
    assert result is not None  # valid UTF-8 text is never an error
    binary, scalar = result
    bits, values = lines
    expected_bits = [token.strip() in ("1", "True", "true", "T", "t") for token in bits]
    np.testing.assert_array_equal(binary[0], expected_bits)
    np.testing.assert_array_equal(scalar[0], [_number_or_zero(value) for value in values])


def _number_or_zero(token: str) -> float:
    """A scalar value as the challenge reads it: what float makes of it, 0 for NaN or words."""
    try:
        value = float(token)
    except ValueError:
        return 0.0
    return 0.0 if np.isnan(value) else value


@SETTINGS
@given(
    order=st.permutations(range(len(CLASSES))),
    labels=st.lists(st.booleans(), min_size=len(CLASSES), max_size=len(CLASSES)),
    values=st.lists(st.floats(0.0, 1.0, width=32), min_size=len(CLASSES), max_size=len(CLASSES)),
    true_token=st.sampled_from(["1", "True", "true", "T", "t"]),
    false_token=st.sampled_from(["0", "False", "f", "F", "no"]),
    number=st.sampled_from(["{!r}", "{:.17g}", "{:e}", " {!r} "]),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    name_line=st.booleans(),
)
def test_files_written_in_any_valid_style_read_exactly(
    tmp_path, order, labels, values, true_token, false_token, number, newline, name_line
):
    codes = [CLASSES.codes[i] for i in order]
    rows = [
        ", ".join(codes),
        ",".join(true_token if label else false_token for label in labels),
        ",".join(number.format(float(v)) for v in values),
    ]
    text = newline.join(["#A0001"] * name_line + ["", *rows, ""])
    path = tmp_path / "A0001.csv"
    path.write_text(text, encoding="utf-8", newline="")
    binary, scalar = _read(path)
    expected_binary = np.zeros(len(CLASSES), dtype=bool)
    expected_scalar = np.zeros(len(CLASSES))
    expected_binary[list(order)] = labels
    expected_scalar[list(order)] = [float(number.format(float(v))) for v in values]
    np.testing.assert_array_equal(binary[0], expected_binary)
    np.testing.assert_array_equal(scalar[0], expected_scalar)


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
