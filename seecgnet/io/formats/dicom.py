"""Reading DICOM ECG waveforms (12-lead ECG, General ECG and any other waveform object).

A DICOM waveform object holds one or more multiplex groups (``WaveformSequence``), each a block of
channels sampled together: an electrocardiograph typically writes the 10 s rhythm group and a
derived median beat of about a second. Each group gives its rate, its number of samples, its
sample type (``WaveformBitsAllocated`` with ``WaveformSampleInterpretation``: SS is signed, US
unsigned) and, per channel, what the channel records (``ChannelSourceSequence``) and its
calibration. What is taken from a file:

- the longest group (by duration), which is the rhythm group, never the median beat;
- each channel's lead from its source code: DICOM CID 3001 codes in the SCPECG scheme
  (``5.6.3-9-1`` is lead I) or the MDC scheme (``2:1``), which share the lead numbers of
  SCP-ECG; for any other scheme, the code meaning (``Lead I (Einthoven)``) read by
  :func:`seecgnet.io.formats.leads.standard_lead_name`. Channels of no standard lead are dropped,
  said once;
- each channel's value ``sample × ChannelSensitivity × ChannelSensitivityCorrectionFactor +
  ChannelBaseline`` in its ``ChannelSensitivityUnitsSequence`` unit (uV, mV or V), given in mV.
  A lead without a sensitivity is uncalibrated: RecordError;
- ``PatientAge`` (``065Y``; months, weeks and days as fractions of a year), or else the age from
  ``PatientBirthDate`` and the acquisition date; ``PatientSex`` (M, F).

A file that is not DICOM, a DICOM without a waveform, mu-law or A-law samples, or waveform data
shorter than its group says: RecordError. The samples are decoded here, in the byte order of the file's
transfer syntax (little-endian in every syntax in use; the retired Explicit VR Big Endian stores the
words big-endian, which pydicom's ``waveform_array``, the tests' oracle elsewhere, does not
undo).

pydicom parses the file and each element. Each channel's text and decimal values (its code,
sensitivity, correction, baseline, unit) are read from the element's bytes as pydicom holds them
rather than through its per-element conversion, and a channel's short code sequences of defined
length are read with pydicom's element reader past the item's 8-byte header rather than as
datasets: the two took more than half of a read. Each lead is scaled straight into its row. A file
whose sequences have undefined length is parsed whole by pydicom when it opens it, waveform
annotations included, which no reader on pydicom can avoid (docs/formats.md).
"""

from __future__ import annotations

import io
import math
import struct
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from seecgnet.io.formats.channels import age_on, millivolts_per, record_from_channels
from seecgnet.io.formats.leads import optional_library, standard_lead_name
from seecgnet.io.headers import RecordError, Sex
from seecgnet.io.records import STANDARD_LEADS, Record

# SCP-ECG's lead numbers, shared by DICOM's SCPECG (5.6.3-9-N) and MDC (2:N) code values.
_SCP_LEAD_NUMBERS = dict(zip((1, 2, 61, 62, 63, 64, 3, 4, 5, 6, 7, 8), STANDARD_LEADS, strict=True))
_SAMPLE_TYPES = {
    (8, "SB"): "i1",
    (8, "UB"): "u1",
    (16, "SS"): "<i2",
    (16, "US"): "<u2",
    (32, "SL"): "<i4",
    (32, "UL"): "<u4",
    (64, "SV"): "<i8",
    (64, "UV"): "<u8",
}
# Tags of the elements read for each channel (pydicom's keyword lookups cost as much as reading)
_CHANNEL_SOURCE = 0x003A0208
_SENSITIVITY = 0x003A0210
_SENSITIVITY_UNITS = 0x003A0211
_CORRECTION_FACTOR = 0x003A0212
_BASELINE = 0x003A0213
_CODE_VALUE = 0x00080100
_CODING_SCHEME = 0x00080102
_CODE_MEANING = 0x00080104
_YEARS_PER_AGE_UNIT = {"Y": 1.0, "M": 1 / 12, "W": 7 / 365.25, "D": 1 / 365.25}
# What pydicom raises on a damaged file, when it parses it or decodes an element's value.
_DAMAGE = (
    ValueError, TypeError, KeyError, IndexError, AttributeError, EOFError, OSError,
    ArithmeticError, struct.error, NotImplementedError,
)  # fmt: skip


def looks_like(head: bytes) -> bool:
    """Whether the file has DICOM's 128-byte preamble followed by ``DICM`` (a bare data set
    without them, which the DICOM file format does not allow, is not recognised)."""
    return head[128:132] == b"DICM"


def read(path: Path) -> Record:
    """The record of a DICOM ECG waveform file; RecordError naming the file for one that is not."""
    pydicom = optional_library("pydicom", "a DICOM file")
    try:
        dataset = pydicom.dcmread(path)
        groups = list(dataset.get("WaveformSequence") or [])
        if not groups:
            raise RecordError(f"{path}: a DICOM file without a waveform")
        group = max(groups, key=_duration_s)
        labels, rows = _channels(path, group, _is_little_endian(dataset))
        age, sex = _demographics(dataset)
        fs_hz = float(group.SamplingFrequency)
    except pydicom.errors.InvalidDicomError as error:
        raise RecordError(f"{path}: not a DICOM file ({error})") from error
    except RecordError:
        raise
    except (*_DAMAGE, pydicom.errors.BytesLengthException) as error:
        raise RecordError(f"{path}: not a readable DICOM waveform ({error})") from error
    return record_from_channels(path, labels, rows, fs_hz, age, sex)


def _duration_s(group) -> float:
    rate = float(group.get("SamplingFrequency") or 0)
    return int(group.get("NumberOfWaveformSamples") or 0) / rate if rate > 0 else 0.0


def _channels(path: Path, group, little_endian: bool) -> tuple[list[str], np.ndarray]:
    """Each channel's label (its standard lead where the code names one) and samples in mV
    (channels × samples, float32; a channel of no lead as read)."""
    samples = _samples(path, group, little_endian)
    definitions = list(group.ChannelDefinitionSequence)
    if len(definitions) != samples.shape[1]:
        raise RecordError(
            f"{path}: {len(definitions)} channel definitions for {samples.shape[1]} channels"
        )
    labels = [_lead_label(channel) for channel in definitions]
    rows = np.empty((len(labels), samples.shape[0]), dtype=np.float32)
    # float64 for each channel's arithmetic, one channel at a time (its scratch row stays cached)
    scratch = np.empty(samples.shape[0], dtype=np.float64)
    for row, (label, channel) in enumerate(zip(labels, definitions, strict=True)):
        if standard_lead_name(label) is None:
            rows[row] = samples[:, row]
            continue
        scale, baseline, to_mv = _calibration(path, label, channel)
        np.multiply(samples[:, row], scale, out=scratch)
        scratch += baseline
        scratch *= to_mv
        rows[row] = scratch
    return labels, rows


def _calibration(path: Path, label: str, channel) -> tuple[float, float, float]:
    """A lead's sensitivity (with its correction factor), baseline, and mV per unit of them."""
    sensitivity = _text(channel.get_item(_SENSITIVITY))
    if sensitivity is None:
        raise RecordError(f"{path}: lead {label} has no channel sensitivity (uncalibrated)")
    units = _first_item(channel, _SENSITIVITY_UNITS)
    if units is None:
        raise RecordError(f"{path}: lead {label} has no channel sensitivity units")
    to_mv = millivolts_per(_text(units.get(_CODE_VALUE)) or "", f"{path}: lead {label}")
    scale = float(sensitivity) * float(_text(channel.get_item(_CORRECTION_FACTOR)) or 1.0)
    return scale, float(_text(channel.get_item(_BASELINE)) or 0.0), to_mv


def _is_little_endian(dataset) -> bool:
    """Whether the file's transfer syntax stores numbers little-endian (all but the retired
    Explicit VR Big Endian); a file without file meta information is read as little-endian."""
    meta = getattr(dataset, "file_meta", None)
    syntax = meta.get("TransferSyntaxUID") if meta is not None else None
    return True if syntax is None else bool(syntax.is_little_endian)


def _samples(path: Path, group, little_endian: bool) -> np.ndarray:
    """The group's samples as read, shape (samples, channels), in the file's byte order (words of
    the waveform data are stored as the transfer syntax orders numbers; pydicom keeps OW bytes as
    they are in the file)."""
    n_channels = int(group.NumberOfWaveformChannels)
    n_samples = int(group.NumberOfWaveformSamples)
    kind = (int(group.WaveformBitsAllocated), str(group.WaveformSampleInterpretation))
    if kind not in _SAMPLE_TYPES:
        raise RecordError(f"{path}: waveform samples of {kind[0]} bits {kind[1]} are not read")
    dtype = np.dtype(_SAMPLE_TYPES[kind]).newbyteorder("<" if little_endian else ">")
    data = bytes(group.WaveformData)
    needed = n_channels * n_samples * dtype.itemsize
    if n_channels < 1 or n_samples < 1 or len(data) < needed:
        raise RecordError(
            f"{path}: waveform data of {len(data)} bytes, but {n_channels} channels × "
            f"{n_samples} samples of {dtype.itemsize} bytes need {needed}"
        )
    # Samples are interleaved: every channel's first sample, then every channel's second ...
    return np.frombuffer(data, dtype, n_channels * n_samples).reshape(n_samples, n_channels)


def _lead_label(channel) -> str:
    """The standard lead a channel's source code names, or its code meaning where none does."""
    source = _first_item(channel, _CHANNEL_SOURCE)
    if source is None:
        return str(channel.get("ChannelLabel", "unlabelled channel"))
    scheme = (_text(source.get(_CODING_SCHEME)) or "").upper()
    value = _text(source.get(_CODE_VALUE)) or ""
    prefix = {"SCPECG": "5.6.3-9-", "MDC": "2:"}.get(scheme)
    if prefix and value.startswith(prefix) and value[len(prefix) :].isdigit():
        lead = _SCP_LEAD_NUMBERS.get(int(value[len(prefix) :]))
        if lead:
            return lead
    return _text(source.get(_CODE_MEANING)) or value or "unlabelled channel"


def _first_item(dataset, tag: int) -> dict[int, Any] | None:
    """The elements of a sequence's first item by tag, as read (raw where pydicom left them so),
    or None where the sequence is absent or empty.

    A sequence of defined length that pydicom has not yet parsed (as every short code sequence in
    a file written with defined lengths) is read here with pydicom's element reader, past the
    item's 8-byte header, into elements alone: pydicom would build a dataset of it, which took
    as long as the rest of the read. Anything else (an item of undefined length, or a sequence
    pydicom has already parsed) is read by pydicom as a dataset.
    """
    element = dataset.get_item(tag)
    if element is None:
        return None
    raw = element.value
    if isinstance(raw, bytes) and len(raw) >= 8:
        order = "<" if element.is_little_endian else ">"
        group, number, length = struct.unpack_from(order + "HHI", raw)
        if (group, number) == (0xFFFE, 0xE000) and length != 0xFFFFFFFF:
            from pydicom.filereader import data_element_generator

            content = io.BytesIO(raw[8 : 8 + length])
            elements = data_element_generator(
                content, element.is_implicit_VR, element.is_little_endian
            )
            return {item.tag: item for item in elements}
    items = dataset[tag].value
    if not items:
        return None
    tags = items[0].keys()  # iterating the dataset itself would convert every element
    return {key: items[0].get_item(key) for key in tags}


def _text(element) -> str | None:
    """A text or decimal-string element's value as text (None where absent), from its bytes as
    read: pydicom's conversion of each element's value (some 20 µs each, five or six elements a
    channel) took a third of a read. The bytes are decoded as pydicom decodes them without a
    specific character set (ISO 8859-1; codes and numbers are ASCII), trailing padding dropped."""
    if element is None or element.value is None:
        return None
    value = element.value
    return value.decode("latin-1").rstrip(" \x00") if isinstance(value, bytes) else str(value)


def _demographics(dataset) -> tuple[float, Sex]:
    sex = Sex.parse(str(dataset.get("PatientSex") or ""))
    age_text = str(dataset.get("PatientAge") or "").strip().upper()
    if len(age_text) == 4 and age_text[:3].isdigit() and age_text[3] in _YEARS_PER_AGE_UNIT:
        return int(age_text[:3]) * _YEARS_PER_AGE_UNIT[age_text[3]], sex
    birth = _date(dataset.get("PatientBirthDate"))
    acquired = _date(
        str(dataset.get("AcquisitionDateTime") or "")[:8]
        or dataset.get("AcquisitionDate")
        or dataset.get("ContentDate")
        or dataset.get("StudyDate")
    )
    if birth is None or acquired is None:
        return math.nan, sex
    return age_on(birth, acquired), sex


def _date(text: object) -> date | None:
    """A DICOM date (YYYYMMDD), or None where absent or malformed."""
    value = str(text or "").strip()
    if len(value) != 8 or not value.isdigit():
        return None
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return None
