"""Beat-classification scores against hand-counted confusion matrices."""

from __future__ import annotations

import numpy as np

from seecgnet.mitbih.scores import confusion_matrix, score_beats, selection_score


def test_confusion_rows_are_reference_and_columns_predicted():
    confusion = confusion_matrix(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 0]))
    assert confusion[0].tolist() == [1, 1, 0, 0, 0]
    assert confusion[1].tolist() == [0, 1, 0, 0, 0]
    assert confusion[2].tolist() == [1, 0, 0, 0, 0]


def test_scores_of_a_hand_counted_case():
    # N: 8 beats, 7 right, 1 called S; S: 2 beats, 1 right, 1 called N; V: 2 right; no F, no Q
    reference = np.array([0] * 8 + [1] * 2 + [2] * 2)
    predicted = np.array([0] * 7 + [1] + [1, 0] + [2, 2])
    scores = score_beats(reference, predicted)
    assert scores.accuracy == 10 / 12
    np.testing.assert_allclose(scores.sensitivity[:3], [7 / 8, 1 / 2, 1])
    np.testing.assert_allclose(scores.ppv[:3], [7 / 8, 1 / 2, 1])
    np.testing.assert_allclose(scores.f1[:3], [7 / 8, 1 / 2, 1])
    assert np.isnan(scores.f1[3:]).all()
    assert scores.macro_f1 == (7 / 8 + 1 / 2 + 1) / 3
    assert scores.weighted_f1 == (8 * 7 / 8 + 2 * 1 / 2 + 2 * 1) / 12


def test_a_class_never_predicted_scores_zero_ppv_and_f1():
    scores = score_beats(np.array([0, 0, 3]), np.array([0, 0, 0]))
    assert scores.ppv[3] == 0.0 and scores.f1[3] == 0.0 and scores.sensitivity[3] == 0.0
    assert scores.macro_f1 == (0.8 + 0.0) / 2
    assert scores.macro_f1_nsvf == scores.macro_f1  # no Q beats: the same two classes


def test_epoch_selection_leaves_out_classes_with_few_beats():
    reference = np.array([0] * 20 + [1] * 10 + [3] * 2)
    predicted = np.array([0] * 20 + [1] * 10 + [0] * 2)  # both F beats missed
    assert score_beats(reference, predicted).macro_f1 < 0.7
    assert selection_score(reference, predicted) == (40 / 42 + 1.0) / 2
