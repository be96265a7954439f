import json
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
from tests.paths import ROOT


def random_window(signal, settings, rng):
    return cut_window(
        signal, random_window_start(signal.shape[1], settings, rng), settings.window_samples
    )


# (Hz, mV, radians): tones from the ECG's band, all below 128.5 Hz, the Nyquist rate of 257 Hz
TONES = ((1.0, 1.0, 0.3), (7.3, 0.5, 1.1), (25.0, 0.3, 2.0), (40.0, 0.2, 0.7))


def tones_at(fs_hz: float, duration_s: float = 10.0) -> np.ndarray:
    t = np.arange(0, duration_s, 1.0 / fs_hz)
    return sum(mv * np.sin(2 * np.pi * hz * t + phase) for hz, mv, phase in TONES)


@pytest.mark.parametrize("fs_hz", [257, 360, 500, 1000])
def test_resampling_keeps_duration_and_every_tone_of_the_ecgs_band(fs_hz):
    signal = np.stack([tones_at(fs_hz)] * 12).astype(np.float32)
    out = resample(signal, fs_hz, 500)
    assert out.shape == (12, 5000)
    assert out.dtype == np.float32
    # the interior (the edges carry the filter's transient) matches the same tones sampled at
    # 500 Hz to 3 µV in a 2 mV signal; linear interpolation from 257 Hz is off by 20 µV and more
    np.testing.assert_allclose(
        out[:, 200:-200], np.stack([tones_at(500)[200:-200]] * 12), atol=3e-3
    )


def test_resampling_down_filters_what_the_new_rate_cannot_hold():
    t = np.arange(0, 10.0, 1.0 / 1000)
    above = np.stack([np.sin(2 * np.pi * 300.0 * t)] * 12).astype(np.float32)  # 300 > 250 Hz
    out = resample(above, 1000, 500)
    # taking every other sample would fold it onto 200 Hz at full amplitude
    assert np.abs(out[:, 200:-200]).max() < 0.01


@pytest.mark.parametrize("fs_hz", [257, 1000])
def test_resampling_keeps_a_beat_at_its_time(fs_hz):
    t = np.arange(0, 10.0, 1.0 / fs_hz)
    pulse = np.exp(-(((t - 4.321) / 0.02) ** 2))  # a 20 ms wide bump at 4.321 s
    out = resample(np.stack([pulse] * 12).astype(np.float32), fs_hz, 500)
    assert abs(np.argmax(out[0]) / 500 - 4.321) <= 1 / 500


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


def test_a_settings_file_holding_the_removed_amplitude_normalisation_none_still_loads(tmp_path):
    from seecgnet.trained.settings import Settings, SettingsError

    # the bundled 12-lead network's settings, as files written before the setting's removal
    # held them (the model shipped before the routed one had "none" there)
    path = ROOT / "model" / "members" / "limb" / "settings.json"
    loaded = Settings.load(path)
    bundled = json.loads(path.read_text())
    assert "amplitude_normalisation" not in bundled["signal"]
    bundled["signal"]["amplitude_normalisation"] = "none"
    assert Settings.from_json(json.dumps(bundled)) == loaded
    assert "amplitude_normalisation" not in loaded.to_json()
    assert not hasattr(SignalSettings(), "amplitude_normalisation")
    bundled["signal"]["amplitude_normalisation"] = "per_record"
    (tmp_path / "settings.json").write_text(json.dumps(bundled))
    with pytest.raises(SettingsError, match="amplitude_normalisation 'per_record': removed"):
        Settings.load(tmp_path / "settings.json")
