"""Training a beat classifier: class-weighted cross-entropy (optionally focal, hard-mined, with a
subject-adversarial head; :mod:`seecgnet.mitbih.beat_loss`), the package's training core (AdamW
with a one-cycle schedule, :mod:`seecgnet.training.optimisation`), and after every epoch the validation
beats' logits and the weights saved (``epochs/NNN.pt``), so that the epoch (and the decision
threshold) can be chosen afterwards over several models at once (:mod:`seecgnet.mitbih.selection`),
and a checkpoint (the package's own, :mod:`seecgnet.training.checkpoint`) so that an interrupted run
resumes where it stopped, with the same weights, optimiser state, batch order and random state.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from seecgnet import interrupts
from seecgnet.mitbih.adversary import SubjectAdversary
from seecgnet.mitbih.beat_loss import (
    BeatTrainingError,
    LossParts,
    RRScaler,
    batch_loss,
    epoch_order,
    loss_parts,
)
from seecgnet.mitbih.beats import AAMI_CLASSES, Beats
from seecgnet.mitbih.rhythm_expert import RhythmExpert
from seecgnet.mitbih.scores import selection_score
from seecgnet.mitbih.settings import BeatTrainSettings
from seecgnet.models.registry import build_network
from seecgnet.models.settings import ModelSettings
from seecgnet.trained.settings import to_plain
from seecgnet.training.checkpoint import CHECKPOINT_NAME, TrainingState
from seecgnet.training.optimisation import (
    Checkpoint,
    Optimisation,
    one_cycle,
    train_epochs,
    train_pass,
)

log = logging.getLogger(__name__)

PREDICT_BATCH = 2048
EPOCHS_FOLDER = "epochs"


@dataclass(frozen=True)
class BeatEpochLog:
    """One epoch of a beat classifier's training: its mean batch loss, the validation beats'
    macro F1 (the selection score, :func:`seecgnet.mitbih.scores.selection_score`) and its time."""

    epoch: int
    loss: float
    validation_macro_f1: float
    seconds: float

    def to_plain(self) -> dict[str, float]:
        """As kept in checkpoints and ``done.json`` (the keys those files have always had)."""
        return {
            "epoch": self.epoch,
            "loss": self.loss,
            "val_macro_f1": self.validation_macro_f1,
            "s": self.seconds,
        }

    @classmethod
    def from_plain(cls, entry: dict[str, float]) -> BeatEpochLog:
        return cls(int(entry["epoch"]), entry["loss"], entry["val_macro_f1"], entry["s"])


def epoch_file(folder: Path, epoch: int) -> Path:
    """Where training in ``folder`` saves an epoch's weights and validation logits."""
    return folder / EPOCHS_FOLDER / f"{epoch:03d}.pt"


@dataclass(frozen=True, eq=False)
class TrainedBeatModel:
    """The network after its last epoch, the RR scaler it was trained with, the epoch log, the
    folder of each epoch's weights and validation logits (``epoch_file``), and the rhythm expert
    whose logits are added to the network's (None without one)."""

    network: nn.Module
    scaler: RRScaler
    history: list[BeatEpochLog]
    folder: Path
    expert: RhythmExpert | None = None

    def epoch_file(self, epoch: int) -> Path:
        return epoch_file(self.folder, epoch)


def predict_logits(
    network: nn.Module,
    beats: Beats,
    indices: np.ndarray,
    scaler: RRScaler,
    expert: RhythmExpert | None = None,
) -> np.ndarray:
    """The logits for the beats in ``indices`` (the network's, plus the expert's where there is
    one), shape (len(indices), n_classes)."""
    network.eval()
    logits = [np.zeros((0, len(AAMI_CLASSES)), dtype=np.float32)]
    with torch.inference_mode():
        for start in range(0, len(indices), PREDICT_BATCH):
            chunk = indices[start : start + PREDICT_BATCH]
            x = torch.from_numpy(beats.windows[chunk]).unsqueeze(
                1
            )  # (B, rows, T) -> (B, 1, rows, T)
            rr = scaler(beats.rr[chunk])
            chunk_logits = network(x, rr)
            if expert is not None:
                chunk_logits = expert.join(chunk_logits, rr)
            logits.append(chunk_logits.numpy())
    return np.concatenate(logits)


def _train_epoch(
    model: nn.Module,
    beats: Beats,
    fit: np.ndarray,
    parts: LossParts,
    config: BeatTrainSettings,
    optimisation: Optimisation,
    epoch: int,
    progress: bool,
) -> float:
    """One pass over the epoch's training beats in a seeded random order; the mean batch loss."""
    model.train()
    rng = np.random.default_rng([config.seed, epoch])
    order = epoch_order(fit, beats.labels, config, rng)
    n_batches = len(order) // config.batch_size
    bar = tqdm(range(n_batches), desc=f"epoch {epoch}/{config.epochs}", disable=not progress)

    def loss_of(b: int) -> torch.Tensor:
        interrupts.check()  # a Ctrl-C passed over where it landed ends the run here
        if isinstance(model, SubjectAdversary):  # ramps from 0 to the weight (Ganin's schedule)
            done = ((epoch - 1) * n_batches + b) / (config.epochs * n_batches)
            model.reversal_scale = config.adversary_weight * (2 / (1 + np.exp(-10 * done)) - 1)
        batch = np.sort(order[b * config.batch_size : (b + 1) * config.batch_size])
        return batch_loss(model, beats, batch, parts, config, rng)

    def shown(b: int, mean: float) -> None:
        if b % 50 == 0:
            bar.set_postfix(loss=f"{mean:.4f}")

    return train_pass(bar, loss_of, optimisation, shown=shown)


def _model_to_train(
    network: nn.Module, beats: Beats, fit: np.ndarray, config: BeatTrainSettings
) -> nn.Module:
    """The network itself, or with ``adversary_weight`` the network and its record head."""
    if not config.adversary_weight:
        return network
    return SubjectAdversary(network, len(np.unique(beats.record_index[fit])))


def train_beat_model(
    beats: Beats,
    fit: np.ndarray,
    validation: np.ndarray,
    network_settings: ModelSettings,
    config: BeatTrainSettings,
    folder: Path,
    progress: bool = True,
    rr_names: tuple[str, ...] = (),
) -> TrainedBeatModel:
    """Train on the ``fit`` beats for ``config.epochs`` epochs, saving after each the weights and
    the ``validation`` beats' logits in ``folder/epochs/NNN.pt``. Resumes from ``folder``'s
    checkpoint when it holds one. ``rr_names``: the RR features' names, needed to re-base them
    (``config.rebase_share``)."""
    if len(fit) < config.batch_size:
        raise BeatTrainingError(
            f"{len(fit)} training beats, fewer than one batch of {config.batch_size}"
        )
    torch.manual_seed(config.seed)
    network = build_network(network_settings)
    model = _model_to_train(network, beats, fit, config)
    parts = loss_parts(beats, fit, config, folder, rr_names)
    epoch_size = (config.epoch_beats or len(fit)) if config.samples else len(fit)
    optimisation = one_cycle(model.parameters(), config, epoch_size // config.batch_size)
    checkpoint = Checkpoint(folder / CHECKPOINT_NAME, {"settings": to_plain(config)})
    state = checkpoint.resume(model, optimisation) or TrainingState.start(model)
    if state.epochs_done:
        log.info("resuming from %s after epoch %d", checkpoint.path, state.epochs_done)

    def finish(epoch: int, loss: float, started: float) -> bool:
        """Score the validation beats, save the epoch's weights and their logits, keep it."""
        logits = predict_logits(network, beats, validation, parts.scaler, parts.expert)
        score = selection_score(beats.labels[validation], logits.argmax(axis=1))
        entry = BeatEpochLog(epoch, loss, score, time.perf_counter() - started)
        state.history.append(entry.to_plain())
        log.info("epoch %d: loss %.4f, validation macro F1 %.4f, %.0f s", epoch, loss, score,
                 entry.seconds)  # fmt: skip
        path = epoch_file(folder, epoch)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"network": network.state_dict(), "validation_logits": torch.from_numpy(logits)},
                   path)  # fmt: skip
        state.end_epoch(epoch, score, model, defined=False)  # keeps the last epoch
        return True

    train_epochs(
        state,
        config.epochs,
        lambda epoch: _train_epoch(model, beats, fit, parts, config, optimisation, epoch, progress),
        finish,
        save=lambda state: checkpoint.save(state, model, optimisation),
    )
    network.eval()
    history = [BeatEpochLog.from_plain(entry) for entry in state.history]
    return TrainedBeatModel(network, parts.scaler, history, folder, parts.expert)
