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


Part = tuple[np.ndarray, np.ndarray]  # (labels (n,), log-probabilities (n, classes))


def parts_score(parts: list[Part], offsets: np.ndarray, settings: SelectionSettings) -> float:
    """The mean over ``parts`` of their ``choice_score`` with ``offsets``."""
    return float(np.mean([choice_score(y, decide(lp, offsets), settings) for y, lp in parts]))


def tune_offsets(
    labels: np.ndarray,
    log_p: np.ndarray,
    settings: SelectionSettings,
    extra: tuple[Part, ...] = (),
) -> tuple[tuple[float, ...], float]:
    """Offsets for the tuned classes, searched one class after the other on the grid (the others
    held), and the score they reach (the mean with the ``extra`` parts' scores, where given); the
    other classes keep 0."""
    parts = [(labels, log_p), *extra]
    offsets = np.zeros(len(AAMI_CLASSES))
    best = parts_score(parts, offsets, settings)
    for name in settings.tuned_classes:
        k = AAMI_CLASSES.index(name)
        for value in settings.grid:
            trial = offsets.copy()
            trial[k] = value
            score = parts_score(parts, trial, settings)
            if score > best:
                best, offsets = score, trial
    return tuple(float(v) for v in offsets), float(best)


def choose(
    labels: np.ndarray,
    logits_by_epoch: list[np.ndarray],
    settings: SelectionSettings,
    rebased: tuple[np.ndarray, list[np.ndarray]] | None = None,
) -> tuple[Choice, list[dict]]:
    """The epoch (1-based) and offsets of the highest pooled validation score, and one row per
    epoch: its score with plain argmax, and with its own best offsets. ``rebased``: the labels and
    each epoch's logits of the re-based copy (see rebasing.py); with ``settings.rebased`` the
    choice scores it too (the mean of the two), and either way each row gives its score."""
    rows, choice = [], Choice(epoch=len(logits_by_epoch), offsets=(0.0,) * 5, score=-np.inf)
    for epoch, logits in enumerate(logits_by_epoch, start=1):
        log_p = log_probabilities(logits)
        extra: tuple[Part, ...] = ()
        if rebased is not None and len(rebased[0]):
            extra = ((rebased[0], log_probabilities(rebased[1][epoch - 1])),)
        offsets, score = tune_offsets(labels, log_p, settings, extra if settings.rebased else ())
        plain = choice_score(labels, decide(log_p, np.zeros(len(AAMI_CLASSES))), settings)
        row = {"epoch": epoch, "plain": plain, "tuned": score, "offsets": list(offsets)}
        if extra:
            row["rebased"] = parts_score(list(extra), np.asarray(offsets), settings)
        rows.append(row)
        if np.isfinite(score) and score > choice.score:
            choice = Choice(epoch, offsets, score)
    return choice, rows
