"""Training: AdamW with a one-cycle schedule, hard-mined weighted BCE, best epoch by challenge metric.

One epoch draws one random 10-second window from every training record. After each epoch the
held-out validation records are predicted exactly as ``driver.py`` would (all windows, one-vote
union, the decision rule) and scored with the challenge metric; the best epoch's weights are kept.
A checkpoint is written after every epoch so that a killed run can resume.

:func:`train_model` reads as its steps: join the devices and process group, split off the
validation records, set up the loader and optimiser, then per epoch train, validate and keep the
best, and finally hand back the best epoch's network. An epoch's own steps (batches, loss) are in
:mod:`seecgnet.training.steps`; the optimiser, its schedule, the step, the epochs and the checkpoint
are the training core that every loop of the package shares (:mod:`seecgnet.training.optimisation`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler

from seecgnet.challenge.classes import ScoredClasses
from seecgnet.challenge.metrics import ChallengeMetric
from seecgnet.data.dataset import RecordStore, TrainingWindows
from seecgnet.data.folds import validation_split
from seecgnet.data.signals import AgeStatistics
from seecgnet.inference.prediction import Predictor, lead_set_probabilities
from seecgnet.io.reduced_leads import ALL_LEADS
from seecgnet.models.registry import build_network
from seecgnet.trained.curves import EpochLog
from seecgnet.trained.decision import decide, decision_for
from seecgnet.trained.settings import Settings
from seecgnet.training.averaging import WeightAverage
from seecgnet.training.checkpoint import CHECKPOINT_NAME, TrainingState
from seecgnet.training.distributed import ProcessGroup, barrier, distribute, join_device
from seecgnet.training.loss import class_weights
from seecgnet.training.optimisation import Checkpoint, one_cycle, train_epochs
from seecgnet.training.pretrained import load_lead_shared
from seecgnet.training.steps import TrainingRun, fp16_scaler, train_epoch

log = logging.getLogger(__name__)


@dataclass
class TrainedModel:
    """A trained network with what prediction needs, and how training went."""

    network: nn.Module
    settings: Settings
    classes: ScoredClasses
    age_stats: AgeStatistics
    best_epoch: int
    history: list[EpochLog] = field(default_factory=list)
    validation_indices: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    # The best epoch's validation probabilities (records, classes): for tuning thresholds.
    validation_probabilities: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    # False in the helper processes of a distributed run: only rank 0 keeps the best epoch.
    is_main: bool = True

    def predictor(self, device: torch.device | str | None = None) -> Predictor:
        """A predictor on ``device`` (by default where the network is)."""
        if device is None:
            device = next(self.network.parameters()).device
        self.network.to(device)
        return Predictor(
            [self.network],
            self.classes,
            self.settings.signal,
            self.settings.decision,
            self.age_stats,
            device=device,
        )


def window_loader(
    windows: TrainingWindows,
    batch_size: int,
    sampler: DistributedSampler | None,
    workers: int,
    drop_last: bool,
    pin_memory: bool,
    seed: int,
) -> DataLoader:
    """The training batches: shuffled (or shared out by the distributed sampler), in workers."""
    return DataLoader(
        windows,
        batch_size=batch_size,
        shuffle=sampler is None,
        sampler=sampler,
        drop_last=drop_last,
        num_workers=workers,
        pin_memory=pin_memory,
        # Not persistent: each epoch's workers get a fresh copy of the dataset, whose epoch number
        # decides the random windows; persistent workers would keep the first epoch's.
        persistent_workers=False,
        generator=torch.Generator().manual_seed(seed),
    )


def train_model(
    store: RecordStore,
    classes: ScoredClasses,
    settings: Settings,
    train_indices: Sequence[int] | None = None,
    validation_indices: Sequence[int] | None = None,
    checkpoint_dir: Path | None = None,
    resume: bool = False,
    progress: bool = True,
    age_stats: AgeStatistics | None = None,
) -> TrainedModel:
    """Train on ``train_indices`` of the store (all records by default), keeping the best epoch.

    The best epoch is chosen on ``validation_indices`` when given; otherwise a stratified part
    (settings.training.validation_fraction) of the training records is held out for it.
    """
    config = settings.training
    group, device = join_device(config.device)
    torch.manual_seed(config.seed)
    fit_indices, val_indices = _split(store, settings, train_indices, validation_indices)
    if age_stats is None:
        age_stats = AgeStatistics.from_ages(store.ages[fit_indices])
    run = _set_up(store, settings, fit_indices, val_indices, age_stats, group, device)
    checkpoint = None
    if checkpoint_dir is not None:
        identity = _identity(store, settings, run)
        checkpoint = Checkpoint(Path(checkpoint_dir) / CHECKPOINT_NAME, identity)
    state = TrainingState.start(run.evaluated)
    if resume and checkpoint is not None:
        resumed = checkpoint.resume(run.network, run.optimisation, device, run.average)
        if resumed is not None:
            state = resumed
            log.info("resuming from %s after epoch %d", checkpoint.path, state.epochs_done)

    predictor = Predictor(
        [run.evaluated], classes, settings.signal, settings.decision, age_stats, device=device
    )

    def finish(epoch: int, loss: float, started: float) -> bool:
        if not group.is_main:  # rank 0 alone validates, logs and writes checkpoints
            return False
        score, defined, probabilities = _validate(run, predictor, store, classes, settings)
        entry = EpochLog(epoch, loss, score, time.perf_counter() - started)
        _log_epoch(entry, config.epochs)
        state.history.append(dataclasses.asdict(entry))
        state.end_epoch(epoch, score, run.evaluated, defined, probabilities)
        return True

    train_epochs(
        state,
        config.epochs,
        lambda epoch: train_epoch(run, settings, epoch, progress),
        finish,
        save=None
        if checkpoint is None
        else lambda state: checkpoint.save(state, run.network, run.optimisation, run.average),
        after=lambda: barrier(group),
    )
    return _best_model(run, state, settings, classes, age_stats)


def _split(
    store: RecordStore,
    settings: Settings,
    train_indices: Sequence[int] | None,
    validation_indices: Sequence[int] | None,
) -> tuple[np.ndarray, np.ndarray]:
    """The records the network fits and those that choose its epoch."""
    indices = np.arange(len(store)) if train_indices is None else np.asarray(train_indices)
    if len(indices) == 0:
        raise ValueError("no training records")
    if validation_indices is not None:
        return indices, np.asarray(validation_indices, dtype=np.int64)
    config = settings.training
    fit_part, val_part = validation_split(
        store.labels[indices], config.validation_fraction, config.seed
    )
    return indices[fit_part], indices[val_part]


def _set_up(
    store: RecordStore,
    settings: Settings,
    fit_indices: np.ndarray,
    val_indices: np.ndarray,
    age_stats: AgeStatistics,
    group: ProcessGroup,
    device: torch.device,
) -> TrainingRun:
    """The network, its batches, optimiser, schedule and loss weights, in the order that seeds them."""
    config = settings.training
    weights = class_weights(store.labels[fit_indices].sum(axis=0), settings.loss).to(device)
    network = _new_network(settings).to(device)
    windows = TrainingWindows(
        store,
        fit_indices,
        settings.signal,
        age_stats,
        config.seed,
        lead_presence=settings.network.lead_presence,
        paired=config.subset_distillation > 0,
    )
    # With several processes each takes its share of the windows; the batch size stays global.
    batch_size = max(1, config.batch_size // group.world_size)
    network, trained_network, sampler = distribute(network, windows, group, device, config.seed)
    loader = window_loader(
        windows,
        batch_size,
        sampler,
        config.workers,
        drop_last=len(fit_indices) > config.batch_size,
        pin_memory=device.type == "cuda",
        seed=config.seed,
    )
    return TrainingRun(
        group=group,
        device=device,
        fit_indices=fit_indices,
        val_indices=val_indices,
        network=network,
        trained_network=trained_network,
        windows=windows,
        sampler=sampler,
        loader=loader,
        optimisation=one_cycle(
            network.parameters(),
            config,
            len(loader),
            fp16_scaler(device, config.mixed_precision),
        ),
        weights=weights,
        average=(
            WeightAverage(network, config.average_epochs * len(loader))
            if config.average_epochs > 0
            else None
        ),
    )


def _new_network(settings: Settings) -> nn.Module:
    """The network to train: random weights, or the lead-shared layers from a pre-trained file."""
    network = build_network(settings.network)
    if settings.training.pretrained:
        load_lead_shared(network, settings.training.pretrained)
        log.info("lead-shared layers from %s", settings.training.pretrained)
    return network


def _identity(store: RecordStore, settings: Settings, run: TrainingRun) -> dict[str, Any]:
    """What a checkpoint must match to be resumed by this run: its settings and its records."""
    return {
        "settings": json.loads(settings.to_json()),
        "records": {
            "fit": [store.names[i] for i in run.fit_indices],
            "validation": [store.names[i] for i in run.val_indices],
        },
    }


def _validate(
    run: TrainingRun,
    predictor: Predictor,
    store: RecordStore,
    classes: ScoredClasses,
    settings: Settings,
) -> tuple[float, bool, np.ndarray | None]:
    """The validation records' challenge metric (with ``select_on_lead_sets``, its mean over the
    2021 lead sets), whether it is defined for their labels (it is 0.0 where it is not), and their
    12-lead probabilities; NaN, False and None without any."""
    if not len(run.val_indices):
        return float("nan"), False, None
    # eval mode: batch norm's running statistics and no dropout, exactly as the driver runs; in
    # train mode a record's few windows would be normalised by themselves
    run.evaluated.eval()
    labels = store.labels[run.val_indices]
    metric = ChallengeMetric(labels, classes)

    def score(probabilities: np.ndarray) -> float:
        decision = decision_for(settings.decision).for_validation(labels, probabilities, classes)
        return metric(decide(probabilities, decision))

    if not settings.training.select_on_lead_sets:
        probabilities = predictor.store_probabilities(store, run.val_indices)
        return score(probabilities), metric.defined, probabilities
    by_lead_set = lead_set_probabilities(predictor, store, run.val_indices)
    scores = {name: score(p) for name, p in by_lead_set.items()}
    log.info(
        "validation challenge metric by lead set: %s",
        ", ".join(f"{name} leads {value:.4f}" for name, value in scores.items()),
    )
    # the 12-lead probabilities are what the rest of training tunes on, as without the setting
    return float(np.mean(list(scores.values()))), metric.defined, by_lead_set[ALL_LEADS]


def _log_epoch(entry: EpochLog, epochs: int) -> None:
    log.info(
        "epoch %d/%d: loss %.4f, validation challenge metric %.4f, %.1f s",
        entry.epoch,
        epochs,
        entry.train_loss,
        entry.validation_challenge_metric,
        entry.seconds,
    )


def _best_model(
    run: TrainingRun,
    state: TrainingState,
    settings: Settings,
    classes: ScoredClasses,
    age_stats: AgeStatistics,
) -> TrainedModel:
    """The network at its best epoch, in eval mode, with the run's log."""
    run.network.load_state_dict(state.best_state)
    run.network.eval()
    probabilities = state.best_probabilities
    return TrainedModel(
        network=run.network,
        settings=settings,
        classes=classes,
        age_stats=age_stats,
        best_epoch=state.best_epoch,
        history=[EpochLog(**entry) for entry in state.history],
        validation_indices=run.val_indices,
        validation_probabilities=(
            probabilities if probabilities is not None else np.zeros((0, len(classes)))
        ),
        is_main=run.group.is_main,
    )
