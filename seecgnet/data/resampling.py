"""Polyphase resampling by a rational factor, exactly as ``scipy.signal.resample_poly`` does it.

``resample_poly(x, up, down)`` gives the array scipy's ``resample_poly(x, up, down, axis=1)`` gives,
to the bit: the same low-pass filter (scipy's default, a Kaiser window with beta 5 over 20 ×
max(up, down) + 1 taps, cut off at 1 / max(up, down) of the Nyquist frequency, cast to the
signal's type and scaled by ``up``), and for each output sample the same products added in the same
order, oldest input sample first, as scipy's ``upfirdn`` adds them (tests compare the two).

Why not scipy's own: importing ``scipy.signal`` takes about 0.85 s (it imports scipy.stats and
more), which every reading process of a driver run paid for its first 1000 Hz record. Here the
filter is applied with one numpy operation per tap and phase, which is as fast as scipy for a small
``up`` (1000 → 500 Hz is up 1, down 2: 41 operations) but slow for a large one (257 → 500 Hz is up
500: 10,500 operations), so a large ``up`` still goes to scipy.
"""

from __future__ import annotations

import functools
import math

import numpy as np

KAISER_BETA = 5.0  # scipy's default window for resample_poly: ('kaiser', 5.0)
HALF_LENGTH_PER_RATE = 10  # scipy's half_len = 10 * max(up, down)
# Above this many numpy operations (taps × phases) scipy's compiled loop is faster than ours.
MAX_OPERATIONS = 200


def resample_poly(x: np.ndarray, up: int, down: int) -> np.ndarray:
    """``x`` (leads, samples) resampled by up / down along its samples: scipy's result, exactly.

    float32 signals with a small ``up`` are filtered here; others go to scipy."""
    divisor = math.gcd(up, down)
    up, down = up // divisor, down // divisor
    if up == down == 1:
        return x.copy()
    taps = _phase_taps(up, down)
    if x.dtype != np.float32 or taps.size > MAX_OPERATIONS:
        from scipy.signal import resample_poly as scipy_resample_poly  # slow to import

        return scipy_resample_poly(x, up, down, axis=1)
    return _filter(x, taps, up, down)


@functools.cache
def _phase_taps(up: int, down: int) -> np.ndarray:
    """The filter as (taps per phase, up): ``[m, t]`` weighs input sample ``i - m`` for an output of
    phase ``t``; zeros put in front so that output 0 of the kept range is centred, as scipy does."""
    max_rate = max(up, down)
    half_length = HALF_LENGTH_PER_RATE * max_rate
    weights = _kaiser_lowpass(2 * half_length + 1, 1.0 / max_rate).astype(np.float32)
    weights *= up
    front = down - half_length % down
    per_phase = -(-(front + weights.size) // up)
    taps = np.zeros(per_phase * up, dtype=np.float32)
    taps[front : front + weights.size] = weights
    return taps.reshape(per_phase, up)


def _kaiser_lowpass(n_taps: int, cutoff: float) -> np.ndarray:
    """scipy's ``firwin(n_taps, cutoff, window=('kaiser', 5.0))``: a windowed sinc, summing to 1.

    numpy's Bessel function differs from scipy's in the last bit of some values, which the cast
    to float32 that follows takes away (tests compare the filters); so only float32 signals, the
    package's, are filtered here, and others go to scipy.
    """
    middle = 0.5 * (n_taps - 1)
    m = np.arange(n_taps, dtype=np.float64) - middle
    h = cutoff * np.sinc(cutoff * m)
    h *= np.i0(KAISER_BETA * np.sqrt(1 - (m / middle) ** 2.0)) / np.i0(np.float64(KAISER_BETA))
    return h / np.sum(h)


def _filter(x: np.ndarray, taps: np.ndarray, up: int, down: int) -> np.ndarray:
    """upfirdn's outputs kept by resample_poly, added up tap by tap for all outputs of a phase."""
    leads, n_in = x.shape
    per_phase = taps.shape[0]
    half_length = HALF_LENGTH_PER_RATE * max(up, down)
    first_kept = (half_length + down - half_length % down) // down
    n_out = -(-n_in * up // down)
    # the input with zeros before it (taps reaching back past sample 0) and after it
    last_input = ((first_kept + n_out - 1) * down) // up
    padded = np.zeros((leads, per_phase - 1 + max(n_in, last_input + 1)), dtype=x.dtype)
    padded[:, per_phase - 1 : per_phase - 1 + n_in] = x
    y = np.empty((leads, n_out), dtype=x.dtype)
    # outputs first, first + up, ... share a phase, and their inputs are `down` samples apart
    for first in range(min(up, n_out)):
        position = (first_kept + first) * down
        phase, newest = position % up, position // up
        count = len(range(first, n_out, up))
        total = np.zeros((leads, count), dtype=x.dtype)
        for m in range(per_phase - 1, -1, -1):  # the oldest input sample first, as upfirdn
            start = newest - m + per_phase - 1
            total += padded[:, start : start + (count - 1) * down + 1 : down] * taps[m, phase]
        y[:, first::up] = total
    return y
