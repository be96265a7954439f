"""Data-parallel training: two CPU processes with the gloo backend, launched by torchrun."""

import subprocess
import sys

import pytest
import torch.distributed as dist

from seecgnet.inference.driver import predict_folder
from seecgnet.inference.loading import load_model
from seecgnet.io.synthetic import write_synthetic_dataset
from seecgnet.models.settings import NetworkSettings
from seecgnet.trained.settings import Settings, TrainSettings
from tests.paths import ROOT


@pytest.mark.slow
@pytest.mark.skipif(not dist.is_gloo_available(), reason="this torch build has no gloo backend")
def test_two_gloo_processes_write_one_model_that_keeps_the_single_process_contract(tmp_path):
    write_synthetic_dataset(tmp_path / "data", 12, seed=5)
    settings = Settings(
        network=NetworkSettings.small(), training=TrainSettings(epochs=2, batch_size=4)
    )
    settings.save(tmp_path / "tiny.json")
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2"]
    command += ["--standalone", str(ROOT / "train_model.py"), str(tmp_path / "data")]
    command += [str(tmp_path / "model"), "--settings", str(tmp_path / "tiny.json")]
    command += ["--epochs", "2", "--batch-size", "4", "--quiet"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    # rank 0 alone validates and writes: one line per epoch and one "wrote" line
    assert result.stderr.count("epoch 1/2") == 1
    assert result.stderr.count("wrote ") == 1

    model = tmp_path / "model"
    assert sorted(p.name for p in model.iterdir()) == [
        "model.json",
        "settings.json",
        "training_curve.csv",
        "training_curve.png",
        "weights.pt",
    ]
    loaded = load_model(model)
    assert loaded.settings == settings
    summary = predict_folder(model, tmp_path / "data", tmp_path / "out", progress=False)
    assert summary.n_records == 12 and summary.n_failed == 0
    assert sorted(p.parent.name for p in tmp_path.glob("*/model.json")) == ["model"]
