"""End to end: train a tiny network on synthetic records, run the driver, score with the scorer."""

import dataclasses
import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from seecgnet.challenge.classes import load_scored_classes
from seecgnet.challenge.outputs import load_outputs
from seecgnet.challenge.scoring import evaluate_12ECG_score
from seecgnet.data.dataset import load_store
from seecgnet.inference.driver import predict_folder
from seecgnet.inference.loading import load_model
from seecgnet.io.records import STANDARD_LEADS
from seecgnet.io.reduced_leads import write_reduced_records
from seecgnet.io.synthetic import write_synthetic_dataset, write_synthetic_record
from seecgnet.models.settings import NetworkSettings
from seecgnet.trained.folder import ModelFolderError
from seecgnet.trained.settings import Settings, TrainSettings
from seecgnet.training.data_folder import train_folder
from seecgnet.training.loop import train_model
from seecgnet.training.ship import NothingToTrainError
from team_code import load_12ECG_model, run_12ECG_classifier, train_12ECG_classifier
from tests.paths import ROOT

TINY = Settings(
    network=NetworkSettings.small(),
    training=TrainSettings(epochs=2, batch_size=4, learning_rate=1e-2),
)


@pytest.fixture(scope="module")
def synthetic_data(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("data")
    write_synthetic_dataset(folder, 16, seed=1)
    return folder


@pytest.fixture(scope="module")
def tiny_model(synthetic_data, tmp_path_factory) -> Path:
    model = tmp_path_factory.mktemp("models") / "model"
    train_folder(synthetic_data, model, TINY, progress=False)
    return model


def test_training_writes_a_model_folder_that_rebuilds_from_itself(tiny_model):
    assert sorted(p.name for p in tiny_model.iterdir()) == [
        "model.json",
        "settings.json",
        "training_curve.csv",
        "training_curve.png",
        "weights.pt",
    ]
    assert Settings.load(tiny_model / "settings.json") == TINY
    manifest = json.loads((tiny_model / "model.json").read_text())
    assert len(manifest["classes"]) == 24
    assert manifest["n_training_records"] == 16
    loaded = load_model(tiny_model)
    assert loaded.settings == TINY
    assert len(loaded.predictor.networks) == 1
    # no checkpoint or staging folder is left beside the model
    assert sorted(p.name for p in tiny_model.parent.iterdir()) == ["model"]


def test_driver_writes_one_scorable_output_per_record(tiny_model, synthetic_data, tmp_path):
    summary = predict_folder(tiny_model, synthetic_data, tmp_path / "out", progress=False)
    assert summary.n_records == 16 and summary.n_failed == 0
    outputs = sorted(p.stem for p in (tmp_path / "out").iterdir())
    assert outputs == sorted(p.stem for p in synthetic_data.glob("*.hea"))
    first = (tmp_path / "out" / f"{outputs[0]}.csv").read_text().splitlines()
    assert first[0] == f"#{outputs[0]}"
    assert len(first[1].split(",")) == len(first[2].split(",")) == len(first[3].split(",")) == 24
    result = evaluate_12ECG_score(str(synthetic_data), str(tmp_path / "out"))
    challenge = result[-1]
    assert -1.0 <= challenge <= 1.0


def test_predictions_repeat_for_the_same_input(tiny_model, synthetic_data, tmp_path):
    predict_folder(tiny_model, synthetic_data, tmp_path / "a", progress=False)
    predict_folder(tiny_model, synthetic_data, tmp_path / "b", progress=False)
    for path in (tmp_path / "a").iterdir():
        assert path.read_text() == (tmp_path / "b" / path.name).read_text()


def test_reading_in_worker_processes_writes_the_same_files(tiny_model, synthetic_data, tmp_path):
    predict_folder(tiny_model, synthetic_data, tmp_path / "in_process", progress=False)
    predict_folder(tiny_model, synthetic_data, tmp_path / "workers", progress=False, workers=2)
    written = sorted((tmp_path / "in_process").iterdir())
    assert len(written) == 16
    for path in written:
        assert path.read_bytes() == (tmp_path / "workers" / path.name).read_bytes()


@pytest.mark.parametrize("workers", [0, 2])
def test_missing_leads_are_summed_up_in_one_line_per_lead_set_not_per_record_and_lead(
    tiny_model, synthetic_data, tmp_path, caplog, workers
):
    headers = sorted(synthetic_data.glob("*.hea"))[:7]
    write_reduced_records(headers, ("I", "II"), tmp_path / "records")
    without_v3 = tuple(lead for lead in STANDARD_LEADS if lead != "V3")
    write_synthetic_record(tmp_path / "records", "V3_MISSING", lead_order=without_v3)
    with caplog.at_level(logging.WARNING):
        summary = predict_folder(
            tiny_model, tmp_path / "records", tmp_path / "out", progress=False, workers=workers
        )
    assert summary.n_records == 8 and summary.n_failed == 0
    assert sorted(r.getMessage() for r in caplog.records) == [
        "1 of 8 records lack lead V3, read as zeros: V3_MISSING",
        "7 of 8 records lack leads III, aVR, aVL, aVF, V1, V2, V3, V4, V5, V6, read as zeros: "
        "SYN00001, SYN00002, SYN00003, SYN00004, SYN00005 and 2 more",
    ]


def test_team_code_matches_the_driver_for_a_record(tiny_model, synthetic_data, tmp_path):
    header = sorted(synthetic_data.glob("*.hea"))[0]
    data = scipy.io.loadmat(header.with_suffix(".mat"))["val"]
    lines = header.read_text().splitlines(keepends=True)
    model = load_12ECG_model(str(tiny_model))
    labels, scores, classes = run_12ECG_classifier(data, lines, model)
    assert len(classes) == 24 and labels.dtype.kind == "i"
    predict_folder(tiny_model, synthetic_data, tmp_path / "out", progress=False)
    written = load_outputs([tmp_path / "out" / f"{header.stem}.csv"], model.classes)
    np.testing.assert_allclose(written.scalar[0], scores, rtol=1e-6)
    assert np.array_equal(written.binary[0], labels.astype(bool))
    # the per-sample rule: every label is within a fifth of the top probability
    assert np.array_equal(labels.astype(bool), scores >= scores.max() / 5)


def test_team_code_trains_with_the_challenge_signature(synthetic_data, tmp_path):
    train_12ECG_classifier(str(synthetic_data), str(tmp_path / "model"), settings=TINY)
    assert (tmp_path / "model" / "weights.pt").exists()


def test_training_a_folder_without_records_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(NothingToTrainError, match="no readable record"):
        train_folder(tmp_path / "empty", tmp_path / "model", TINY, progress=False)


@pytest.mark.parametrize("data", ["missing", "empty"])
def test_a_failed_training_leaves_no_cache_or_model_folder_behind(tmp_path, data):
    if data == "empty":
        (tmp_path / data).mkdir()
    cache = tmp_path / "cache"
    result = _run(
        "train_model.py", str(tmp_path / data), str(tmp_path / "model"), "--cache-dir", str(cache)
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "train_model.py: error:" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ([data] if data == "empty" else [])


@pytest.mark.parametrize("missing", ["model.json", "settings.json", "weights.pt"])
def test_a_model_folder_missing_a_file_names_it(tiny_model, tmp_path, missing):
    broken = tmp_path / "model"
    broken.mkdir()
    for path in tiny_model.iterdir():
        if path.name != missing:
            (broken / path.name).write_bytes(path.read_bytes())
    with pytest.raises(ModelFolderError, match=missing.replace(".", r"\.")):
        load_model(broken)


@pytest.mark.parametrize("corrupt", ["model.json", "settings.json", "weights.pt"])
def test_a_model_folder_with_a_corrupt_file_names_it(tiny_model, tmp_path, corrupt):
    broken = tmp_path / "model"
    broken.mkdir()
    for path in tiny_model.iterdir():
        (broken / path.name).write_bytes(path.read_bytes())
    (broken / corrupt).write_bytes(b"\x00garbage")
    with pytest.raises(ModelFolderError, match=corrupt.replace(".", r"\.")):
        load_model(broken)


def test_weights_that_do_not_fit_the_settings_are_reported(tiny_model, tmp_path):
    broken = tmp_path / "model"
    broken.mkdir()
    for path in tiny_model.iterdir():
        (broken / path.name).write_bytes(path.read_bytes())
    wider = dataclasses.replace(TINY, network=NetworkSettings.small(fc_hidden_units=32))
    wider.save(broken / "settings.json")
    with pytest.raises(ModelFolderError, match=r"does not fit the network of .*settings\.json"):
        load_model(broken)


def _run(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / script), *args], capture_output=True, text=True, timeout=300
    )


def test_the_scripts_explain_themselves():
    for script in ("train_model.py", "driver.py"):
        result = _run(script, "--help")
        assert result.returncode == 0
        assert "usage" in result.stdout.lower()


def test_train_and_drive_from_the_command_line(synthetic_data, tmp_path):
    settings = tmp_path / "tiny.json"
    TINY.save(settings)
    trained = _run(
        "train_model.py",
        str(synthetic_data),
        str(tmp_path / "model"),
        "--settings",
        str(settings),
        "--epochs",
        "1",
        "--batch-size",
        "4",
        "--quiet",
    )
    assert trained.returncode == 0, trained.stderr
    driven = _run("driver.py", str(tmp_path / "model"), str(synthetic_data), str(tmp_path / "out"))
    assert driven.returncode == 0, driven.stderr
    assert len(list((tmp_path / "out").glob("*.csv"))) == 16
    assert "16 records: 16 read, 0 failed" in driven.stderr


def test_driver_with_a_missing_model_folder_says_so_without_a_traceback(synthetic_data, tmp_path):
    result = _run(
        "driver.py", str(tmp_path / "nowhere"), str(synthetic_data), str(tmp_path / "out")
    )
    assert result.returncode == 2
    assert "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_training_through_the_cache_builds_it_once_and_reuses_it(synthetic_data, tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="seecgnet.data.cache.build"):
        train_folder(synthetic_data, tmp_path / "a", TINY, progress=False, cache_dir=tmp_path / "c")
        train_folder(synthetic_data, tmp_path / "b", TINY, progress=False, cache_dir=tmp_path / "c")
    messages = [r.getMessage() for r in caplog.records]
    assert sum("building the record cache" in m for m in messages) == 1
    assert len(list((tmp_path / "c").iterdir())) == 1
    # the cache changes how records are stored, not what the model learns from them
    assert load_model(tmp_path / "b").settings == TINY


def test_validation_scores_the_network_exactly_as_the_driver_will_run_it(synthetic_data):
    classes = load_scored_classes()
    store, _ = load_store(synthetic_data, classes, TINY.signal)
    settings = dataclasses.replace(TINY, training=dataclasses.replace(TINY.training, epochs=3))
    trained = train_model(store, classes, settings, progress=False)
    assert len(trained.validation_indices) > 0
    # the best epoch's validation probabilities come from the eval-mode network that is saved
    again = trained.predictor().store_probabilities(store, trained.validation_indices)
    np.testing.assert_allclose(trained.validation_probabilities, again, rtol=1e-5, atol=1e-6)
