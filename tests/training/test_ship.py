"""One way to ship: train_model.py's path (train_folder) and a cross-validation fold's network
(run_fold) both go through ship, so the same records and seed give the same model."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from seecgnet.challenge.classes import load_scored_classes
from seecgnet.crossval.run import run_fold
from seecgnet.data.dataset import load_store
from seecgnet.io.synthetic import write_synthetic_dataset, write_synthetic_record
from seecgnet.models.settings import NetworkSettings
from seecgnet.trained.decision import DecisionRule, DecisionSettings
from seecgnet.trained.settings import Settings, TrainSettings
from seecgnet.training.data_folder import train_folder

N_RECORDS = 16


@pytest.mark.parametrize("rule", [DecisionRule.PER_CLASS, DecisionRule.PER_LEAD_SET])
def test_train_model_and_cross_validation_ship_the_same_model_from_the_same_records(tmp_path, rule):
    settings = Settings(
        network=NetworkSettings.small(),
        decision=DecisionSettings(rule=rule),
        training=TrainSettings(epochs=2, batch_size=4, learning_rate=1e-2, device="cpu"),
    )
    data = tmp_path / "data"
    write_synthetic_dataset(data, N_RECORDS, seed=3)
    train_folder(data, tmp_path / "model", settings, progress=False)

    # the same records and one more, held out as the fold: it sorts after them in the store
    with_fold = tmp_path / "with_fold"
    shutil.copytree(data, with_fold)
    write_synthetic_record(with_fold, "ZZZ00001")
    classes = load_scored_classes()
    store, failures = load_store(with_fold, classes, settings.signal)
    assert failures == [] and store.names[-1] == "ZZZ00001"
    folds = np.array([0] * N_RECORDS + [1])
    headers = {name: with_fold / f"{name}.hea" for name in store.names}
    fold_dir = tmp_path / "fold_2"
    run_fold(store, headers, classes, settings, folds, 1, fold_dir, progress=False)

    shipped, fold = tmp_path / "model", fold_dir / "model"
    weights = torch.load(shipped / "weights.pt", weights_only=True)
    fold_weights = torch.load(fold / "weights.pt", weights_only=True)
    assert weights.keys() == fold_weights.keys()
    assert all(torch.equal(weights[key], fold_weights[key]) for key in weights)
    decision = json.loads((shipped / "settings.json").read_text())["decision"]
    assert decision == json.loads((fold / "settings.json").read_text())["decision"]
    assert decision["rule"] == rule.value
    manifest = json.loads((shipped / "model.json").read_text())
    assert manifest == json.loads((fold / "model.json").read_text())
