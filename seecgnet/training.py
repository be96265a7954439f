"""Training: AdamW with a one-cycle schedule, hard-mined weighted BCE, best epoch by challenge metric.

One epoch draws one random 10-second window from every training record. After each epoch the
held-out validation records are predicted exactly as ``driver.py`` would (all windows, one-vote
union, the decision rule) and scored with the challenge metric; the best epoch's weights are kept.
A checkpoint is written after every epoch so that a killed run can resume.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import pickle
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler
from tqdm import tqdm

from seecgnet.classes import ScoredClasses
from seecgnet.dataset import RecordStore, TrainingWindows
from seecgnet.decision import decide
from seecgnet.distributed import barrier, join_process_group
from seecgnet.folds import validation_split
from seecgnet.loss import class_weights, hard_mining_bce
from seecgnet.metrics import challenge_metric
from seecgnet.network import build_network
from seecgnet.prediction import Predictor
from seecgnet.settings import Settings
from seecgnet.signals import AgeStatistics

log = logging.getLogger(__name__)

CHECKPOINT_NAME = "checkpoint.pt"


@dataclass(frozen=True)
class EpochLog:
    epoch: int
    train_loss: float
    validation_challenge_metric: float
    seconds: float


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


class DeviceError(ValueError):
    """The device asked for is not a device name, or this machine does not have it."""


def resolve_device(name: str) -> torch.device:
    """'auto' takes CUDA when present; otherwise the named device, which must exist here."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as error:
        raise DeviceError(
            f"device {name!r}: not a device name (use 'auto', 'cpu', 'cuda' or 'cuda:N')"
        ) from error
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(
                f"device {name!r}: this machine has no usable CUDA device (or this torch build "
                "has no CUDA support); use 'cpu' or 'auto'"
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceError(
                f"device {name!r}: this machine has {torch.cuda.device_count()} CUDA device(s), "
                f"numbered from 0"
            )
    return device


def _autocast(device: torch.device, enabled: bool) -> contextlib.AbstractContextManager:
    if device.type != "cuda" or not enabled:
        return contextlib.nullcontext()
    dtype = (
        torch.bfloat16 if torch.cuda.is_bf16_supported(including_emulation=False) else torch.float16
    )
    return torch.autocast(device_type="cuda", dtype=dtype)


def _batches(loader: DataLoader, device: torch.device) -> Iterator[tuple[torch.Tensor, ...]]:
    for batch in loader:
        yield tuple(t.to(device, non_blocking=True) for t in batch)


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
    device = resolve_device(config.device)
    group = join_process_group(device)
    if group.is_distributed and device.type == "cuda":
        device = torch.device("cuda", group.local_rank)
        torch.cuda.set_device(device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed window shapes: let cuDNN pick its kernels
    torch.manual_seed(config.seed)
    indices = np.arange(len(store)) if train_indices is None else np.asarray(train_indices)
    if len(indices) == 0:
        raise ValueError("no training records")

    if validation_indices is None:
        fit_part, val_part = validation_split(
            store.labels[indices], config.validation_fraction, config.seed
        )
        fit_indices, val_indices = indices[fit_part], indices[val_part]
    else:
        fit_indices, val_indices = indices, np.asarray(validation_indices, dtype=np.int64)
    if age_stats is None:
        age_stats = AgeStatistics.from_ages(store.ages[fit_indices])
    weights = class_weights(store.labels[fit_indices].sum(axis=0), settings.loss).to(device)

    network = build_network(settings.network).to(device)
    trained_network: nn.Module = network
    windows = TrainingWindows(store, fit_indices, settings.signal, age_stats, config.seed)
    # With several processes each takes its share of the windows; the batch size stays global.
    batch_size = max(1, config.batch_size // group.world_size)
    sampler = (
        DistributedSampler(windows, group.world_size, group.rank, shuffle=True, seed=config.seed)
        if group.is_distributed
        else None
    )
    if group.is_distributed:
        if device.type == "cuda":
            # each GPU sees batch_size / world windows: batch norm pools its statistics across
            # GPUs (same parameter names, so the saved state_dict loads into a plain network)
            network = nn.SyncBatchNorm.convert_sync_batchnorm(network)
        trained_network = DistributedDataParallel(
            network, device_ids=[device.index] if device.type == "cuda" else None
        )
    loader = window_loader(
        windows,
        batch_size,
        sampler,
        config.workers,
        drop_last=len(fit_indices) > config.batch_size,
        pin_memory=device.type == "cuda",
        seed=config.seed,
    )
    optimiser = torch.optim.AdamW(
        network.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=config.learning_rate, total_steps=config.epochs * len(loader)
    )
    fp16_scaler = torch.amp.GradScaler(
        enabled=device.type == "cuda"
        and config.mixed_precision
        and not torch.cuda.is_bf16_supported(including_emulation=False)
    )

    # what the checkpoint must match on resume, besides the settings
    split = {
        "fit": [store.names[i] for i in fit_indices],
        "validation": [store.names[i] for i in val_indices],
    }
    state = _TrainingState(best_state=copy.deepcopy(network.state_dict()))
    checkpoint = None if checkpoint_dir is None else Path(checkpoint_dir) / CHECKPOINT_NAME
    if resume and checkpoint is not None and checkpoint.exists():
        state = _load_checkpoint(checkpoint, settings, split, network, optimiser, scheduler, device)
        log.info("resuming from %s after epoch %d", checkpoint, state.epochs_done)

    predictor = Predictor(
        [network], classes, settings.signal, settings.decision, age_stats, device=device
    )
    for epoch in range(state.epochs_done + 1, config.epochs + 1):
        started = time.perf_counter()
        network.train()
        windows.set_epoch(epoch)
        if sampler is not None:
            sampler.set_epoch(epoch)
        losses = []
        bar = tqdm(
            _batches(loader, device),
            total=len(loader),
            desc=f"epoch {epoch}/{config.epochs}",
            disable=not progress or not group.is_main,
            leave=False,
        )
        for x, demographics, targets in bar:
            with _autocast(device, config.mixed_precision):
                logits = trained_network(x, demographics)
            loss = hard_mining_bce(logits.float(), targets, weights, settings.loss.hard_fraction)
            optimiser.zero_grad(set_to_none=True)
            fp16_scaler.scale(loss).backward()
            fp16_scaler.step(optimiser)
            fp16_scaler.update()
            scheduler.step()
            losses.append(loss.item())
            bar.set_postfix(loss=f"{np.mean(losses):.4f}")

        score, probabilities = float("nan"), None
        if not group.is_main:  # rank 0 alone validates, logs and writes checkpoints
            state.epochs_done = epoch
            barrier(group)
            continue
        if len(val_indices):
            # eval mode: batch norm's running statistics and no dropout, exactly as the driver
            # runs; in train mode a record's few windows would be normalised by themselves
            network.eval()
            probabilities = predictor.store_probabilities(store, val_indices)
            outputs = decide(probabilities, settings.decision)
            score = challenge_metric(store.labels[val_indices], outputs, classes)
        entry = EpochLog(epoch, float(np.mean(losses)), score, time.perf_counter() - started)
        state.history.append(entry)
        log.info(
            "epoch %d/%d: loss %.4f, validation challenge metric %.4f, %.1f s",
            epoch,
            config.epochs,
            entry.train_loss,
            score,
            entry.seconds,
        )
        # Without validation records, or while the metric is undefined (NaN: validation records
        # that are all sinus rhythm or all unscored), the latest epoch is kept; a defined score
        # replaces it only by being higher.
        ranked = score if np.isfinite(score) else float("-inf")
        if not len(val_indices) or ranked >= state.best_score:
            state.best_score = ranked
            state.best_epoch = epoch
            state.best_state = copy.deepcopy(network.state_dict())
            state.best_probabilities = probabilities
        state.epochs_done = epoch
        if checkpoint is not None:
            _save_checkpoint(checkpoint, settings, split, state, network, optimiser, scheduler)
        barrier(group)

    network.load_state_dict(state.best_state)
    network.eval()
    return TrainedModel(
        network=network,
        settings=settings,
        classes=classes,
        age_stats=age_stats,
        best_epoch=state.best_epoch,
        history=state.history,
        validation_indices=val_indices,
        validation_probabilities=(
            state.best_probabilities
            if state.best_probabilities is not None
            else np.zeros((0, len(classes)))
        ),
        is_main=group.is_main,
    )


@dataclass
class _TrainingState:
    best_state: dict
    epochs_done: int = 0
    best_epoch: int = 0
    best_score: float = float("-inf")
    best_probabilities: np.ndarray | None = None
    history: list[EpochLog] = field(default_factory=list)


def _save_checkpoint(
    path: Path,
    settings: Settings,
    split: dict[str, list],
    state: _TrainingState,
    network: nn.Module,
    optimiser: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
) -> None:
    """Write the checkpoint beside its final name and rename it, so a kill never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    torch.save(
        {
            "network": network.state_dict(),
            "optimiser": optimiser.state_dict(),
            "scheduler": scheduler.state_dict(),
            "epochs_done": state.epochs_done,
            "best_epoch": state.best_epoch,
            "best_score": state.best_score,
            "best_state": state.best_state,
            "best_probabilities": state.best_probabilities,
            "history": [vars(entry) for entry in state.history],
            "torch_rng": torch.get_rng_state(),
            "settings": settings.to_json(),
            "split": split,
        },
        partial,
    )
    partial.replace(path)


class CheckpointError(ValueError):
    """A checkpoint cannot be resumed: unreadable, or made with other settings."""


def _load_checkpoint(
    path: Path,
    settings: Settings,
    split: dict[str, list],
    network: nn.Module,
    optimiser: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    device: torch.device,
) -> _TrainingState:
    try:
        # our own file, written by _save_checkpoint: it holds numpy arrays and plain Python values
        saved = torch.load(path, map_location=device, weights_only=False)
    except (OSError, EOFError, RuntimeError, pickle.UnpicklingError) as error:
        raise CheckpointError(f"cannot resume from {path}: {error}") from error
    if saved.get("settings") != settings.to_json():
        raise CheckpointError(
            f"{path} was made with other settings; resume with the same options, or delete it"
        )
    if saved.get("split") != split:
        raise CheckpointError(
            f"{path} was made on other records or another split; resume on the same data, or "
            "delete it"
        )
    network.load_state_dict(saved["network"])
    optimiser.load_state_dict(saved["optimiser"])
    scheduler.load_state_dict(saved["scheduler"])
    torch.set_rng_state(saved["torch_rng"])
    return _TrainingState(
        best_state=saved["best_state"],
        epochs_done=saved["epochs_done"],
        best_epoch=saved["best_epoch"],
        best_score=saved["best_score"],
        best_probabilities=saved["best_probabilities"],
        history=[EpochLog(**entry) for entry in saved["history"]],
    )
