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
shorter than its group says: RecordError. The samples are decoded here (little-endian, as every
transfer syntax in use writes them); pydicom's ``waveform_array`` is the tests' oracle.
"""

from __future__ import annotations

import math
import struct
from datetime import date
from pathlib import Path

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
        labels, rows = _channels(path, group)
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


def _channels(path: Path, group) -> tuple[list[str], list[np.ndarray]]:
    """Each channel's label (its standard lead where the code names one) and samples in mV."""
    samples = _samples(path, group)
    definitions = list(group.ChannelDefinitionSequence)
    if len(definitions) != samples.shape[1]:
        raise RecordError(
            f"{path}: {len(definitions)} channel definitions for {samples.shape[1]} channels"
        )
    labels, rows = [], []
    for column, channel in enumerate(definitions):
        label = _lead_label(channel)
        labels.append(label)
        if standard_lead_name(label) is None:
            rows.append(samples[:, column].astype(np.float32))
            continue
        if "ChannelSensitivity" not in channel:
            raise RecordError(f"{path}: lead {label} has no channel sensitivity (uncalibrated)")
        unit = channel.ChannelSensitivityUnitsSequence[0].CodeValue
        scale = float(channel.ChannelSensitivity) * float(
            channel.get("ChannelSensitivityCorrectionFactor", 1.0)
        )
        baseline = float(channel.get("ChannelBaseline", 0.0))
        to_mv = millivolts_per(str(unit), f"{path}: lead {label}")
        rows.append(((samples[:, column] * scale + baseline) * to_mv).astype(np.float32))
    return labels, rows


def _samples(path: Path, group) -> np.ndarray:
    """The group's samples as read, shape (samples, channels)."""
    n_channels = int(group.NumberOfWaveformChannels)
    n_samples = int(group.NumberOfWaveformSamples)
    kind = (int(group.WaveformBitsAllocated), str(group.WaveformSampleInterpretation))
    if kind not in _SAMPLE_TYPES:
        raise RecordError(f"{path}: waveform samples of {kind[0]} bits {kind[1]} are not read")
    dtype = np.dtype(_SAMPLE_TYPES[kind])
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
    source = (channel.get("ChannelSourceSequence") or [None])[0]
    if source is None:
        return str(channel.get("ChannelLabel", "unlabelled channel"))
    scheme = str(source.get("CodingSchemeDesignator", "")).upper()
    value = str(source.get("CodeValue", ""))
    prefix = {"SCPECG": "5.6.3-9-", "MDC": "2:"}.get(scheme)
    if prefix and value.startswith(prefix) and value[len(prefix) :].isdigit():
        lead = _SCP_LEAD_NUMBERS.get(int(value[len(prefix) :]))
        if lead:
            return lead
    return str(source.get("CodeMeaning") or value or "unlabelled channel")


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
