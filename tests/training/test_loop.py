"""Training's own behaviour: windows that change every epoch, the best epoch, resuming, settings."""

import argparse
import dataclasses

import numpy as np
import pytest
import torch

from seecgnet.challenge.classes import load_scored_classes
from seecgnet.challenge.metrics import ChallengeMetric
from seecgnet.cli import add_training_options, settings_from_args
from seecgnet.data.dataset import TrainingWindows, load_store
from seecgnet.data.signals import AgeStatistics, SignalSettings
from seecgnet.inference.prediction import lead_set_probabilities
from seecgnet.io.synthetic import SINUS_RHYTHM, write_synthetic_dataset, write_synthetic_record
from seecgnet.models.settings import BaselineSettings, NetworkSettings
from seecgnet.trained.decision import decide
from seecgnet.trained.settings import Settings, SettingsError, TrainSettings
from seecgnet.training import steps
from seecgnet.training.checkpoint import CheckpointError
from seecgnet.training.loop import train_model, window_loader
from seecgnet.training.loss import hard_mining_bce

CLASSES = load_scored_classes()
TINY = Settings(network=NetworkSettings.small(), training=TrainSettings(epochs=2, batch_size=4))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    write_synthetic_dataset(folder, 10, seed=13)
    return load_store(folder, CLASSES, TINY.signal)[0]


def test_worker_processes_draw_new_windows_every_epoch(store):
    windows = TrainingWindows(store, [0], SignalSettings(), AgeStatistics(), seed=0)
    loader = window_loader(windows, 1, None, workers=2, drop_last=False, pin_memory=False, seed=0)
    drawn = []
    for epoch in (1, 2):
        windows.set_epoch(epoch)
        drawn.append(next(iter(loader))[0])
    assert not torch.equal(drawn[0], drawn[1])
    windows.set_epoch(1)
    assert torch.equal(next(iter(loader))[0], drawn[0])  # and the same epoch draws the same


def test_validation_records_without_a_defined_metric_keep_the_last_epoch(tmp_path):
    # all sinus rhythm: the challenge metric's best and baseline coincide, so it is 0.0 (as the
    # official scorer's) and undefined
    for i in range(8):
        write_synthetic_record(tmp_path, f"N{i}", dx_codes=(SINUS_RHYTHM,), seed=i)
    sinus, _ = load_store(tmp_path, CLASSES, TINY.signal)
    trained = train_model(
        sinus, CLASSES, TINY, validation_indices=[6, 7], train_indices=range(6), progress=False
    )
    assert [e.validation_challenge_metric for e in trained.history] == [0.0, 0.0]
    assert trained.best_epoch == 2
    assert trained.validation_probabilities.shape == (2, len(CLASSES))


def test_resuming_on_other_records_is_refused(store, tmp_path):
    train_model(
        store, CLASSES, TINY, train_indices=range(8), checkpoint_dir=tmp_path, progress=False
    )
    with pytest.raises(CheckpointError, match="other records"):
        train_model(
            store,
            CLASSES,
            TINY,
            train_indices=range(9),
            checkpoint_dir=tmp_path,
            resume=True,
            progress=False,
        )


def _parse(*argv: str) -> Settings:
    parser = argparse.ArgumentParser()
    add_training_options(parser)
    return settings_from_args(parser.parse_args(argv))


def test_a_settings_file_is_kept_where_the_command_line_is_silent(tmp_path):
    saved = dataclasses.replace(
        Settings(),
        architecture="baseline",
        network=BaselineSettings(),
        training=TrainSettings(epochs=7, batch_size=8, seed=3),
    )
    saved.save(tmp_path / "settings.json")
    assert _parse("--settings", str(tmp_path / "settings.json")) == saved
    overridden = _parse("--settings", str(tmp_path / "settings.json"), "--epochs", "9")
    assert overridden.training.epochs == 9 and overridden.training.batch_size == 8
    assert overridden.architecture == "baseline"


def test_without_a_file_the_defaults_apply():
    assert _parse() == Settings()
    assert _parse("--seed", "4").training == TrainSettings(seed=4)


def test_settings_refuse_a_network_that_does_not_fit_the_windows():
    with pytest.raises(SettingsError, match="windows of 2500 samples"):
        Settings(network=NetworkSettings(window_samples=2500))


def test_pretrained_names_the_file_and_only_se_ecgnet_takes_one(tmp_path):
    weights = tmp_path / "shared.pt"
    weights.write_bytes(b"")
    assert _parse("--pretrained", str(weights)).training.pretrained == str(weights)
    assert _parse().training.pretrained == ""
    with pytest.raises(SettingsError, match="no such file"):
        _parse("--pretrained", str(tmp_path / "absent.pt"))
    with pytest.raises(SettingsError, match="only SE-ECGNet"):
        _parse("--pretrained", str(weights), "--architecture", "baseline")


def test_subset_distillation_trains_each_window_whole_and_cut_toward_its_own_outputs(store):
    with pytest.raises(SettingsError, match="lead-presence"):
        Settings(network=NetworkSettings.small(), training=TrainSettings(subset_distillation=1.0))
    presence = dataclasses.replace(TINY.network, lead_presence=True)
    training = dataclasses.replace(TINY.training, epochs=1, subset_distillation=0.5)
    settings = Settings(network=presence, training=training)
    trained = train_model(store, CLASSES, settings, train_indices=range(8), progress=False)
    windows = TrainingWindows(store, [0, 1], settings.signal, trained.age_stats, 0, True, True)
    batch = next(iter(window_loader(windows, 2, None, 0, False, False, seed=0)))
    whole, side, cut, cut_side, targets = batch
    network = trained.network.train()
    weights = torch.rand(len(CLASSES)) + 0.5
    run = argparse.Namespace(trained_network=network, weights=weights, device=torch.device("cpu"))
    torch.manual_seed(0)
    loss = steps.batch_loss(run, settings, batch)
    torch.manual_seed(0)  # the same dropout, both halves in one pass as the loop runs them
    logits = network(torch.cat([whole, cut]), torch.cat([side, cut_side]))
    teacher = torch.sigmoid(logits[:2]).detach()
    expected = hard_mining_bce(logits[:2], targets, weights, 0.7)
    expected = expected + 0.5 * hard_mining_bce(logits[2:], teacher, weights, 0.7)
    torch.testing.assert_close(loss, expected)
    assert not torch.isclose(loss, hard_mining_bce(logits[:2], targets, weights, 0.7))


def test_choosing_on_lead_sets_scores_an_epoch_by_its_mean_over_the_2021_sets(store):
    presence = dataclasses.replace(TINY.network, lead_presence=True)
    training = dataclasses.replace(TINY.training, epochs=1, select_on_lead_sets=True)
    # a divisor near 1, under which the few classes named turn on small differences between sets
    decision = dataclasses.replace(TINY.decision, divisor=1.2)
    settings = Settings(network=presence, training=training, decision=decision)
    validation = [5, 6, 7, 8, 9]
    trained = train_model(
        store, CLASSES, settings, range(5), validation_indices=validation, progress=False
    )
    # the one epoch's network, read as the driver reads records cut to each lead set
    by_lead_set = lead_set_probabilities(trained.predictor(), store, validation)
    metric = ChallengeMetric(store.labels[validation], CLASSES)
    scores = {name: metric(decide(p, settings.decision)) for name, p in by_lead_set.items()}
    assert list(scores) == ["12", "6", "4", "3", "2"]
    assert len(set(scores.values())) > 1  # the sets score differently, so the mean is not 12's
    logged = trained.history[0].validation_challenge_metric
    assert logged == pytest.approx(np.mean(list(scores.values())), abs=1e-9)
    assert logged != pytest.approx(scores["12"], abs=1e-6)
    # what tunes thresholds afterwards is still the 12-lead reading
    np.testing.assert_allclose(trained.validation_probabilities, by_lead_set["12"], atol=1e-6)
