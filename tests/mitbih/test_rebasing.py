"""Re-basing the RR features to another rhythm: the validation copy and the training augmentation."""

from __future__ import annotations

import numpy as np
import pytest

from seecgnet.mitbih.rebasing import (
    REBASE_LOW,
    REBASE_MIN_S_BEATS,
    as_runs,
    random_factors,
    rebase_rr,
    rebased_validation,
    s_rhythm_factor,
)
from seecgnet.mitbih.rhythm import rr_feature_names, rr_features
from seecgnet.mitbih.settings import BeatTrainSettings
from seecgnet.trained.settings import SettingsError

S = 1


def premature_series(n_beats: int = 300, every: int = 5, seed: int = 0):
    """R peaks of a 1 s rhythm where every ``every``-th beat comes at 0.7 s (an S beat, followed
    by a pause of 1.3 s), and the labels of the beats the features cover (all but the ends)."""
    rng = np.random.default_rng(seed)
    intervals = np.full(n_beats - 1, 1.0) + rng.normal(0, 0.01, n_beats - 1)
    early = np.arange(every, n_beats - 2, every)  # interval index before each S beat
    intervals[early - 1] -= 0.3
    intervals[early] += 0.3
    peaks = np.concatenate([[0.0], np.cumsum(intervals)])
    labels = np.zeros(n_beats, dtype=np.int64)
    labels[early] = S
    return peaks, labels[1:-1]


def test_the_rebased_reference_is_the_s_beats_median_interval():
    names = rr_feature_names((600.0,), absolute=True)  # one window over the whole record
    peaks, labels = premature_series()
    rr = rr_features(peaks, (600.0,), absolute=True)
    column = {name: k for k, name in enumerate(names)}
    pre, window = column["pre_rr_s"], column["pre_over_median_600s"]
    is_s = labels == S
    assert np.median(rr[is_s, window]) == pytest.approx(0.7, abs=0.02)  # early, as before
    factor = s_rhythm_factor(rr, names, labels, S)
    assert factor == pytest.approx(np.median(rr[is_s, pre]) / np.median(rr[:, pre]))
    rebased = rebase_rr(rr, names, factor)
    # the window's median is now the S beats' median interval: they sit at 1, the N beats late
    reference = rr[:, pre] / rebased[:, window]
    np.testing.assert_allclose(np.median(reference), np.median(rr[is_s, pre]), rtol=0.02)
    assert np.median(rebased[is_s, window]) == pytest.approx(1.0, abs=0.02)
    assert np.median(rebased[~is_s, window]) > 1.3
    # the intervals themselves and their ratio to each other are kept; references in s move
    for kept in ("pre_rr_s", "post_rr_s", "post_over_pre"):
        np.testing.assert_array_equal(rebased[:, column[kept]], rr[:, column[kept]])
    for seconds in ("local_rr_s", "record_rr_s"):
        np.testing.assert_allclose(rebased[:, column[seconds]], rr[:, column[seconds]] * factor)
    for divided in ("pre_over_local", "pre_over_record", "post_over_median_600s"):
        np.testing.assert_allclose(rebased[:, column[divided]], rr[:, column[divided]] / factor)


def test_rebasing_by_one_changes_nothing_and_reads_the_irregularity_and_sequence_too():
    names = rr_feature_names((60.0,), sequence_beats=1, absolute=False, irregularity=True)
    peaks, _ = premature_series()
    rr = rr_features(peaks, (60.0,), 1, absolute=False, irregularity=True)
    np.testing.assert_allclose(rebase_rr(rr, names, 1.0), rr)
    halved = rebase_rr(rr, names, np.full(len(rr), 0.5))
    changed = np.flatnonzero(~np.isclose(halved, rr).all(axis=0))
    assert [names[k] for k in changed] == [n for n in names if n != "post_over_pre"]


def test_the_validation_copy_holds_only_records_with_enough_s_beats():
    names = rr_feature_names((60.0,), absolute=False)
    parts, labels = [], []
    for every in (5, 1000):  # record 0: 59 S beats; record 1: none
        peaks, record_labels = premature_series(every=every)
        parts.append(rr_features(peaks, (60.0,), absolute=False))
        labels.append(record_labels)
    rr, labels = np.concatenate(parts), np.concatenate(labels)
    record_index = np.repeat([0, 1], [len(p) for p in parts])
    indices = np.arange(len(rr))[::-1]  # any order: positions point into it
    windows = np.random.default_rng(1).normal(size=(len(rr), 4, 6)).astype(np.float32)
    positions, copy, images = rebased_validation(
        rr, names, labels, record_index, indices, S, windows
    )
    assert (record_index[indices[positions]] == 0).all() and len(positions) == len(parts[0])
    chosen = indices[positions]
    factor = s_rhythm_factor(rr[chosen], names, labels[chosen], S)
    np.testing.assert_allclose(copy, rebase_rr(rr[chosen], names, factor))
    # the template rows: the leads minus the median of the record's S beats, the leads kept
    is_s = labels[chosen] == S
    np.testing.assert_array_equal(images[:, :2], windows[chosen, :2])
    expected = windows[chosen, :2] - np.median(windows[chosen][is_s, :2], axis=0)
    np.testing.assert_allclose(images[:, 2:], expected, rtol=1e-6)
    assert rebased_validation(rr, names, labels, record_index, indices, S)[2] is None
    few = np.flatnonzero(labels == S)[: REBASE_MIN_S_BEATS - 1]
    assert np.isnan(s_rhythm_factor(rr[few], names, labels[few], S))


def test_runs_give_s_beats_an_interval_after_as_long_as_before():
    names = rr_feature_names((60.0,), absolute=True)
    peaks, labels = premature_series()
    rr = rr_features(peaks, (60.0,), absolute=True)
    is_s = labels == S
    runs = as_runs(rr, names, is_s)
    column = {name: k for k, name in enumerate(names)}
    np.testing.assert_array_equal(runs[~is_s], rr[~is_s])
    assert (runs[is_s, column["post_over_pre"]] == 1.0).all()
    assert (rr[is_s, column["post_over_pre"]] > 1.5).all()
    for post, pre in (("post_rr_s", "pre_rr_s"), ("post_over_median_60s", "pre_over_median_60s")):
        np.testing.assert_array_equal(runs[is_s, column[post]], rr[is_s, column[pre]])
    for kept in ("pre_over_local", "local_rr_s", "pre_over_median_60s"):
        np.testing.assert_array_equal(runs[:, column[kept]], rr[:, column[kept]])
    indices, record_index = np.arange(len(rr)), np.zeros(len(rr), dtype=np.int64)
    _, copy, _ = rebased_validation(rr, names, labels, record_index, indices, S, runs=True)
    factor = s_rhythm_factor(rr, names, labels, S)
    np.testing.assert_allclose(copy, as_runs(rebase_rr(rr, names, factor), names, is_s))


def test_random_factors_rebase_about_the_share_asked_within_the_range():
    rng = np.random.default_rng(0)
    assert (random_factors(100, 0.0, rng) == 1.0).all()
    factors = random_factors(10_000, 0.3, rng)
    moved = factors != 1.0
    assert 0.27 < moved.mean() < 0.33
    assert factors.min() >= REBASE_LOW and factors.max() <= 1.0
    with pytest.raises(SettingsError, match="rebase_share"):
        BeatTrainSettings(rebase_share=1.5)
