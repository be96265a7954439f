"""The training core every loop of the package shares: the challenge's network
(:mod:`seecgnet.training.loop`), the MIT-BIH beat classifiers (:mod:`seecgnet.mitbih.training`) and
the pre-training of the lead-shared layers (:mod:`seecgnet.mitbih.lead_shared`).

- :func:`one_cycle`: AdamW and its one-cycle schedule, built from
  :class:`~seecgnet.trained.settings.OptimiserSettings` (the only place either is built);
- :meth:`Optimisation.step`: one optimiser step from a batch's loss (zero the gradients, backward,
  step, advance the schedule), through the float16 gradient scaler where the run has one;
- :func:`train_pass`: one pass over an epoch's batches, the mean batch loss;
- :func:`train_epochs`: the epochs not yet done, each trained, then finished by the loop (validate,
  log, keep), then saved to the run's :class:`Checkpoint` where it keeps one.

Each loop brings its batches, its loss and what it does after an epoch; its history is a list of its
own small dataclasses (one per epoch), kept in the checkpoint as plain dicts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from torch import nn

from seecgnet.trained.settings import OptimiserSettings
from seecgnet.training.averaging import WeightAverage
from seecgnet.training.checkpoint import TrainingState, load_checkpoint, save_checkpoint

Batch = TypeVar("Batch")


@dataclass(eq=False)
class Optimisation:
    """A run's optimiser, its learning-rate schedule, and the float16 gradient scaler (None: the
    gradients are used as they are)."""

    optimiser: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    fp16_scaler: torch.amp.GradScaler | None = None

    def step(self, loss: torch.Tensor) -> None:
        """One optimiser step on ``loss``'s gradients, and the schedule's next rate."""
        self.optimiser.zero_grad(set_to_none=True)
        if self.fp16_scaler is None:
            loss.backward()
            self.optimiser.step()
        else:
            self.fp16_scaler.scale(loss).backward()
            self.fp16_scaler.step(self.optimiser)
            self.fp16_scaler.update()
        self.scheduler.step()


def one_cycle(
    parameters: Iterable[nn.Parameter],
    settings: OptimiserSettings,
    steps_per_epoch: int,
    fp16_scaler: torch.amp.GradScaler | None = None,
) -> Optimisation:
    """AdamW over ``parameters`` with the settings' peak rate and weight decay, and a one-cycle
    schedule over ``settings.epochs`` epochs of ``steps_per_epoch`` steps."""
    optimiser = torch.optim.AdamW(
        parameters, lr=settings.learning_rate, weight_decay=settings.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=settings.learning_rate, total_steps=settings.epochs * steps_per_epoch
    )
    return Optimisation(optimiser, scheduler, fp16_scaler)


def train_pass(
    batches: Iterable[Batch],
    loss_of: Callable[[Batch], torch.Tensor],
    optimisation: Optimisation,
    after_step: Callable[[], None] | None = None,
    shown: Callable[[int, float], None] | None = None,
) -> float:
    """One step per batch, in order: its loss (``loss_of``), the optimiser step, then
    ``after_step`` (e.g. the weight average's update); the mean batch loss. ``shown(k, mean)``
    is told the running mean after batch ``k`` (for a progress bar)."""
    losses = []
    for k, batch in enumerate(batches):
        loss = loss_of(batch)
        optimisation.step(loss)
        if after_step is not None:
            after_step()
        losses.append(loss.item())
        if shown is not None:
            shown(k, float(np.mean(losses)))
    return float(np.mean(losses))


@dataclass(frozen=True)
class Checkpoint:
    """Where a run keeps its checkpoint (:mod:`seecgnet.training.checkpoint`), and its identity:
    what a run must match to resume from it."""

    path: Path
    identity: dict[str, Any]

    def resume(
        self,
        network: nn.Module,
        optimisation: Optimisation,
        device: torch.device | str = "cpu",
        average: WeightAverage | None = None,
    ) -> TrainingState | None:
        """The run's progress, its network, optimiser, schedule and random state restored from the
        file; None where there is no file."""
        if not self.path.exists():
            return None
        return load_checkpoint(
            self.path,
            self.identity,
            network,
            optimisation.optimiser,
            optimisation.scheduler,
            device,
            average,
        )

    def save(
        self,
        state: TrainingState,
        network: nn.Module,
        optimisation: Optimisation,
        average: WeightAverage | None = None,
    ) -> None:
        save_checkpoint(
            self.path,
            self.identity,
            state,
            network,
            optimisation.optimiser,
            optimisation.scheduler,
            average,
        )


def train_epochs(
    state: TrainingState,
    epochs: int,
    train: Callable[[int], float],
    finish: Callable[[int, float, float], bool],
    save: Callable[[TrainingState], None] | None = None,
    after: Callable[[], None] | None = None,
) -> None:
    """Every epoch ``state`` has not done, up to ``epochs``: ``train(epoch)`` (the mean loss), then
    ``finish(epoch, loss, started)`` (``started``: the epoch's ``time.perf_counter()``), which
    validates, logs, records the epoch in ``state.history`` and keeps what it keeps, and answers
    whether this process keeps the run (False in a distributed run's helper processes); then, where
    it does, ``save(state)`` (the checkpoint); then ``after()`` (e.g. the processes' barrier)."""
    for epoch in range(state.epochs_done + 1, epochs + 1):
        started = time.perf_counter()
        loss = train(epoch)
        keeps = finish(epoch, loss, started)
        state.epochs_done = epoch
        if keeps and save is not None:
            save(state)
        if after is not None:
            after()
