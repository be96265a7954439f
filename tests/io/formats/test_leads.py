"""Lead labels as other formats write them, read as the twelve standard leads."""

from __future__ import annotations

import pytest

from seecgnet.io.formats.leads import MissingLibraryError, optional_library, standard_lead_name


@pytest.mark.parametrize(
    ("label", "lead"),
    [
        ("II", "II"),
        ("ii", "II"),
        ("avr", "aVR"),
        ("ECG I", "I"),
        ("EKG V1", "V1"),
        ("ecg-v6", "V6"),
        ("Lead aVL", "aVL"),
        ("Lead I (Einthoven)", "I"),
        ("Lead III [limb]", "III"),
        ("MDC_ECG_LEAD_AVF", "aVF"),
        ("MDC_ECG_LEAD_V3", "V3"),
        ("  V4 ", "V4"),
    ],
)
def test_a_label_names_its_standard_lead(label: str, lead: str) -> None:
    assert standard_lead_name(label) == lead


@pytest.mark.parametrize(
    "label", ["vx", "V7", "Resp", "ECG", "", "IIII", "Lead", "MDC_ECG_LEAD_VX"]
)
def test_a_label_of_no_standard_lead_is_none(label: str) -> None:
    assert standard_lead_name(label) is None


def test_a_missing_optional_library_says_what_to_install() -> None:
    with pytest.raises(MissingLibraryError, match=r"no_such_module_xyz.*seecgnet\[formats\]"):
        optional_library("no_such_module_xyz", "an EDF file")
    assert optional_library("json", "a test").dumps([1]) == "[1]"
