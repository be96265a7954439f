"""Nothing a user owns is lost: every command refuses, before any work, an output path that would
replace, bury or overwrite the user's files, and leaves every file as it was (byte for byte).

Each refusal is one line on stderr naming the path, with exit status 2.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import driver
import evaluate_12ECG_score
import train_model
from seecgnet.crossval.__main__ import main as crossval_main
from seecgnet.destinations import DestinationError
from seecgnet.io.synthetic import write_synthetic_dataset
from seecgnet.mitbih.__main__ import main as mitbih_main
from seecgnet.mitbih.pretrain import main as pretrain_main
from seecgnet.models.settings import NetworkSettings
from seecgnet.report.__main__ import main as report_main
from seecgnet.trained.settings import Settings, TrainSettings
from team_code import train_12ECG_classifier
from tests.files import snapshot
from tests.paths import ROOT

TINY = Settings(network=NetworkSettings.small(), training=TrainSettings(epochs=1, batch_size=4))


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user's folder: four training records in data/, notes in notes/, a file, the tiny
    settings; the current folder is the user's folder."""
    write_synthetic_dataset(tmp_path / "data", 4, seed=2)
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "plan.txt").write_bytes(b"the user's plan\n")
    (tmp_path / "notes" / ".hidden").write_bytes(b"\x00\x01")
    (tmp_path / "file.txt").write_bytes(b"the user's file\n")
    TINY.save(tmp_path / "tiny.json")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def refused(capsys: pytest.CaptureFixture[str], status: int, *named: str) -> str:
    """The one line a refused command printed; it names every string of ``named``."""
    assert status == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    errors = [line for line in lines if "error:" in line]
    assert len(errors) == 1, lines
    assert "Traceback" not in "\n".join(lines)
    for text in named:
        assert text in errors[0]
    return errors[0]


def train(world: Path, model: str, *options: str) -> int:
    return train_model.main(["data", model, "--settings", "tiny.json", "--quiet", *options])


@pytest.mark.parametrize(
    ("model", "problem"),
    [
        ("data", "cannot be the data folder"),
        ("notes", "not a model folder"),
        ("file.txt", "is a file"),
        ("data/model", "cannot lie inside the data folder"),
        (".", "would hold the data folder"),
        ("file.txt/model", "file.txt is a file"),
    ],
)
def test_training_refuses_a_model_path_that_would_lose_files(world, capsys, model, problem):
    before = snapshot(world)
    line = refused(capsys, train(world, model), model, problem)
    assert line.startswith("train_model.py: error:")
    assert snapshot(world) == before


def test_training_into_the_current_folder_is_refused_even_when_it_is_empty(
    world, capsys, monkeypatch
):
    (world / "empty").mkdir()
    monkeypatch.chdir(world / "empty")
    status = train_model.main([str(world / "data"), ".", "--settings", str(world / "tiny.json")])
    refused(capsys, status, "current folder")
    assert list((world / "empty").iterdir()) == []


def test_a_checkpoint_folder_holding_other_files_is_refused(world, capsys):
    (world / ".model.checkpoint").mkdir()
    (world / ".model.checkpoint" / "mine.txt").write_bytes(b"not a checkpoint")
    before = snapshot(world)
    refused(capsys, train(world, "model"), ".model.checkpoint", "mine.txt")
    assert snapshot(world) == before


def test_team_codes_training_function_refuses_the_data_folder(world):
    before = snapshot(world)
    with pytest.raises(DestinationError, match="cannot be the data folder"):
        train_12ECG_classifier(str(world / "data"), str(world / "data"), settings=TINY)
    assert snapshot(world) == before


def test_training_replaces_a_model_folder_keeping_its_other_files_and_nothing_beside_it(world):
    assert train(world, "model", "--no-cache") == 0
    (world / "model" / "README.md").write_bytes(b"# my model card\n")
    first = (world / "model" / "weights.pt").read_bytes()
    assert train(world, "model", "--no-cache", "--seed", "1") == 0
    assert (world / "model" / "README.md").read_bytes() == b"# my model card\n"
    assert (world / "model" / "weights.pt").read_bytes() != first
    # no checkpoint, staging or retired folder is left, hidden or not
    assert sorted(p.name for p in world.iterdir()) == [
        "data",
        "file.txt",
        "model",
        "notes",
        "tiny.json",
    ]


def test_a_cache_folder_that_is_a_file_is_refused(world, capsys):
    before = snapshot(world)
    refused(capsys, train(world, "model", "--cache-dir", "file.txt"), "file.txt", "is a file")
    assert snapshot(world) == before


@pytest.fixture
def predicted(world: Path) -> Path:
    """The bundled model's outputs for the four records, in out/."""
    assert driver.main([str(ROOT / "model"), "data", "out", "--quiet", "--workers", "0"]) == 0
    return world


@pytest.mark.parametrize(
    ("output", "problem"),
    [
        ("file.txt", "is a file"),
        ("data", "cannot be the input folder"),
        ("notes", "not this command's own challenge output file"),
    ],
)
def test_the_driver_refuses_an_output_path_that_would_lose_files(world, capsys, output, problem):
    if output == "notes":  # the user's own CSV that happens to share a record's name
        (world / "notes" / "SYN00001.csv").write_bytes(b"patient,notes\n1,fine\n")
    before = snapshot(world)
    status = driver.main([str(ROOT / "model"), "data", output, "--quiet"])
    refused(capsys, status, output, problem)
    assert snapshot(world) == before


def test_the_driver_replaces_its_own_outputs(predicted, capsys):
    (predicted / "out" / "SYN00002.csv").write_bytes(b"#SYN00002\nstale\n")
    assert driver.main([str(ROOT / "model"), "data", "out", "--quiet", "--workers", "0"]) == 0
    assert (predicted / "out" / "SYN00002.csv").read_bytes().startswith(b"#SYN00002\n")
    assert b"stale" not in (predicted / "out" / "SYN00002.csv").read_bytes()


def test_the_driver_makes_no_output_folder_when_the_model_cannot_be_loaded(world, capsys):
    refused(capsys, driver.main(["notes", "data", "out", "--quiet"]), "model.json")
    assert not (world / "out").exists()


@pytest.mark.parametrize(
    ("scores", "problem"),
    [
        ("weights.csv", "one of the files this command reads"),
        ("data/SYN00001.hea", "one of the files this command reads"),
        ("out/SYN00001.csv", "one of the files this command reads"),
        ("notes", "is a folder"),
        ("same", "named for both"),
    ],
)
def test_the_scorer_refuses_a_scores_file_that_is_one_of_its_inputs(
    predicted, capsys, scores, problem
):
    shutil.copy(ROOT / "weights.csv", predicted / "weights.csv")
    named = [scores, "class_scores.csv"] if scores != "same" else ["s.csv", "./s.csv"]
    before = snapshot(predicted)
    status = evaluate_12ECG_score.main(["data", "out", *named, "--weights", "weights.csv"])
    refused(capsys, status, named[0], problem)
    assert snapshot(predicted) == before


@pytest.mark.parametrize(
    ("workdir", "problem"),
    [
        ("data", "cannot be the data folder"),
        ("notes", "holds other files and no folds.csv"),
        ("file.txt", "is a file"),
        ("data/work", "cannot lie inside the data folder"),
    ],
)
def test_cross_validation_refuses_a_work_folder_that_would_lose_files(
    world, capsys, workdir, problem
):
    before = snapshot(world)
    status = crossval_main(["data", workdir, "--folds", "2", "--settings", "tiny.json"])
    refused(capsys, status, workdir, problem)
    assert snapshot(world) == before


@pytest.mark.parametrize(
    ("workdir", "problem"),
    [
        ("data", "cannot be the data folder"),
        ("notes", "holds other files and no settings.json"),
        ("file.txt", "is a file"),
    ],
)
def test_the_mitbih_benchmark_refuses_a_work_folder_that_would_lose_files(
    world, capsys, workdir, problem
):
    before = snapshot(world)
    status = mitbih_main(["data", workdir, "--protocol", "intra"])
    refused(capsys, status, workdir, problem)
    assert snapshot(world) == before


@pytest.mark.parametrize(
    ("out", "problem"),
    [
        ("data/SYN00001.mat", "cannot lie inside the data folder"),
        ("data/layers.pt", "cannot lie inside the data folder"),
        ("notes", "is a folder"),
        ("tiny.json", "one of the files this command reads"),
    ],
)
def test_pretraining_refuses_an_output_file_that_would_lose_files(world, capsys, out, problem):
    before = snapshot(world)
    with pytest.raises(SystemExit) as stopped:  # a refused argument ends in the parser's exit
        pretrain_main(["data", out, "--settings", "tiny.json", "--quiet"])
    refused(capsys, stopped.value.code, out, problem)
    assert snapshot(world) == before


def test_the_report_never_replaces_a_file_it_was_not_told_to_write(world, capsys):
    (world / "SYN00001_report.png").write_bytes(b"the user's picture")
    before = snapshot(world)
    status = report_main([str(ROOT / "model"), "data/SYN00001"])
    refused(capsys, status, "SYN00001_report.png", "--out")
    status = report_main([str(ROOT / "model"), "data/SYN00001", "--out", "notes"])
    refused(capsys, status, "notes", "is a folder")
    assert snapshot(world) == before
