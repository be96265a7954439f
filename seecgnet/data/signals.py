"""Signal preparation: resampling to 500 Hz, 10-second windows, augmentation, age and sex features.

Shapes: a record's signal is (leads, samples) in mV; a window is (leads, window_samples).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import ClassVar

import numpy as np

from seecgnet.data.resampling import resample_poly
from seecgnet.io.headers import Sex
from seecgnet.io.records import STANDARD_LEADS, absent_standard_leads

N_DEMOGRAPHICS = 5  # scaled age, missing-age flag, sex one-hot (male, female, unknown)


@dataclass(frozen=True)
class RecorderSettings:
    """Training augmentations that imitate other hospitals' recorders (:mod:`seecgnet.data.
    augmentation`). Each is applied to a training window with its probability; every probability is
    0 by default, which is what settings saved before they existed mean.

    Amplitudes are in mV, fractions of 1; each effect is drawn anew per window (and per lead where
    a recorder's leads differ: gain, wander and interference amplitude, muscle noise).
    """

    # Per-lead gain: each lead scaled by a factor between 1 / (1 + f) and 1 + f (log-uniform).
    gain_probability: float = 0.0
    gain_max_fraction: float = 0.15
    # Baseline wander: a sinusoid of 0.05-0.5 Hz per lead, amplitude up to wander_max_mv.
    wander_probability: float = 0.0
    wander_max_mv: float = 0.3
    # Mains interference: 50 or 60 Hz, amplitude up to powerline_max_mv per lead.
    powerline_probability: float = 0.0
    powerline_max_mv: float = 0.05
    # Muscle noise: white noise high-passed at 20 Hz, standard deviation up to emg_max_mv.
    emg_probability: float = 0.0
    emg_max_mv: float = 0.05
    # Another front end's band: a high-pass of 0.05, 0.5 or 0.67 Hz and a low-pass of 40, 100 or
    # 150 Hz (zero-phase Butterworth), drawn per window.
    band_probability: float = 0.0
    # Time stretch: the window cut from (1 + s) times as many samples, s within ±stretch_max_fraction.
    stretch_probability: float = 0.0
    stretch_max_fraction: float = 0.1

    def __post_init__(self) -> None:
        for name in ("gain", "wander", "powerline", "emg", "band", "stretch"):
            if not 0.0 <= getattr(self, f"{name}_probability") <= 1.0:
                raise ValueError(f"{name}_probability must be in [0, 1]")
        if not 0.0 <= self.stretch_max_fraction < 0.5 or self.gain_max_fraction < 0:
            raise ValueError("stretch_max_fraction must be in [0, 0.5), gain_max_fraction >= 0")


@dataclass(frozen=True)
class LeadDrawSettings:
    """Which leads a training window keeps, so that one network learns every lead subset.

    With ``subset_probability`` p a window keeps only a drawn subset of its leads (the others
    become absent: zeros, and 0 in the lead-presence input); otherwise all of them. A drawn subset
    is, with ``random_share`` r, a random one of 1 to 11 leads (its size uniform, its leads at
    random), and otherwise one of the 2021 challenge's reduced sets (6, 4, 3 or 2 leads, each
    alike). p = 0 (the default, and what settings saved before it existed mean) keeps all leads.
    """

    subset_probability: float = 0.0
    random_share: float = 0.5

    def __post_init__(self) -> None:
        if not (0.0 <= self.subset_probability <= 1.0 and 0.0 <= self.random_share <= 1.0):
            raise ValueError("subset_probability and random_share must be in [0, 1]")


@dataclass(frozen=True)
class SignalSettings:
    """How records become network inputs. Defaults follow the paper where it says something."""

    fs_hz: int = 500
    window_s: float = 10.0
    # Inference windows overlap by half so that a beat cut by one window's edge is whole in the next.
    inference_stride_s: float = 5.0
    # Random shift: besides drawing the window's position at random, a window may start up to
    # max_shift_s before the record or end after it (zero filled), which shifts 10-second records too.
    shift_probability: float = 0.5
    max_shift_s: float = 1.0
    # Additive Gaussian noise, in mV. The sign of the signal is never flipped: a flipped lead would
    # turn left axis deviation into right axis deviation, and both are labels.
    noise_probability: float = 0.5
    noise_std_mv: float = 0.02
    recorder: RecorderSettings = field(default_factory=RecorderSettings)
    lead_draw: LeadDrawSettings = field(default_factory=LeadDrawSettings)
    # Limb leads from two: a record (or training window) holding two or more of the six limb leads
    # gets the others computed from them (:mod:`seecgnet.data.limb_leads`) and marked present, so
    # a 2-lead record reads as a 6-lead one. Off in settings saved before it existed.
    complete_limb_leads: bool = False

    # Settings since removed, each with the one value a settings file saved before may hold for it
    # (read as before: the file's model is unchanged); any other value is refused.
    # amplitude_normalisation: there is none. Every database stores mV with a physical gain, and
    # the batch norm after the first convolution learns the scale; per-record standardisation
    # would erase the amplitude that low QRS voltage (a scored class) is defined by.
    RETIRED: ClassVar[dict[str, object]] = {"amplitude_normalisation": "none"}

    def __post_init__(self) -> None:
        if self.window_s <= 0 or self.inference_stride_s <= 0:
            raise ValueError("window_s and inference_stride_s must be positive")

    @property
    def window_samples(self) -> int:
        return round(self.window_s * self.fs_hz)

    @property
    def stride_samples(self) -> int:
        return max(1, round(self.inference_stride_s * self.fs_hz))


def resample(signal: np.ndarray, fs_hz: float, target_hz: int) -> np.ndarray:
    """Polyphase resampling of a (leads, samples) signal from fs_hz to target_hz, float32: scipy's
    ``resample_poly`` (see :mod:`seecgnet.data.resampling`)."""
    if fs_hz <= 0:
        raise ValueError(f"sampling rate must be positive, got {fs_hz}")
    ratio = Fraction(target_hz) / Fraction(fs_hz).limit_denominator(1000)
    if ratio == 1:
        return np.ascontiguousarray(signal, dtype=np.float32)
    resampled = resample_poly(signal, ratio.numerator, ratio.denominator)
    return resampled.astype(np.float32, copy=False)


def window_starts(n_samples: int, window: int, stride: int) -> list[int]:
    """Where the windows covering a signal of ``n_samples`` start: every ``stride`` samples, the
    last one ending at the signal's end so that every sample is seen; [0] for a signal no longer
    than one window (which is then zero-padded at its end)."""
    if n_samples <= window:
        return [0]
    starts = list(range(0, n_samples - window + 1, stride))
    if starts[-1] != n_samples - window:
        starts.append(n_samples - window)
    return starts


def sliding_windows(signal: np.ndarray, window: int, stride: int) -> np.ndarray:
    """Windows covering the whole signal (see ``window_starts``), (n_windows, leads, window)."""
    leads, n = signal.shape
    if n <= window:
        padded = np.zeros((1, leads, window), dtype=np.float32)
        padded[0, :, :n] = signal
        return padded
    starts = window_starts(n, window, stride)
    # (n_windows, leads, window) as a strided view, copied once
    view = np.lib.stride_tricks.sliding_window_view(signal, window, axis=1)
    return np.ascontiguousarray(view[:, starts, :].transpose(1, 0, 2), dtype=np.float32)


def random_window_start(
    n_samples: int, settings: SignalSettings, rng: np.random.Generator, length: int | None = None
) -> int:
    """Where a training window of ``length`` samples (window_samples by default) starts in a record
    of ``n_samples``: at random, with the shift.

    Without the shift the window lies inside the record (or starts at 0 when the record is shorter);
    with it the window may start up to max_shift_s before the record or end that far after it.
    """
    length = settings.window_samples if length is None else length
    low, high = 0, max(0, n_samples - length)
    if rng.random() < settings.shift_probability:
        max_shift = round(settings.max_shift_s * settings.fs_hz)
        low, high = -max_shift, high + max_shift
    return int(rng.integers(low, high + 1))


def cut_window(signal: np.ndarray, start: int, length: int) -> np.ndarray:
    """Samples ``start`` to ``start + length`` of a (leads, samples) signal, zeros outside it."""
    leads, n = signal.shape
    out = np.zeros((leads, length), dtype=np.float32)
    first, stop = max(0, start), min(n, start + length)
    if stop > first:
        out[:, first - start : stop - start] = signal[:, first:stop]
    return out


def add_noise(window: np.ndarray, settings: SignalSettings, rng: np.random.Generator) -> np.ndarray:
    """Additive Gaussian noise (settings.noise_std_mv) with probability settings.noise_probability."""
    if rng.random() >= settings.noise_probability:
        return window
    noise = rng.normal(0.0, settings.noise_std_mv, size=window.shape).astype(np.float32)
    return window + noise


@dataclass(frozen=True)
class AgeStatistics:
    """Mean and spread of the training records' known ages, in years, for scaling the age feature."""

    mean_years: float = 60.0
    std_years: float = 20.0

    @classmethod
    def from_ages(cls, ages: np.ndarray) -> AgeStatistics:
        known = ages[np.isfinite(ages)]
        if known.size < 2:
            return cls()
        return cls(mean_years=float(known.mean()), std_years=float(max(known.std(), 1.0)))


def lead_presence(lead_names: Sequence[str]) -> np.ndarray:
    """Which of the standard leads (in their order) a record holds, by name without case:
    (12,) bool. A lead listed in the header is present, however flat its signal."""
    absent = set(absent_standard_leads(lead_names))
    return np.array([lead not in absent for lead in STANDARD_LEADS])


def recorded_leads(signal: np.ndarray) -> np.ndarray:
    """The leads of a prepared (12, samples) signal that are not all zeros: (12,) bool. Prepared
    records (a record store, the cache) keep no lead names, and a lead a record lacks is zeros
    there; a lead of exactly 0 mV throughout carries nothing either way."""
    return np.any(signal != 0, axis=1)


def side_features(
    age: float, sex: Sex, stats: AgeStatistics, present: np.ndarray | None = None
) -> np.ndarray:
    """The network's side input, float32: the age and sex features, then, for a network told the
    lead presence, ``present`` (12,) as 1 and 0."""
    features = demographic_features(age, sex, stats)
    if present is None:
        return features
    return np.concatenate([features, np.asarray(present, dtype=np.float32)])


def demographic_features(age: float, sex: Sex, stats: AgeStatistics) -> np.ndarray:
    """The network's age and sex input, (N_DEMOGRAPHICS,) float32.

    Missing ages become the mean (0 after scaling) with the missing flag set, so the network can tell
    an average age from an unknown one.
    """
    missing = not math.isfinite(age)
    scaled = 0.0 if missing else (age - stats.mean_years) / stats.std_years
    return np.array(
        [
            scaled,
            float(missing),
            float(sex is Sex.MALE),
            float(sex is Sex.FEMALE),
            float(sex is Sex.UNKNOWN),
        ],
        dtype=np.float32,
    )
