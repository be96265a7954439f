"""Choosing the epoch and the decision threshold on the validation beats of several models at once.

Under the inter-patient protocol each fold's model has predicted its own held-out DS1 records
after every epoch; pooled, those out-of-fold predictions cover every DS1 record once, each by a
model that never saw its patient. The epoch kept (the same for every fold) and the offsets added
to the logits of the ``tuned`` classes (S by default: a threshold on how sure the network must be
before it calls a beat supraventricular) are those of the highest macro F1 over these pooled
beats, over the ``scored`` classes that have at least ten of them. One draw of four records would
let a single patient decide; all 22 patients are steadier (the epoch-to-epoch swing of four
records was ±0.05–0.25). F is not scored by default: 372 of DS1's 414 F beats are in record 208,
so out of fold they are judged by models that saw 42 F beats, and their F1 is near 0 at every
epoch, noise that would only blur the choice.

A beat's decision is argmax over classes of (log-probability + offset); an offset of 0 everywhere
is the plain argmax.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seecgnet.mitbih.scores import MIN_SELECTION_BEATS, score_beats
from seecgnet.mitbih.settings import AAMI_CLASSES, SelectionSettings


@dataclass(frozen=True)
class Choice:
    """The epoch and logit offsets chosen, and the pooled validation score they reach."""

    epoch: int
    offsets: tuple[float, ...]
    score: float


def choice_score(labels: np.ndarray, predicted: np.ndarray, settings: SelectionSettings) -> float:
    """Macro F1 over the scored classes with at least MIN_SELECTION_BEATS beats (NaN if none)."""
    scores = score_beats(labels, predicted)
    scored = np.isin(AAMI_CLASSES, settings.scored_classes) & (
        scores.support >= MIN_SELECTION_BEATS
    )
    return float(scores.f1[scored].mean()) if scored.any() else float("nan")


def log_probabilities(logits: np.ndarray) -> np.ndarray:
    """log softmax over the last axis, shape kept."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def decide(log_p: np.ndarray, offsets: tuple[float, ...] | np.ndarray) -> np.ndarray:
    """The class of each beat: argmax of log-probability (n, classes) + offsets (classes,)."""
    return (log_p + np.asarray(offsets, dtype=np.float64)).argmax(axis=1)


def tune_offsets(
    labels: np.ndarray, log_p: np.ndarray, settings: SelectionSettings
) -> tuple[tuple[float, ...], float]:
    """Offsets for the tuned classes, searched one class after the other on the grid (the others
    held), and the score they reach; the other classes keep 0."""
    offsets = np.zeros(len(AAMI_CLASSES))
    best = choice_score(labels, decide(log_p, offsets), settings)
    for name in settings.tuned_classes:
        k = AAMI_CLASSES.index(name)
        for value in settings.grid:
            trial = offsets.copy()
            trial[k] = value
            score = choice_score(labels, decide(log_p, trial), settings)
            if score > best:
                best, offsets = score, trial
    return tuple(float(v) for v in offsets), float(best)


def choose(
    labels: np.ndarray, logits_by_epoch: list[np.ndarray], settings: SelectionSettings
) -> tuple[Choice, list[dict]]:
    """The epoch (1-based) and offsets of the highest pooled validation score, and one row per
    epoch: its score with plain argmax, and with its own best offsets."""
    rows, choice = [], Choice(epoch=len(logits_by_epoch), offsets=(0.0,) * 5, score=-np.inf)
    for epoch, logits in enumerate(logits_by_epoch, start=1):
        log_p = log_probabilities(logits)
        offsets, score = tune_offsets(labels, log_p, settings)
        plain = choice_score(labels, decide(log_p, np.zeros(len(AAMI_CLASSES))), settings)
        rows.append({"epoch": epoch, "plain": plain, "tuned": score, "offsets": list(offsets)})
        if np.isfinite(score) and score > choice.score:
            choice = Choice(epoch, offsets, score)
    return choice, rows
