"""The array metrics: hand-worked cases, and agreement with a plain loop-by-loop reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from seecgnet.challenge.classes import NORMAL_CODE, ScoredClasses
from seecgnet.challenge.metrics import (
    ChallengeMetric,
    accuracy,
    beta_measures,
    challenge_metric,
    class_auroc_auprc,
    class_f_measures,
    compute_scores,
    nan_mean,
)

# Three classes: X and Y reward each other half, sinus rhythm (N) only itself.
TOY = ScoredClasses(
    codes=("1001", "1002", NORMAL_CODE),
    weights=np.array([[1.0, 0.5, 0.0], [0.5, 1.0, 0.0], [0.0, 0.0, 1.0]]),
)
# r1: label X, output X.  r2: label Y, output X and Y.  r3: label N, output X.
TOY_LABELS = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=bool)
TOY_OUTPUTS = np.array([[1, 0, 0], [1, 1, 0], [1, 0, 0]], dtype=bool)


def test_challenge_metric_of_three_recordings_worked_by_hand() -> None:
    # observed: r1 X→X 1/1 (w 1); r2 Y→X, Y→Y 1/2 each (w .5, 1); r3 N→X 1/2 (w 0) = 1.75
    # true labels: 1 + 1 + 1 = 3; sinus rhythm: r1 X→N, r2 Y→N (w 0), r3 N→N 1 = 1
    assert challenge_metric(TOY_LABELS, TOY_OUTPUTS, TOY) == pytest.approx((1.75 - 1) / (3 - 1))


def test_f_beta_g_beta_f_measure_and_accuracy_worked_by_hand() -> None:
    # per class (TP, FP, FN): X (1, 2, 0), Y (1, 0, 0), N (0, 0, 1); one label per recording
    assert class_f_measures(TOY_LABELS, TOY_OUTPUTS) == pytest.approx([2 / 4, 1.0, 0.0])
    f_beta, g_beta = beta_measures(TOY_LABELS, TOY_OUTPUTS)
    assert f_beta == pytest.approx((5 / 7 + 5 / 5 + 0 / 4) / 3)
    assert g_beta == pytest.approx((1 / 3 + 1 / 1 + 0 / 2) / 3)
    assert accuracy(TOY_LABELS, TOY_OUTPUTS) == pytest.approx(1 / 3)


def test_auroc_and_auprc_with_a_tie_worked_by_hand() -> None:
    labels = np.array([[1], [0], [1], [0]], dtype=bool)
    outputs = np.array([[0.9], [0.8], [0.4], [0.4]])
    auroc, auprc = class_auroc_auprc(labels, outputs)
    # (TPR, TNR) steps (0,1) → (.5,1) → (.5,.5) → (1,0): trapezoids .5 + 0 + .125
    assert auroc[0] == pytest.approx(0.625)
    # recall steps of .5 at precisions 1/1 and 2/4
    assert auprc[0] == pytest.approx(0.75)


def test_a_class_without_positives_has_nan_areas_left_out_of_the_macro_mean() -> None:
    labels = np.array([[1, 0, 1], [0, 0, 1], [1, 0, 1]], dtype=bool)
    outputs = np.array([[0.9, 0.1, 0.5], [0.2, 0.3, 0.6], [0.7, 0.2, 0.7]])
    auroc, auprc = class_auroc_auprc(labels, outputs)
    assert auroc[0] == 1.0 and auprc[0] == 1.0
    assert math.isnan(auroc[1]) and math.isnan(auprc[1])
    assert math.isnan(auroc[2]) and auprc[2] == 1.0  # no negatives: no specificity
    assert nan_mean(auroc) == 1.0


def test_nan_mean_of_only_nan_is_nan() -> None:
    assert math.isnan(nan_mean(np.array([np.nan, np.nan])))


def test_true_labels_score_one_and_sinus_rhythm_scores_exactly_zero() -> None:
    metric = ChallengeMetric(TOY_LABELS, TOY)
    always_normal = np.zeros_like(TOY_LABELS)
    always_normal[:, TOY.normal_index] = True
    assert metric(TOY_LABELS) == 1.0
    assert metric(always_normal) == 0.0


@pytest.mark.parametrize("label_class", [None, NORMAL_CODE])
def test_the_challenge_metric_is_zero_and_undefined_when_labels_cannot_tell_outputs_apart(
    label_class: str | None,
) -> None:
    # no scored label, or sinus rhythm alone: the true labels score as "always sinus rhythm"
    labels = np.zeros((2, 3), dtype=bool)
    if label_class is not None:
        labels[:, TOY.codes.index(label_class)] = True
    metric = ChallengeMetric(labels, TOY)
    assert not metric.defined
    assert metric(TOY_OUTPUTS[:2]) == 0.0
    assert challenge_metric(labels, labels, TOY) == 0.0  # the official scorer's 0.0, not NaN
    assert ChallengeMetric(TOY_LABELS, TOY).defined


def test_compute_scores_refuses_nan_outputs_and_mismatched_shapes() -> None:
    scalar = np.full((3, 3), 0.5)
    with pytest.raises(ValueError, match="NaN"):
        compute_scores(TOY_LABELS, np.where(TOY_OUTPUTS, np.nan, 0.5), TOY_OUTPUTS, TOY)
    with pytest.raises(ValueError, match="shape"):
        compute_scores(TOY_LABELS[:, :2], scalar, TOY_OUTPUTS, TOY)
    with pytest.raises(ValueError, match="0/1"):
        compute_scores(TOY_LABELS * 2, scalar, TOY_OUTPUTS, TOY)


def test_scores_keep_the_official_order() -> None:
    scores = compute_scores(TOY_LABELS, np.where(TOY_OUTPUTS, 0.8, 0.1), TOY_OUTPUTS, TOY)
    values = scores.as_official_tuple()
    assert len(values) == 11
    assert values[0] == list(TOY.codes)
    assert values[5] == scores.accuracy
    assert values[10] == scores.challenge_metric


# A plain transcription of the official scorer's loops, recording by recording, to compare against.


def reference_areas(labels: np.ndarray, outputs: np.ndarray) -> tuple[list[float], list[float]]:
    aurocs, auprcs = [], []
    for k in range(labels.shape[1]):
        thresholds = sorted(set(outputs[:, k].tolist()), reverse=True)
        positives, negatives = labels[:, k].sum(), (~labels[:, k]).sum()
        tpr_prev, tnr_prev, auroc, auprc = 0.0, 1.0, 0.0, 0.0
        if positives == 0:
            aurocs.append(math.nan)
            auprcs.append(math.nan)
            continue
        for threshold in thresholds:
            tp = int(np.sum(labels[:, k] & (outputs[:, k] >= threshold)))
            fp = int(np.sum(~labels[:, k] & (outputs[:, k] >= threshold)))
            tpr = tp / positives
            tnr = (negatives - fp) / negatives if negatives else math.nan
            auroc += 0.5 * (tpr - tpr_prev) * (tnr + tnr_prev)
            auprc += (tpr - tpr_prev) * (tp / (tp + fp))
            tpr_prev, tnr_prev = tpr, tnr
        aurocs.append(auroc if negatives else math.nan)
        auprcs.append(auprc)
    return aurocs, auprcs


def reference_challenge_metric(
    labels: np.ndarray, outputs: np.ndarray, weights: np.ndarray
) -> float:
    def weighted(predicted: np.ndarray) -> float:
        confusion = np.zeros_like(weights)
        for label_row, output_row in zip(labels, predicted, strict=True):
            share = 1.0 / max(int(np.sum(label_row | output_row)), 1)
            for j in np.flatnonzero(label_row):
                for k in np.flatnonzero(output_row):
                    confusion[j, k] += share
        return float(np.sum(weights * confusion))

    inactive = np.zeros_like(labels)
    inactive[:, -1] = True  # the toy's sinus rhythm column
    correct, baseline = weighted(labels), weighted(inactive)
    if correct == baseline:
        return 0.0  # as the official scorer has it
    return (weighted(outputs) - baseline) / (correct - baseline)


def assert_same(actual: np.ndarray | float, expected: list[float] | float) -> None:
    # the same additions in the same order: equal to the last bit
    assert np.array_equal(actual, expected, equal_nan=True)


matrices = st.integers(1, 40).flatmap(
    lambda n: st.tuples(
        arrays(bool, (n, 3)),
        arrays(bool, (n, 3)),
        # few distinct values, so ties between positives and negatives are common
        arrays(np.float64, (n, 3), elements=st.sampled_from([0.0, 0.1, 0.25, 0.5, 1.0, 1e300])),
    )
)


@settings(max_examples=200, deadline=None)
@given(matrices)
def test_vectorised_metrics_agree_with_the_loop_reference(case: tuple) -> None:
    labels, binary, scalar = case
    auroc, auprc = class_auroc_auprc(labels, scalar)
    expected_auroc, expected_auprc = reference_areas(labels, scalar)
    assert_same(auroc, expected_auroc)
    assert_same(auprc, expected_auprc)
    assert_same(
        challenge_metric(labels, binary, TOY),
        reference_challenge_metric(labels, binary, TOY.weights),
    )


@settings(max_examples=100, deadline=None)
@given(
    st.integers(2, 60).flatmap(
        lambda n: st.tuples(
            arrays(bool, (n, 2)),
            arrays(np.float32, (n, 2), elements=st.floats(0, 1, width=32)),
            arrays(np.int8, (n, 2), elements=st.integers(-2, 2)),
        )
    )
)
def test_areas_are_exact_for_values_that_differ_below_float32_precision(case: tuple) -> None:
    labels, base, nudge = case
    scalar = base.astype(np.float64) + nudge * 1e-13
    auroc, auprc = class_auroc_auprc(labels, scalar)
    expected_auroc, expected_auprc = reference_areas(labels, scalar)
    assert_same(auroc, expected_auroc)
    assert_same(auprc, expected_auprc)
