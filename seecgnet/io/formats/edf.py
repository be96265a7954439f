"""Reading EDF, EDF+ and BDF files (European Data Format; BDF is its 24-bit BioSemi variant).

An EDF file is a 256-byte ASCII header, 256 bytes more per signal (label, physical dimension,
physical and digital ranges, samples per data record), then data records of int16 samples (int24
in BDF). A sample's value in the signal's physical dimension is
``physical_min + (digital - digital_min) * (physical_max - physical_min) / (digital_max - digital_min)``.

What is taken from a file:

- the signals whose label names a standard lead (``ECG I``, ``EKG V1``, ``II``, ``aVR``; see
  :func:`seecgnet.io.formats.leads.standard_lead_name`); every other signal (EEG, respiration, a
  signal labelled only ``ECG``) is dropped, said once; EDF+'s ``EDF Annotations`` channel is not a
  signal. A file left with no lead is a RecordError listing its signals.
- the physical dimension of each lead (``uV``, ``mV``, ``V``; any other is a RecordError), applied
  to give mV;
- the rate: signals may run at different rates in one file (an ECG at 500 Hz beside a respiration
  trace at 25 Hz); the leads' rate is taken, and leads at different rates are a RecordError;
- EDF+'s patient field (``code sex birthdate name``): the sex, and the age in whole years from the
  birth date and the recording's start date. The field is read so wherever it has that form, with
  or without the header's ``EDF+C`` mark (edfio writes EDF+ subfields without the mark when a file
  has no annotations); a subfield that is ``X`` or does not parse is unknown.

EDF+D (discontinuous: data records with gaps between them) is refused: the samples are not one
signal in time. EDF+C and plain EDF are read whole.

The library is edfio: pure Python on numpy (no compiled part), maintained, and it reads and
writes EDF, EDF+ and BDF. Of the three the issue names, measured here on the shared record A0001
(12 leads, 15 s at 500 Hz) written as EDF by edfio, the library's own reading took 0.2-0.4 ms,
pyedflib's 0.45 ms and wfdb's ``read_edf`` 0.57 ms; but pyedflib (a C extension) refuses the
shared ``test_generator_2.edf``, written by another program ("not EDF(+) or BDF(+) compliant
(Physical Dimension)", for a non-ASCII unit of a signal that is not even an ECG lead), and wfdb's
reader fails on that file with a numpy broadcasting error and reads no BDF. This module's read, with
its checks and the conversion to mV, takes about 1.2 ms for that record (benchmarks/read_formats.py).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

from seecgnet.io.formats.channels import (
    age_on,
    millivolts_per,
    record_from_channels,
    warn_dropped,
)
from seecgnet.io.formats.leads import optional_library, standard_lead_name
from seecgnet.io.headers import RecordError, Sex
from seecgnet.io.records import Record

_EDF_MAGIC = b"0       "
_BDF_MAGIC = b"\xffBIOSEMI"
# Bytes 192-235 of the header: "EDF+C"/"EDF+D" (BDF+C/BDF+D) in EDF+, free in plain EDF.
_RESERVED = slice(192, 236)
# What edfio raises on a damaged file (bad numbers, a short file, a header that does not decode).
T = TypeVar("T")
_DAMAGE = (ValueError, IndexError, KeyError, TypeError, ArithmeticError, EOFError, OSError)


def looks_like(head: bytes) -> bool:
    """Whether the file's first bytes are an EDF (``0`` and seven spaces) or BDF header."""
    return head.startswith(_EDF_MAGIC) or head.startswith(_BDF_MAGIC)


def read(path: Path) -> Record:
    """The record of an EDF, EDF+ or BDF file; RecordError naming the file for one that is not."""
    edfio = optional_library("edfio", "an EDF file")
    # the whole file at once: edfio parses bytes in half the time it takes to map the file
    data = _file_bytes(path)
    if not looks_like(data):
        raise RecordError(f"{path}: not an EDF or BDF file (no EDF header)")
    reserved = data[_RESERVED].decode("ascii", "replace").strip()
    if reserved.startswith(("EDF+D", "BDF+D")):
        raise RecordError(
            f"{path}: discontinuous {reserved[:5]} (data records with gaps in time) is not read; "
            "only continuous EDF, EDF+C and BDF"
        )
    _check_length(path, data)
    try:
        with warnings.catch_warnings():
            # edfio reads on past a data record cut short or a wrong count of them, with a
            # warning; here they are the damage they are
            warnings.filterwarnings("error", ".*data record", UserWarning)
            edf = edfio.read_bdf(data) if data.startswith(_BDF_MAGIC) else edfio.read_edf(data)
        signals = list(edf.signals)
        labels = [signal.label for signal in signals]
    except (*_DAMAGE, UserWarning) as error:
        raise RecordError(f"{path}: not a readable EDF file ({error})") from error
    leads = [
        signal for signal, label in zip(signals, labels, strict=True) if standard_lead_name(label)
    ]
    fs_hz = _leads_rate(path, signals, leads)
    try:
        rows = _millivolts(path, leads)
    except RecordError:
        raise
    except _DAMAGE as error:
        raise RecordError(f"{path}: not a readable EDF file ({error})") from error
    warn_dropped(path, [label for label in labels if not standard_lead_name(label)])
    age, sex = _demographics(edf)
    return record_from_channels(path, [s.label for s in leads], rows, fs_hz, age, sex)


def _file_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise RecordError(f"{path}: cannot read the file ({error.strerror})") from error


def _check_length(path: Path, header: bytes) -> None:
    """RecordError for a file (``header``: all its bytes) shorter than its header's data records
    (edfio would drop the rest with a warning); a header too damaged to tell is left to edfio."""
    n_records = _header_integer(header[236:244])
    n_signals = _header_integer(header[252:256])
    if n_records is None or n_records < 0 or not n_signals or len(header) < 256 * (n_signals + 1):
        return  # -1 records: unknown, as a recorder writes it while recording
    header_length = _header_integer(header[184:192])
    if header_length != 256 * (n_signals + 1):
        raise RecordError(
            f"{path}: the header's length field reads {header[184:192].decode('ascii', 'replace')!r}"
            f" but {n_signals} signals make it {256 * (n_signals + 1)} bytes"
        )
    start = 256 + 216 * n_signals
    per_record = [
        _header_integer(header[start + 8 * i : start + 8 * (i + 1)]) for i in range(n_signals)
    ]
    if any(count is None or count < 0 for count in per_record):
        return
    sample_bytes = 3 if header.startswith(_BDF_MAGIC) else 2
    needed = 256 * (n_signals + 1) + n_records * sum(per_record) * sample_bytes
    size = len(header)
    if size < needed:
        raise RecordError(
            f"{path}: cut short: the header gives {n_records} data records, {needed} bytes in all, "
            f"but the file holds {size}"
        )


def _header_integer(field: bytes) -> int | None:
    try:
        return int(field.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        return None


def _leads_rate(path: Path, signals: list, leads: list) -> float:
    """The leads' one sampling rate; RecordError where there is no lead or they differ."""
    if not signals:
        raise RecordError(f"{path}: holds no signal, only annotations")
    if not leads:
        listed = ", ".join(repr(signal.label) for signal in signals)
        raise RecordError(f"{path}: no signal names a standard ECG lead (signals: {listed})")
    rates = {signal.sampling_frequency for signal in leads}
    if len(rates) > 1:
        each = ", ".join(f"{s.label} {s.sampling_frequency:g} Hz" for s in leads)
        raise RecordError(f"{path}: the ECG leads are sampled at different rates ({each})")
    # samples per data record over the record's duration: 8396 / 16.792 s gives 499.99999999999994
    rate = round(float(rates.pop()), 6)
    if not (math.isfinite(rate) and rate > 0):
        raise RecordError(f"{path}: sampling rate {rate} Hz is not positive")
    return rate


def _millivolts(path: Path, leads: list) -> np.ndarray:
    """The leads' samples in mV (leads × samples), by EDF's digital-to-physical formula and each
    lead's unit.

    edfio's own ``data`` would hand back the digital values unscaled, with a warning, for an empty
    physical or digital range; here that is an uncalibrated lead.
    """
    gains, offsets = [], []
    for signal in leads:
        to_mv = millivolts_per(signal.physical_dimension, f"{path}: signal {signal.label!r}")
        low, high = signal.physical_min, signal.physical_max
        digital_low, digital_high = signal.digital_min, signal.digital_max
        if low == high or digital_low == digital_high:
            raise RecordError(
                f"{path}: signal {signal.label!r} is uncalibrated (physical range {low:g} to "
                f"{high:g} over digital {digital_low} to {digital_high})"
            )
        gain = (high - low) / (digital_high - digital_low) * to_mv
        gains.append(gain)
        offsets.append(low * to_mv - digital_low * gain)
    # float64 throughout: BDF's 24-bit steps are finer than float32 resolves at a few mV
    signal = np.stack([lead.digital for lead in leads]).astype(np.float64)
    signal *= np.array(gains)[:, np.newaxis]
    signal += np.array(offsets)[:, np.newaxis]
    return signal


def _demographics(edf) -> tuple[float, Sex]:
    """Age and sex from EDF+'s patient field; unknown where a subfield is X or unreadable."""
    sex = Sex.parse(_subfield(lambda: edf.patient.sex))
    birth = _subfield(lambda: edf.patient.birthdate)
    start = _subfield(lambda: edf.startdate)
    if birth is None or start is None:
        return math.nan, sex
    return age_on(birth, start), sex


def _subfield(get: Callable[[], T]) -> T | None:
    """A subfield of the header, or None where it is anonymised (X) or malformed."""
    try:
        return get()
    except (ValueError, IndexError):  # edfio's AnonymizedDateError is a ValueError
        return None
