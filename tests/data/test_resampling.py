"""Polyphase resampling: scipy's resample_poly to the bit, without importing scipy.signal."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy.signal import firwin
from scipy.signal import resample_poly as scipy_resample_poly

from seecgnet.data.resampling import MAX_OPERATIONS, _kaiser_lowpass, _phase_taps, resample_poly
from seecgnet.data.signals import resample
from tests.paths import ROOT

# (up, down) after reduction: 1000 -> 500 Hz, 250 -> 500, 200 -> 500, 750 -> 500, 2000 -> 500,
# and 257 -> 500 (up 500: scipy's own loop)
FACTORS = [(1, 2), (2, 1), (5, 2), (2, 3), (1, 4), (500, 257)]


@pytest.mark.parametrize(("up", "down"), FACTORS)
@pytest.mark.parametrize("n_samples", [1, 2, 7, 100, 2571, 12345])
def test_resampling_is_scipys_to_the_bit(up: int, down: int, n_samples: int) -> None:
    rng = np.random.default_rng(n_samples + 7 * up + down)
    x = (rng.standard_normal((12, n_samples)) * 0.5).astype(np.float32)
    x[3] = 0.0  # a flat lead
    ours = resample_poly(x, up, down)
    theirs = scipy_resample_poly(x, up, down, axis=1)
    assert ours.dtype == theirs.dtype == np.float32
    assert ours.shape == theirs.shape
    assert np.array_equal(ours, theirs)


@pytest.mark.parametrize(("up", "down"), [(1, 2), (2, 1), (5, 2)])
def test_float64_signals_go_to_scipy(up: int, down: int) -> None:
    x = np.random.default_rng(1).standard_normal((2, 3000))
    assert np.array_equal(resample_poly(x, up, down), scipy_resample_poly(x, up, down, axis=1))


@pytest.mark.parametrize(("up", "down"), [*FACTORS, (25, 18), (125, 64), (500, 360)])
def test_the_filter_is_scipys_firwin_once_cast_to_float32(up: int, down: int) -> None:
    max_rate = max(up, down)
    theirs = firwin(20 * max_rate + 1, 1.0 / max_rate, window=("kaiser", 5.0))
    ours = _kaiser_lowpass(20 * max_rate + 1, 1.0 / max_rate)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-17)
    assert np.array_equal(ours.astype(np.float32), theirs.astype(np.float32))


def test_only_a_large_up_goes_to_scipy() -> None:
    assert _phase_taps(1, 2).size <= MAX_OPERATIONS  # 1000 -> 500 Hz
    assert _phase_taps(500, 257).size > MAX_OPERATIONS  # 257 -> 500 Hz


def test_resampling_1000_hz_imports_no_scipy_signal() -> None:
    code = (
        "import sys, numpy as np; from seecgnet.data.signals import resample; "
        "out = resample(np.ones((12, 10000), np.float32), 1000, 500); "
        "print(out.shape, 'scipy.signal' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["(12,", "5000)", "False"]


def test_resample_at_the_target_rate_returns_the_signal_as_float32() -> None:
    x = np.arange(24, dtype=np.float64).reshape(2, 12)
    out = resample(x, 500, 500)
    assert out.dtype == np.float32 and np.array_equal(out, x)
