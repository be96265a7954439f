"""RR features against the patient's own rhythm: centred medians (or quantiles) over time windows,
the sequence."""

from __future__ import annotations

import numpy as np
import pytest

from seecgnet.mitbih.rhythm import (
    BASE_RR_FEATURES,
    centred_medians,
    rr_feature_names,
    rr_features,
)
from seecgnet.mitbih.settings import BeatSettings
from seecgnet.trained.settings import SettingsError


def test_feature_names_follow_the_settings_after_the_base_eight():
    names = rr_feature_names((60.0, 300.0), sequence_beats=2)
    assert names[: len(BASE_RR_FEATURES)] == BASE_RR_FEATURES
    assert names[len(BASE_RR_FEATURES) :] == (
        "pre_over_median_60s",
        "post_over_median_60s",
        "pre_over_median_300s",
        "post_over_median_300s",
        "rr_before_minus_2",
        "rr_before_minus_1",
        "rr_after_plus_1",
        "rr_after_plus_2",
    )
    assert rr_feature_names() == BASE_RR_FEATURES


def test_centred_median_ignores_a_few_premature_beats_where_the_mean_does_not():
    intervals = np.full(60, 1.0)
    intervals[30:33] = 0.4  # a run of three premature beats
    times = np.array([30.0])
    assert centred_medians(times, intervals, 20.0)[0] == 1.0
    assert np.mean(intervals[20:40]) < 0.95


def test_centred_median_takes_only_the_intervals_ending_inside_the_window():
    intervals = np.array([1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0])  # ends at 1, 2, 3, 5, 7, 9, 11 s
    medians = centred_medians(np.array([2.0, 9.0]), intervals, 4.0)
    np.testing.assert_allclose(medians, [1.0, 2.0])  # [0, 4] s: 1, 1, 1; [7, 11] s: 2, 2, 2


def test_window_ratios_tell_a_premature_beat_in_any_heart_rate():
    for rate_s in (0.6, 1.2):
        peaks = np.cumsum(np.full(200, rate_s))
        peaks[100:] -= 0.4 * rate_s  # beat 100 comes early, the rhythm goes on from it
        rr = rr_features(peaks, windows_s=(60.0,))
        column = dict(zip(rr_feature_names((60.0,)), rr.T, strict=True))
        k = 100 - 1  # features start at the second beat
        np.testing.assert_allclose(column["pre_over_median_60s"][k], 0.6, rtol=1e-5)
        np.testing.assert_allclose(column["post_over_median_60s"][k], 1.0, rtol=1e-5)
        np.testing.assert_allclose(column["pre_over_median_60s"][k - 5], 1.0, rtol=1e-5)


def test_sequence_features_are_the_neighbouring_intervals_over_the_local_rr():
    peaks = np.array([0.0, 1.0, 2.0, 2.5, 3.5, 4.5, 5.5])  # intervals 1, 1, .5, 1, 1, 1
    rr = rr_features(peaks, sequence_beats=1)
    names = rr_feature_names(sequence_beats=1)
    before, after = rr[:, names.index("rr_before_minus_1")], rr[:, names.index("rr_after_plus_1")]
    local = rr[:, names.index("local_rr_s")]
    # beat 3 (at 2.5 s): pre interval 0.5 (index 2), one before it 1.0; post 1.0, one after 1.0
    np.testing.assert_allclose(before[2] * local[2], 1.0, rtol=1e-5)
    np.testing.assert_allclose(after[1] * local[1], 1.0, rtol=1e-5)  # beat 2: after post (0.5)
    # at the record's ends the nearest interval stands in
    np.testing.assert_allclose(before[0] * local[0], 1.0, rtol=1e-5)
    assert rr.shape == (5, len(names))


def test_windows_must_be_positive():
    with pytest.raises(SettingsError, match="rr_windows_s"):
        BeatSettings(rr_windows_s=(0.0,))


def test_without_absolute_intervals_only_ratios_are_left():
    peaks = np.cumsum(np.full(30, 0.8))
    names = rr_feature_names((60.0,), absolute=False)
    assert not any(name.endswith("_rr_s") for name in names)
    rr = rr_features(peaks, (60.0,), absolute=False)
    assert rr.shape == (28, len(names))
    np.testing.assert_allclose(rr, 1.0, rtol=1e-5)  # a steady rhythm: every ratio is one


def test_irregularity_is_large_in_an_irregular_rhythm_and_small_around_one_early_beat():
    rng = np.random.default_rng(0)
    steady = np.cumsum(np.full(300, 0.8))
    steady[150:] -= 0.3  # one premature beat
    fibrillating = np.cumsum(rng.uniform(0.4, 1.2, 300))
    names = rr_feature_names((60.0,), irregularity=True)
    assert names[-1] == "irregularity_60s"
    regular = rr_features(steady, (60.0,), irregularity=True)[:, -1]
    irregular = rr_features(fibrillating, (60.0,), irregularity=True)[:, -1]
    assert regular.max() < 0.01 and irregular.min() > 0.2


def supraventricular_rhythm() -> tuple[np.ndarray, np.ndarray]:
    """R peaks of a rhythm whose usual beats are premature: three at 0.6 s, then a pause of
    1.6 s before a normal beat, over and over (three beats in four premature, as in a patient
    whose usual rhythm is supraventricular); and which kept beats (features start at the second
    beat) are premature."""
    intervals = np.tile([0.6, 0.6, 0.6, 1.6], 100)
    peaks = np.concatenate([[0.0], np.cumsum(intervals)])
    premature = intervals[:-1] == 0.6  # each kept beat's interval before it
    return peaks, premature


def test_a_high_quantile_reference_keeps_premature_beats_short_where_most_are_premature():
    peaks, premature = supraventricular_rhythm()
    names = rr_feature_names((60.0, 300.0), absolute=False, irregularity=True)
    options = {"windows_s": (60.0, 300.0), "absolute": False, "irregularity": True}
    median = dict(zip(names, rr_features(peaks, **options).T, strict=True))
    slow = dict(zip(names, rr_features(peaks, **options, quantile=0.9).T, strict=True))
    for window in ("60s", "300s"):
        # the median is the premature beats' own interval: they look on time
        np.testing.assert_allclose(median[f"pre_over_median_{window}"][premature], 1.0, rtol=1e-5)
        # the 0.9-quantile is the pause: premature beats are 0.6 / 1.6 of it
        ratio = slow[f"pre_over_median_{window}"][premature]
        np.testing.assert_allclose(ratio, 0.6 / 1.6, rtol=1e-5)
        # the normal beats after the pause are on time instead of late
        np.testing.assert_allclose(slow[f"pre_over_median_{window}"][~premature], 1.0, rtol=1e-5)
        # the irregularity (the changes' own median) is over the quantile: 0.6 / 1.6 of before
        irregular = median[f"irregularity_{window}"]
        np.testing.assert_allclose(
            slow[f"irregularity_{window}"], irregular * 0.6 / 1.6, rtol=1e-5, atol=1e-7
        )
        assert irregular.max() > 0.5
    # the record's mean is not a window's reference: the quantile leaves it alone
    np.testing.assert_array_equal(slow["pre_over_record"], median["pre_over_record"])


def test_the_median_quantile_gives_exactly_the_median_features():
    rng = np.random.default_rng(1)
    peaks = np.cumsum(rng.uniform(0.4, 1.4, 800))  # an even count of intervals in many windows
    options = {"windows_s": (60.0, 300.0), "absolute": False, "irregularity": True}
    np.testing.assert_array_equal(
        rr_features(peaks, **options, quantile=0.5), rr_features(peaks, **options)
    )
    assert not np.array_equal(
        rr_features(peaks, **options, quantile=0.75), rr_features(peaks, **options)
    )


def test_the_quantile_must_lie_strictly_between_zero_and_one():
    for quantile in (0.0, 1.0, 1.5):
        with pytest.raises(SettingsError, match="rr_quantile"):
            BeatSettings(rr_quantile=quantile)
    assert BeatSettings().rr_quantile == 0.5
