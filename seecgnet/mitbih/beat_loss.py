"""What a beat classifier's training batches and loss are made of: the class weights, the beats
of an epoch (shuffled, or drawn by class), the loss (class-weighted cross-entropy, optionally focal
and hard-mined), the RR scaler, and each batch's images and RR features (re-based and jittered where
the settings ask). :mod:`seecgnet.mitbih.training` runs the epochs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from seecgnet.errors import SeecgnetError
from seecgnet.mitbih.adversary import SubjectAdversary
from seecgnet.mitbih.beats import AAMI_CLASSES, Beats
from seecgnet.mitbih.rebasing import as_runs, random_factors, rebase_rr, s_templates
from seecgnet.mitbih.rhythm_expert import RhythmExpert, fit_rhythm_expert
from seecgnet.mitbih.settings import BeatTrainSettings
from seecgnet.trained.settings import LossSettings
from seecgnet.training.loss import class_weights, hard_sample_count

EXPERT_NAME = "expert.pt"
# Class counts below this are raised to it before they weight the loss or the sampling (except the
# package's 1/log weights, which keep their own guard): a class seen a handful of times (DS1 holds
# 8 Q beats) is not to be learnt by repeating those few beats hundreds of times.
MIN_CLASS_BEATS = 100


class BeatTrainingError(SeecgnetError, ValueError):
    """Training cannot run as asked (too few beats for a batch); the message says why."""


def beat_class_weights(counts: np.ndarray, weighting: str) -> torch.Tensor:
    """The loss's weight of each class, shape (n_classes,), mean one over the classes."""
    if weighting == "log":
        return class_weights(counts, LossSettings(min_count=3))
    power = {"sqrt": 0.5, "inverse": 1.0, "none": 0.0}[weighting]
    weights = np.maximum(np.asarray(counts, dtype=np.float64), MIN_CLASS_BEATS) ** -power
    return torch.as_tensor(weights / weights.mean(), dtype=torch.float32)


def epoch_order(
    fit: np.ndarray, labels: np.ndarray, config: BeatTrainSettings, rng: np.random.Generator
) -> np.ndarray:
    """The training beats of one epoch, in order: every beat of ``fit`` once, shuffled; or, when
    sampling, ``epoch_beats`` beats drawn with replacement, each with probability N_c^-p."""
    if not config.samples:
        return rng.permutation(fit)
    counts = np.maximum(np.bincount(labels[fit], minlength=len(AAMI_CLASSES)), MIN_CLASS_BEATS)
    chance = counts[labels[fit]].astype(np.float64) ** -config.sampling_power
    return rng.choice(fit, size=config.epoch_beats or len(fit), p=chance / chance.sum())


def beat_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    weights: torch.Tensor,
    hard_fraction: float,
    focal_gamma: float = 0.0,
) -> torch.Tensor:
    """Cross-entropy weighted by the target's class weight, times (1 - p)^focal_gamma, averaged
    over the hardest ceil(hard_fraction × B) beats of the batch; a scalar.

    ``logits`` (B, n_classes), ``targets`` (B,) class indices, ``weights`` (n_classes,).
    """
    log_p = F.log_softmax(logits, dim=1).gather(1, targets[:, None]).squeeze(1)  # (B,)
    per_beat = -log_p * weights[targets]
    if focal_gamma:
        per_beat = per_beat * (1 - log_p.exp()).pow(focal_gamma)
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
class LossParts:
    """What every batch's loss needs besides the batch: the RR scaler, the class weights, the
    record head's class of each record index, the rhythm expert (or None), and the names of the
    RR features and each record's S template (for re-basing; None: no template re-basing)."""

    scaler: RRScaler
    weights: torch.Tensor
    record_class: np.ndarray
    expert: RhythmExpert | None
    rr_names: tuple[str, ...] = ()
    s_templates: np.ndarray | None = None


def _jittered(windows: np.ndarray, jitter: float, rng: np.random.Generator) -> np.ndarray:
    """Each beat's leads scaled by factors from [1 - jitter, 1 + jitter]; the rows derived from a
    lead (its template deviation, its neighbours) scale with it: s * lead - s * median."""
    scale = rng.uniform(1 - jitter, 1 + jitter, size=(len(windows), 2, 1)).astype(np.float32)
    rows_per_lead = windows.shape[1] // 2
    return windows * np.tile(scale, (1, rows_per_lead, 1))  # (B, rows, T) * (B, rows, 1)


def _training_rr(
    rr: np.ndarray,
    names: tuple[str, ...],
    share: float,
    rng: np.random.Generator,
    runs: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The training beats' RR features, a ``share`` of them re-based (labels unchanged), and each
    beat's factor (1: not re-based). ``runs``: the beats (a mask) that, when re-based, are also
    given an interval after as long as the one before (``as_runs``)."""
    if not share:
        return rr, np.ones(len(rr))
    if len(names) != rr.shape[1]:
        raise BeatTrainingError("re-basing the RR features needs their names (rr_names)")
    factors = random_factors(len(rr), share, rng)
    rebased = rebase_rr(rr, names, factors)
    if runs is not None:
        rebased = as_runs(rebased, names, runs & (factors < 1))
    return rebased, factors


def _s_runs(labels: np.ndarray, config: BeatTrainSettings) -> np.ndarray | None:
    """The S beats among ``labels`` with ``rebase_runs``, else None."""
    return labels == AAMI_CLASSES.index("S") if config.rebase_runs else None


def _rebased_batch(
    beats: Beats,
    batch: np.ndarray,
    parts: LossParts,
    config: BeatTrainSettings,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """The batch's images and RR features, a ``rebase_share`` re-based; of those, the beats of
    records with an S template get their template rows (2 and 3) made against it."""
    windows = beats.windows[batch]
    runs = _s_runs(beats.labels[batch], config)
    rr, factors = _training_rr(beats.rr[batch], parts.rr_names, config.rebase_share, rng, runs)
    if parts.s_templates is not None:
        templates = parts.s_templates[beats.record_index[batch]]  # (B, 2, T)
        swap = (factors < 1) & np.isfinite(templates[:, 0, 0])
        windows = windows.copy()
        windows[swap, 2:4] = windows[swap, :2] - templates[swap]
    return windows, rr


def batch_loss(
    model: nn.Module,
    beats: Beats,
    batch: np.ndarray,
    parts: LossParts,
    config: BeatTrainSettings,
    rng: np.random.Generator,
) -> torch.Tensor:
    """The loss of one batch: the beat loss of the network's logits (plus the frozen expert's),
    and the record head's cross-entropy when ``model`` is a ``SubjectAdversary`` (its gradient
    reversed before it reaches the features)."""
    windows, rr = _rebased_batch(beats, batch, parts, config, rng)
    if config.amplitude_jitter:
        windows = _jittered(windows, config.amplitude_jitter, rng)
    x = torch.from_numpy(windows).unsqueeze(1)  # (B, rows, T) -> (B, 1, rows, T)
    rr = parts.scaler(rr)
    targets = torch.from_numpy(beats.labels[batch])
    outputs = model(x, rr)
    logits = outputs[0] if isinstance(model, SubjectAdversary) else outputs
    if parts.expert is not None:
        logits = parts.expert.join(logits, rr)
    loss = beat_loss(logits, targets, parts.weights, config.hard_fraction, config.focal_gamma)
    if isinstance(model, SubjectAdversary):
        records = torch.from_numpy(parts.record_class[beats.record_index[batch]])
        loss = loss + F.cross_entropy(outputs[1], records)
    return loss


def loss_parts(
    beats: Beats,
    fit: np.ndarray,
    config: BeatTrainSettings,
    folder: Path,
    rr_names: tuple[str, ...] = (),
) -> LossParts:
    """The scaler, weights and record classes of the ``fit`` beats, and with ``rhythm_expert``
    the expert: read from ``folder/expert.pt`` when a cut-off run left one, else fitted."""
    scaler = RRScaler.fit(beats.rr[fit])
    weights = beat_class_weights(beats.class_counts(fit), config.class_weighting)
    fit_records = np.unique(beats.record_index[fit])  # the record head's classes
    record_class = np.zeros(len(beats.records), dtype=np.int64)
    record_class[fit_records] = np.arange(len(fit_records))
    expert = None
    if config.rhythm_expert:
        path = folder / EXPERT_NAME
        rng = np.random.default_rng([config.seed, 0])  # the epochs draw from [seed, epoch]
        runs = _s_runs(beats.labels[fit], config)
        rr = scaler(_training_rr(beats.rr[fit], rr_names, config.rebase_share, rng, runs)[0])
        labels = torch.from_numpy(beats.labels[fit])
        if path.exists():
            expert = RhythmExpert(rr.shape[1], len(AAMI_CLASSES), s_by_timing=config.s_by_timing)
            expert.load_state_dict(torch.load(path, weights_only=True))
            expert.requires_grad_(False).eval()
        else:
            expert = fit_rhythm_expert(
                rr, labels, weights, len(AAMI_CLASSES), config.seed, config.s_by_timing
            )
            folder.mkdir(parents=True, exist_ok=True)
            torch.save(expert.state_dict(), path)
        expert.weight = config.expert_weight
    templates = None
    if config.rebase_template:
        s = AAMI_CLASSES.index("S")
        n_records = len(beats.records)
        templates = s_templates(beats.windows, beats.labels, beats.record_index, fit, s, n_records)
    return LossParts(scaler, weights, record_class, expert, rr_names, templates)
