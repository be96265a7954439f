"""What a user reads when something goes wrong: one line naming the problem, never a traceback, a
raw errno text or a torch message; Ctrl-C ends every command with one line saying what to do next.
"""

from __future__ import annotations

import ast
import importlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import driver
import evaluate_12ECG_score
import train_model
from seecgnet.challenge.scoring import ChallengeFilesError
from seecgnet.challenge.sources import UnknownSourceError
from seecgnet.cli import EXIT_INTERRUPTED
from seecgnet.crossval import __main__ as crossval
from seecgnet.crossval.folds import CrossValError
from seecgnet.data.folds import FoldError
from seecgnet.destinations import DestinationError
from seecgnet.device import DeviceError
from seecgnet.errors import SeecgnetError
from seecgnet.inference.driver import PredictionError
from seecgnet.io.headers import RecordError
from seecgnet.io.synthetic import write_synthetic_dataset, write_synthetic_record
from seecgnet.mitbih.__main__ import main as mitbih_main
from seecgnet.models.settings import NetworkSettings
from seecgnet.report.__main__ import main as report_main
from seecgnet.trained.folder import ModelFolderError
from seecgnet.trained.settings import Settings, SettingsError, TrainSettings
from tests.paths import ROOT

TINY = Settings(network=NetworkSettings.small(), training=TrainSettings(epochs=1, batch_size=4))


def usage_error(capsys: pytest.CaptureFixture[str], main, argv: list[str]) -> str:
    """The usage error line of a command that argparse (or the settings) refused, exit 2."""
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(errors) == 1
    return errors[0]


@pytest.mark.parametrize(
    ("command", "argv", "message"),
    [
        (train_model.main, ["d", "m", "--folds", "0"], "--folds: must be at least 1, got 0"),
        (train_model.main, ["d", "m", "--workers", "-1"], "--workers: must be at least 0, got -1"),
        (train_model.main, ["d", "m", "--epochs", "two"], "expected a whole number, got 'two'"),
        (train_model.main, ["d", "m", "--learning-rate", "0"], "--learning-rate must be above 0"),
        (
            train_model.main,
            ["d", "m", "--decision", "per_class", "--validation-fraction", "0"],
            "the validation fraction must be above 0",
        ),
        (driver.main, ["m", "i", "o", "--workers", "-1"], "--workers: must be at least 0, got -1"),
        (crossval.main, ["d", "w", "--folds", "1"], "--folds: must be at least 2, got 1"),
        (crossval.main, ["d", "w", "--members", "0"], "--members: must be at least 1, got 0"),
        (crossval.main, ["d", "w", "--workers", "-1"], "--workers: must be at least 0, got -1"),
    ],
)
def test_numbers_out_of_range_are_one_usage_line(capsys, command, argv, message):
    assert message in usage_error(capsys, command, argv)


def _raises(error: Exception):
    def fail(*_args, **_kwargs):
        raise error

    return fail


def given_folders(root: Path) -> None:
    """The folders the commands' argv below name as their inputs (checked before any work)."""
    for name in ("d", "i", "m"):
        (root / name).mkdir()


# Where each command's work starts once its arguments are parsed, and the command's prefix.
COMMAND_WORK = [
    (crossval.main, ["d", "w"], "seecgnet.crossval.__main__.cross_validate", "crossval"),
    (train_model.main, ["d", "m"], "seecgnet.training.data_folder.train_folder", "train_model.py"),
    (driver.main, ["m", "i", "o"], "seecgnet.inference.driver.predict_folder", "driver.py"),
    (report_main, ["m", "r.hea"], "seecgnet.inference.loading.load_model", "seecgnet.report"),
]


@pytest.mark.parametrize(("command", "argv", "target", "prefix"), COMMAND_WORK)
def test_an_expected_error_inside_a_command_is_one_line_and_exit_2(
    tmp_path, monkeypatch, capsys, command, argv, target, prefix
):
    monkeypatch.chdir(tmp_path)
    given_folders(tmp_path)
    monkeypatch.setattr(target, _raises(SeecgnetError("w: the thing is wrong")))
    assert command(argv) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert lines[-1] == f"{prefix}: error: w: the thing is wrong"
    assert "Traceback" not in "\n".join(lines)


@pytest.mark.parametrize(("command", "argv", "target", "prefix"), COMMAND_WORK)
def test_a_value_error_inside_a_command_is_a_bug_and_keeps_its_traceback(
    tmp_path, monkeypatch, capsys, command, argv, target, prefix
):
    monkeypatch.chdir(tmp_path)
    given_folders(tmp_path)
    monkeypatch.setattr(target, _raises(ValueError("operands could not be broadcast together")))
    with pytest.raises(ValueError, match="could not be broadcast"):
        command(argv)
    assert f"{prefix}: error:" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("command", "target"),
    [
        (crossval.main, "seecgnet.crossval.__main__.settings_from_args"),
        (train_model.main, "train_model.settings_from_args"),
    ],
)
def test_a_value_error_while_settings_are_resolved_is_not_a_usage_error(
    monkeypatch, command, target
):
    monkeypatch.setattr(target, _raises(ValueError("a bug in the settings code")))
    with pytest.raises(ValueError, match="a bug in the settings code"):
        command(["d", "w"])


def test_every_error_class_the_package_defines_derives_from_seecgnet_error():
    defined = []
    for path in sorted((ROOT / "seecgnet").rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef) and node.name.endswith("Error"):
                defined.append(getattr(importlib.import_module(module), node.name))
    assert len(defined) >= 20
    assert [e.__name__ for e in defined if not issubclass(e, SeecgnetError)] == []


def test_every_expected_error_of_the_package_is_a_seecgnet_error():
    for error in (
        CrossValError,
        DestinationError,
        DeviceError,
        FoldError,
        ModelFolderError,
        RecordError,
        SettingsError,
        UnknownSourceError,
    ):
        assert issubclass(error, SeecgnetError), error
    # each keeps the built-in class it always had, so code catching that still catches it
    assert issubclass(RecordError, ValueError) and issubclass(PredictionError, RuntimeError)
    assert issubclass(ChallengeFilesError, FileNotFoundError)


def test_the_driver_names_damaged_weights_without_torchs_words(tmp_path, capsys):
    model = tmp_path / "model"
    shutil.copytree(ROOT / "model", model)  # routed: the 12-lead route's member is damaged
    weights = model / "members" / "limb" / "weights.pt"
    write_synthetic_dataset(tmp_path / "in", 1, seed=3)
    for damage in (b"", b"\x00garbage", weights.read_bytes()[:50000]):
        weights.write_bytes(damage)
        assert driver.main([str(model), str(tmp_path / "in"), str(tmp_path / "out")]) == 2
        (line,) = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
        assert f"{weights} is damaged" in line
        for noise in ("Errno", "torch.load", "weights_only", "PytorchStreamReader"):
            assert noise not in line
        assert not (tmp_path / "out").exists()


def test_an_output_folder_that_is_a_file_is_named_without_errno_text(tmp_path, capsys):
    write_synthetic_dataset(tmp_path / "in", 1, seed=3)
    (tmp_path / "out").write_text("a file")
    assert driver.main([str(ROOT / "model"), str(tmp_path / "in"), str(tmp_path / "out")]) == 2
    (line,) = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert (
        line == f"driver.py: error: {tmp_path / 'out'}: the output folder is a file, not a folder"
    )


@pytest.mark.parametrize("workers", ["0", "2"])
def test_record_lines_are_printed_above_the_progress_bar_naming_the_file_once(tmp_path, workers):
    write_synthetic_dataset(tmp_path / "in", 3, seed=3)
    (tmp_path / "in" / "SYN00002.mat").write_bytes(b"not a MATLAB file")
    header = (tmp_path / "in" / "SYN00003.hea").read_text()
    (tmp_path / "in" / "SYN00003.hea").write_text(header.replace("#Age:", "#Age: 200 #"))
    run = subprocess.run(
        [sys.executable, str(ROOT / "driver.py"), str(ROOT / "model"), "in", "out"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    stderr = run.stderr
    # what a terminal shows as one line: the text between two carriage returns or line ends
    pieces = stderr.replace("\r", "\n").split("\n")
    (error,) = [piece for piece in pieces if "ERROR" in piece]
    (warning,) = [piece for piece in pieces if "#Age" in piece]  # logged where it was read
    assert "records:" in stderr  # the progress bar was drawn...
    assert "records:" not in error + warning  # ...and no line ran into it
    assert error.count("SYN00002") == 1


def interrupt(*_args, **_kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize(
    ("command", "argv", "target", "next_step"),
    [
        (train_model.main, ["d", "m"], "seecgnet.training.data_folder.train_folder", "--resume"),
        (driver.main, ["m", "i", "o"], "seecgnet.inference.driver.predict_folder", "run the same"),
        (
            evaluate_12ECG_score.main,
            ["l", "o"],
            "evaluate_12ECG_score.score_directories",
            "run it again",
        ),
        (crossval.main, ["d", "w"], "seecgnet.crossval.__main__.cross_validate", "resume"),
        (
            mitbih_main,
            ["d", "w", "--protocol", "intra"],
            "seecgnet.mitbih.run.run_benchmark",
            "resume",
        ),
        (report_main, ["m", "r.hea"], "seecgnet.inference.loading.load_model", "run it again"),
    ],
)
def test_ctrl_c_ends_every_command_with_one_line_and_status_130(
    tmp_path, monkeypatch, capsys, command, argv, target, next_step
):
    monkeypatch.chdir(tmp_path)
    given_folders(tmp_path)
    monkeypatch.setattr(target, interrupt)
    assert command(argv) == EXIT_INTERRUPTED == 130
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    interrupted = [line for line in lines if "interrupted" in line]
    assert len(interrupted) == 1 and next_step in interrupted[0]
    assert "Traceback" not in "\n".join(lines)


@pytest.mark.slow
@pytest.mark.parametrize("command", ["train_model.py", "driver.py"])
def test_ctrl_c_in_a_terminal_ends_a_run_and_its_workers_with_one_line(tmp_path, command):
    """SIGINT to the whole process group, as a terminal sends it: the data loader's worker
    processes get it too, and print nothing."""
    if command == "train_model.py":
        write_synthetic_dataset(tmp_path / "data", 8, seed=4)
        TINY.save(tmp_path / "tiny.json")
        argv = ["data", "model", "--settings", "tiny.json", "--epochs", "200", "--workers", "1"]
        started = tmp_path / ".model.checkpoint" / "member_1" / "checkpoint.pt"
    else:
        for k in range(24):
            write_synthetic_record(tmp_path / "in", f"R{k:03d}", seed=k, duration_s=60.0)
        argv = [str(ROOT / "model"), "in", "out", "--workers", "2"]
        started = tmp_path / "out" / "R000.csv"
    process = subprocess.Popen(
        [sys.executable, str(ROOT / command), *argv],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # a run started in the background by a shell ignores SIGINT, and a child inherits that:
        # the command under test must get the signal as a terminal's foreground job does
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 240
    while not started.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)
    assert process.poll() is None, "the run ended before it could be interrupted"
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    last = [line for line in stderr.splitlines() if line.strip()][-1]
    assert last.startswith(f"{command}: interrupted; ")
    if command == "train_model.py":
        assert "--resume" in last
        assert not (tmp_path / "model").exists()


def test_team_code_explains_itself_when_run():
    run = subprocess.run(
        [sys.executable, "-X", "importtime", str(ROOT / "team_code.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0
    assert "train_12ECG_classifier" in run.stdout and "train_model.py" in run.stdout
    assert "| torch" not in run.stderr  # explaining itself loads no torch
