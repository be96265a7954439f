"""What the EDF, DICOM and HL7 aECG readers share once a file is parsed: its channels' units in mV,
a subject's age from a birth date, and the record built from the channels that name a lead.

Each format labels its channels its own way and scales them in its own units; after that, every
reader hands :func:`record_from_channels` the same thing: one label and one row of samples in mV
per channel, at one rate. A channel whose label names no standard lead (a respiration trace, a
Frank lead ``vx``, ``V7``) is dropped, with one warning listing them all; a file of which no
channel names a lead, a lead named twice, or less than a second of signal is a RecordError.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import numpy as np

from seecgnet.io.formats.leads import standard_lead_name
from seecgnet.io.headers import RecordError, Sex
from seecgnet.io.records import Record

logger = logging.getLogger(__name__)

# Shortest signal a reader accepts: less than one heartbeat is a fragment, not an ECG to classify.
MIN_DURATION_S = 1.0

# Units of voltage as EDF (physical dimension), DICOM (UCUM code) and aECG (UCUM) write them.
_MILLIVOLTS_PER_UNIT = {
    "nv": 1e-6,
    "uv": 1e-3,
    "µv": 1e-3,  # the micro sign U+00B5
    "μv": 1e-3,  # the Greek letter mu U+03BC
    "microvolt": 1e-3,
    "mv": 1.0,
    "millivolt": 1.0,
    "v": 1000.0,
    "volt": 1000.0,
}


def millivolts_per(unit: str, where: str) -> float:
    """How many mV one ``unit`` is (``"uV"`` → 0.001); RecordError naming ``where`` if not a voltage."""
    factor = _MILLIVOLTS_PER_UNIT.get(unit.strip().lower())
    if factor is None:
        raise RecordError(f"{where}: unit {unit!r} is not a voltage (expected uV, mV or V)")
    return factor


def age_on(birth: date, day: date) -> float:
    """Age in whole years on ``day`` of someone born on ``birth``; NaN where ``day`` comes first."""
    years = day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
    return float(years) if years >= 0 else math.nan


def warn_dropped(path: Path, labels: Sequence[str]) -> None:
    """Say once which signals of a file are ignored for naming no standard lead."""
    if labels:
        listed = ", ".join(repr(label) for label in labels)
        logger.warning("%s: signals %s name no standard lead; ignored", path, listed)


def record_from_channels(
    path: Path,
    labels: Sequence[str],
    rows: np.ndarray | Sequence[np.ndarray],
    fs_hz: float,
    age: float,
    sex: Sex,
) -> Record:
    """The record of the channels whose label names a standard lead, in the file's order.

    ``rows`` are the channels' samples in mV, all of one length, in the order of ``labels``: a
    float32 array of one row per label is kept as it is where every label names a lead (no copy).
    """
    if len(rows) != len(labels):
        raise ValueError(f"{path}: {len(rows)} rows of samples for {len(labels)} labels")
    names = [standard_lead_name(label) for label in labels]
    kept = [row for row, lead in enumerate(names) if lead is not None]
    if not kept:
        listed = ", ".join(repr(label) for label in labels) or "none"
        raise RecordError(f"{path}: no signal names a standard ECG lead (signals: {listed})")
    warn_dropped(path, [label for label, lead in zip(labels, names, strict=True) if lead is None])
    leads = [names[row] for row in kept]
    twice = sorted({lead for lead in leads if leads.count(lead) > 1})
    if twice:
        raise RecordError(f"{path}: lead {', '.join(twice)} appears twice")
    if isinstance(rows, np.ndarray) and rows.dtype == np.float32 and len(kept) == len(rows):
        signal = rows
    else:
        signal = np.empty((len(kept), len(rows[kept[0]])), dtype=np.float32)
        for row, source in enumerate(kept):
            signal[row] = rows[source]
    if signal.shape[1] < MIN_DURATION_S * fs_hz:
        raise RecordError(
            f"{path}: the signal holds {signal.shape[1]} samples ({signal.shape[1] / fs_hz:.3f} s), "
            f"less than {MIN_DURATION_S:g} s: no ECG waveform to read"
        )
    if not np.isfinite(signal).all():
        logger.warning("%s: some samples are NaN or infinite; kept as read", path)
    return Record(
        name=path.stem,
        signal=signal,
        lead_names=tuple(leads),
        fs_hz=float(fs_hz),
        age=age,
        sex=sex,
        dx_codes=(),
    )
