"""The one rule for what a command writes, checked over every entry point and every kind of path.

Each command is given, as the path it writes, each of: a new path, an empty folder, its own
earlier output, a user's file, a user's folder, one of the package's own files, its input itself,
and a folder holding its input. Where the rule allows the path, the command goes on to its work
(here a stand-in that records it was reached, so that no network is trained); where it refuses,
the command exits with 2 and one line naming the path and why, and the work is never reached.
Either way every file that was there before is byte-identical afterwards, but a command's own
earlier output that it replaced. The scorer and the synthetic generator do their real work: it
takes a fraction of a second.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

import driver
import evaluate_12ECG_score
import train_model
from seecgnet.challenge.classes import load_scored_classes
from seecgnet.challenge.outputs import write_output
from seecgnet.challenge.scoring import SCORES_HEADER
from seecgnet.convert import main as convert_main
from seecgnet.crossval.__main__ import main as crossval_main
from seecgnet.destinations import PACKAGE_FOLDER
from seecgnet.errors import SeecgnetError
from seecgnet.io.synthetic import main as synthetic_main
from seecgnet.io.synthetic import write_synthetic_dataset
from seecgnet.mitbih.__main__ import main as mitbih_main
from seecgnet.mitbih.pretrain import main as pretrain_main
from seecgnet.report.__main__ import main as report_main
from seecgnet.trained.settings import PRETRAINED_FORMAT
from tests.paths import ROOT

PACKAGE_FILE = PACKAGE_FOLDER / "challenge" / "dx_mapping_scored.csv"
PACKAGE_SUBFOLDER = PACKAGE_FOLDER / "challenge"


class ReachedError(SeecgnetError):
    """Raised by the stand-in for a command's work: the rule let the command through."""


def _stand_in(reached: list[bool], returns: int | None) -> Callable[..., int]:
    def work(*_args: object, **_kwargs: object) -> int:
        reached.append(True)
        if returns is None:
            raise ReachedError("the work was reached")
        return returns

    return work


def _scores(world: Path) -> None:
    """Challenge outputs of the four records in out/, for the scorer."""
    classes = load_scored_classes()
    (world / "out").mkdir()
    for k in range(1, 5):
        n = len(classes.codes)
        labels, probabilities = np.zeros(n, dtype=int), np.full(n, 0.25)
        write_output(
            world / "out" / f"SYN0000{k}.csv", f"SYN0000{k}", classes.codes, labels, probabilities
        )


def _own(world: Path, command: str) -> str:
    """Make the command's own earlier output in ``world``; its path."""
    if command == "scorer":
        (world / "scores.csv").write_text(SCORES_HEADER + "\n0,0,0,0,0,0,0")
        return "scores.csv"
    if command == "pretrain":
        torch.save({"format": PRETRAINED_FORMAT, "state": {"w": torch.zeros(2)}}, world / "l.pt")
        return "l.pt"
    if command == "report":
        from matplotlib.figure import Figure

        from seecgnet.report.files import REPORT_MARK

        Figure().savefig(world / "r.png", metadata={"Software": REPORT_MARK})
        return "r.png"
    if command == "synthetic":
        assert synthetic_main(["syn", "--n", "2"]) == 0
        return "syn"
    if command == "convert":
        assert convert_main(["data", "converted"]) == 0
        return "converted"
    folder = world / "own"
    folder.mkdir()
    if command == "train":
        # the bundled routed model: its model.json and member folders
        shutil.copy(ROOT / "model" / "model.json", folder / "model.json")
        shutil.copytree(ROOT / "model" / "members", folder / "members")
    elif command == "driver":
        (folder / "SYN00001.csv").write_text("#SYN00001\nold output\n")
    else:
        (folder / {"crossval": "folds.csv", "mitbih": "settings.json"}[command]).write_text("{}")
    return "own"


# Each command: how it is called with OUT as its output path, the stand-in for its work (module
# attribute, and what the stand-in returns: None raises ReachedError), and its input.
COMMANDS: dict[str, tuple[Callable[[str], int], str | None, int | None]] = {
    "scorer": (lambda out: evaluate_12ECG_score.main(["data", "out", out]), None, None),
    "pretrain": (
        lambda out: pretrain_main(["data", out, "--quiet"]),
        "seecgnet.mitbih.pretrain._run",
        0,
    ),
    "report": (
        lambda out: report_main([str(ROOT / "model"), "data/SYN00001", "--out", out]),
        "seecgnet.report.__main__._report",
        0,
    ),
    "synthetic": (lambda out: synthetic_main([out, "--n", "2"]), None, None),
    "convert": (lambda out: convert_main(["data", out]), None, None),
    "crossval": (
        lambda out: crossval_main(["data", out, "--folds", "2"]),
        "seecgnet.crossval.__main__.cross_validate",
        None,
    ),
    "mitbih": (
        lambda out: mitbih_main(["data", out, "--protocol", "intra"]),
        "seecgnet.mitbih.__main__._run",
        None,
    ),
    "train": (
        lambda out: train_model.main(["data", out, "--quiet", "--no-cache"]),
        "seecgnet.training.data_folder._training_records",
        None,
    ),
    "driver": (
        lambda out: driver.main([str(ROOT / "model"), "data", out, "--quiet"]),
        "seecgnet.inference.driver.load_model",
        None,
    ),
}

ALLOWED = "allowed"
# Cross-validation and MIT-BIH alike: a work folder beside, never around, the data folder.
WORK_FOLDER = {
    "new": ALLOWED,
    "empty folder": ALLOWED,
    "own output": ALLOWED,
    "user's file": "is a file",
    "user's folder": "holds other files",
    "package file": "seecgnet's own files",
    "the input": "cannot be the data folder",
    "folder holding the input": "would hold the data folder",
}

# What each command does with each kind of path: ALLOWED, or the words of the refusal.
EXPECTED: dict[str, dict[str, str]] = {
    "scorer": {
        "new": ALLOWED,
        "empty folder": "is a folder",
        "own output": ALLOWED,
        "user's file": "not this command's own scores file",
        "user's folder": "is a folder",
        "package file": "seecgnet's own files",
        "the input": "one of the files this command reads",
        "folder holding the input": "is a folder",
    },
    "pretrain": {
        "new": ALLOWED,
        "empty folder": "is a folder",
        "own output": ALLOWED,
        "user's file": "not this command's own output file",
        "user's folder": "is a folder",
        "package file": "seecgnet's own files",
        "the input": "cannot be the data folder",
        "folder holding the input": "would hold the data folder",
    },
    "report": {
        "new": ALLOWED,
        "empty folder": "is a folder",
        "own output": ALLOWED,
        "user's file": "not this command's own report file",
        "user's folder": "is a folder",
        "package file": "seecgnet's own files",
        "the input": "one of the files this command reads",
        "folder holding the input": "is a folder",
    },
    "synthetic": {
        "new": ALLOWED,
        "empty folder": ALLOWED,
        "own output": ALLOWED,
        "user's file": "is a file",
        "user's folder": "not this command's own record",
        "package file": "seecgnet's own files",
    },
    "convert": {
        "new": ALLOWED,
        "empty folder": ALLOWED,
        "own output": ALLOWED,
        "user's file": "is a file",
        "user's folder": "not this command's own record",
        "package file": "seecgnet's own files",
        "the input": "cannot be the input folder",
        # it only adds NAME.hea and NAME.mat beside the user's files, none of the records' names
        "folder holding the input": ALLOWED,
    },
    "crossval": WORK_FOLDER,
    "mitbih": WORK_FOLDER,
    "train": {
        "new": ALLOWED,
        "empty folder": ALLOWED,
        "own output": ALLOWED,
        "user's file": "is a file",
        "user's folder": "not a model folder",
        "package file": "seecgnet's own files",
        "the input": "cannot be the data folder",
        "folder holding the input": "would hold the data folder",
    },
    "driver": {
        "new": ALLOWED,
        "empty folder": ALLOWED,
        "own output": ALLOWED,
        "user's file": "is a file",
        "user's folder": "not this command's own challenge output file",
        "package file": "seecgnet's own files",
        "the input": "cannot be the input folder",
        # it only adds NAME.csv files beside the user's, none of which has a record's name
        "folder holding the input": ALLOWED,
    },
}
CASES = [(command, kind) for command, kinds in EXPECTED.items() for kind in kinds]


def _digests(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's folder, the current one: data/ (four records), out/ (their outputs), an empty
    folder, a file and a folder of the user's; the user's folder holds files named as the records'
    and outputs are."""
    write_synthetic_dataset(tmp_path / "data", 4, seed=2)
    _scores(tmp_path)
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_bytes(b"the user's notes\n")
    (tmp_path / "mine").mkdir()
    for name in ("plan.txt", "SYN00001.hea", "SYN00001.csv"):
        (tmp_path / "mine" / name).write_bytes(f"the user's {name}\n".encode())
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _path_of(world: Path, command: str, kind: str) -> str:
    return {
        "new": "new_output"
        + {"scorer": ".csv", "pretrain": ".pt", "report": ".png"}.get(command, ""),
        "empty folder": "empty",
        "user's file": "notes.txt",
        "user's folder": "mine",
        "package file": str(
            PACKAGE_FILE if command in ("scorer", "pretrain") else PACKAGE_SUBFOLDER
        ),
        "the input": "data/SYN00001.hea" if command in ("scorer", "report") else "data",
        "folder holding the input": ".",
    }.get(kind) or _own(world, command)


@pytest.mark.parametrize(("command", "kind"), CASES, ids=[f"{c}-{k}" for c, k in CASES])
def test_every_command_writes_only_where_the_rule_allows(world, monkeypatch, capsys, command, kind):
    call, work, returns = COMMANDS[command]
    out = _path_of(world, command, kind)
    reached: list[bool] = []
    if work is not None:
        monkeypatch.setattr(work, _stand_in(reached, returns))
    before, package_before = _digests(world), _digests(PACKAGE_SUBFOLDER)
    capsys.readouterr()
    try:
        status = call(out)
    except SystemExit as stopped:  # pre-training refuses its arguments through its parser
        status = stopped.code
    err = capsys.readouterr().err
    expected = EXPECTED[command][kind]
    if expected == ALLOWED:
        assert reached or work is None, err
        assert status == (2 if work is not None and returns is None else 0), err
    else:
        assert not reached and status == 2
        errors = [line for line in err.splitlines() if "error:" in line]
        assert len(errors) == 1 and "Traceback" not in err, err
        assert out in errors[0] or (out == "." and "." in errors[0])
        assert expected in errors[0], errors[0]
    after = _digests(world)
    replaced = {p for p in before if expected == ALLOWED and kind == "own output" and out in p}
    assert {p: d for p, d in after.items() if p in before and p not in replaced} == {
        p: d for p, d in before.items() if p not in replaced
    }
    assert _digests(PACKAGE_SUBFOLDER) == package_before


def test_the_scorer_replaces_its_own_scores_and_the_generator_its_own_records(world):
    assert evaluate_12ECG_score.main(["data", "out", "scores.csv"]) == 0
    assert evaluate_12ECG_score.main(["data", "out", "scores.csv"]) == 0
    assert (world / "scores.csv").read_text().startswith(SCORES_HEADER + "\n")
    assert synthetic_main(["syn", "--n", "2"]) == 0
    first = _digests(world / "syn")
    assert synthetic_main(["syn", "--n", "2"]) == 0  # the same records, written again
    assert _digests(world / "syn") == first


def test_a_synthetic_record_changed_since_it_was_written_is_not_replaced(world, capsys):
    assert synthetic_main(["syn", "--n", "2"]) == 0
    mat = world / "syn" / "SYN00002.mat"
    mat.write_bytes(mat.read_bytes()[:-2] + b"\x00\x01")  # the user edited a sample
    before = _digests(world / "syn")
    assert synthetic_main(["syn", "--n", "2"]) == 2
    assert "syn/SYN00002" in capsys.readouterr().err
    assert _digests(world / "syn") == before


def test_a_report_carries_the_mark_that_lets_a_later_report_replace_it(world, capsys):
    from seecgnet.report.files import is_report_file

    assert report_main([str(ROOT / "model"), "data/SYN00001", "--out", "page.html"]) == 0
    assert is_report_file(world / "page.html")
    assert not is_report_file(world / "notes.txt")
    from matplotlib.figure import Figure

    Figure().savefig(world / "picture.png")  # a user's picture, made with the same library
    assert not is_report_file(world / "picture.png")
