"""Bad inputs and killed runs: the driver answers every record, training resumes, nothing is lost."""

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from seecgnet.challenge.classes import load_scored_classes
from seecgnet.challenge.outputs import load_outputs
from seecgnet.data.dataset import load_store
from seecgnet.destinations import DestinationError
from seecgnet.inference.driver import (
    NoRecordsError,
    PredictionError,
    predict_folder,
    predict_records,
)
from seecgnet.inference.loading import load_model
from seecgnet.io.records import RecordError
from seecgnet.io.synthetic import write_synthetic_dataset
from seecgnet.models.settings import NetworkSettings
from seecgnet.trained.folder import ModelFolderError
from seecgnet.trained.settings import Settings, TrainSettings
from seecgnet.training.checkpoint import CheckpointError
from seecgnet.training.data_folder import train_folder
from seecgnet.training.loop import train_model
from tests.corpus import CORPUS, Unreadable, write_corpus
from tests.paths import ROOT

TINY = Settings(network=NetworkSettings.small(), training=TrainSettings(epochs=1, batch_size=4))


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("robust")
    write_synthetic_dataset(root / "data", 8, seed=7)
    train_folder(root / "data", root / "model", TINY, progress=False)
    return root / "model"


def _driver(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "driver.py"), *args, "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_driver_answers_every_record_of_the_bad_corpus(tiny_model, tmp_path, caplog):
    corpus = write_corpus(tmp_path / "corpus")
    headers = sorted(corpus.glob("*.hea"))
    summary = predict_folder(tiny_model, corpus, tmp_path / "out", progress=False)
    unreadable = {e.stem for e in CORPUS if isinstance(e.outcome, Unreadable)}
    assert summary.n_records == len(headers)
    assert sorted(name for name, _ in summary.failures) == sorted(unreadable)
    written = sorted(p.stem for p in (tmp_path / "out").glob("*.csv"))
    assert written == sorted(h.stem for h in headers)
    # an unreadable record's answer is all negative, which the scorer reads as such
    classes = load_model(tiny_model).classes
    failed = load_outputs(
        [tmp_path / "out" / f"{name}.csv" for name in sorted(unreadable)], classes
    )
    assert not failed.binary.any() and not failed.scalar.any()
    # one log line per failed record, naming its file
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    for name in unreadable:
        (line,) = [message for message in errors if f"{corpus / name}." in message]
        assert line.count(str(corpus / name)) == 1  # the file is named once


def test_the_driver_exits_zero_after_failed_records_unless_strict(tiny_model, tmp_path):
    corpus = tmp_path / "some"
    write_synthetic_dataset(corpus, 2, seed=8)
    (corpus / "SYN00002.mat").write_bytes(b"not a matrix")
    relaxed = _driver(str(tiny_model), str(corpus), str(tmp_path / "a"))
    assert relaxed.returncode == 0, relaxed.stderr
    assert "2 records: 1 read, 1 failed" in relaxed.stderr
    assert "SYN00002" in relaxed.stderr
    strict = _driver(str(tiny_model), str(corpus), str(tmp_path / "b"), "--strict")
    assert strict.returncode == 1
    assert len(list((tmp_path / "b").glob("*.csv"))) == 2


def test_an_output_folder_that_cannot_be_made_is_an_error_without_a_traceback(tiny_model, tmp_path):
    write_synthetic_dataset(tmp_path / "in", 1, seed=9)
    (tmp_path / "blocker").write_text("a file where the output folder's parent should be")
    result = _driver(str(tiny_model), str(tmp_path / "in"), str(tmp_path / "blocker" / "out"))
    assert result.returncode == 2
    assert "driver.py: error" in result.stderr and "Traceback" not in result.stderr


def test_an_empty_input_folder_is_a_clear_error(tiny_model, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(NoRecordsError, match="no records"):
        predict_folder(tiny_model, tmp_path / "empty", tmp_path / "out", progress=False)
    result = _driver(str(tiny_model), str(tmp_path / "empty"), str(tmp_path / "out"))
    assert result.returncode == 2 and "no records" in result.stderr


def test_the_input_and_output_folders_are_checked_before_the_model_is_loaded(tmp_path):
    no_model = tmp_path / "no-model"  # loading it would fail with ModelFolderError
    with pytest.raises(RecordError, match="no such folder"):
        predict_folder(no_model, tmp_path / "no-input", tmp_path / "out", progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(NoRecordsError, match="no records"):
        predict_folder(no_model, tmp_path / "empty", tmp_path / "out", progress=False)
    write_synthetic_dataset(tmp_path / "in", 1, seed=9)
    (tmp_path / "blocker").write_text("a file where the output folder's parent should be")
    with pytest.raises(DestinationError, match="blocker is a file"):
        predict_folder(no_model, tmp_path / "in", tmp_path / "blocker" / "out", progress=False)
    result = _driver(str(no_model), str(tmp_path / "empty"), str(tmp_path / "out"))
    assert result.returncode == 2 and "no records" in result.stderr


@pytest.mark.slow
def test_a_killed_training_leaves_no_model_and_resumes_to_the_end(tmp_path):
    write_synthetic_dataset(tmp_path / "data", 12, seed=10)
    settings = tmp_path / "tiny.json"
    TINY.save(settings)
    model = tmp_path / "model"
    command = [sys.executable, str(ROOT / "train_model.py"), str(tmp_path / "data"), str(model)]
    command += ["--settings", str(settings), "--epochs", "60", "--batch-size", "4", "--quiet"]
    checkpoint = tmp_path / ".model.checkpoint" / "member_1" / "checkpoint.pt"
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while not checkpoint.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)
    time.sleep(1.0)  # a few more epochs
    assert process.poll() is None, "training ended before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    # nothing that loads as a model is left behind
    with pytest.raises(ModelFolderError):
        load_model(model)

    resumed = subprocess.run([*command, "--resume"], capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    after = [line for line in resumed.stderr.splitlines() if "resuming from" in line]
    assert len(after) == 1
    epochs_done = int(after[0].rsplit("after epoch", 1)[1])
    assert 1 <= epochs_done < 60
    assert f"epoch {epochs_done + 1}/60" in resumed.stderr
    assert "epoch 1/60" not in resumed.stderr
    loaded = load_model(model)
    assert len(loaded.predictor.networks) == 1
    assert not checkpoint.parent.exists()  # the finished model replaces the checkpoints
    assert np.isfinite(loaded.manifest["validation_challenge_metric"]).all()


def test_resuming_with_other_settings_is_refused(tmp_path):
    write_synthetic_dataset(tmp_path / "data", 6, seed=11)
    classes = load_scored_classes()
    store, _ = load_store(tmp_path / "data", classes, TINY.signal)
    train_model(store, classes, TINY, checkpoint_dir=tmp_path / "ckpt", progress=False)
    longer = dataclasses.replace(TINY, training=dataclasses.replace(TINY.training, epochs=2))
    with pytest.raises(CheckpointError, match="other settings"):
        train_model(
            store, classes, longer, checkpoint_dir=tmp_path / "ckpt", resume=True, progress=False
        )
    (tmp_path / "ckpt" / "checkpoint.pt").write_bytes(b"torn")
    with pytest.raises(CheckpointError, match="cannot resume"):
        train_model(
            store, classes, TINY, checkpoint_dir=tmp_path / "ckpt", resume=True, progress=False
        )


def test_a_network_that_keeps_failing_stops_the_run_instead_of_answering_all_negative(
    tiny_model, tmp_path, monkeypatch
):
    write_synthetic_dataset(tmp_path / "in", 8, seed=14)
    loaded = load_model(tiny_model)

    def broken(windows, demographics):
        raise RuntimeError("CUDA error: an illegal memory access was encountered")

    monkeypatch.setattr(loaded.predictor, "batch_probabilities", broken)
    with pytest.raises(PredictionError, match="5 records in a row"):
        predict_records(
            loaded, sorted((tmp_path / "in").glob("*.hea")), tmp_path / "out", progress=False
        )
    # the records answered before it stopped keep their (all-negative) outputs
    assert len(list((tmp_path / "out").glob("*.csv"))) == 4


def test_a_batch_that_fails_once_in_the_network_costs_no_record_its_answer(
    tiny_model, tmp_path, monkeypatch
):
    write_synthetic_dataset(tmp_path / "in", 8, seed=15)
    loaded = load_model(tiny_model)
    real = loaded.predictor.batch_probabilities
    calls = []

    def fails_first(windows, demographics):
        calls.append(len(windows))
        if len(calls) == 1:  # the batch of all 8 records
            raise RuntimeError("CUDA out of memory")
        return real(windows, demographics)

    monkeypatch.setattr(loaded.predictor, "batch_probabilities", fails_first)
    headers = sorted((tmp_path / "in").glob("*.hea"))
    summary = predict_records(loaded, headers, tmp_path / "out", progress=False)
    assert summary.n_failed == 0 and summary.n_records == 8
    assert len(calls) == 9  # the failed batch, then each of its records alone
    written = load_outputs(sorted((tmp_path / "out").glob("*.csv")), loaded.classes)
    assert written.scalar.max() > 0  # real answers, not all-negative ones
