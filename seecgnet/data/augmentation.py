"""Training augmentations beyond the paper's: the imprint of other recorders, and lead subsets.

A network trained on a few hospitals' records learns their recorders too: their gains, their
filters, the mains frequency of their country, how much the patients' muscles and breathing show.
:func:`recorder_effects` draws such differences anew for every training window
(:class:`seecgnet.data.signals.RecorderSettings`), and :func:`draw_lead_subset` draws which leads a
window keeps (:class:`seecgnet.data.signals.LeadDrawSettings`), so that one network reads any lead
subset. Every effect draws from the random generator only when its probability is above 0, so
settings without them give the windows they always gave.

Shapes: a window is (leads, samples) float32 in mV at ``SignalSettings.fs_hz``.
"""

from __future__ import annotations

import functools

import numpy as np

from seecgnet.data.signals import LeadDrawSettings, SignalSettings, lead_presence
from seecgnet.io.reduced_leads import LEAD_SETS_2021

# The band edges a front end may have: diagnostic recorders pass 0.05-150 Hz, monitoring ones
# 0.5-40 Hz, and many lie between.
BAND_HIGHPASS_HZ = (0.05, 0.5, 0.67)
BAND_LOWPASS_HZ = (40.0, 100.0, 150.0)
MAINS_HZ = (50.0, 60.0)
WANDER_HZ = (0.05, 0.5)
EMG_HIGHPASS_HZ = 20.0
REDUCED_SETS = ("6", "4", "3", "2")


def _happens(rng: np.random.Generator, probability: float) -> bool:
    """Whether an effect of this probability is applied; no draw at all when it is 0."""
    return probability > 0 and rng.random() < probability


def stretched_length(settings: SignalSettings, rng: np.random.Generator) -> int:
    """How many samples to cut for one training window: window_samples, or (1 + s) times as many
    for a window that is stretched (then squeezed back to window_samples by :func:`to_length`)."""
    recorder = settings.recorder
    if not _happens(rng, recorder.stretch_probability):
        return settings.window_samples
    fraction = rng.uniform(-recorder.stretch_max_fraction, recorder.stretch_max_fraction)
    return max(2, round(settings.window_samples * (1.0 + fraction)))


def to_length(window: np.ndarray, length: int) -> np.ndarray:
    """A (leads, n) window resampled onto ``length`` samples by linear interpolation: cut from more
    samples than the window holds, its rhythm runs faster, from fewer, slower."""
    n = window.shape[1]
    if n == length:
        return window
    old = np.linspace(0.0, 1.0, n)
    new = np.linspace(0.0, 1.0, length)
    return np.stack([np.interp(new, old, lead) for lead in window]).astype(np.float32)


@functools.lru_cache(maxsize=32)
def _butterworth(order: int, cutoff_hz: float, kind: str, fs_hz: int) -> np.ndarray:
    from scipy.signal import butter  # scipy.signal is slow to import; only training needs it

    return butter(order, cutoff_hz, kind, fs=fs_hz, output="sos")


def band_limited(window: np.ndarray, fs_hz: int, rng: np.random.Generator) -> np.ndarray:
    """The window as another front end would pass it: a 2nd-order high-pass and a 4th-order
    low-pass, zero-phase, with edges drawn from BAND_HIGHPASS_HZ and BAND_LOWPASS_HZ."""
    from scipy.signal import sosfiltfilt

    highpass = BAND_HIGHPASS_HZ[int(rng.integers(len(BAND_HIGHPASS_HZ)))]
    lowpass = BAND_LOWPASS_HZ[int(rng.integers(len(BAND_LOWPASS_HZ)))]
    sos = np.concatenate(
        [
            _butterworth(2, highpass, "highpass", fs_hz),
            _butterworth(4, min(lowpass, 0.45 * fs_hz), "lowpass", fs_hz),
        ]
    )
    return sosfiltfilt(sos, window, axis=1).astype(np.float32)


def _sinusoid(
    shape: tuple[int, int], fs_hz: int, frequency_hz: float, max_mv: float, rng: np.random.Generator
) -> np.ndarray:
    """One sinusoid per lead at ``frequency_hz``, each with its own phase and an amplitude drawn
    up to ``max_mv``: (leads, samples)."""
    leads, n = shape
    time_s = np.arange(n) / fs_hz
    phase = rng.uniform(0.0, 2 * np.pi, size=(leads, 1))
    amplitude = rng.uniform(0.0, max_mv, size=(leads, 1))
    return (amplitude * np.sin(2 * np.pi * frequency_hz * time_s + phase)).astype(np.float32)


def muscle_noise(
    shape: tuple[int, int], fs_hz: int, max_mv: float, rng: np.random.Generator
) -> np.ndarray:
    """White noise high-passed at EMG_HIGHPASS_HZ, each lead's standard deviation drawn up to
    ``max_mv``: (leads, samples)."""
    from scipy.signal import sosfilt

    noise = sosfilt(_butterworth(2, EMG_HIGHPASS_HZ, "highpass", fs_hz), rng.normal(size=shape))
    noise /= np.maximum(noise.std(axis=1, keepdims=True), 1e-9)
    return (noise * rng.uniform(0.0, max_mv, size=(shape[0], 1))).astype(np.float32)


def recorder_effects(
    window: np.ndarray, settings: SignalSettings, rng: np.random.Generator
) -> np.ndarray:
    """The window as another recorder might have written it: each of the other band, baseline
    wander, mains interference, muscle noise and per-lead gain with its probability (in that
    order: the gain of a recorder scales whatever its electrodes pick up)."""
    recorder, fs_hz = settings.recorder, settings.fs_hz
    if _happens(rng, recorder.band_probability):
        window = band_limited(window, fs_hz, rng)
    if _happens(rng, recorder.wander_probability):
        frequency = rng.uniform(*WANDER_HZ)
        window = window + _sinusoid(window.shape, fs_hz, frequency, recorder.wander_max_mv, rng)
    if _happens(rng, recorder.powerline_probability):
        mains = MAINS_HZ[int(rng.integers(len(MAINS_HZ)))]
        window = window + _sinusoid(window.shape, fs_hz, mains, recorder.powerline_max_mv, rng)
    if _happens(rng, recorder.emg_probability):
        window = window + muscle_noise(window.shape, fs_hz, recorder.emg_max_mv, rng)
    if _happens(rng, recorder.gain_probability):
        spread = np.log1p(recorder.gain_max_fraction)
        gains = np.exp(rng.uniform(-spread, spread, size=(window.shape[0], 1)))
        window = window * gains.astype(np.float32)
    return window


def draw_lead_subset(settings: LeadDrawSettings, rng: np.random.Generator) -> np.ndarray | None:
    """The standard leads a training window keeps, (12,) bool, or None to keep all of them."""
    if not _happens(rng, settings.subset_probability):
        return None
    n_leads = len(LEAD_SETS_2021["12"])
    if rng.random() < settings.random_share:
        kept = np.zeros(n_leads, dtype=bool)
        kept[rng.choice(n_leads, size=int(rng.integers(1, n_leads)), replace=False)] = True
        return kept
    return lead_presence(LEAD_SETS_2021[REDUCED_SETS[int(rng.integers(len(REDUCED_SETS)))]])
