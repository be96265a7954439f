"""The challenge's metrics on arrays: AUROC, AUPRC, accuracy, F-measure, F-beta, G-beta, challenge metric.

Every function takes matrices of shape (recordings × classes) in the order of ``ScoredClasses.codes``:
``labels`` and ``binary_outputs`` bool (or 0/1), ``scalar_outputs`` float. The numbers are the official
2020 scorer's, computed without a Python loop over recordings:

- AUROC and AUPRC of a class use its distinct scalar outputs as thresholds; AUROC is the trapezoid
  area under (sensitivity, specificity), AUPRC the step area under (recall, precision). A class
  without positive labels has NaN for both (and without negative labels, NaN AUROC).
- Macro values are means over the classes that are not NaN (``np.nanmean``).
- F-beta and G-beta (beta = 2) weigh each recording by 1 / (number of its positive labels).
- The challenge metric weighs the (label class × output class) matrix by ``ScoredClasses.weights``,
  each recording counting 1 / (number of classes positive in its label or its output), and rescales so
  that always answering sinus rhythm scores 0 and the true labels score 1. Where the labels give
  both the same score (every recording sinus rhythm alone, or no scored class at all) the rescaling
  is undefined and the metric is 0.0, as the official scorer has it; ``ChallengeMetric.defined``
  tells the two apart.
- Sums over recordings add one recording after another, as the official loops do, so that every
  value is the official one to the last bit (numpy's ``sum`` adds pairwise, which rounds otherwise).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from seecgnet.challenge.classes import ScoredClasses

BETA = 2


SUMMARY_NAMES = (
    "AUROC",
    "AUPRC",
    "Accuracy",
    "F-measure",
    "Fbeta-measure",
    "Gbeta-measure",
    "Challenge metric",
)


@dataclass(frozen=True, eq=False)
class Scores:
    """All the challenge's scores of one set of outputs, fields in the official scorer's order."""

    classes: tuple[str, ...]
    auroc: float
    auprc: float
    auroc_classes: np.ndarray
    auprc_classes: np.ndarray
    accuracy: float
    f_measure: float
    f_measure_classes: np.ndarray
    f_beta_measure: float
    g_beta_measure: float
    challenge_metric: float

    def summary(self) -> tuple[float, ...]:
        """The seven headline scores, in the order of the official ``scores.csv`` (SUMMARY_NAMES)."""
        return (
            self.auroc,
            self.auprc,
            self.accuracy,
            self.f_measure,
            self.f_beta_measure,
            self.g_beta_measure,
            self.challenge_metric,
        )

    def as_official_tuple(self) -> tuple:
        """The 11 values in the order the official ``evaluate_12ECG_score`` returns them."""
        return (
            list(self.classes),
            self.auroc,
            self.auprc,
            self.auroc_classes,
            self.auprc_classes,
            self.accuracy,
            self.f_measure,
            self.f_measure_classes,
            self.f_beta_measure,
            self.g_beta_measure,
            self.challenge_metric,
        )


def compute_scores(
    labels: ArrayLike,
    scalar_outputs: ArrayLike,
    binary_outputs: ArrayLike,
    classes: ScoredClasses,
) -> Scores:
    """Every challenge score of the outputs against the labels (all recordings × classes)."""
    labels_t, binary_t = _labels_and_outputs(labels, binary_outputs, len(classes))
    scalar_t = _scalar_by_class(scalar_outputs, labels_t.shape)
    auroc_classes, auprc_classes = _areas(labels_t, scalar_t)
    f_measure_classes = _f_measures(labels_t, binary_t)
    f_beta_measure, g_beta_measure = _beta_measures(labels_t, binary_t, BETA)
    return Scores(
        classes=tuple(classes.codes),
        auroc=nan_mean(auroc_classes),
        auprc=nan_mean(auprc_classes),
        auroc_classes=auroc_classes,
        auprc_classes=auprc_classes,
        accuracy=_accuracy(labels_t, binary_t),
        f_measure=nan_mean(f_measure_classes),
        f_measure_classes=f_measure_classes,
        f_beta_measure=f_beta_measure,
        g_beta_measure=g_beta_measure,
        challenge_metric=ChallengeMetric(labels, classes).score_by_class(binary_t),
    )


def nan_mean(values: np.ndarray) -> float:
    """Mean of the values that are not NaN (NaN if none), summed exactly as ``np.nanmean`` sums."""
    present = ~np.isnan(values)
    count = int(np.count_nonzero(present))
    if count == 0:
        return float("nan")
    return float(np.sum(np.where(present, values, 0.0)) / count)


def class_auroc_auprc(
    labels: ArrayLike, scalar_outputs: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """Per-class AUROC and AUPRC (each of shape (classes,), NaN where undefined)."""
    labels_t = _by_class(labels, None, "labels")
    return _areas(labels_t, _scalar_by_class(scalar_outputs, labels_t.shape))


def accuracy(labels: ArrayLike, binary_outputs: ArrayLike) -> float:
    """Fraction of recordings whose outputs equal their labels for every class."""
    return _accuracy(*_labels_and_outputs(labels, binary_outputs))


def class_f_measures(labels: ArrayLike, binary_outputs: ArrayLike) -> np.ndarray:
    """Per-class F-measure 2TP / (2TP + FP + FN), NaN where a class is negative in both."""
    return _f_measures(*_labels_and_outputs(labels, binary_outputs))


def beta_measures(
    labels: ArrayLike, binary_outputs: ArrayLike, beta: float = BETA
) -> tuple[float, float]:
    """Macro F-beta and G-beta, each recording weighted by 1 / (number of its positive labels)."""
    return _beta_measures(*_labels_and_outputs(labels, binary_outputs), beta)


class ChallengeMetric:
    """The challenge metric for one label matrix, ready to score many binary output matrices.

    The scores of the true labels and of "always sinus rhythm" depend on the labels alone, so they are
    computed once; each call then builds one weighted (label class × output class) confusion matrix,
    which suits a threshold search.
    """

    def __init__(self, labels: ArrayLike, classes: ScoredClasses) -> None:
        self._labels = _by_class(labels, len(classes), "labels")
        self._recordings_of = [np.flatnonzero(is_label) for is_label in self._labels]
        self._weights = classes.weights
        inactive = np.zeros_like(self._labels)
        inactive[classes.normal_index] = True
        self._correct_score = self._weighted_score(self._labels)
        self._inactive_score = self._weighted_score(inactive)

    @property
    def defined(self) -> bool:
        """Whether the labels give the true labels and "always sinus rhythm" different scores, so
        that the metric is a rescaled score; where they do not, every output scores 0.0."""
        return self._correct_score != self._inactive_score

    def __call__(self, binary_outputs: ArrayLike) -> float:
        return self.score_by_class(_by_class(binary_outputs, len(self._labels), "outputs"))

    def score_by_class(self, binary_outputs_t: np.ndarray) -> float:
        """The metric of binary outputs already laid out as (classes × recordings) bool."""
        if binary_outputs_t.shape != self._labels.shape:
            raise ValueError(
                f"outputs of {binary_outputs_t.shape[1]} recordings for labels of "
                f"{self._labels.shape[1]}"
            )
        if not self.defined:
            return 0.0
        observed = self._weighted_score(binary_outputs_t)
        return float(
            (observed - self._inactive_score) / (self._correct_score - self._inactive_score)
        )

    def _weighted_score(self, outputs_t: np.ndarray) -> float:
        # Each recording adds 1/(classes positive in its label or output) to each of its
        # (label class, output class) pairs; labels are sparse, so gather per label class, and
        # add the recordings one after another as the official loop does.
        share = 1.0 / np.maximum((self._labels | outputs_t).sum(axis=0, dtype=np.int32), 1)
        confusion = np.zeros(self._weights.shape)
        for label_class, recordings in enumerate(self._recordings_of):
            if recordings.size:
                contributions = np.take(outputs_t, recordings, axis=1) * share[recordings]
                confusion[label_class] = _running_sum(contributions)
        return float(np.nansum(self._weights * confusion))


def challenge_metric(labels: ArrayLike, binary_outputs: ArrayLike, classes: ScoredClasses) -> float:
    """The challenge metric of one binary output matrix (see ``ChallengeMetric`` for many)."""
    return ChallengeMetric(labels, classes)(binary_outputs)


# The functions below take matrices laid out as (classes × recordings): every per-class reduction then
# runs over contiguous memory, several times faster than down the columns of (recordings × classes).


def _by_class(matrix: ArrayLike, num_classes: int | None, name: str) -> np.ndarray:
    """A (recordings × classes) bool or 0/1 matrix as a contiguous (classes × recordings) bool one."""
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or (num_classes is not None and matrix.shape[1] != num_classes):
        expected = "classes" if num_classes is None else num_classes
        raise ValueError(f"{name}: expected (recordings × {expected}), got shape {matrix.shape}")
    if matrix.shape[0] == 0:
        raise ValueError(f"{name}: no recordings to score")
    if matrix.dtype != bool and not np.isin(matrix, (0, 1)).all():
        raise ValueError(f"{name}: expected bool or 0/1 values")
    return np.ascontiguousarray(matrix.T, dtype=bool)


def _labels_and_outputs(
    labels: ArrayLike, binary_outputs: ArrayLike, num_classes: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    labels_t = _by_class(labels, num_classes, "labels")
    binary_t = _by_class(binary_outputs, num_classes, "binary outputs")
    if binary_t.shape != labels_t.shape:
        raise ValueError(f"binary outputs {binary_t.T.shape} differ from labels {labels_t.T.shape}")
    return labels_t, binary_t


def _scalar_by_class(scalar_outputs: ArrayLike, shape: tuple[int, int]) -> np.ndarray:
    scalar_t = np.ascontiguousarray(np.asarray(scalar_outputs, dtype=np.float64).T)
    if scalar_t.shape != shape:
        raise ValueError(f"scalar outputs {scalar_t.T.shape} differ from labels {shape[::-1]}")
    if np.isnan(scalar_t).any():
        raise ValueError("scalar outputs contain NaN (the challenge's files read NaN as 0)")
    return scalar_t


def _areas(labels_t: np.ndarray, scalar_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # numpy's sorts release the GIL, so the classes' areas run side by side on the machine's cores
    workers = min(len(labels_t), os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        areas = list(pool.map(_class_areas, labels_t, scalar_t))
    auroc = np.array([area[0] for area in areas], dtype=np.float64)
    auprc = np.array([area[1] for area in areas], dtype=np.float64)
    return auroc, auprc


def _class_areas(is_positive: np.ndarray, outputs: np.ndarray) -> tuple[float, float]:
    """AUROC and AUPRC of one class, term by term as the official scorer computes them.

    Only thresholds equal to a positive recording's output move the true-positive rate; the other
    thresholds add exact zeros to both areas. So only the positives' distinct values are visited,
    each with the counts of negatives at or above it, and the terms are summed one after another from
    the highest threshold down, as the official loop sums them.
    """
    positives = outputs[is_positive]
    if positives.size == 0:
        return float("nan"), float("nan")
    num_positive, num_negative = positives.size, outputs.size - positives.size

    values, counts = np.unique(positives, return_counts=True)  # ascending
    tp = num_positive - np.cumsum(counts) + counts  # positives with an output ≥ the threshold
    tp_above = tp - counts  # ... and > the threshold: the count at the next higher threshold
    fp, fp_above = _count_at_or_above(outputs[~is_positive], values)

    tpr, tpr_above = tp / num_positive, tp_above / num_positive
    auprc = np.cumsum(((tpr - tpr_above) * (tp / (tp + fp)))[::-1])[-1]
    if num_negative == 0:
        return float("nan"), float(auprc)
    tnr = (num_negative - fp) / num_negative
    tnr_above = (num_negative - fp_above) / num_negative
    auroc = np.cumsum((0.5 * (tpr - tpr_above) * (tnr + tnr_above))[::-1])[-1]
    return float(auroc), float(auprc)


def _count_at_or_above(values: np.ndarray, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each of the ascending ``thresholds``, how many ``values`` are ≥ it and how many are > it.

    Sorting is the slowest step of all the metrics, and float32 sorts about twice as fast as float64.
    Rounding to float32 keeps order (x ≤ y gives f32(x) ≤ f32(y)), so a value whose float32 is above a
    threshold's float32 is above the threshold; only the values that share a float32 with a threshold
    are compared at full precision.
    """
    if values.size == 0:
        return np.zeros(thresholds.size, dtype=np.intp), np.zeros(thresholds.size, dtype=np.intp)
    with np.errstate(over="ignore"):  # beyond float32's range rounds to ±inf, still in order
        values32, thresholds32 = values.astype(np.float32), thresholds.astype(np.float32)
    coarse = np.sort(values32)
    below = np.searchsorted(coarse, thresholds32, side="left")  # certainly below the threshold
    at_least, greater = coarse.size - below, coarse.size - below
    shared = np.flatnonzero(coarse[np.minimum(below, coarse.size - 1)] == thresholds32)
    if shared.size:
        tied = np.sort(values[np.isin(values32, thresholds32[shared])])
        with np.errstate(over="ignore"):
            tied32 = tied.astype(np.float32)
        exact, exact32 = thresholds[shared], thresholds32[shared]
        # tied values in the threshold's own float32 block that are below it
        block_start = np.searchsorted(tied32, exact32, side="left")
        at_least[shared] -= np.searchsorted(tied, exact, side="left") - block_start
        greater[shared] -= np.searchsorted(tied, exact, side="right") - block_start
    return at_least, greater


def _accuracy(labels_t: np.ndarray, binary_t: np.ndarray) -> float:
    return float(np.mean((labels_t == binary_t).all(axis=0)))


def _f_measures(labels_t: np.ndarray, binary_t: np.ndarray) -> np.ndarray:
    tp, fp, fn = (cell.sum(axis=1) for cell in _confusion_cells(labels_t, binary_t))
    return _ratio(2 * tp, 2 * tp + fp + fn)


def _beta_measures(labels_t: np.ndarray, binary_t: np.ndarray, beta: float) -> tuple[float, float]:
    per_recording = 1.0 / np.maximum(labels_t.sum(axis=0, dtype=np.int32), 1)
    tp, fp, fn = (
        _running_sum(cell * per_recording) for cell in _confusion_cells(labels_t, binary_t)
    )
    f_beta = _ratio((1 + beta**2) * tp, (1 + beta**2) * tp + fp + beta**2 * fn)
    g_beta = _ratio(tp, tp + fp + beta * fn)
    return nan_mean(f_beta), nan_mean(g_beta)


def _running_sum(terms: np.ndarray) -> np.ndarray:
    """The sums of the rows of (classes × recordings) ``terms``, added one after another."""
    return np.cumsum(terms, axis=1)[:, -1]


def _confusion_cells(
    labels_t: np.ndarray, binary_t: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True-positive, false-positive and false-negative indicators, (classes × recordings) each."""
    return labels_t & binary_t, ~labels_t & binary_t, labels_t & ~binary_t


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator != 0, numerator / denominator, np.nan)
