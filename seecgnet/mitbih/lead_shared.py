"""Pre-training SE-ECGNet's lead-shared layers on the MIT-BIH Arrhythmia Database's beat labels:
the library of the command ``python -m seecgnet.mitbih.pretrain``.

SE-ECGNet's stem and its branches' 2-D blocks read every lead alike with the same (1, k) kernels,
so they can learn from a database of any number of leads. Here they learn from MIT-BIH's 48
half-hour two-lead records (about 24 hours):

- each record's two leads (MLII first where it has it) are resampled from 360 Hz to the
  challenge network's 500 Hz (:func:`seecgnet.data.signals.resample`) and kept in mV without
  filtering, as the challenge's records are prepared;
- a training example is a 10-second window of both leads, a (1, 2, 5000) image like the challenge
  network's (1, 12, 5000) one, drawn at random in each record anew every epoch;
- its targets are which AAMI beat classes (N, S, V, F, Q) occur in the window, from the reference
  annotations (a multi-label task like the challenge's: rhythm and beat morphology over 10 s);
- the network is the lead-shared layers of SE-ECGNet (:class:`LeadSharedEncoder`, its state-dict
  keys the same as SEECGNet's) and a small head: the mean and maximum of each branch's last 2-D
  maps over leads and time, then one linear layer. The head is thrown away; the lead-shared
  layers are saved (:mod:`seecgnet.training.pretrained`).

Every ``holdout_every``-th record is held out, and each epoch logs the held-out windows' AUROC per
class, so that one can see the layers learned something; the last epoch's weights are saved.
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
from seecgnet.challenge.metrics import class_auroc_auprc
from seecgnet.data.signals import resample
from seecgnet.mitbih.beats import AAMI_OF_SYMBOL, BeatError, _mlii_first, read_annotated
from seecgnet.mitbih.settings import AAMI_CLASSES, PretrainSettings
from seecgnet.models.seecgnet import Stem, se_residual_stack
from seecgnet.models.settings import NetworkSettings
from seecgnet.training.checkpoint import TrainingState
from seecgnet.training.optimisation import Optimisation, one_cycle, train_epochs, train_pass

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class Recording:
    """One MIT-BIH record at the network's rate: ``signal`` (2, samples) float32 mV, and its beats'
    positions (samples) and AAMI class indices."""

    name: str
    signal: np.ndarray
    beat_samples: np.ndarray
    beat_classes: np.ndarray


def read_recording(path: str | Path, fs_hz: int) -> Recording:
    """Record ``path`` (without extension) and its ``atr`` beats, resampled to ``fs_hz``."""
    path = Path(path)
    record, symbols, beat_samples = read_annotated(path)
    leads = np.ascontiguousarray(_mlii_first(record).T, dtype=np.float32)  # (2, samples)
    samples = beat_samples * (fs_hz / record.fs)
    return Recording(
        name=path.name,
        signal=resample(leads, record.fs, fs_hz),
        beat_samples=np.round(samples).astype(np.int64),
        beat_classes=np.array([AAMI_CLASSES.index(AAMI_OF_SYMBOL[s]) for s in symbols], np.int64),
    )


def window_targets(recording: Recording, starts: np.ndarray, window: int) -> np.ndarray:
    """(len(starts), 5) float32: 1 where the window from each start holds a beat of the class."""
    targets = np.zeros((len(starts), len(AAMI_CLASSES)), dtype=np.float32)
    for k in range(len(AAMI_CLASSES)):
        beats = np.sort(recording.beat_samples[recording.beat_classes == k])
        inside = np.searchsorted(beats, starts + window) - np.searchsorted(beats, starts)
        targets[:, k] = inside > 0
    return targets


def cut(recording: Recording, starts: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """The windows from ``starts`` as (n, 1, 2, window) float32, and their targets."""
    offsets = starts[:, None] + np.arange(window)  # (n, window)
    images = recording.signal[:, offsets].transpose(1, 0, 2)[:, None]  # (2, n, w) -> (n, 1, 2, w)
    return np.ascontiguousarray(images), window_targets(recording, starts, window)


def drawn_windows(
    recordings: list[Recording], per_record: int, window: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``per_record`` windows at random places of each recording, and their targets."""
    parts = [
        cut(r, rng.integers(0, r.signal.shape[1] - window + 1, per_record), window)
        for r in recordings
    ]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def tiled_windows(recordings: list[Recording], window: int) -> tuple[np.ndarray, np.ndarray]:
    """Every whole window of each recording, one after the other, and their targets."""
    parts = [
        cut(r, np.arange(0, r.signal.shape[1] - window + 1, window), window) for r in recordings
    ]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


class AcrossLeads(nn.Module):
    """One branch's 2-D blocks, named as in :class:`seecgnet.models.seecgnet.MultiScaleBranch`."""

    def __init__(self, settings: NetworkSettings, kernel_samples: int) -> None:
        super().__init__()
        self.across_leads = se_residual_stack(
            2,
            settings.stem_channels[-1],
            settings.block2d_channels,
            settings.block2d_stride_samples,
            kernel_samples,
            settings.se_reduction,
        )


class LeadSharedEncoder(nn.Module):
    """SE-ECGNet's lead-shared layers (the same names as in SEECGNet's state dict) and a head:
    ``forward`` maps (B, 1, leads, T), any number of leads, to (B, n_outputs) logits."""

    def __init__(self, settings: NetworkSettings, n_outputs: int = len(AAMI_CLASSES)) -> None:
        super().__init__()
        self.stem = Stem(settings)
        self.branches = nn.ModuleList(
            AcrossLeads(settings, kernel) for kernel in settings.branch_kernel_samples
        )
        last = (settings.block2d_channels or settings.stem_channels[-1:])[-1]
        self.head = nn.Linear(2 * last * len(self.branches), n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.stem(x)  # (B, 1, leads, T) -> (B, C_stem, leads, T0)
        pooled = []
        for branch in self.branches:
            maps = torch.relu(branch.across_leads(features)).flatten(2)  # (B, C, leads · T2)
            pooled += [maps.mean(dim=2), maps.amax(dim=2)]
        return self.head(torch.cat(pooled, dim=1))


@dataclass(frozen=True)
class PretrainEpochLog:
    """One epoch of pre-training: its mean batch loss, its time, and the held-out windows' AUROC
    of each AAMI class (NaN where undefined)."""

    epoch: int
    loss: float
    seconds: float
    auroc: tuple[float, ...]

    def to_plain(self) -> dict[str, float]:
        """As the pre-trained file's ``history`` has always held it: ``auroc_N``, ``auroc_S``, ..."""
        plain = {"epoch": self.epoch, "loss": self.loss, "seconds": self.seconds}
        return plain | {
            f"auroc_{c}": float(a) for c, a in zip(AAMI_CLASSES, self.auroc, strict=True)
        }

    @classmethod
    def from_plain(cls, entry: dict[str, float]) -> PretrainEpochLog:
        auroc = tuple(entry[f"auroc_{c}"] for c in AAMI_CLASSES)
        return cls(int(entry["epoch"]), entry["loss"], entry["seconds"], auroc)


def holdout_split(names: list[str], every: int) -> tuple[list[int], list[int]]:
    """Indices of the training and the held-out records (every ``every``-th, from the first)."""
    held = list(range(0, len(names), every))
    return [k for k in range(len(names)) if k not in held], held


def pretrain(
    recordings: list[Recording],
    network_settings: NetworkSettings,
    settings: PretrainSettings,
    progress: bool = True,
) -> tuple[LeadSharedEncoder, list[PretrainEpochLog]]:
    """Train the lead-shared layers on the recordings' windows; the encoder and each epoch's log
    (training loss, the held-out windows' AUROC per class where defined)."""
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    window = network_settings.window_samples
    if min(r.signal.shape[1] for r in recordings) < window:
        short = min(recordings, key=lambda r: r.signal.shape[1])
        raise BeatError(f"{short.name}: shorter than one {window}-sample window")
    fit, held = holdout_split([r.name for r in recordings], settings.holdout_every)
    held_x, held_y = tiled_windows([recordings[k] for k in held], window)
    encoder = LeadSharedEncoder(network_settings)
    steps = -(-len(fit) * settings.windows_per_record // settings.batch_size)
    optimisation = one_cycle(encoder.parameters(), settings, steps)
    state = TrainingState(best_state={})  # the last epoch is kept: no checkpoint, no best

    def train(epoch: int) -> float:
        x, y = drawn_windows([recordings[k] for k in fit], settings.windows_per_record, window, rng)
        return _epoch(encoder, optimisation, x, y, settings.batch_size, rng, progress)

    def finish(epoch: int, loss: float, started: float) -> bool:
        auroc = _held_out_auroc(encoder, held_x, held_y, settings.batch_size)
        entry = PretrainEpochLog(epoch, loss, time.perf_counter() - started, tuple(auroc))
        state.history.append(entry.to_plain())
        shown = ", ".join(f"{c} {a:.3f}" for c, a in zip(AAMI_CLASSES, auroc, strict=True))
        log.info("epoch %d/%d: loss %.4f, held-out AUROC %s, %.0f s", epoch, settings.epochs,
                 loss, shown, entry.seconds)  # fmt: skip
        return True

    train_epochs(state, settings.epochs, train, finish)
    encoder.eval()
    return encoder, [PretrainEpochLog.from_plain(entry) for entry in state.history]


def _epoch(
    encoder: LeadSharedEncoder,
    optimisation: Optimisation,
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    rng: np.random.Generator,
    progress: bool,
) -> float:
    """One pass over the drawn windows in random batches; the mean batch loss."""
    encoder.train()
    order = rng.permutation(len(x))
    starts = range(0, len(order), batch_size)

    def loss_of(start: int) -> torch.Tensor:
        interrupts.check()
        chosen = order[start : start + batch_size]
        logits = encoder(torch.from_numpy(x[chosen]))
        return nn.functional.binary_cross_entropy_with_logits(logits, torch.from_numpy(y[chosen]))

    bar = tqdm(starts, desc="pre-training", disable=not progress, leave=False)
    return train_pass(bar, loss_of, optimisation)


@torch.no_grad()
def _held_out_auroc(
    encoder: LeadSharedEncoder, x: np.ndarray, y: np.ndarray, batch_size: int
) -> np.ndarray:
    """Per-class AUROC of the encoder's outputs on the held-out windows (NaN where undefined)."""
    if not len(x):
        return np.full(len(AAMI_CLASSES), np.nan)
    encoder.eval()
    outputs = [
        torch.sigmoid(encoder(torch.from_numpy(x[k : k + batch_size]))).numpy()
        for k in range(0, len(x), batch_size)
    ]
    return class_auroc_auprc(y.astype(bool), np.concatenate(outputs))[0]
