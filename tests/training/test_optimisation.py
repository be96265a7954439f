"""The training core every loop shares: the one-cycle schedule, the step, the epochs and checkpoint."""

from __future__ import annotations

import pytest
import torch

from seecgnet.trained.settings import OptimiserSettings
from seecgnet.training.checkpoint import TrainingState
from seecgnet.training.optimisation import Checkpoint, one_cycle, train_epochs, train_pass


def test_the_one_cycle_schedule_peaks_at_the_rate_and_lasts_epochs_times_steps():
    network = torch.nn.Linear(3, 1)
    settings = OptimiserSettings(epochs=2, learning_rate=0.01, weight_decay=0.5)
    optimisation = one_cycle(network.parameters(), settings, steps_per_epoch=5)
    assert optimisation.optimiser.param_groups[0]["weight_decay"] == 0.5
    rates = []
    for _ in range(10):  # the rate each step uses
        rates.append(optimisation.optimiser.param_groups[0]["lr"])
        optimisation.step(network(torch.ones(4, 3)).square().mean())
    assert max(rates) == pytest.approx(0.01, rel=0.05)
    assert rates[-1] < 0.001 * 0.01
    with pytest.raises(ValueError):  # an 11th step is past the schedule's end
        optimisation.step(network(torch.ones(4, 3)).square().mean())


def test_a_pass_steps_once_per_batch_and_answers_the_mean_loss():
    network = torch.nn.Linear(1, 1, bias=False)
    optimisation = one_cycle(network.parameters(), OptimiserSettings(epochs=1), 3)
    seen = []
    mean = train_pass(
        [1.0, 2.0, 3.0],
        lambda value: network(torch.tensor([[0.0]])).sum() + value,
        optimisation,
        shown=lambda k, running: seen.append((k, running)),
    )
    assert mean == pytest.approx(2.0)
    assert seen == [(0, 1.0), (1, 1.5), (2, 2.0)]
    assert optimisation.optimiser.state[network.weight]["step"] == 3
    assert optimisation.scheduler.last_epoch == 3


def test_epochs_resume_after_those_done_and_save_only_where_the_run_is_kept(tmp_path):
    network = torch.nn.Linear(2, 1)
    state = TrainingState.start(network)
    state.epochs_done = 1
    trained, saved, waited = [], [], []
    train_epochs(
        state,
        4,
        lambda epoch: trained.append(epoch) or 0.0,
        lambda epoch, loss, started: epoch != 3,  # epoch 3: as in a helper process
        save=lambda s: saved.append(s.epochs_done),
        after=lambda: waited.append(True),
    )
    assert trained == [2, 3, 4] and saved == [2, 4] and len(waited) == 3
    assert state.epochs_done == 4


def test_a_checkpoint_without_its_file_resumes_nothing_and_one_saved_restores_the_progress(
    tmp_path,
):
    network = torch.nn.Linear(2, 1)
    optimisation = one_cycle(network.parameters(), OptimiserSettings(epochs=1), 1)
    checkpoint = Checkpoint(tmp_path / "checkpoint.pt", {"settings": {"a": 1}})
    assert checkpoint.resume(network, optimisation) is None
    state = TrainingState.start(network)
    state.end_epoch(1, 0.5, network, defined=True)
    state.history.append({"epoch": 1, "loss": 0.25})
    checkpoint.save(state, network, optimisation)
    resumed = checkpoint.resume(network, optimisation)
    assert resumed is not None and resumed.epochs_done == 1
    assert resumed.history == [{"epoch": 1, "loss": 0.25}]
