"""The scorer against the official 2020 scorer, on generated label and output folders.

Each example writes a folder of label headers and a folder of output files, well-formed or
malformed in the ways a file can be (lines of values missing or one too many, lines of unequal
width, blank, comment and whitespace lines, CRLF and CR line ends, a byte-order mark, spaces around
values, words and odd numbers where numbers belong, empty files, codes listed twice, unscored codes,
the equivalent pairs apart, missing output files, headers with a broken ``#Dx`` line or bytes that
are not UTF-8, hidden and upper-case names) over label sets that are ordinary or degenerate (all
sinus rhythm, no scored class, one class for every recording). Both scorers score it:

- where the official scorer returns scores, ours must return the same values to the last bit, and
  ``evaluate_12ECG_score.py`` must write the same ``scores.csv`` and ``class_scores.csv`` byte for
  byte as the official script;
- where the official scorer raises, ours must end with one of its own errors naming the file, and
  the script with exit code 2 and no file written;
- one documented difference: a header whose ``#Dx`` line is missing or repeated. The official
  scorer collects the ``#Dx`` lines of all headers in one list and gives the i-th to the i-th
  recording, so such a header shifts every later recording's labels onto the wrong recording (or
  ends in an IndexError); ours refuses it with a LabelFileError naming the header.

The official scorer is run from ``../shared/reference/official_scorer`` (its README says how) and
the test skips where that folder is absent.
"""

from __future__ import annotations

import contextlib
import functools
import io
import random
import struct
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evaluate_12ECG_score import main as our_script
from seecgnet.challenge.classes import EQUIVALENT_CODES, NORMAL_CODE, load_scored_classes
from seecgnet.challenge.outputs import OutputFileError, load_outputs
from seecgnet.challenge.scoring import (
    ChallengeFilesError,
    LabelFileError,
    evaluate_12ECG_score,
    find_recording_files,
    load_labels,
)
from tests.paths import REFERENCE

OFFICIAL = REFERENCE / "official_scorer"
OFFICIAL_SCRIPT = OFFICIAL / "evaluate_12ECG_score.py"
pytestmark = pytest.mark.skipif(
    not (OFFICIAL_SCRIPT.exists() and (OFFICIAL / "weights.csv").exists()),
    reason="the official 2020 scorer (../shared/reference/official_scorer) is absent",
)

CLASSES = load_scored_classes()
OUR_ERRORS = (ChallengeFilesError, LabelFileError, OutputFileError)
RESULT_NAMES = (
    "classes", "auroc", "auprc", "auroc_classes", "auprc_classes", "accuracy", "f_measure",
    "f_measure_classes", "f_beta_measure", "g_beta_measure", "challenge_metric",
)  # fmt: skip
# Settings for CI: a fixed set of examples, the same on every run.
EXAMPLES = settings(
    max_examples=300,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Codes a file may name: the 27 of weights.csv (the folded equivalents among them), often; unscored
# codes, sinus rhythm with spaces around it, a word and nothing, now and then.
WEIGHT_CODES = (*CLASSES.codes, *(folded for _, folded in EQUIVALENT_CODES))
ODD_CODES = ("164865005", "55930002", " 426783006", "426783006\t", "Unknown", "")
CODES = st.one_of(
    st.sampled_from(WEIGHT_CODES), st.sampled_from(WEIGHT_CODES), st.sampled_from(ODD_CODES)
)
BINARY_TOKENS = (
    "1", "0", "1", "0", "True", "true", "T", "t", "False", "F", " 1", "1 ", "", "yes", "1.0", "TRUE",
)  # fmt: skip
ODD_SCALARS = (
    "nan", "NaN", "-inf", "inf", "Infinity", " 0.5 ", "1e-3", "abc", "", "1_0", "\u0663", ".5", "5.",
    "-0", "1e400", "-1e400", "0x10", "+1E+2", "1e-320", "0.1\x0b", "１",
)  # fmt: skip
TIED_SCALARS = (0.0, 0.1, 0.25, 0.5, 1.0)


def any_scalar(rng: random.Random) -> str:
    """A scalar output as a file may hold it: a value shared with other recordings (a tie), a
    probability, any float at all (NaN, infinities and subnormals among them), or odd text."""
    kind = rng.randrange(4)
    if kind == 0:
        return repr(rng.choice(TIED_SCALARS))
    if kind == 1:
        return repr(rng.random())
    if kind == 2:
        return repr(struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0])
    return rng.choice(ODD_SCALARS)


LINE_ENDS = ("\n", "\n", "\r\n", "\r")
FILLER_LINES = ("", "   ", "\t", "# a comment", "  #indented comment", "#", "\x0c")


def rarely(draw: st.DrawFn, one_in: int) -> bool:
    return draw(st.integers(0, one_in - 1)) == 0


@dataclass
class Case:
    """Files to write (path under the case folder → bytes), and what the case holds."""

    files: dict[str, bytes] = field(default_factory=dict)
    folders: list[str] = field(default_factory=list)
    dx_lines_per_header: list[int] = field(default_factory=list)


def dx_line_count(data: bytes) -> int:
    """The header's lines that begin with ``#Dx`` as the official scorer finds them (text mode)."""
    try:
        return sum(line.startswith("#Dx") for line in io.TextIOWrapper(io.BytesIO(data), "utf-8"))
    except UnicodeDecodeError:
        return 1  # the official scorer fails on the file anyway


def label_sets(draw: st.DrawFn, n: int) -> list[list[str]]:
    """The codes of each recording: ordinary, or one of the degenerate sets."""
    kind = draw(st.sampled_from(["mixed", "mixed", "mixed", "sinus", "unscored", "one class"]))
    if kind == "sinus":
        return [[NORMAL_CODE] for _ in range(n)]
    if kind == "unscored":
        return [draw(st.lists(st.sampled_from(ODD_CODES), max_size=2)) for _ in range(n)]
    if kind == "one class":
        code = draw(st.sampled_from(WEIGHT_CODES))
        return [[code] for _ in range(n)]
    return [draw(st.lists(CODES, min_size=0, max_size=4)) for _ in range(n)]


def header_text(draw: st.DrawFn, name: str, codes: list[str], fault: str | None) -> bytes:
    """A challenge header whose ``#Dx`` line lists ``codes``, with the ``fault`` if one is named."""
    separator = draw(st.sampled_from([",", ", ", " ,"]))
    dx = "#Dx: " + separator.join(codes)
    lines = [f"{name} 12 500 5000", f"{name}.mat 16+24 1000/mV 16 0 0 0 0 I", "#Age: 60"]
    lines += ["#Sex: Female", dx, "#Rx: Unknown"]
    at = lines.index(dx)
    if fault == "no #Dx line":
        del lines[at]
    elif fault == "two #Dx lines":
        lines.append(f"#Dx: {NORMAL_CODE}")
    elif fault == "no ': ' after #Dx":
        lines[at] = "#Dx:" + ",".join(codes)
    elif rarely(draw, 10):
        lines[at] = dx + f": {NORMAL_CODE}"  # the official reads up to the next ': '
    if rarely(draw, 10):
        lines.insert(2, "# Dx: 164889003")  # not a #Dx line
    data = (draw(st.sampled_from(LINE_ENDS)).join(lines) + "\n").encode("utf-8")
    if fault == "header not UTF-8":
        data = data.replace(b"Female", b"F\xe9minin")
    return data


def values_line(draw: st.DrawFn, token: Callable[[], str], width: int) -> str:
    """A line of ``token()`` values, now and then one value short or long."""
    width = max(width + draw(st.sampled_from([0] * 12 + [-1, 1])), 0)
    return ",".join(token() for _ in range(width))


def tidy_output_text(rng: random.Random, name: str) -> bytes:
    """A well-formed output file listing all 27 codes in its own order, about a third positive."""
    codes = rng.sample(WEIGHT_CODES, len(WEIGHT_CODES))
    binary = ["1" if rng.random() < 0.3 else "0" for _ in codes]
    scalar = [repr(rng.choice(TIED_SCALARS) if rng.random() < 0.3 else rng.random()) for _ in codes]
    lines = [f"#{name}", ",".join(codes), ",".join(binary), ",".join(scalar)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def output_text(draw: st.DrawFn, name: str, fault: str | None) -> bytes:
    """An output file as an entry might write it, or might get wrong."""
    if rarely(draw, 40):
        return b""
    codes = draw(st.lists(CODES, min_size=1, max_size=10))
    # The values come from a generator seeded by the example: drawing each of them through
    # hypothesis would take most of the test's time.
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    scalar = functools.partial(any_scalar, rng)
    if rarely(draw, 6):  # one class listed many times: its values are averaged, to the bit
        codes += [draw(st.sampled_from(WEIGHT_CODES))] * draw(st.integers(7, 12))
        scalar = lambda: repr(rng.random())  # noqa: E731 - values that round when summed
    width = len(codes)
    lines = [",".join(codes)]
    lines.append(values_line(draw, lambda: rng.choice(BINARY_TOKENS), width))
    lines.append(values_line(draw, scalar, width))
    if rarely(draw, 8):  # a fourth line of values
        lines.append(values_line(draw, scalar, width))
    if rarely(draw, 15):  # lines missing
        lines = lines[: draw(st.integers(0, 2))]
    if not rarely(draw, 5):
        lines.insert(0, f"#{name}")
    for _ in range(draw(st.integers(0, 2)) if rarely(draw, 4) else 0):
        lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(FILLER_LINES)))
    text = draw(st.sampled_from(LINE_ENDS)).join(lines)
    if draw(st.booleans()):
        text += "\n"
    if rarely(draw, 30):
        text = "\ufeff" + text
    data = text.encode("utf-8")
    if fault == "output not UTF-8":
        data += b"\xff"
    return data


# Faults that end the scoring (or, for the #Dx lines, the comparison): at most one per folder, in
# one recording, so that most folders are scored.
CASE_FAULTS = (
    "no #Dx line", "two #Dx lines", "no ': ' after #Dx", "header not UTF-8", "output missing",
    "output not UTF-8",
)  # fmt: skip


@st.composite
def cases(draw: st.DrawFn, max_recordings: int = 12, fault: str | None = "any") -> Case:
    """Folders of labels and outputs; one in five with one of CASE_FAULTS, unless ``fault`` names
    the one to have (or None)."""
    n = draw(st.integers(1, max_recordings))
    if fault == "any":
        fault = draw(st.sampled_from(CASE_FAULTS)) if rarely(draw, 5) else None
    faulty = draw(st.integers(0, n - 1))
    case = Case(folders=["labels", "outputs"])
    for i, codes in enumerate(label_sets(draw, n)):
        name, here = f"A{i:02d}", fault if i == faulty else None
        extension = ".HEA" if rarely(draw, 20) else ".hea"
        header = header_text(draw, name, codes, here)
        case.files[f"labels/{name}{extension}"] = header
        case.dx_lines_per_header.append(dx_line_count(header))
        if here != "output missing":
            case.files[f"outputs/{name}.csv"] = output_text(draw, name, here)
    if rarely(draw, 5):  # files the scorers must pass over
        case.files["labels/.hidden.hea"] = b"#Dx: 164889003\n"
        case.files["labels/notes.txt"] = b"not a header\n"
        case.files["outputs/extra.csv"] = b"164889003\n1\n0.5\n"
        case.folders.append("labels/folder.hea")
    return case


@st.composite
def tidy_cases(draw: st.DrawFn, min_recordings: int = 30, max_recordings: int = 80) -> Case:
    """Folders of well-formed files that each list every class, over ordinary labels (one to four
    codes), so that many recordings add to every sum. Drawn from one random generator, as so many
    values would overflow what hypothesis can draw for one example."""
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    case = Case(folders=["labels", "outputs"])
    for i in range(rng.randint(min_recordings, max_recordings)):
        name = f"A{i:02d}"
        codes = rng.sample([*WEIGHT_CODES, *ODD_CODES[:2]], rng.randint(1, 4))
        header = f"{name} 12 500 5000\n#Age: 60\n#Dx: {','.join(codes)}\n"
        case.files[f"labels/{name}.hea"] = header.encode("utf-8")
        case.dx_lines_per_header.append(1)
        case.files[f"outputs/{name}.csv"] = tidy_output_text(rng, name)
    return case


def write_case(case: Case, folder: Path) -> None:
    for name in case.folders:
        (folder / name).mkdir()
    for name, data in case.files.items():
        (folder / name).write_bytes(data)


@functools.cache
def official_code() -> CodeType:
    return compile(OFFICIAL_SCRIPT.read_bytes(), str(OFFICIAL_SCRIPT), "exec")


def run_official(labels: Path, outputs: Path, scores: Path, class_scores: Path) -> dict:
    """Run the official script as ``python evaluate_12ECG_score.py labels outputs scores.csv
    class_scores.csv`` in its own folder (it opens ``weights.csv`` there); its module namespace,
    which holds its results and its functions."""
    argv = ["evaluate_12ECG_score.py", *map(str, (labels, outputs, scores, class_scores))]
    namespace = {"__name__": "__main__", "__file__": str(OFFICIAL_SCRIPT)}
    with contextlib.chdir(OFFICIAL), mock.patch.object(sys, "argv", argv), quiet():
        exec(official_code(), namespace)
    return namespace


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Without the official scorer's printed progress and numpy's "mean of empty slice"."""
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def assert_same_readings(official: dict, labels: Path, outputs: Path) -> None:
    """Our reading of the files is the official one: the same files in the same order, the same
    labels, binary outputs and scalar outputs (to the bit)."""
    classes, equivalents = official["classes"], [list(pair) for pair in EQUIVALENT_CODES]
    with quiet():
        label_files, output_files = official["find_challenge_files"](str(labels), str(outputs))
        official_labels = official["load_labels"](label_files, classes, equivalents)
        binary, scalar = official["load_outputs"](output_files, classes, equivalents)
    files = find_recording_files(labels, outputs)
    assert (list(files.header_paths), list(files.output_paths)) == (label_files, output_files)
    assert np.array_equal(load_labels(files.header_paths, CLASSES), official_labels)
    ours = load_outputs(files.output_paths, CLASSES)
    assert np.array_equal(ours.binary, binary)
    assert np.array_equal(ours.scalar.view(np.int64), scalar.view(np.int64)), (ours.scalar, scalar)


def assert_identical(ours: tuple, official: tuple) -> None:
    assert len(ours) == len(RESULT_NAMES)
    assert list(ours[0]) == list(official[0])
    for name, mine, theirs in zip(RESULT_NAMES[1:], ours[1:], official[1:], strict=True):
        mine, theirs = np.asarray(mine, np.float64), np.asarray(theirs, np.float64)
        assert mine.shape == theirs.shape, name
        same = (mine == theirs) | (np.isnan(mine) & np.isnan(theirs))
        assert same.all(), f"{name}: ours {mine!r}, official {theirs!r}"


def check_case(case: Case) -> None:
    with tempfile.TemporaryDirectory(prefix="scorer-oracle.") as scratch:
        folder = Path(scratch)
        write_case(case, folder)
        labels, outputs = folder / "labels", folder / "outputs"
        ours_written = (folder / "ours_scores.csv", folder / "ours_class_scores.csv")
        with contextlib.redirect_stderr(io.StringIO()):
            exit_code = our_script([str(labels), str(outputs), *map(str, ours_written)])
        if any(count != 1 for count in case.dx_lines_per_header):
            with pytest.raises((ChallengeFilesError, LabelFileError)):  # a missing file first
                evaluate_12ECG_score(labels, outputs)
            assert exit_code == 2
            return
        official_written = (folder / "scores.csv", folder / "class_scores.csv")
        try:
            official = run_official(labels, outputs, *official_written)
        except Exception:  # whatever the official scorer fails with
            with pytest.raises(OUR_ERRORS):
                evaluate_12ECG_score(labels, outputs)
            assert exit_code == 2
            assert not any(path.exists() for path in ours_written)
            return
        assert_same_readings(official, labels, outputs)
        results = tuple(official[name] for name in RESULT_NAMES)
        assert_identical(evaluate_12ECG_score(labels, outputs), results)
        assert exit_code == 0
        for mine, theirs in zip(ours_written, official_written, strict=True):
            assert mine.read_bytes() == theirs.read_bytes()


@EXAMPLES
@given(cases())
def test_generated_folders_score_exactly_as_the_official_scorer(case: Case) -> None:
    check_case(case)


@pytest.mark.parametrize("fault", CASE_FAULTS)
@settings(EXAMPLES, max_examples=10)
@given(data=st.data())
def test_every_fault_that_stops_the_official_scorer_stops_ours(fault: str, data: st.DataObject):
    check_case(data.draw(cases(max_recordings=5, fault=fault)))


@settings(EXAMPLES, max_examples=30)
@given(tidy_cases())
def test_larger_folders_of_well_formed_files_score_exactly_as_the_official_scorer(
    case: Case,
) -> None:
    # Sums over many recordings are where the order of additions shows in the last bits.
    check_case(case)


def test_a_repeated_dx_line_gives_the_official_scorer_shifted_labels_and_ours_an_error(
    tmp_path: Path,
) -> None:
    af, iavb = "164889003", "270492004"
    case = Case(folders=["labels", "outputs"])
    for name, dx in (("A1", f"{af}\n#Dx: {iavb}"), ("A2", NORMAL_CODE)):
        case.files[f"labels/{name}.hea"] = f"{name} 12 500 5000\n#Dx: {dx}\n".encode()
        case.files[f"outputs/{name}.csv"] = f"{af},{NORMAL_CODE}\n1,0\n0.9,0.1\n".encode()
    write_case(case, tmp_path)
    labels, outputs = tmp_path / "labels", tmp_path / "outputs"
    official = run_official(labels, outputs, tmp_path / "s.csv", tmp_path / "c.csv")
    with quiet():
        files = official["find_challenge_files"](str(labels), str(outputs))[0]
        read = official["load_labels"](
            files, official["classes"], [list(p) for p in EQUIVALENT_CODES]
        )
    # A2 (sinus rhythm) gets A1's second line, IAVB; sinus rhythm is lost
    assert read[1, official["classes"].index(iavb)]
    assert not read[:, official["classes"].index(NORMAL_CODE)].any()
    with pytest.raises(LabelFileError, match=r"A1\.hea has 2 #Dx lines"):
        evaluate_12ECG_score(labels, outputs)
