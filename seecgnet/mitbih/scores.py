"""Beat-classification scores: accuracy, per-class sensitivity, positive predictive value and F1,
macro and support-weighted F1, and the confusion matrix (rows: reference class, columns: predicted).

A class that is never predicted has PPV 0 (and F1 0) when it has beats, NaN when it has none; a
class without beats has NaN sensitivity and F1. Macro F1 averages the classes that have beats in
the reference; ``macro_f1_nsvf`` the same over N, S, V and F only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seecgnet.mitbih.beats import AAMI_CLASSES

# The four classes most inter-patient papers average, leaving out the handful of Q beats.
NSVF = ("N", "S", "V", "F")
# Classes with fewer validation beats than this are left out of the macro F1 that picks the best
# epoch: the F1 of two or three beats swings between 0 and 1 by chance.
MIN_SELECTION_BEATS = 10


@dataclass(frozen=True, eq=False)
class BeatScores:
    """Scores of one set of predictions; per-class arrays are in the order of AAMI_CLASSES."""

    confusion: np.ndarray  # (5, 5) beat counts, rows reference, columns predicted
    accuracy: float
    sensitivity: np.ndarray
    ppv: np.ndarray
    f1: np.ndarray
    support: np.ndarray
    macro_f1: float
    macro_f1_nsvf: float
    weighted_f1: float


def confusion_matrix(reference: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """(5, 5) counts of (reference class, predicted class) pairs."""
    n = len(AAMI_CLASSES)
    pairs = np.asarray(reference, dtype=np.int64) * n + np.asarray(predicted, dtype=np.int64)
    return np.bincount(pairs, minlength=n * n).reshape(n, n)


def _ratio(numerator: np.ndarray, denominator: np.ndarray, empty: float) -> np.ndarray:
    out = np.full(numerator.shape, empty, dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def score_beats(reference: np.ndarray, predicted: np.ndarray) -> BeatScores:
    """All the scores of ``predicted`` against ``reference`` (class indices, same length)."""
    if len(reference) != len(predicted):
        raise ValueError(f"{len(reference)} reference beats but {len(predicted)} predictions")
    confusion = confusion_matrix(reference, predicted)
    hits = np.diag(confusion).astype(np.float64)
    support = confusion.sum(axis=1)
    sensitivity = _ratio(hits, support, np.nan)
    predicted_counts = confusion.sum(axis=0)
    ppv = _ratio(hits, predicted_counts, np.nan)
    ppv[(predicted_counts == 0) & (support > 0)] = 0.0
    f1 = _ratio(2 * hits, support + confusion.sum(axis=0), np.nan)
    f1[support == 0] = np.nan
    present = support > 0
    nsvf = present & np.isin(AAMI_CLASSES, NSVF)
    return BeatScores(
        confusion=confusion,
        accuracy=float(hits.sum() / max(1, support.sum())),
        sensitivity=sensitivity,
        ppv=ppv,
        f1=f1,
        support=support,
        macro_f1=float(f1[present].mean()) if present.any() else float("nan"),
        macro_f1_nsvf=float(f1[nsvf].mean()) if nsvf.any() else float("nan"),
        weighted_f1=float((f1[present] * support[present]).sum() / max(1, support.sum())),
    )


def selection_score(reference: np.ndarray, predicted: np.ndarray) -> float:
    """Macro F1 over the classes with at least MIN_SELECTION_BEATS reference beats (NaN if none):
    what chooses the best epoch on the validation beats."""
    scores = score_beats(reference, predicted)
    scored = scores.support >= MIN_SELECTION_BEATS
    return float(scores.f1[scored].mean()) if scored.any() else float("nan")
