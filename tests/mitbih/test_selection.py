"""Choosing the epoch and the S threshold on pooled validation logits."""

from __future__ import annotations

import numpy as np
import pytest

from seecgnet.mitbih.selection import (
    choice_score,
    choose,
    decide,
    log_probabilities,
    tune_offsets,
)
from seecgnet.mitbih.settings import SelectionSettings
from seecgnet.trained.settings import SettingsError


def under_called_s(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Labels N, S, V and logits where S beats lean to S but N wins by 1: S needs an offset."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(3, size=n, p=[0.7, 0.15, 0.15])
    logits = np.zeros((n, 5))
    logits[:, 3:] = -10.0  # no F or Q
    logits[labels == 0, 0] = 3.0
    logits[labels == 1, 0] = 1.0  # S beats: N by one
    logits[labels == 1, 1] = 0.0 + rng.normal(0, 0.1, (labels == 1).sum())
    logits[labels == 2, 2] = 3.0
    return labels, logits


def test_an_offset_on_s_recovers_under_called_s_beats():
    labels, logits = under_called_s()
    log_p = log_probabilities(logits)
    assert (decide(log_p, np.zeros(5))[labels == 1] == 0).all()
    offsets, score = tune_offsets(labels, log_p, SelectionSettings())
    assert 1.0 < offsets[1] < 3.0 and offsets[0] == offsets[2] == 0.0
    assert score == pytest.approx(1.0)


def test_the_epoch_with_the_best_pooled_score_is_chosen_with_its_offsets():
    labels, good = under_called_s()
    bad = np.zeros_like(good)
    bad[:, 0] = 1.0  # everything N
    choice, rows = choose(labels, [bad, good, bad], SelectionSettings())
    assert choice.epoch == 2 and choice.offsets[1] > 1.0
    assert [row["epoch"] for row in rows] == [1, 2, 3]
    assert rows[1]["plain"] < rows[1]["tuned"] == pytest.approx(1.0)
    untuned, _ = choose(labels, [bad, good, bad], SelectionSettings(tuned_classes=()))
    assert untuned.offsets == (0.0,) * 5


def test_the_rebased_copy_decides_the_epoch_only_when_asked_and_is_always_reported():
    labels, good = under_called_s()
    bad = np.zeros_like(good)
    bad[:, 0] = 1.0  # everything N
    slightly_better = good.copy()
    slightly_better[labels == 1, 1] += 0.01
    # plain validation: epochs 1 and 2 both perfect once tuned, epoch 1 first; the re-based copy:
    # epoch 1 calls everything N there, epoch 2 is right
    copy_labels, copy_good = under_called_s(seed=1)
    copy_bad = np.zeros_like(copy_good)
    copy_bad[:, 0] = 1.0
    rebased = (copy_labels, [copy_bad, copy_good])
    plain, rows = choose(labels, [good, slightly_better], SelectionSettings(), rebased)
    assert plain.epoch == 1 and rows[0]["rebased"] < 0.5 < rows[1]["rebased"]
    both, _ = choose(labels, [good, slightly_better], SelectionSettings(rebased=True), rebased)
    assert both.epoch == 2 and both.score == pytest.approx(1.0)
    _, score = tune_offsets(
        labels, log_probabilities(good), SelectionSettings(), ((copy_labels, copy_bad),)
    )
    assert score < 0.75  # the mean with the copy's score, which no S offset can mend


def test_log_probabilities_are_the_log_softmax():
    logits = np.array([[1.0, 2.0, 3.0, 0.0, -1.0]])
    expected = logits - np.log(np.exp(logits).sum())
    np.testing.assert_allclose(log_probabilities(logits), expected)
    np.testing.assert_allclose(log_probabilities(logits + 1000.0), expected)


def test_the_grid_starts_at_zero_and_must_hold_it():
    grid = SelectionSettings().grid
    assert grid[0] == 0.0 and grid.min() == -4.0 and grid.max() == 4.0
    with pytest.raises(SettingsError):
        SelectionSettings(offset_min=0.5)
    with pytest.raises(SettingsError):
        SelectionSettings(tuned_classes=("X",))


def test_only_the_scored_classes_count_in_the_choice():
    labels = np.array([0] * 20 + [2] * 20 + [3] * 20)  # N, V and F beats
    predicted = np.array([0] * 20 + [2] * 20 + [0] * 20)  # every F beat missed
    nsv = SelectionSettings()
    assert choice_score(labels, predicted, nsv) == pytest.approx((2 * 20 / 60 + 1.0) / 2)
    with_f = SelectionSettings(scored_classes=("N", "S", "V", "F"))
    assert choice_score(labels, predicted, with_f) == pytest.approx((2 * 20 / 60 + 1.0) / 3)
