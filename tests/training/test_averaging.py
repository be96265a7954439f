"""Weight averaging (an exponential moving average of the weights) and label smoothing."""

import dataclasses
import math

import pytest
import torch
from torch import nn

from seecgnet.challenge.classes import load_scored_classes
from seecgnet.data.dataset import load_store
from seecgnet.io.synthetic import write_synthetic_dataset
from seecgnet.models.settings import NetworkSettings
from seecgnet.trained.settings import Settings, TrainSettings
from seecgnet.training.averaging import WeightAverage
from seecgnet.training.checkpoint import CHECKPOINT_NAME
from seecgnet.training.loop import train_model
from seecgnet.training.loss import smoothed_targets

CLASSES = load_scored_classes()


def test_the_average_follows_the_weights_with_its_time_constant():
    network = nn.Sequential(nn.Linear(2, 1), nn.BatchNorm1d(1))
    average = WeightAverage(network, time_constant_steps=4.0)
    decay = math.exp(-1 / 4)
    expected = network[0].weight.detach().clone()
    for step in range(30):
        with torch.no_grad():
            network[0].weight.add_(1.0)
        network[1].num_batches_tracked += 1
        average.update(network)
        d = min(decay, (1 + step) / (10 + step))
        expected = d * expected + (1 - d) * network[0].weight.detach()
    torch.testing.assert_close(average.network[0].weight, expected)
    assert average.network[1].num_batches_tracked == 30  # counters are copied, not averaged
    assert not any(p.requires_grad for p in average.network.parameters())
    restored = WeightAverage(network, 4.0)
    restored.load_state_dict(average.state_dict())
    torch.testing.assert_close(restored.network[0].weight, expected)
    assert restored.steps == 30
    with pytest.raises(ValueError, match="positive"):
        WeightAverage(network, 0.0)


def test_label_smoothing_moves_targets_towards_one_half():
    targets = torch.tensor([[1.0, 0.0]])
    assert smoothed_targets(targets, 0.0) is targets
    torch.testing.assert_close(smoothed_targets(targets, 0.2), torch.tensor([[0.9, 0.1]]))


def test_a_run_with_averaging_keeps_the_average_and_resumes_it(tmp_path):
    write_synthetic_dataset(tmp_path / "data", 8, seed=2)
    settings = Settings(
        network=NetworkSettings.small(), training=TrainSettings(epochs=2, batch_size=4)
    )
    store = load_store(tmp_path / "data", CLASSES, settings.signal)[0]
    averaged = dataclasses.replace(
        settings, training=dataclasses.replace(settings.training, average_epochs=1.0)
    )

    def train(settings, **options):
        return train_model(
            store, CLASSES, settings, train_indices=range(8), progress=False, **options
        )

    plain, kept = train(settings), train(averaged)
    pairs = zip(
        plain.network.state_dict().values(), kept.network.state_dict().values(), strict=True
    )
    floating = [(a, b) for a, b in pairs if a.is_floating_point()]
    differing = sum(not torch.allclose(a, b) for a, b in floating)
    assert differing > len(floating) / 2  # the same steps, but the average of the weights is kept
    # the checkpoint holds the average; a finished run resumed from it gives the same model
    again = train(averaged, checkpoint_dir=tmp_path / "ckpt")
    saved = torch.load(tmp_path / "ckpt" / CHECKPOINT_NAME, weights_only=False)
    assert saved["average"]["steps"] == 2  # one full batch of the 6 training records an epoch
    resumed = train(averaged, checkpoint_dir=tmp_path / "ckpt", resume=True)
    again_state, resumed_state = again.network.state_dict(), resumed.network.state_dict()
    for name, value in again_state.items():
        torch.testing.assert_close(value, resumed_state[name])
