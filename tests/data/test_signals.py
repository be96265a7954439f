import math

import numpy as np
import pytest

from seecgnet.data.signals import (
    N_DEMOGRAPHICS,
    AgeStatistics,
    SignalSettings,
    add_noise,
    cut_window,
    demographic_features,
    random_window_start,
    resample,
    sliding_windows,
)
from seecgnet.io.records import Sex


def random_window(signal, settings, rng):
    return cut_window(
        signal, random_window_start(signal.shape[1], settings, rng), settings.window_samples
    )


@pytest.mark.parametrize("fs_hz", [257, 500, 1000])
def test_resampling_keeps_duration_and_a_slow_sine(fs_hz):
    t = np.arange(0, 10.0, 1.0 / fs_hz)
    signal = np.stack([np.sin(2 * np.pi * 1.0 * t)] * 12).astype(np.float32)
    out = resample(signal, fs_hz, 500)
    assert out.shape == (12, 5000)
    assert out.dtype == np.float32
    expected = np.sin(2 * np.pi * np.arange(5000) / 500)
    # edges carry the filter's transient; the interior must match closely
    np.testing.assert_allclose(out[0, 100:-100], expected[100:-100], atol=1e-2)


def test_resampling_rejects_a_rate_of_zero():
    with pytest.raises(ValueError, match="sampling rate"):
        resample(np.zeros((12, 10), dtype=np.float32), 0, 500)


def test_sliding_windows_cover_the_record_and_the_last_ends_at_its_end():
    signal = np.arange(12 * 12000, dtype=np.float32).reshape(12, 12000)
    windows = sliding_windows(signal, 5000, 2500)
    # starts 0, 2500, 5000 and a last one at 7000
    assert windows.shape == (4, 12, 5000)
    np.testing.assert_array_equal(windows[1], signal[:, 2500:7500])
    np.testing.assert_array_equal(windows[-1], signal[:, 7000:])


def test_a_record_shorter_than_a_window_is_zero_padded_at_the_end():
    signal = np.ones((12, 3000), dtype=np.float32)
    windows = sliding_windows(signal, 5000, 2500)
    assert windows.shape == (1, 12, 5000)
    assert windows[0, :, :3000].min() == 1.0
    assert windows[0, :, 3000:].max() == 0.0


def test_a_ten_second_record_gives_exactly_one_window():
    assert sliding_windows(np.ones((12, 5000), dtype=np.float32), 5000, 2500).shape == (1, 12, 5000)


def test_random_windows_come_from_the_record_without_shift():
    settings = SignalSettings(shift_probability=0.0)
    signal = np.tile(np.arange(20000, dtype=np.float32), (12, 1))
    rng = np.random.default_rng(0)
    starts = set()
    for _ in range(20):
        window = random_window(signal, settings, rng)
        assert window.shape == (12, 5000)
        start = int(window[0, 0])
        np.testing.assert_array_equal(window[0], np.arange(start, start + 5000))
        starts.add(start)
    assert len(starts) > 10


def test_random_shift_moves_a_ten_second_record_with_zero_fill():
    settings = SignalSettings(shift_probability=1.0, max_shift_s=1.0)
    signal = np.ones((12, 5000), dtype=np.float32)
    rng = np.random.default_rng(1)
    zeros = [int((random_window(signal, settings, rng)[0] == 0).sum()) for _ in range(50)]
    assert max(zeros) > 0
    assert max(zeros) <= 500  # never more than max_shift_s at 500 Hz


def test_noise_is_added_with_the_set_scale_and_never_flips_the_sign():
    settings = SignalSettings(noise_probability=1.0, noise_std_mv=0.02)
    window = np.full((12, 5000), 1.0, dtype=np.float32)
    noisy = add_noise(window, settings, np.random.default_rng(2))
    assert abs(float((noisy - window).std()) - 0.02) < 0.002
    assert noisy.min() > 0.5


def test_noise_is_skipped_when_its_probability_is_zero():
    window = np.ones((12, 10), dtype=np.float32)
    settings = SignalSettings(noise_probability=0.0)
    assert add_noise(window, settings, np.random.default_rng(0)) is window


def test_demographics_scale_age_and_one_hot_sex():
    stats = AgeStatistics(mean_years=60.0, std_years=20.0)
    features = demographic_features(80.0, Sex.FEMALE, stats)
    assert features.shape == (N_DEMOGRAPHICS,)
    assert features.tolist() == [1.0, 0.0, 0.0, 1.0, 0.0]


def test_a_missing_age_is_flagged_and_set_to_the_mean():
    features = demographic_features(math.nan, Sex.UNKNOWN, AgeStatistics())
    assert features.tolist() == [0.0, 1.0, 0.0, 0.0, 1.0]


def test_age_statistics_ignore_unknown_ages():
    stats = AgeStatistics.from_ages(np.array([40.0, np.nan, 60.0]))
    assert stats.mean_years == 50.0
    assert stats.std_years == 10.0


def test_cut_window_fills_zeros_before_and_after_the_record():
    signal = np.arange(1, 11, dtype=np.float32)[None, :].repeat(12, axis=0)
    assert cut_window(signal, -3, 6)[0].tolist() == [0, 0, 0, 1, 2, 3]
    assert cut_window(signal, 8, 4)[0].tolist() == [9, 10, 0, 0]
