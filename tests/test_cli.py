"""The scripts as a new user meets them: --help, usage errors, exit codes, a device that is absent."""

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from seecgnet import interrupts
from seecgnet.cli import EXIT_INTERRUPTED, EXIT_OK, default_reading_workers, interruptible
from seecgnet.device import DeviceError, resolve_device
from tests.paths import ROOT

SCRIPTS = ("driver.py", "train_model.py", "evaluate_12ECG_score.py")
no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")


def _run(*args: str, python_options: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *python_options, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )


def _imported_modules(stderr: str) -> set[str]:
    """The top-level modules named by ``python -X importtime`` (lines "import time: a | b | name")."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


@pytest.mark.parametrize(
    "script", [*SCRIPTS, "-m seecgnet.crossval", "-m seecgnet.report", "-m seecgnet.mitbih"]
)
@pytest.mark.parametrize("arguments", [("--help",), (), ("a", "b", "c", "d", "e", "--no-such")])
def test_help_and_usage_errors_answer_without_importing_torch(script, arguments):
    run = _run(*script.split(), *arguments, python_options=("-X", "importtime"))
    modules = _imported_modules(run.stderr)
    assert "argparse" in modules  # the import log was read
    assert "torch" not in modules
    assert run.returncode == (0 if arguments == ("--help",) else 2)


@pytest.mark.parametrize(
    "script", [*SCRIPTS, "-m seecgnet.crossval", "-m seecgnet.report", "-m seecgnet.mitbih"]
)
def test_every_script_lists_its_exit_codes_in_its_help(script):
    run = _run(*script.split(), "--help")
    assert run.returncode == 0
    codes = run.stdout.split("exit codes:", 1)[1]
    assert "  0  " in codes and "  2  " in codes
    assert ("  1  " in codes) == (script == "driver.py")  # only the driver's --strict uses 1


@no_cuda
@pytest.mark.parametrize("name", ["cuda", "cuda:0"])
def test_asking_for_cuda_without_it_is_a_device_error(name):
    with pytest.raises(DeviceError, match="no usable CUDA device"):
        resolve_device(name)


def test_a_device_name_torch_does_not_know_is_a_device_error():
    with pytest.raises(DeviceError, match="not a device name"):
        resolve_device("gpu")


@no_cuda
@pytest.mark.parametrize(
    "command",
    [
        ("driver.py", "model", "examples", "OUT"),
        ("train_model.py", "examples", "OUT"),
        ("-m", "seecgnet.crossval", "examples", "OUT"),
        ("-m", "seecgnet.report", "model", "examples/SYN00001", "--out", "OUT"),
    ],
)
def test_cuda_on_a_machine_without_it_is_one_line_and_exit_2(command, tmp_path):
    out = str(tmp_path / "out")
    run = _run(*(out if part == "OUT" else part for part in command), "--device", "cuda")
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and "no usable CUDA device" in errors[0]
    assert not (tmp_path / "out").exists()  # nothing was started


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
def test_a_ctrl_c_passed_over_in_a_finaliser_ends_the_run_at_its_next_step_silently(capsys):
    """Python passes over a KeyboardInterrupt raised in a finaliser (a data loader shutting its
    workers down): the request is written down and the next step of the work ends the run, and
    the passed-over exception prints nothing."""
    steps = []

    class ShutsDown:
        def __del__(self):
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C arrives while this runs
            time.sleep(1)

    def main(argv):
        ShutsDown()  # collected at once: its KeyboardInterrupt is passed over
        for _ in range(100):  # the run goes on, step by step
            interrupts.check()
            steps.append(1)
        return EXIT_OK

    # Python's own SIGINT handler, as in a terminal's foreground job (a shell's background job,
    # which a test run may be, ignores SIGINT, and then the command changes nothing)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        status = interruptible("prog", "run it again")(main)([])
        handler_after = signal.getsignal(signal.SIGINT)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert status == EXIT_INTERRUPTED
    assert steps == []
    assert capsys.readouterr().err.strip() == "prog: interrupted; run it again"
    assert handler_after is signal.default_int_handler
    assert not interrupts.requested()


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
def test_a_finaliser_failing_on_what_ctrl_c_left_half_built_prints_nothing(capsys):
    """Ctrl-C in an object's constructor (a data loader's iterator starting its workers) leaves it
    half-built, and its finaliser then fails on what the constructor never set: after the
    interrupt that failure prints nothing, as a terminal user must see one line alone."""

    class HalfBuilt:
        def __init__(self):
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C arrives while it is built
            time.sleep(1)
            self.shut_down = False

        def __del__(self):
            if not self.shut_down:  # AttributeError: the constructor never got this far
                pass

    def main(argv):
        HalfBuilt()
        return EXIT_OK

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        status = interruptible("prog", "run it again")(main)([])
    finally:
        signal.signal(signal.SIGINT, previous)
    assert status == EXIT_INTERRUPTED
    assert capsys.readouterr().err.strip() == "prog: interrupted; run it again"
    assert not interrupts.requested()


@pytest.mark.parametrize(("cores", "readers"), [(None, 0), (1, 0), (2, 0), (3, 0), (4, 1), (16, 4)])
def test_the_driver_reads_in_its_own_process_unless_the_machine_has_cores_to_spare(
    monkeypatch, cores, readers
):
    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    assert default_reading_workers() == readers


def _training_settings(argv: list[str]):
    import argparse

    from seecgnet.cli import add_training_options, settings_from_args

    parser = argparse.ArgumentParser()
    add_training_options(parser)
    return settings_from_args(parser.parse_args(argv))


def test_a_settings_files_decision_values_are_kept_when_decision_names_the_rule(tmp_path):
    from seecgnet.trained.decision import DecisionRule, DecisionSettings
    from seecgnet.trained.settings import Settings

    path = tmp_path / "settings.json"
    Settings(decision=DecisionSettings(divisor=3.0, fixed_threshold=0.3)).save(path)
    same_rule = _training_settings(["--settings", str(path), "--decision", "per_sample"])
    assert same_rule.decision == DecisionSettings(divisor=3.0, fixed_threshold=0.3)
    other_rule = _training_settings(["--settings", str(path), "--decision", "fixed"])
    assert other_rule.decision == DecisionSettings(
        rule=DecisionRule.FIXED, divisor=3.0, fixed_threshold=0.3
    )


def test_decision_drops_the_values_a_settings_file_tuned_for_another_rule(tmp_path):
    from seecgnet.trained.decision import DecisionRule, DecisionSettings
    from seecgnet.trained.settings import Settings

    path = tmp_path / "settings.json"
    tuned = DecisionSettings(rule=DecisionRule.PER_CLASS, divisor=4.0, class_thresholds=(0.2,) * 24)
    Settings(decision=tuned).save(path)
    settings = _training_settings(["--settings", str(path), "--decision", "per_sample"])
    assert settings.decision == DecisionSettings(divisor=4.0)
    kept = _training_settings(["--settings", str(path)])
    assert kept.decision == tuned


def test_the_decision_options_choices_are_the_registered_rules():
    import argparse

    from seecgnet.cli import add_training_options
    from seecgnet.trained.decision import DECISIONS

    parser = argparse.ArgumentParser()
    add_training_options(parser)
    (action,) = [a for a in parser._actions if a.dest == "decision"]
    assert action.choices == ["per_sample", "fixed", "per_class", "per_lead_set"]
    for decision in DECISIONS.values():
        assert decision.summary in " ".join(action.help.split())


def test_every_command_defaults_to_the_same_device_and_says_so_in_its_help():
    import driver
    import train_model
    from seecgnet.cli import DEFAULT_DEVICE, settings_from_args
    from seecgnet.crossval.__main__ import build_parser as crossval_parser
    from seecgnet.report.__main__ import build_parser as report_parser
    from seecgnet.trained.settings import TrainSettings

    assert DEFAULT_DEVICE == "auto"
    assert TrainSettings().device == "auto"
    assert driver.build_parser().parse_args(["m", "i", "o"]).device == "auto"
    assert report_parser().parse_args(["m", "r"]).device == "auto"
    for parser in (train_model.build_parser(), crossval_parser()):
        assert settings_from_args(parser.parse_args(["d", "w"])).training.device == "auto"
    for parser in (driver.build_parser(), report_parser(), train_model.build_parser()):
        device_help = parser.format_help().split("--device DEVICE", 2)[-1].split("--", 1)[0]
        assert "(default: auto)" in " ".join(device_help.split())


def test_each_training_option_sets_the_training_setting_of_its_name():
    import train_model
    from seecgnet.cli import TRAINING_OPTIONS, settings_from_args
    from seecgnet.trained.settings import TrainSettings

    values = {
        "epochs": "3",
        "batch_size": "5",
        "learning_rate": "0.01",
        "seed": "7",
        "device": "cpu",
        "workers": "2",
        "validation_fraction": "0.3",
        "precision": "bf16",
    }
    assert [name for name, _, _ in TRAINING_OPTIONS] == list(values)
    argv = ["d", "m"]
    for name, value in values.items():
        argv += [f"--{name.replace('_', '-')}", value]
    training = settings_from_args(train_model.build_parser().parse_args(argv)).training
    expected = TrainSettings(
        epochs=3,
        batch_size=5,
        learning_rate=0.01,
        seed=7,
        device="cpu",
        workers=2,
        validation_fraction=0.3,
        precision="bf16",
    )
    assert training == expected
