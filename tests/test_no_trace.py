"""An interrupted training run is never thrown away, a refused command leaves no trace, and what
the commands say is true: the unfinished run named with its epoch, path errors told before torch
loads, a file called a file, an option named as typed, the reduced-lead lines once per lead set.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import driver
import train_model
from seecgnet.convert import main as convert_main
from seecgnet.crossval.__main__ import main as crossval_main
from seecgnet.inference.lead_set_model import load_lead_set_model
from seecgnet.io.records import read_record
from seecgnet.io.reduced_leads import main as reduced_leads_main
from seecgnet.io.synthetic import main as synthetic_main
from seecgnet.io.synthetic import write_synthetic_dataset
from seecgnet.mitbih.__main__ import main as mitbih_main
from seecgnet.mitbih.pretrain import main as pretrain_main
from seecgnet.models.settings import NetworkSettings
from seecgnet.report.__main__ import main as report_main
from seecgnet.trained.settings import Settings, TrainSettings
from seecgnet.training import optimisation
from tests.files import snapshot
from tests.paths import ROOT

TINY = Settings(network=NetworkSettings.small(), training=TrainSettings(epochs=2, batch_size=4))


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Four training records in data/ and the tiny settings, in the current folder."""
    write_synthetic_dataset(tmp_path / "data", 4, seed=3)
    TINY.save(tmp_path / "tiny.json")
    (tmp_path / "afile").write_bytes(b"a user's file\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def one_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1 and "Traceback" not in err, err
    return errors[0]


def train(*options: str) -> int:
    return train_model.main(["data", "model", "--settings", "tiny.json", "--quiet", *options])


def test_an_unfinished_run_is_refused_without_resume_and_kept(world, monkeypatch, capsys):
    real = optimisation.save_checkpoint

    def save_then_stop(*args, **kwargs):
        real(*args, **kwargs)
        raise KeyboardInterrupt  # Ctrl-C just after the first epoch's checkpoint

    monkeypatch.setattr(optimisation, "save_checkpoint", save_then_stop)
    assert train("--no-cache") == 130
    monkeypatch.setattr(optimisation, "save_checkpoint", real)
    before = snapshot(world)
    assert (world / ".model.checkpoint" / "member_1" / "checkpoint.pt").exists()
    assert train("--no-cache") == 2
    assert one_error(capsys) == (
        "train_model.py: error: model holds an unfinished run at epoch 1 of 2: add --resume to "
        "continue it, or name another folder"
    )
    assert snapshot(world) == before


def test_resume_with_nothing_to_resume_is_refused_and_leaves_nothing(world, capsys):
    before = snapshot(world)
    assert train("--no-cache", "--resume") == 2
    assert "model: nothing to resume" in one_error(capsys)
    assert snapshot(world) == before


def test_replacing_a_finished_model_says_which_one_before_training(world, monkeypatch, caplog):
    shutil.copytree(ROOT / "model", world / "model")

    def stop(*_args, **_kwargs):
        raise KeyboardInterrupt  # where training would start reading the records

    monkeypatch.setattr("seecgnet.training.data_folder._training_records", stop)
    with caplog.at_level(logging.INFO, logger="seecgnet.training.data_folder"):
        assert train("--no-cache") == 130
    said = [r.getMessage() for r in caplog.records if "replacing" in r.getMessage()]
    assert len(said) == 1
    assert said[0].startswith(
        "replacing the model in model (trained on 295 records, its model.json"
    )
    assert snapshot(world / "model") == snapshot(ROOT / "model")  # the routed model, untouched


@pytest.mark.parametrize("seeds", ["1", "2"])
def test_the_mitbih_benchmark_writes_nothing_before_it_finds_records(world, capsys, seeds):
    (world / "no_records").mkdir()
    before = snapshot(world)
    status = mitbih_main(["no_records", "work", "--protocol", "intra", "--seeds", seeds])
    assert status == 2 and "no records" in one_error(capsys)
    assert snapshot(world) == before  # no work/settings.json to refuse the corrected command


@pytest.mark.parametrize(
    "argv",
    [
        ["train_model.py", "NO_DATA", "model"],
        ["driver.py", str(ROOT / "model"), "NO_INPUT", "out"],
        ["-m", "seecgnet.crossval", "NO_DATA", "work"],
        ["-m", "seecgnet.mitbih", "NO_DATA", "work", "--protocol", "intra"],
        ["-m", "seecgnet.mitbih.pretrain", "NO_DATA", "layers.pt"],
    ],
)
def test_a_missing_input_folder_is_told_before_torch_loads(tmp_path, argv):
    script = [str(ROOT / argv[0])] if argv[0].endswith(".py") else argv[:2]
    rest = argv[1:] if argv[0].endswith(".py") else argv[2:]
    run = subprocess.run(
        [sys.executable, "-X", "importtime", *script, *rest],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert run.returncode == 2
    errors = [line for line in run.stderr.splitlines() if "error:" in line]
    assert (len(errors) == 1 and "NO_DATA" in errors[0]) or "NO_INPUT" in errors[0]
    assert "| torch" not in run.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_file_given_for_a_folder_is_called_a_file(world, capsys):
    assert driver.main(["afile", "data", "out", "--quiet"]) == 2
    assert "afile: is a file, not a model folder" in one_error(capsys)
    assert driver.main([str(ROOT / "model"), "afile", "out", "--quiet"]) == 2
    assert "afile: is a file, not a folder of records" in one_error(capsys)
    assert train_model.main(["afile", "model"]) == 2
    assert "afile: is a file, not a folder of records" in one_error(capsys)
    assert not (world / "out").exists() and not (world / "model").exists()


def test_an_option_error_names_the_option_as_typed(world, capsys):
    with pytest.raises(SystemExit):
        train_model.main(["data", "model", "--validation-fraction", "1.5"])
    line = one_error(capsys)
    assert "--validation-fraction must be in [0, 1), got 1.5" in line
    assert "validation_fraction" not in line


@pytest.mark.parametrize(
    "main",
    [
        *(crossval_main, mitbih_main, pretrain_main, report_main, synthetic_main),
        *(reduced_leads_main, convert_main),
    ],
)
def test_every_python_m_command_answers_help(capsys, main):
    with pytest.raises(SystemExit) as stopped:
        main(["--help"])
    assert stopped.value.code == 0
    assert "usage: python -m seecgnet." in capsys.readouterr().out


def test_reduced_lead_records_are_told_of_once_per_lead_set_truly(world, caplog):
    model = load_lead_set_model(ROOT / "model", ["I", "II"])
    with caplog.at_level(logging.WARNING):
        for name in ("SYN00001", "SYN00002", "SYN00003"):
            model.predict_record(read_record(world / "data" / name))
    told = [r.getMessage() for r in caplog.records if "lead" in r.getMessage()]
    assert told == [
        "records of leads I, II: III, aVR, aVL, aVF computed from them; "
        "V1, V2, V3, V4, V5, V6 absent (zeros for the network)"
    ]
