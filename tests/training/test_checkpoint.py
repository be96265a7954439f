"""Checkpoints: one implementation for every training loop, read without running any code a file
holds, and resuming what earlier versions of the package wrote."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from seecgnet.trained.settings import OptimiserSettings
from seecgnet.training.checkpoint import (
    CheckpointError,
    TrainingState,
    load_checkpoint,
    save_checkpoint,
)
from seecgnet.training.optimisation import one_cycle

IDENTITY = {"settings": {"epochs": 3, "seed": 0}, "records": {"fit": ["A", "B"]}}


def _parts(
    seed: int = 0,
) -> tuple[nn.Module, torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    torch.manual_seed(seed)
    network = nn.Linear(4, 2)
    # the training core's optimiser: AdamW, one cycle over 10 steps, one step taken
    optimisation = one_cycle(
        network.parameters(), OptimiserSettings(epochs=1, learning_rate=1e-3), 10
    )
    optimisation.step(network(torch.randn(3, 4)).sum())
    return network, optimisation.optimiser, optimisation.scheduler


def test_a_saved_state_comes_back_whole(tmp_path):
    network, optimiser, scheduler = _parts()
    state = TrainingState.start(network)
    state.history.append({"epoch": 1, "train_loss": 0.5, "score": math.nan})
    probabilities = np.array([[0.1, 0.9]], dtype=np.float32)
    state.end_epoch(1, 0.25, network, defined=True, probabilities=probabilities)
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, IDENTITY, state, network, optimiser, scheduler)

    fresh, fresh_optimiser, fresh_scheduler = _parts(seed=1)
    loaded = load_checkpoint(path, IDENTITY, fresh, fresh_optimiser, fresh_scheduler)
    assert (loaded.epochs_done, loaded.best_epoch, loaded.best_score) == (1, 1, 0.25)
    np.testing.assert_array_equal(loaded.best_probabilities, probabilities)
    assert loaded.history[0]["train_loss"] == 0.5 and math.isnan(loaded.history[0]["score"])
    assert torch.equal(fresh.weight, network.weight)
    assert fresh_scheduler.state_dict() == scheduler.state_dict()
    assert not path.with_suffix(".partial").exists()


def test_another_runs_checkpoint_is_refused_naming_what_differs(tmp_path):
    network, optimiser, scheduler = _parts()
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, IDENTITY, TrainingState.start(network), network, optimiser, scheduler)
    other = {**IDENTITY, "records": {"fit": ["A", "C"]}}
    with pytest.raises(CheckpointError, match="made with other records"):
        load_checkpoint(path, other, network, optimiser, scheduler)


class _RunsCode:
    def __reduce__(self):
        return (print, ("code from the checkpoint ran",))


def test_a_checkpoint_that_would_run_code_is_refused_without_running_it(tmp_path, capsys):
    network, optimiser, scheduler = _parts()
    path = tmp_path / "checkpoint.pt"
    torch.save({"identity": IDENTITY, "payload": _RunsCode()}, path)
    with pytest.raises(CheckpointError, match="cannot resume"):
        load_checkpoint(path, IDENTITY, network, optimiser, scheduler)
    assert "ran" not in capsys.readouterr().out


def test_the_best_epoch_is_kept_and_an_undefined_score_never_replaces_a_defined_one():
    network = nn.Linear(2, 1)
    state = TrainingState.start(network)
    # undefined scores are 0.0 (the challenge metric's value then); the flag, not the value, ranks
    for epoch, (score, defined) in enumerate(
        [(0.0, False), (-0.2, True), (-0.3, True), (0.0, False), (-0.2, True)], start=1
    ):
        state.end_epoch(epoch, score, network, defined=defined)
    assert (state.epochs_done, state.best_epoch, state.best_score) == (5, 5, -0.2)
    without_validation = TrainingState.start(network)
    for epoch in (1, 2):
        without_validation.end_epoch(epoch, math.nan, network, defined=False)
    assert without_validation.best_epoch == 2
    assert without_validation.best_score == -math.inf


def test_a_challenge_checkpoint_from_before_the_layout_resumes(tmp_path):
    """The flat layout training wrote before checkpoints had one module: numpy probabilities, the
    settings as JSON text and the split beside them."""
    network, optimiser, scheduler = _parts()
    settings = {"training": {"epochs": 2}}
    split = {"fit": ["A"], "validation": ["B"]}
    path = tmp_path / "checkpoint.pt"
    torch.save(
        {
            "network": network.state_dict(),
            "optimiser": optimiser.state_dict(),
            "scheduler": scheduler.state_dict(),
            "epochs_done": 1,
            "best_epoch": 1,
            "best_score": 0.4,
            "best_state": network.state_dict(),
            "best_probabilities": np.full((1, 2), 0.5, dtype=np.float32),
            "history": [{"epoch": 1, "train_loss": 0.7}],
            "torch_rng": torch.get_rng_state(),
            "settings": json.dumps(settings, indent=2),
            "split": split,
        },
        path,
    )
    identity = {"settings": settings, "records": split}
    loaded = load_checkpoint(path, identity, *_parts(seed=2))
    assert (loaded.epochs_done, loaded.best_score) == (1, 0.4)
    np.testing.assert_array_equal(loaded.best_probabilities, [[0.5, 0.5]])
    with pytest.raises(CheckpointError, match="other settings"):
        load_checkpoint(path, {**identity, "settings": {"training": {"epochs": 3}}}, *_parts())


def test_a_beat_checkpoint_from_before_the_layout_resumes(tmp_path):
    """The MIT-BIH benchmark's own layout: its settings under "config", its progress nested."""
    network, optimiser, scheduler = _parts()
    config = {"epochs": 2, "batch_size": 16}
    path = tmp_path / "checkpoint.pt"
    torch.save(
        {
            "config": config,
            "state": {
                "epochs_done": 1,
                "best_epoch": 1,
                "best_score": 0.8,
                "best_state": network.state_dict(),
                "history": [{"epoch": 1, "loss": 0.3, "val_macro_f1": 0.8, "s": 1.0}],
            },
            "network": network.state_dict(),
            "optimiser": optimiser.state_dict(),
            "scheduler": scheduler.state_dict(),
        },
        path,
    )
    loaded = load_checkpoint(path, {"settings": config}, *_parts(seed=3))
    assert (loaded.epochs_done, loaded.best_score, loaded.best_probabilities) == (1, 0.8, None)
    assert loaded.history == [{"epoch": 1, "loss": 0.3, "val_macro_f1": 0.8, "s": 1.0}]
