"""Scoring folders of headers and output files, against the official 2020 scorer's results."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from seecgnet.challenge.classes import load_scored_classes
from seecgnet.challenge.scoring import (
    ChallengeFilesError,
    LabelFileError,
    evaluate_12ECG_score,
    find_recording_files,
    format_class_scores,
    format_scores,
    load_labels,
    score_directories,
)
from tests.paths import REFERENCE, ROOT

SCRIPT = ROOT / "evaluate_12ECG_score.py"
CASES = REFERENCE / "scorer_cases"
CASE_NAMES = ("real295", "synthetic500", "perfect", "always_normal")
OFFICIAL_ORDER = (
    "classes",
    "auroc",
    "auprc",
    "auroc_classes",
    "auprc_classes",
    "accuracy",
    "f_measure",
    "f_measure_classes",
    "f_beta_measure",
    "g_beta_measure",
    "challenge_metric",
)
CLASSES = load_scored_classes()
AF, IAVB, SINUS, RBBB, CRBBB = "164889003", "270492004", "426783006", "59118001", "713427006"


def reference_case(name: str) -> Path:
    case = CASES / name
    if not (case / "expected.json").exists():
        pytest.skip(f"shared scorer case {name} is absent")
    return case


def write_header(path: Path, dx: str, *, extra: str = "") -> None:
    path.write_text(
        f"{path.stem} 12 500 5000\n{path.stem}.mat 16+24 1000/mV 16 0 0 0 0 I\n"
        f"#Age: 60\n#Sex: Female\n{extra}#Dx: {dx}\n#Rx: Unknown\n"
    )


@pytest.fixture
def tiny_case(tmp_path: Path) -> tuple[Path, Path]:
    """Three recordings: labels AF / IAVB+RBBB / sinus rhythm, with imperfect outputs."""
    labels, outputs = tmp_path / "labels", tmp_path / "outputs"
    labels.mkdir()
    outputs.mkdir()
    rows = {
        "A1": (AF, "1,0,0", "0.9,0.2,0.1"),
        "A2": (f"{IAVB},{RBBB}", "0,1,1", "0.3,0.8,0.6"),
        "A3": (SINUS, "1,0,0", "0.6,0.1,0.4"),
    }
    for name, (dx, binary, scalar) in rows.items():
        write_header(labels / f"{name}.hea", dx)
        (outputs / f"{name}.csv").write_text(f"#{name}\n{AF},{IAVB},{CRBBB}\n{binary}\n{scalar}\n")
    return labels, outputs


@pytest.mark.parametrize("name", CASE_NAMES)
def test_every_value_equals_the_official_scorer(name: str) -> None:
    case = reference_case(name)
    expected = json.loads((case / "expected.json").read_text())
    assert tuple(key for key in expected if key != "official_seconds") == OFFICIAL_ORDER

    result = evaluate_12ECG_score(case / "labels", case / "outputs")
    assert len(result) == len(OFFICIAL_ORDER)
    for key, value in zip(OFFICIAL_ORDER, result, strict=True):
        if key == "classes":
            assert value == expected[key]
            continue
        wanted = np.array(expected[key], dtype=np.float64)  # null (NaN) becomes nan
        assert np.array_equal(value, wanted, equal_nan=True), key  # to the last bit


@pytest.mark.parametrize("name", CASE_NAMES)
def test_the_script_writes_files_byte_identical_to_the_official(name: str, tmp_path: Path) -> None:
    case = reference_case(name)
    scores, class_scores = tmp_path / "scores.csv", tmp_path / "class_scores.csv"
    run = run_script(case / "labels", case / "outputs", scores, class_scores)
    assert run.returncode == 0, run.stderr
    assert scores.read_bytes() == (case / "scores.csv").read_bytes()
    assert class_scores.read_bytes() == (case / "class_scores.csv").read_bytes()


def test_tiny_case_scores_by_hand(tiny_case: tuple[Path, Path]) -> None:
    scores = score_directories(*tiny_case, CLASSES)
    af, iavb, crbbb = (CLASSES.index_of(code) for code in (AF, IAVB, CRBBB))
    # A1 right; A2 right (RBBB folds into CRBBB); A3 says AF for sinus rhythm
    assert scores.accuracy == pytest.approx(2 / 3)
    assert scores.f_measure_classes[af] == pytest.approx(2 / 3)
    assert scores.f_measure_classes[iavb] == 1.0
    assert scores.f_measure_classes[crbbb] == 1.0
    assert scores.f_measure_classes[CLASSES.normal_index] == 0.0
    assert scores.auroc_classes[af] == 1.0  # 0.9 for the AF recording, at most 0.6 otherwise
    assert math.isnan(scores.auroc_classes[CLASSES.index_of("164890007")])


def test_the_evaluate_function_is_importable_from_the_top_level_script() -> None:
    from evaluate_12ECG_score import evaluate_12ECG_score as top_level

    assert top_level is evaluate_12ECG_score


def test_a_missing_output_file_names_both_files(tiny_case: tuple[Path, Path]) -> None:
    labels, outputs = tiny_case
    (outputs / "A2.csv").unlink()
    with pytest.raises(ChallengeFilesError, match=r"A2\.csv.*A2\.hea"):
        evaluate_12ECG_score(labels, outputs)


def test_an_empty_labels_folder_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "notes.txt").write_text("no headers here")
    with pytest.raises(ChallengeFilesError, match="no label headers"):
        find_recording_files(tmp_path / "labels", tmp_path)


def test_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ChallengeFilesError, match="does not exist"):
        find_recording_files(tmp_path / "nowhere", tmp_path)


def test_headers_are_matched_by_name_skipping_hidden_and_other_files(tmp_path: Path) -> None:
    for name in ("B2.hea", "A1.HEA", ".hidden.hea", "notes.txt", "C3.mat"):
        (tmp_path / name).write_text("#Dx: 164889003\n")
    for name in ("A1.csv", "B2.csv", "extra.csv"):
        (tmp_path / name).write_text("")
    files = find_recording_files(tmp_path, tmp_path)
    assert files.names == ("A1", "B2")
    assert [Path(path).name for path in files.output_paths] == ["A1.csv", "B2.csv"]


def test_labels_come_only_from_the_dx_line_with_equivalents_folded(tmp_path: Path) -> None:
    first, second, third = tmp_path / "a.hea", tmp_path / "b.hea", tmp_path / "c.hea"
    write_header(first, f"{RBBB},164865005", extra=f"#Rx: {AF}\n# Dx: {IAVB}\n")
    write_header(second, f"{AF}, {SINUS},{IAVB}")
    second.write_text(second.read_text().replace("\n", "\r\n"))
    write_header(third, "")
    labels = load_labels([first, second, third], CLASSES)
    assert labels.dtype == bool and labels.shape == (3, 24)
    assert np.flatnonzero(labels[0]).tolist() == [CLASSES.index_of(CRBBB)]
    assert np.flatnonzero(labels[1]).tolist() == sorted(
        CLASSES.index_of(code) for code in (AF, SINUS, IAVB)
    )
    assert not labels[2].any()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a 12 500 5000\n#Age: 60\n", "has 0 #Dx lines"),
        (f"a 12 500 5000\n#Dx: {AF}\r#Dx: {IAVB}\n", "has 2 #Dx lines"),
        (f"a 12 500 5000\n#Sex: F\xe9minin\n#Dx: {AF}\n", "not UTF-8"),
    ],
)
def test_a_header_without_one_readable_dx_line_is_a_label_file_error(
    tmp_path: Path, text: str, problem: str
) -> None:
    # The official scorer fails on these, or gives later recordings each other's labels.
    path = tmp_path / "a.hea"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(LabelFileError, match=rf"a\.hea.*{problem}"):
        load_labels([path], CLASSES)


def test_a_dx_line_without_its_separator_is_a_label_file_error(tmp_path: Path) -> None:
    path = tmp_path / "a.hea"
    path.write_text("a 12 500 5000\n#Dx:164889003\n")
    with pytest.raises(LabelFileError, match=r"a\.hea"):
        load_labels([path], CLASSES)


def test_score_files_have_the_official_layout(tiny_case: tuple[Path, Path]) -> None:
    scores = score_directories(*tiny_case, CLASSES)
    table = format_scores(scores).split("\n")
    assert table[0] == "AUROC,AUPRC,Accuracy,F-measure,Fbeta-measure,Gbeta-measure,Challenge metric"
    assert table[1].split(",")[2] == "0.667"
    rows = format_class_scores(scores).split("\n")
    assert [row.split(",")[0] for row in rows] == ["Classes", "AUROC", "AUPRC", "F-measure"]
    assert rows[0].split(",")[1:] == list(CLASSES.codes)
    assert "nan" in rows[1]  # classes without positive labels


# The command line, run as the challenge runs it.


def run_script(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )


def test_two_arguments_print_the_scores_table(tiny_case: tuple[Path, Path], tmp_path: Path) -> None:
    run = run_script(*tiny_case, cwd=tmp_path)  # no weights.csv here: the script's own is used
    assert run.returncode == 0, run.stderr
    assert run.stdout == format_scores(score_directories(*tiny_case, CLASSES)) + "\n"


def test_four_arguments_write_both_files_without_a_final_newline(
    tiny_case: tuple[Path, Path], tmp_path: Path
) -> None:
    scores, class_scores = tmp_path / "scores.csv", tmp_path / "class_scores.csv"
    run = run_script(*tiny_case, scores, class_scores)
    assert run.returncode == 0, run.stderr
    assert run.stdout == ""
    expected = score_directories(*tiny_case, CLASSES)
    assert scores.read_bytes() == format_scores(expected).encode()
    assert class_scores.read_bytes() == format_class_scores(expected).encode()
    assert not scores.read_bytes().endswith(b"\n")


@pytest.mark.parametrize(
    ("mistake", "message"),
    [
        ("missing_folder", "does not exist"),
        ("missing_output", "not found"),
        ("bad_weights", "weights"),
    ],
)
def test_user_mistakes_give_one_line_on_stderr_and_the_usage_exit_code(
    tiny_case: tuple[Path, Path], tmp_path: Path, mistake: str, message: str
) -> None:
    labels, outputs = tiny_case
    args: list[str | Path] = [labels, outputs]
    if mistake == "missing_folder":
        args = [tmp_path / "nowhere", outputs]
    elif mistake == "missing_output":
        (outputs / "A3.csv").unlink()
    else:
        args += ["--weights", tmp_path / "no-weights.csv"]
    run = run_script(*args)
    assert run.returncode == 2  # as in the other scripts: 2 says "fix the call or its inputs"
    assert run.stdout == ""
    assert len(run.stderr.strip().splitlines()) == 1
    assert message in run.stderr
    assert "Traceback" not in run.stderr


def test_help_describes_the_arguments() -> None:
    run = run_script("--help")
    assert run.returncode == 0
    assert "--weights" in run.stdout and "class_scores_csv" in run.stdout
