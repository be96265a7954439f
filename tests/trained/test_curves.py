"""Training curves: every epoch's loss and validation challenge metric, in the model folder."""

import csv
import json
import math

import numpy as np
import pytest

from seecgnet.io.synthetic import write_synthetic_dataset
from seecgnet.models.settings import NetworkSettings
from seecgnet.trained.curves import (
    CURVE_CSV,
    CURVE_PNG,
    CurveFileError,
    EpochLog,
    read_curve_csv,
    write_curve_csv,
)
from seecgnet.trained.settings import Settings, TrainSettings
from seecgnet.training.data_folder import train_folder

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_a_tiny_training_run_writes_one_curve_row_per_network_and_epoch(tmp_path):
    write_synthetic_dataset(tmp_path / "data", 12, seed=4)
    settings = Settings(
        network=NetworkSettings.small(),
        training=TrainSettings(epochs=3, batch_size=4, learning_rate=1e-2),
    )
    report = train_folder(tmp_path / "data", tmp_path / "model", settings, folds=2, progress=False)
    with (tmp_path / "model" / CURVE_CSV).open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(row["network"], row["epoch"]) for row in rows] == [
        (network, epoch) for network in ("1", "2") for epoch in ("1", "2", "3")
    ]
    assert all(float(row["train_loss"]) > 0 and float(row["seconds"]) > 0 for row in rows)
    histories = read_curve_csv(tmp_path / "model" / CURVE_CSV)
    for history, best, score in zip(
        histories, report.best_epochs, report.validation_challenge_metrics, strict=True
    ):
        kept = next(entry for entry in history if entry.epoch == best)
        assert kept.validation_challenge_metric == pytest.approx(score, abs=1e-5, nan_ok=True)
    manifest = json.loads((tmp_path / "model" / "model.json").read_text())
    assert manifest["best_epochs"] == list(report.best_epochs)
    assert (tmp_path / "model" / CURVE_PNG).read_bytes().startswith(PNG_MAGIC)


def test_curve_files_read_back_with_undefined_metrics_as_nan(tmp_path):
    histories = [
        [EpochLog(1, 0.5, math.nan, 1.25), EpochLog(2, 0.25, 0.3, 1.5)],
        [EpochLog(1, 0.75, 0.125, 2.0)],
    ]
    write_curve_csv(tmp_path / CURVE_CSV, histories)
    back = read_curve_csv(tmp_path / CURVE_CSV)
    assert [len(h) for h in back] == [2, 1]
    assert np.isnan(back[0][0].validation_challenge_metric)
    assert back[0][1] == histories[0][1] and back[1][0] == histories[1][0]


def test_a_damaged_curve_file_is_an_error_naming_file_and_line(tmp_path):
    path = tmp_path / CURVE_CSV
    path.write_text("network,epoch,train_loss,validation_challenge_metric,seconds\n1,x,1,1,1\n")
    with pytest.raises(CurveFileError, match=r"training_curve\.csv, line 2"):
        read_curve_csv(path)
