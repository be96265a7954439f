"""On a CUDA machine: training with mixed precision and prediction on the GPU. Skipped without CUDA."""

import numpy as np
import pytest
import torch

from seecgnet.challenge.classes import load_scored_classes
from seecgnet.data.dataset import load_store
from seecgnet.io.synthetic import write_synthetic_dataset
from seecgnet.models.settings import NetworkSettings
from seecgnet.trained.settings import Settings, TrainSettings
from seecgnet.training.loop import train_model

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


def test_mixed_precision_training_on_cuda_predicts_like_the_cpu(tmp_path):
    write_synthetic_dataset(tmp_path / "data", 12, seed=12)
    classes = load_scored_classes()
    settings = Settings(
        network=NetworkSettings.small(),
        training=TrainSettings(epochs=2, batch_size=4, device="cuda", mixed_precision=True),
    )
    store, _ = load_store(tmp_path / "data", classes, settings.signal)
    trained = train_model(store, classes, settings, progress=False)
    assert next(trained.network.parameters()).is_cuda
    on_gpu = trained.predictor("cuda").store_probabilities(store, range(len(store)))
    trained.network.cpu()
    on_cpu = trained.predictor("cpu").store_probabilities(store, range(len(store)))
    # the weights are float32; prediction runs in float32 on both devices
    np.testing.assert_allclose(on_gpu, on_cpu, atol=1e-4)
