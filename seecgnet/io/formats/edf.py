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
reader fails on that file with a numpy broadcasting error and reads no BDF.

edfio parses the header here: every field, the EDF+ patient and recording subfields, the start
date, which signals are annotations. The samples are decoded by this module from the file's bytes,
each lead straight into its row in mV: edfio's sample path copies every signal out of the data
records, and its BDF reader decodes every sample of every signal in several array passes, which
together took most of the read's time. The layout is simple (data records of each signal's samples
in turn; EDF's little-endian int16 read in place, BDF's 24-bit samples read as overlapping int32
words shifted right by 8), and the tests hold it to edfio's own samples. edfio is handed the header
alone, with a data-record count of 0, so that it touches no sample; the file's length is checked
here against the header's data records. A read takes 1.2-1.4 times the ``.mat``'s in
benchmarks/read_formats.py, against 1.6 (EDF) and 2.7 (BDF) times before (docs/formats.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

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
    data = _file_bytes(path)
    if not looks_like(data):
        raise RecordError(f"{path}: not an EDF or BDF file (no EDF header)")
    reserved = data[_RESERVED].decode("ascii", "replace").strip()
    if reserved.startswith(("EDF+D", "BDF+D")):
        raise RecordError(
            f"{path}: discontinuous {reserved[:5]} (data records with gaps in time) is not read; "
            "only continuous EDF, EDF+C and BDF"
        )
    layout = _layout(path, data)
    try:
        edf = _header(edfio, data, layout)
        signals = list(edf.signals)
        labels = [signal.label for signal in signals]
    except _DAMAGE as error:
        raise RecordError(f"{path}: not a readable EDF file ({error})") from error
    if len(signals) != len(layout.ordinary):  # not reached while both read labels alike
        raise RecordError(f"{path}: edfio and the header differ on which signals are annotations")
    named = [standard_lead_name(label) is not None for label in labels]
    leads = [signal for signal, is_lead in zip(signals, named, strict=True) if is_lead]
    fs_hz = _leads_rate(path, signals, leads)
    try:
        rows = _millivolts(path, data, layout, [(i, s) for i, s in enumerate(signals) if named[i]])
    except RecordError:
        raise
    except _DAMAGE as error:
        raise RecordError(f"{path}: not a readable EDF file ({error})") from error
    warn_dropped(path, [label for label, is_lead in zip(labels, named, strict=True) if not is_lead])
    age, sex = _demographics(edf)
    lead_labels = [label for label, is_lead in zip(labels, named, strict=True) if is_lead]
    return record_from_channels(path, lead_labels, rows, fs_hz, age, sex)


def _file_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise RecordError(f"{path}: cannot read the file ({error.strerror})") from error


@dataclass(frozen=True)
class _Layout:
    """Where a file's samples lie: after ``header_bytes``, ``n_records`` data records, each holding
    ``per_record[i]`` samples of signal i (annotation signals included) one signal after another."""

    header_bytes: int
    n_records: int
    per_record: tuple[int, ...]
    bdf: bool
    ordinary: tuple[int, ...]  # the signals that are not EDF+/BDF+ annotations, by position


def _layout(path: Path, data: bytes) -> _Layout:
    """The file's layout from its header; RecordError where the file is not exactly as long as
    its header's data records make it (cut short, or bytes past the last record)."""
    n_signals = _header_integer(path, data, 252, 256, "number of signals")
    header_bytes = 256 * (n_signals + 1)
    if n_signals < 0:
        raise RecordError(f"{path}: the header gives {n_signals} signals")
    if len(data) < header_bytes:
        raise RecordError(f"{path}: cut short in its header ({len(data)} bytes)")
    if _header_integer(path, data, 184, 192, "header length") != header_bytes:
        raise RecordError(
            f"{path}: the header's length field reads {data[184:192].decode('ascii', 'replace')!r}"
            f" but {n_signals} signals make it {header_bytes} bytes"
        )
    n_records = _header_integer(path, data, 236, 244, "number of data records")
    if n_records < 0:  # -1 while recording; a file left so did not close its recording
        raise RecordError(f"{path}: the header gives {n_records} data records, not a count")
    start = 256 + 216 * n_signals
    per_record = tuple(
        _header_integer(path, data, at, at + 8, "samples per data record")
        for at in range(start, start + 8 * n_signals, 8)
    )
    if min(per_record, default=0) < 0:
        raise RecordError(f"{path}: the header gives {per_record} samples per data record")
    bdf = data.startswith(_BDF_MAGIC)
    needed = header_bytes + n_records * sum(per_record) * (3 if bdf else 2)
    if len(data) < needed:
        raise RecordError(
            f"{path}: cut short: the header gives {n_records} data records, {needed} bytes in all, "
            f"but the file holds {len(data)}"
        )
    if len(data) > needed:
        raise RecordError(
            f"{path}: holds {len(data)} bytes, but its header's {n_records} data records of "
            f"{per_record} samples make {needed}"
        )
    # as edfio tells an annotation signal: by its label, decoded as it decodes it
    annotations = "BDF Annotations" if bdf else "EDF Annotations"
    labels = (
        data[256 + 16 * i : 256 + 16 * (i + 1)].decode("ascii", "replace").rstrip()
        for i in range(n_signals)
    )
    ordinary = tuple(i for i, label in enumerate(labels) if label != annotations)
    return _Layout(header_bytes, n_records, per_record, bdf, ordinary)


def _header(edfio: ModuleType, data: bytes, layout: _Layout):
    """edfio's reading of the file's header alone.

    It is handed the header with no data record, so that it leaves the samples to
    :func:`_millivolts` (its BDF reader would decode every sample of every signal, slowly).
    """
    header = bytearray(data[: layout.header_bytes])
    header[236:244] = b"0".ljust(8)
    return edfio.read_bdf(header) if layout.bdf else edfio.read_edf(header)


def _header_integer(path: Path, data: bytes, start: int, end: int, what: str) -> int:
    field = data[start:end]
    try:
        return int(field.decode("ascii"))
    except (UnicodeDecodeError, ValueError) as error:
        raise RecordError(f"{path}: the header's {what} reads {field!r}, not a number") from error


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


def _millivolts(
    path: Path, data: bytes, layout: _Layout, leads: list[tuple[int, Any]]
) -> np.ndarray:
    """The samples of the leads, each given as its number among the ordinary signals and its edfio
    signal, in mV (leads × samples, float32), by EDF's digital-to-physical formula and each lead's
    unit.

    edfio's own ``data`` would hand back the digital values unscaled, with a warning, for an empty
    physical or digital range; here that is an uncalibrated lead.
    """
    scales = [_scale(path, signal) for _, signal in leads]
    starts = np.cumsum((0, *layout.per_record)).tolist()
    columns = [layout.ordinary[i] for i, _ in leads]
    width = layout.per_record[columns[0]]  # samples per data record, one rate for all leads
    signal = np.empty((len(leads), layout.n_records * width), dtype=np.float32)
    # float64 for each lead's arithmetic (BDF's 24-bit steps are finer than float32 resolves at a
    # few mV), one lead at a time so that the scratch row stays in the cache
    scratch = np.empty(signal.shape[1], dtype=np.float64)
    for row, (column, (gain, offset)) in enumerate(zip(columns, scales, strict=True)):
        digital = _digital(data, layout, starts[column], width)
        np.multiply(digital, gain, out=scratch.reshape(layout.n_records, width))
        scratch += offset
        signal[row] = scratch
    return signal


def _digital(data: bytes, layout: _Layout, start: int, width: int) -> np.ndarray:
    """One signal's digital samples (data records × ``width``) from the ``start``-th sample of each
    data record on; a view of ``data`` in EDF."""
    sample_bytes = 3 if layout.bdf else 2
    record_bytes = sum(layout.per_record) * sample_bytes
    shape, strides = (layout.n_records, width), (record_bytes, sample_bytes)
    offset = layout.header_bytes + start * sample_bytes
    if not layout.bdf:
        return np.ndarray(shape, "<i2", data, offset, strides)
    # BDF's samples are 24-bit little-endian: the 4 bytes ending with a sample's last byte, read
    # as int32 and shifted right by 8, are the sample with its sign
    return np.ndarray(shape, "<i4", data, offset - 1, strides) >> 8


def _scale(path: Path, signal) -> tuple[float, float]:
    """The gain and offset (mV) that take one lead's digital values to mV."""
    to_mv = millivolts_per(signal.physical_dimension, f"{path}: signal {signal.label!r}")
    low, high = signal.physical_min, signal.physical_max
    digital_low, digital_high = signal.digital_min, signal.digital_max
    if low == high or digital_low == digital_high:
        raise RecordError(
            f"{path}: signal {signal.label!r} is uncalibrated (physical range {low:g} to "
            f"{high:g} over digital {digital_low} to {digital_high})"
        )
    gain = (high - low) / (digital_high - digital_low) * to_mv
    return gain, low * to_mv - digital_low * gain


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
