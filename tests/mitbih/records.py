"""Tiny two-lead records with reference beat annotations, written by wfdb, for the MIT-BIH tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import wfdb

FS_HZ = 360


def beat_shape(symbol: str, t_s: np.ndarray, width: float = 1.0) -> np.ndarray:
    """A QRS-like bump in mV around t = 0: narrow and upright, or wide and inverted for V;
    ``width`` times as wide (wide enough for 128 Hz above 2)."""
    if symbol == "V":
        return -1.5 * np.exp(-0.5 * (t_s / (0.04 * width)) ** 2)
    return 1.0 * np.exp(-0.5 * (t_s / (0.012 * width)) ** 2)


def write_record(
    folder: Path,
    name: str,
    beat_times_s: list[float],
    symbols: list[str],
    duration_s: float,
    extra: list[tuple[float, str, str]] = (),
    sig_name: tuple[str, str] = ("MLII", "V1"),
    fs_hz: int = FS_HZ,
    width: float = 1.0,
) -> None:
    """Write NAME.hea/.dat (format 212, ``fs_hz``, mV) and NAME.atr into ``folder``.

    ``extra``: non-beat annotations as (time in s, symbol, aux note), e.g. (1.0, "+", "(N").
    The second lead is the first one halved, so the tests can tell the leads apart. ``width``:
    the beats' width (see beat_shape).
    """
    t = np.arange(round(duration_s * fs_hz)) / fs_hz
    lead = np.zeros_like(t)
    for time_s, symbol in zip(beat_times_s, symbols, strict=True):
        lead += beat_shape(symbol, t - time_s, width)
    first, second = (lead, lead / 2) if sig_name[0] == "MLII" else (lead / 2, lead)
    wfdb.wrsamp(
        name,
        fs=fs_hz,
        units=["mV", "mV"],
        sig_name=list(sig_name),
        p_signal=np.stack([first, second], axis=1),
        fmt=["212", "212"],
        adc_gain=[200.0, 200.0],
        baseline=[0, 0],
        write_dir=str(folder),
    )
    events = [(round(s * fs_hz), sym, "") for s, sym in zip(beat_times_s, symbols, strict=True)]
    events += [(round(s * fs_hz), sym, note) for s, sym, note in extra]
    events.sort()
    wfdb.wrann(
        name,
        "atr",
        np.array([e[0] for e in events]),
        symbol=[e[1] for e in events],
        aux_note=[e[2] for e in events],
        write_dir=str(folder),
    )


def rhythm(n_beats: int, seed: int) -> tuple[list[float], list[str]]:
    """Beat times (s) and symbols: mostly N every 0.8 s, some premature A, some wide V."""
    rng = np.random.default_rng(seed)
    times, symbols, now = [], [], 0.6
    for _ in range(n_beats):
        symbol = rng.choice(["N", "N", "N", "A", "V"])
        now += 0.5 if symbol == "A" else 0.8
        times.append(round(now, 4))
        symbols.append(str(symbol))
    return times, symbols
