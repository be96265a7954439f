"""Writing a record as EDF+, BDF and DICOM with the formats' own libraries, for round trips; and
small aECG documents.

The readers are tested on files that edfio and pydicom write, not on files of the readers' own
making. Each writer returns the quantisation step of what it wrote (per lead, in mV): a sample
read back lies within half a step of the written one, plus float32 rounding.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import numpy as np

from seecgnet.io.records import STANDARD_LEADS, Record, Sex

# the date every written recording starts on; the birth date is the age's years before it
RECORDING_DATE = date(2020, 6, 15)
TWELVE_LEAD_ECG = "1.2.840.10008.5.1.4.1.1.9.1.1"
_SCP_NUMBERS = dict(zip(STANDARD_LEADS, (1, 2, 61, 62, 63, 64, 3, 4, 5, 6, 7, 8), strict=True))
_EDF_SEX = {Sex.MALE: "M", Sex.FEMALE: "F", Sex.UNKNOWN: "X"}
_DICOM_SEX = {Sex.MALE: "M", Sex.FEMALE: "F", Sex.UNKNOWN: "O"}


def small_record(name: str = "small", fs_hz: float = 250.0, seconds: float = 2.0) -> Record:
    """Twelve distinct leads of a few mV, a 74-year-old woman."""
    time_s = np.arange(int(fs_hz * seconds)) / fs_hz
    signal = np.stack(
        [(lead + 1) * 0.2 * np.sin(2 * np.pi * (lead + 1) * time_s) for lead in range(12)]
    )
    return Record(name, signal.astype(np.float32), STANDARD_LEADS, fs_hz, 74.0, Sex.FEMALE, ())


def birth_date(age: float) -> date | None:
    return None if math.isnan(age) else RECORDING_DATE.replace(year=RECORDING_DATE.year - int(age))


def write_edf(
    record: Record, path: Path, *, bdf: bool = False, unit: str = "uV", prefix: str = "ECG "
) -> np.ndarray:
    """Write ``record`` as EDF+C (BDF+C with ``bdf``), one data record for the whole signal.

    Leads are labelled ``prefix + lead`` and stored in ``unit`` (uV or mV); each lead's physical
    range is its own minimum and maximum, so its step is that range over 2^16 - 1 (2^24 - 1 in BDF).
    """
    import edfio

    per_mv = {"uV": 1000.0, "mV": 1.0}[unit]
    signal_class = edfio.BdfSignal if bdf else edfio.EdfSignal
    bits = 24 if bdf else 16
    signals, steps = [], []
    for lead, row in zip(record.lead_names, record.signal, strict=True):
        values = row.astype(np.float64) * per_mv
        low, high = float(values.min()), float(values.max())
        if high - low < 1e-3:  # a flat lead: any range holding it
            low, high = low - 1.0, high + 1.0
        signals.append(
            signal_class(
                values,
                record.fs_hz,
                label=prefix + lead,
                physical_dimension=unit,
                physical_range=(low, high),
            )
        )
        steps.append((high - low) / (2**bits - 1) / per_mv)
    file_class = edfio.Bdf if bdf else edfio.Edf
    edf = file_class(
        signals,
        patient=edfio.Patient(sex=_EDF_SEX[record.sex], birthdate=birth_date(record.age)),
        recording=edfio.Recording(startdate=RECORDING_DATE),
        data_record_duration=record.duration_s,
    )
    edf.write(path)
    return np.array(steps)


def write_dicom(
    record: Record,
    path: Path,
    *,
    scheme: str = "SCPECG",
    baseline_uv: float = 0.0,
    median_beat: bool = False,
) -> np.ndarray:
    """Write ``record`` as a DICOM 12-lead ECG waveform of 16-bit samples in uV.

    Leads are coded in ``scheme`` (SCPECG or MDC). Each lead's sensitivity is the smallest of 1 uV
    and up that fits its samples in int16, after ``baseline_uv`` (written as the channel
    baseline) is taken off. With ``median_beat`` a one-second derived group is written first, which
    the reader must pass over.
    """
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    microvolts = record.signal.astype(np.float64) * 1000.0 - baseline_uv
    sensitivities = np.array(
        [float(f"{max(1.0, np.abs(row).max() / 32000.0):.6g}") for row in microvolts]
    )
    digital = np.round(microvolts / sensitivities[:, np.newaxis]).astype("<i2")
    rhythm = _group(record, digital, sensitivities, scheme, baseline_uv, "RHYTHM")
    groups = [rhythm]
    if median_beat:
        beat = digital[:, : int(record.fs_hz)] // 2
        groups.insert(0, _group(record, beat, sensitivities, scheme, baseline_uv, "MEDIAN BEAT"))
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = TWELVE_LEAD_ECG
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset = Dataset()
    dataset.file_meta = meta
    dataset.SOPClassUID = TWELVE_LEAD_ECG
    dataset.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    dataset.Modality = "ECG"
    dataset.PatientSex = _DICOM_SEX[record.sex]
    if not math.isnan(record.age):
        dataset.PatientAge = f"{int(record.age):03d}Y"
    dataset.AcquisitionDateTime = RECORDING_DATE.strftime("%Y%m%d") + "101500"
    dataset.WaveformSequence = groups
    dataset.save_as(path, enforce_file_format=True)
    return sensitivities / 1000.0


def _group(record, digital, sensitivities, scheme, baseline_uv, label):
    from pydicom.dataset import Dataset

    group = Dataset()
    group.MultiplexGroupLabel = label
    group.WaveformOriginality = "ORIGINAL" if label == "RHYTHM" else "DERIVED"
    group.MultiplexGroupTimeOffset = "0"
    group.NumberOfWaveformChannels = digital.shape[0]
    group.NumberOfWaveformSamples = digital.shape[1]
    group.SamplingFrequency = f"{record.fs_hz:g}"
    group.WaveformBitsAllocated = 16
    group.WaveformSampleInterpretation = "SS"
    group.ChannelDefinitionSequence = [
        _channel(lead, sensitivity, scheme, baseline_uv)
        for lead, sensitivity in zip(record.lead_names, sensitivities, strict=True)
    ]
    # interleaved: every channel's first sample, then every channel's second ...
    group.WaveformData = np.ascontiguousarray(digital.T).tobytes()
    return group


def _channel(lead: str, sensitivity: float, scheme: str, baseline_uv: float):
    from pydicom.dataset import Dataset

    number = _SCP_NUMBERS[lead]
    source = Dataset()
    values = {"SCPECG": f"5.6.3-9-{number}", "MDC": f"2:{number}"}
    source.CodeValue = values.get(scheme, f"L{number}")
    source.CodingSchemeDesignator = scheme
    source.CodeMeaning = f"Lead {lead}"
    units = Dataset()
    units.CodeValue = "uV"
    units.CodingSchemeDesignator = "UCUM"
    units.CodeMeaning = "microvolt"
    channel = Dataset()
    channel.ChannelSourceSequence = [source]
    channel.ChannelSensitivity = f"{sensitivity:.6g}"
    channel.ChannelSensitivityUnitsSequence = [units]
    channel.ChannelSensitivityCorrectionFactor = "1"
    channel.ChannelBaseline = f"{baseline_uv:g}"
    channel.WaveformBitsStored = 16
    return channel


def quantisation_bound(signal: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """How far a sample read back may lie from ``signal`` (mV): half its lead's step, and float32's
    rounding of the values (two units in the last place)."""
    return steps[:, np.newaxis] / 2 * (1 + 1e-6) + 2 * np.spacing(np.abs(signal).astype(np.float32))


def small_aecg(
    leads: dict[str, str],
    increment: str = '<increment value="2" unit="ms"/>',
    derived: dict[str, str] | None = None,
) -> str:
    """An aECG document of one rhythm series whose leads hold the given digits, and with
    ``derived`` a median beat the series derives, whose leads hold those digits."""
    rhythm = _sequence_set(leads, increment)
    median = ""
    if derived:
        median = (
            '<derivation><derivedSeries><code code="REPRESENTATIVE_BEAT"/><component>'
            f"{_sequence_set(derived, increment)}</component></derivedSeries></derivation>"
        )
    return (
        '<?xml version="1.0"?>\n<AnnotatedECG xmlns="urn:hl7-org:v3" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        '<effectiveTime><low value="20200615101500"/></effectiveTime>'
        '<component><series><code code="RHYTHM"/>'
        f"<component>{rhythm}</component>{median}</series></component></AnnotatedECG>"
    )


def _sequence_set(leads: dict[str, str], increment: str) -> str:
    sequences = "".join(
        f'<component><sequence><code code="{code}"/><value xsi:type="SLIST_PQ">'
        f'<origin value="10" unit="uV"/><scale value="5" unit="uV"/><digits>{digits}</digits>'
        "</value></sequence></component>"
        for code, digits in leads.items()
    )
    return (
        '<sequenceSet><component><sequence><code code="TIME_RELATIVE"/><value xsi:type="GLIST_PQ">'
        f'<head value="0" unit="s"/>{increment}</value></sequence></component>'
        f"{sequences}</sequenceSet>"
    )
