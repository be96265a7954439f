"""Writing challenge output files, and reading them as the official 2020 scorer does."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from seecgnet.challenge.classes import ScoredClasses, load_scored_classes
from seecgnet.challenge.outputs import OutputFileError, load_outputs, write_output

CLASSES = load_scored_classes()
RBBB, CRBBB = "59118001", "713427006"  # an equivalent pair; 713427006 represents it
AF, IAVB, SINUS = "164889003", "270492004", "426783006"
UNSCORED = "164865005"


def column(code: str, classes: ScoredClasses = CLASSES) -> int:
    index = classes.index_of(code)
    assert index is not None
    return index


def read_one(tmp_path: Path, text: str, name: str = "A0001.csv") -> tuple[np.ndarray, np.ndarray]:
    """Write ``text`` as an output file and read it back: (binary, scalar) of its one recording."""
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    outputs = load_outputs([path], CLASSES)
    return outputs.binary[0], outputs.scalar[0]


def test_written_outputs_read_back_exactly(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    order = rng.permutation(len(CLASSES))
    codes = [CLASSES.codes[i] for i in order]
    probabilities = rng.random(len(codes)).astype(np.float32)  # as a network writes them
    labels = probabilities > 0.5
    path = tmp_path / "A0001.csv"
    write_output(path, "A0001", codes, labels, probabilities)

    outputs = load_outputs([path], CLASSES)
    assert path.read_text().startswith("#A0001\n")
    assert np.array_equal(outputs.binary[0, order], labels)
    assert np.array_equal(outputs.scalar[0, order], probabilities.astype(np.float64))


def test_write_output_refuses_mismatched_lengths(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="2 classes, 3 labels"):
        write_output(tmp_path / "x.csv", "x", [AF, SINUS], [0, 1, 0], [0.1, 0.2, 0.3])


def test_write_output_refuses_labels_other_than_0_and_1(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="0/1"):
        write_output(tmp_path / "x.csv", "x", [AF, SINUS], [0, 2], [0.1, 0.2])


def test_classes_may_come_in_any_order_and_unscored_ones_are_ignored(tmp_path: Path) -> None:
    binary, scalar = read_one(tmp_path, f"#A0001\n{SINUS},{UNSCORED},{AF}\n1,1,0\n0.7,0.9,0.2\n")
    assert np.flatnonzero(binary).tolist() == [column(SINUS)]
    expected = np.zeros(len(CLASSES))
    expected[[column(SINUS), column(AF)]] = [0.7, 0.2]
    assert np.array_equal(scalar, expected)


def test_equivalent_codes_listed_apart_combine_by_any_and_mean(tmp_path: Path) -> None:
    binary, scalar = read_one(tmp_path, f"{CRBBB},{RBBB}\n0,1\n0.2,0.6\n")
    assert binary[column(CRBBB)]
    assert scalar[column(CRBBB)] == (0.2 + 0.6) / 2
    assert binary.sum() == 1


def test_the_mean_of_equivalent_codes_skips_nan(tmp_path: Path) -> None:
    _, scalar = read_one(tmp_path, f"{CRBBB},{RBBB},{AF},{SINUS}\n0,0,0,0\nnan,0.4,nan,0.5\n")
    assert scalar[column(CRBBB)] == 0.4
    assert scalar[column(AF)] == 0.0  # NaN alone reads as 0


@pytest.mark.parametrize(
    ("token", "positive"),
    [
        ("1", True),
        ("True", True),
        ("true", True),
        ("T", True),
        ("t", True),
        (" 1 ", True),
        ("0", False),
        ("False", False),
        ("f", False),
        ("yes", False),
        ("", False),
    ],
)
def test_binary_values_are_positive_only_when_they_read_as_true(
    tmp_path: Path, token: str, positive: bool
) -> None:
    binary, _ = read_one(tmp_path, f"#A0001\n{AF},{SINUS}\n{token},0\n0.1,0.2\n")
    assert binary[column(AF)] == positive


@pytest.mark.parametrize(
    ("token", "value"),
    [(" 0.25 ", 0.25), ("1e-3", 1e-3), ("nan", 0.0), ("abc", 0.0), ("", 0.0), ("inf", np.inf)],
)
def test_scalar_values_read_as_python_floats_and_non_numbers_as_zero(
    tmp_path: Path, token: str, value: float
) -> None:
    _, scalar = read_one(tmp_path, f"#A0001\n{AF},{SINUS}\n0,0\n{token},0.5\n")
    assert scalar[column(AF)] == value
    assert scalar[column(SINUS)] == 0.5


def test_the_record_line_blank_lines_and_crlf_do_not_matter(tmp_path: Path) -> None:
    plain = read_one(tmp_path, f"{AF},{SINUS}\n1,0\n0.9,0.1", name="plain.csv")
    decorated = read_one(
        tmp_path, f"#A0001\r\n\r\n{AF},{SINUS}\r\n  \r\n1,0\r\n0.9,0.1\r\n", name="crlf.csv"
    )
    assert np.array_equal(plain[0], decorated[0])
    assert np.array_equal(plain[1], decorated[1])


def test_a_file_with_two_lines_is_all_negative_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="seecgnet.challenge.outputs"):
        binary, scalar = read_one(tmp_path, f"#A0001\n{AF},{SINUS}\n1,1\n", name="broken.csv")
    assert not binary.any()
    assert not scalar.any()
    assert len(caplog.records) == 1
    assert "broken.csv" in caplog.records[0].getMessage()


def test_a_line_without_enough_values_is_all_negative_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good = tmp_path / "good.csv"
    short = tmp_path / "short.csv"
    good.write_text(f"{AF},{SINUS}\n1,0\n0.9,0.1\n")
    short.write_text(f"{AF},{SINUS}\n1,0\n0.9\n")
    with caplog.at_level(logging.WARNING, logger="seecgnet.challenge.outputs"):
        outputs = load_outputs([good, short], CLASSES)
    assert outputs.binary[0, column(AF)]
    assert not outputs.binary[1].any()
    assert not outputs.scalar[1].any()
    assert [record.getMessage().count("short.csv") for record in caplog.records] == [1]


@pytest.mark.parametrize(
    "lines",
    [
        f"{AF},{UNSCORED}\n1\n0.75,0.5\n",  # binary line one value short
        f"{AF},{UNSCORED}\n1,0\n0.75,0.5,\n",  # scalar line one value long
        f"{AF},{SINUS}\n1,0\n0.75,0.5\n0.1,0.2,0.3\n",  # a fourth line of another width
    ],
)
def test_lines_of_values_of_different_widths_make_the_file_all_negative(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, lines: str
) -> None:
    # The official scorer: every line of values, a fourth one too, must be as wide as the others.
    with caplog.at_level(logging.WARNING, logger="seecgnet.challenge.outputs"):
        binary, scalar = read_one(tmp_path, lines, name="ragged.csv")
    assert not binary.any() and not scalar.any()
    assert "different widths" in caplog.text and "ragged.csv" in caplog.text


def test_a_fourth_line_of_the_same_width_is_passed_over(tmp_path: Path) -> None:
    binary, scalar = read_one(tmp_path, f"{AF},{SINUS}\n1,0\n0.75,0.5\n0,1\n# done\n9,9\n")
    assert np.flatnonzero(binary).tolist() == [column(AF)]
    assert scalar[column(AF)] == 0.75 and scalar[column(SINUS)] == 0.5


def test_a_code_listed_many_times_averages_its_values_exactly_as_numpy(tmp_path: Path) -> None:
    # numpy sums eight values or more pairwise, which rounds otherwise than one after another
    values = np.random.default_rng(1).random(9)  # a draw whose two sums differ
    listed = ",".join([AF] * 9)
    text = f"{listed}\n{','.join(['0'] * 9)}\n{','.join(map(repr, values.tolist()))}\n"
    _, scalar = read_one(tmp_path, text)
    assert scalar[column(AF)] == np.nanmean(values)
    three = values[:3].tolist()
    _, scalar = read_one(tmp_path, f"{AF},{AF},{AF}\n0,0,0\n{','.join(map(repr, three))}\n")
    assert scalar[column(AF)] == np.nanmean(three)


def test_many_files_sharing_a_class_line_read_as_each_alone(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    codes = [SINUS, UNSCORED, RBBB, AF, CRBBB, IAVB]
    paths, expected = [], []
    for i in range(50):
        probabilities = rng.random(len(codes))
        paths.append(tmp_path / f"R{i}.csv")
        write_output(paths[-1], f"R{i}", codes, probabilities > 0.5, probabilities)
        expected.append(load_outputs([paths[-1]], CLASSES))
    together = load_outputs(paths, CLASSES)
    assert np.array_equal(together.binary, np.vstack([one.binary for one in expected]))
    assert np.array_equal(together.scalar, np.vstack([one.scalar for one in expected]))


def test_files_each_in_their_own_class_order_read_together_as_each_alone(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    codes = [*CLASSES.codes, UNSCORED, RBBB, "63593006"]
    paths, expected = [], []
    for i in range(40):
        listed = [codes[j] for j in rng.permutation(len(codes))][: rng.integers(1, len(codes))]
        values = rng.random(len(listed))
        values[rng.random(len(listed)) < 0.1] = np.nan
        paths.append(tmp_path / f"R{i}.csv")
        write_output(paths[-1], f"R{i}", listed, values > 0.5, values)
        if i % 7 == 0:  # a short scalar line: this file is all negative
            lines = paths[-1].read_text().splitlines()
            paths[-1].write_text("\n".join([*lines[:3], lines[3].rsplit(",", 1)[0]]) + "\n")
        expected.append(load_outputs([paths[-1]], CLASSES))
    together = load_outputs(paths, CLASSES)
    assert np.array_equal(together.binary, np.vstack([one.binary for one in expected]))
    assert np.array_equal(together.scalar, np.vstack([one.scalar for one in expected]))
    assert together.binary.any(axis=1).sum() > 20


def test_a_missing_file_is_an_output_file_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(OutputFileError, match=r"missing\.csv"):
        load_outputs([tmp_path / "missing.csv"], CLASSES)


def test_a_file_that_is_not_utf8_is_an_output_file_error(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes(b"#A0001\n164889003\n1\n0.5\xff\n")
    with pytest.raises(OutputFileError, match=r"latin\.csv"):
        load_outputs([path], CLASSES)
