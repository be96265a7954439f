"""DICOM ECG waveforms read as records in mV, with pydicom's ``waveform_array`` as the oracle."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

from seecgnet.io.formats import dicom
from seecgnet.io.formats.leads import MissingLibraryError
from seecgnet.io.records import STANDARD_LEADS, RecordError, Sex
from tests.io.formats.writers import quantisation_bound, small_record, write_dicom

pydicom = pytest.importorskip("pydicom")
from pydicom.data import get_testdata_file  # noqa: E402

REAL_ECG = Path(get_testdata_file("waveform_ecg.dcm"))


def test_pydicoms_real_12_lead_ecg_reads_as_its_rhythm_group_in_mv() -> None:
    assert dicom.looks_like(REAL_ECG.read_bytes()[:1024])
    record = dicom.read(REAL_ECG)
    dataset = pydicom.dcmread(REAL_ECG)
    # the file holds the 10 s rhythm group and a 1.2 s median beat, in that order
    assert [group.NumberOfWaveformSamples for group in dataset.WaveformSequence] == [10000, 1200]
    assert record.name == "waveform_ecg"
    assert record.lead_names == STANDARD_LEADS
    assert (record.fs_hz, record.n_samples, record.duration_s) == (1000.0, 10000, 10.0)
    assert (record.age, record.sex) == (42.0, Sex.FEMALE)  # PatientAge 042Y, PatientSex F
    # pydicom applies sensitivity, correction and baseline and gives uV (the units' code)
    oracle_mv = dataset.waveform_array(0).T / 1000.0
    np.testing.assert_allclose(record.signal, oracle_mv, atol=1e-6)
    assert np.abs(record.signal).max(axis=1).min() > 0.02 and np.abs(record.signal).max() < 5


@pytest.mark.parametrize("scheme", ["SCPECG", "MDC", "LOCAL"])
def test_leads_are_read_from_each_coding_scheme_with_baseline_and_median_beat(
    tmp_path: Path, scheme: str
) -> None:
    record = small_record(fs_hz=500.0)
    path = tmp_path / "written.dcm"
    steps = write_dicom(record, path, scheme=scheme, baseline_uv=35.0, median_beat=True)
    read = dicom.read(path)
    assert read.lead_names == STANDARD_LEADS and read.n_samples == record.n_samples
    assert (read.age, read.sex) == (74.0, Sex.FEMALE)
    assert (np.abs(read.signal - record.signal) <= quantisation_bound(record.signal, steps)).all()
    rhythm = pydicom.dcmread(path).waveform_array(1).T / 1000.0
    np.testing.assert_allclose(read.signal, rhythm, atol=1e-6)


def test_the_age_comes_from_the_birth_date_without_patient_age(tmp_path: Path) -> None:
    path = tmp_path / "born.dcm"
    write_dicom(small_record(), path)
    dataset = pydicom.dcmread(path)
    del dataset.PatientAge
    dataset.PatientBirthDate = "19500616"  # a day short of 70 on 2020-06-15
    dataset.save_as(path)
    assert dicom.read(path).age == 69.0
    del dataset.PatientBirthDate
    dataset.save_as(path)
    assert math.isnan(dicom.read(path).age)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda ds: delattr(ds, "WaveformSequence"), "a DICOM file without a waveform"),
        (lambda ds: setattr(ds.WaveformSequence[0], "WaveformData", b"\0" * 10), "waveform data"),
        (
            lambda ds: setattr(ds.WaveformSequence[0], "WaveformSampleInterpretation", "MB"),
            "16 bits MB are not read",
        ),
        (
            lambda ds: delattr(
                ds.WaveformSequence[0].ChannelDefinitionSequence[2], "ChannelSensitivity"
            ),
            "lead III has no channel sensitivity",
        ),
        (
            lambda ds: setattr(
                ds.WaveformSequence[0]
                .ChannelDefinitionSequence[0]
                .ChannelSensitivityUnitsSequence[0],
                "CodeValue",
                "mm",
            ),
            "'mm' is not a voltage",
        ),
    ],
)
def test_a_dicom_that_is_not_a_readable_ecg_is_a_one_line_error(
    tmp_path: Path, change, message: str
) -> None:
    path = tmp_path / "changed.dcm"
    write_dicom(small_record(), path)
    dataset = pydicom.dcmread(path)
    change(dataset)
    dataset.save_as(path)
    with pytest.raises(RecordError, match=message) as error:
        dicom.read(path)
    assert str(path) in str(error.value) and "\n" not in str(error.value)


def test_an_image_is_a_dicom_without_a_waveform() -> None:
    with pytest.raises(RecordError, match="a DICOM file without a waveform"):
        dicom.read(Path(get_testdata_file("CT_small.dcm")))


def test_a_file_that_is_not_dicom_says_so(tmp_path: Path) -> None:
    path = tmp_path / "text.dcm"
    path.write_text("not a DICOM file\n")
    assert not dicom.looks_like(path.read_bytes())
    with pytest.raises(RecordError, match="not a DICOM file"):
        dicom.read(path)


def test_without_pydicom_reading_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pydicom", None)
    with pytest.raises(MissingLibraryError, match=r'pydicom.*pip install "seecgnet\[formats\]"'):
        dicom.read(REAL_ECG)


def _undefined_length_items(dataset) -> None:
    for channel in dataset.WaveformSequence[0].ChannelDefinitionSequence:
        for item in (*channel.ChannelSourceSequence, *channel.ChannelSensitivityUnitsSequence):
            item.is_undefined_length_sequence_item = True


def _undefined_length_sequences(dataset) -> None:
    for channel in dataset.WaveformSequence[0].ChannelDefinitionSequence:
        channel["ChannelSourceSequence"].is_undefined_length = True
        channel["ChannelSensitivityUnitsSequence"].is_undefined_length = True


@pytest.mark.parametrize(
    "change",
    [_undefined_length_items, _undefined_length_sequences, "implicit"],
    ids=["items-of-undefined-length", "sequences-of-undefined-length", "implicit-vr"],
)
def test_channel_codes_read_alike_in_every_encoding_of_their_sequences(
    tmp_path: Path, change
) -> None:
    record = small_record(fs_hz=500.0)
    path = tmp_path / "written.dcm"
    write_dicom(record, path, baseline_uv=35.0)
    expected = dicom.read(path)
    dataset = pydicom.dcmread(path)
    if change == "implicit":
        dataset.file_meta.TransferSyntaxUID = pydicom.uid.ImplicitVRLittleEndian
    else:
        change(dataset)
    dataset.save_as(path)
    read = dicom.read(path)
    assert read.lead_names == expected.lead_names == STANDARD_LEADS
    np.testing.assert_array_equal(read.signal, expected.signal)


def test_a_big_endian_file_reads_its_samples_in_its_own_byte_order(tmp_path: Path) -> None:
    # pydicom writes OW bytes as they are given, so the words are swapped here as a writer of the
    # retired Explicit VR Big Endian syntax stores them
    from pydicom.filewriter import dcmwrite

    record = small_record(fs_hz=500.0)
    little = tmp_path / "little.dcm"
    write_dicom(record, little, baseline_uv=35.0)
    dataset = pydicom.dcmread(little)
    dataset.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRBigEndian
    group = dataset.WaveformSequence[0]
    group.WaveformData = np.frombuffer(bytes(group.WaveformData), "<i2").astype(">i2").tobytes()
    big = tmp_path / "big.dcm"
    dcmwrite(big, dataset, implicit_vr=False, little_endian=False, force_encoding=True)
    read = dicom.read(big)
    assert read.lead_names == STANDARD_LEADS
    np.testing.assert_array_equal(read.signal, dicom.read(little).signal)
