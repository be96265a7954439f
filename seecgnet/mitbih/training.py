"""Training a beat classifier: class-weighted cross-entropy (optionally hard-mined), AdamW with a
one-cycle schedule, the best epoch chosen by macro F1 on the validation beats (classes with at
least ten of them), and a checkpoint after every epoch (the package's own,
:mod:`seecgnet.training.checkpoint`) so that an interrupted run resumes where it stopped, with the
same weights, optimiser state, batch order and random state.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from seecgnet.mitbih.beats import Beats
from seecgnet.mitbih.scores import selection_score
from seecgnet.mitbih.settings import BeatTrainSettings
from seecgnet.models.registry import build_network
from seecgnet.models.settings import ModelSettings
from seecgnet.training.checkpoint import (
    CHECKPOINT_NAME,
    TrainingState,
    load_checkpoint,
    save_checkpoint,
)
from seecgnet.training.loss import class_weights, hard_sample_count
from seecgnet.training.settings import LossSettings, to_plain

log = logging.getLogger(__name__)

PREDICT_BATCH = 2048


class BeatTrainingError(ValueError):
    """Training cannot run as asked (too few beats for a batch); the message says why."""


def hard_mining_cross_entropy(
    logits: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor, hard_fraction: float
) -> torch.Tensor:
    """Cross-entropy weighted by the target's class weight, averaged over the hardest
    ceil(hard_fraction × B) beats of the batch; a scalar.

    ``logits`` (B, n_classes), ``targets`` (B,) class indices, ``weights`` (n_classes,).
    """
    per_beat = F.cross_entropy(logits, targets, reduction="none") * weights[targets]  # (B,)
    hardest = torch.topk(per_beat, hard_sample_count(len(per_beat), hard_fraction)).values
    return hardest.mean()


class RRScaler:
    """Standardises the RR features with the training beats' mean and standard deviation."""

    def __init__(self, mean: np.ndarray, std: np.ndarray) -> None:
        self.mean = np.asarray(mean, dtype=np.float32)
        self.std = np.maximum(np.asarray(std, dtype=np.float32), 1e-6)

    @classmethod
    def fit(cls, rr: np.ndarray) -> RRScaler:
        return cls(rr.mean(axis=0), rr.std(axis=0))

    def __call__(self, rr: np.ndarray) -> torch.Tensor:
        return torch.from_numpy((rr - self.mean) / self.std)


@dataclass(frozen=True, eq=False)
class TrainedBeatModel:
    """The network at its best epoch, the RR scaler it was trained with, and the epoch log."""

    network: nn.Module
    scaler: RRScaler
    best_epoch: int
    history: list[dict]


def predict(network: nn.Module, beats: Beats, indices: np.ndarray, scaler: RRScaler) -> np.ndarray:
    """Predicted class index of each beat in ``indices``, shape (len(indices),)."""
    network.eval()
    predicted = []
    with torch.inference_mode():
        for start in range(0, len(indices), PREDICT_BATCH):
            chunk = indices[start : start + PREDICT_BATCH]
            x = torch.from_numpy(beats.windows[chunk]).unsqueeze(
                1
            )  # (B, rows, T) -> (B, 1, rows, T)
            predicted.append(network(x, scaler(beats.rr[chunk])).argmax(dim=1).numpy())
    return np.concatenate(predicted) if predicted else np.zeros(0, dtype=np.int64)


def _train_epoch(
    network: nn.Module,
    beats: Beats,
    fit: np.ndarray,
    scaler: RRScaler,
    weights: torch.Tensor,
    config: BeatTrainSettings,
    optimiser: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    epoch: int,
    progress: bool,
) -> float:
    """One pass over the training beats in a seeded random order; the mean batch loss."""
    network.train()
    rng = np.random.default_rng([config.seed, epoch])
    order = rng.permutation(fit)
    n_batches = len(order) // config.batch_size
    losses = []
    bar = tqdm(range(n_batches), desc=f"epoch {epoch}/{config.epochs}", disable=not progress)
    for b in bar:
        batch = np.sort(order[b * config.batch_size : (b + 1) * config.batch_size])
        windows = beats.windows[batch]
        if config.amplitude_jitter:
            low, high = 1 - config.amplitude_jitter, 1 + config.amplitude_jitter
            scale = rng.uniform(low, high, size=(len(batch), 2, 1)).astype(np.float32)
            # a lead's template row scales with the lead: s * lead - s * median = s * deviation
            rows_per_lead = windows.shape[1] // 2
            windows = windows * np.tile(scale, (1, rows_per_lead, 1))  # (B, rows, T) * (B, rows, 1)
        x = torch.from_numpy(windows).unsqueeze(1)  # (B, rows, T) -> (B, 1, rows, T)
        targets = torch.from_numpy(beats.labels[batch])
        logits = network(x, scaler(beats.rr[batch]))
        loss = hard_mining_cross_entropy(logits, targets, weights, config.hard_fraction)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        scheduler.step()
        losses.append(loss.item())
        if b % 50 == 0:
            bar.set_postfix(loss=f"{np.mean(losses):.4f}")
    return float(np.mean(losses))


def train_beat_model(
    beats: Beats,
    fit: np.ndarray,
    validation: np.ndarray,
    network_settings: ModelSettings,
    config: BeatTrainSettings,
    checkpoint_dir: Path,
    progress: bool = True,
) -> TrainedBeatModel:
    """Train on the ``fit`` beats; keep the epoch of highest ``selection_score`` on the
    ``validation`` beats (the last epoch when there are none or the score is undefined).
    Resumes from ``checkpoint_dir`` when it holds one."""
    if len(fit) < config.batch_size:
        raise BeatTrainingError(
            f"{len(fit)} training beats, fewer than one batch of {config.batch_size}"
        )
    torch.manual_seed(config.seed)
    network = build_network(network_settings)
    scaler = RRScaler.fit(beats.rr[fit])
    weights = class_weights(beats.class_counts(fit), LossSettings(min_count=3))
    optimiser = torch.optim.AdamW(
        network.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimiser,
        max_lr=config.learning_rate,
        total_steps=config.epochs * (len(fit) // config.batch_size),
    )
    checkpoint = checkpoint_dir / CHECKPOINT_NAME
    identity = {"settings": to_plain(config)}
    state = TrainingState.start(network)
    if checkpoint.exists():
        state = load_checkpoint(checkpoint, identity, network, optimiser, scheduler)
        log.info("resuming from %s after epoch %d", checkpoint, state.epochs_done)
    for epoch in range(state.epochs_done + 1, config.epochs + 1):
        started = time.perf_counter()
        loss = _train_epoch(
            network, beats, fit, scaler, weights, config, optimiser, scheduler, epoch, progress
        )
        score = float("nan")
        if len(validation):
            predicted = predict(network, beats, validation, scaler)
            score = selection_score(beats.labels[validation], predicted)
        seconds = time.perf_counter() - started
        state.history.append({"epoch": epoch, "loss": loss, "val_macro_f1": score, "s": seconds})
        log.info(
            "epoch %d: loss %.4f, validation macro F1 %.4f (classes with >= 10 beats), %.0f s",
            epoch,
            loss,
            score,
            seconds,
        )
        state.end_epoch(epoch, score, network, defined=not np.isnan(score))
        save_checkpoint(checkpoint, identity, state, network, optimiser, scheduler)
    network.load_state_dict(state.best_state)
    network.eval()
    return TrainedBeatModel(network, scaler, state.best_epoch, state.history)
