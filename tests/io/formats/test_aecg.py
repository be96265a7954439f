"""HL7 aECG files read as records in mV, and XML that the reader refuses."""

from __future__ import annotations

import math
import re
import time
from pathlib import Path

import numpy as np
import pytest

from seecgnet.io.formats import aecg
from seecgnet.io.records import RecordError, Sex
from tests.io.formats.writers import small_aecg
from tests.paths import SHARED

AECG_FILES = SHARED / "data" / "formats" / "aecg"
needs_files = pytest.mark.skipif(not AECG_FILES.is_dir(), reason="no ../shared/data/formats")
# the example's rhythm leads, in the file's order
EXAMPLE_LEADS = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6", "III", "aVR", "aVL", "aVF")


def first_rhythm_digits_by_hand(text: str, code: str) -> tuple[np.ndarray, float, float]:
    """A lead's first digits, origin and scale (uV), found in the text by a regular expression
    (the example explains the first lead's digits in a comment before them)."""
    match = re.search(
        rf'code="{code}".*?<origin value="([^"]+)" unit="uV"/>\s*'
        rf'<scale value="([^"]+)" unit="uV"/>\s*(?:<!--.*?-->\s*)?<digits>([^<]*)</digits>',
        text,
        re.DOTALL,
    )
    assert match is not None
    return np.array(match[3].split(), float), float(match[1]), float(match[2])


@needs_files
@pytest.mark.parametrize("name", ["Example aECG.xml", "subject1_0.xml"])
def test_the_hl7_examples_read_as_a_10_s_12_lead_ecg_in_mv(name: str) -> None:
    path = AECG_FILES / name
    assert aecg.looks_like(path.read_bytes()[:1024])
    record = aecg.read(path)
    assert record.name == path.stem
    assert record.lead_names == EXAMPLE_LEADS
    assert (record.fs_hz, record.n_samples, record.duration_s) == (500.0, 5000, 10.0)
    # born 1953-05-08, recorded 2002-11-22; gender code M
    assert (record.age, record.sex) == (49.0, Sex.MALE)
    text = path.read_text()
    for row, lead in enumerate(EXAMPLE_LEADS):
        digits, origin, scale = first_rhythm_digits_by_hand(text, f"MDC_ECG_LEAD_{lead.upper()}")
        assert len(digits) == 5000
        np.testing.assert_allclose(record.signal[row], (origin + scale * digits) / 1000, atol=1e-7)
    assert np.ptp(record.signal, axis=1).min() > 0.05 and np.abs(record.signal).max() < 5


@needs_files
def test_the_minimal_aecg_has_no_ecg_waveform_to_read() -> None:
    path = AECG_FILES / "minimum_aecg.xml"
    with pytest.raises(RecordError, match=r"13 samples .* no ECG waveform") as error:
        aecg.read(path)
    assert str(path) in str(error.value) and "\n" not in str(error.value)


def test_a_small_aecg_applies_origin_and_scale_and_ignores_other_leads(tmp_path: Path) -> None:
    digits = " ".join(str(i % 50 - 25) for i in range(600))
    path = tmp_path / "small.xml"
    # a median beat of twice the length, which must not be taken for the rhythm
    median = {"MDC_ECG_LEAD_II": digits * 2, "MDC_ECG_LEAD_I": digits * 2}
    path.write_text(
        small_aecg({"MDC_ECG_LEAD_II": digits, "MDC_ECG_LEAD_V7": digits}, derived=median)
    )
    record = aecg.read(path)
    assert record.lead_names == ("II",) and record.fs_hz == 500.0
    expected = (10 + 5 * np.array(digits.split(), float)) / 1000
    np.testing.assert_allclose(record.signal[0], expected, atol=1e-7)
    assert math.isnan(record.age) and record.sex is Sex.UNKNOWN


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            small_aecg({"MDC_ECG_LEAD_I": "1 " * 600, "MDC_ECG_LEAD_II": "1 " * 599}),
            "different numbers",
        ),
        (small_aecg({"MDC_ECG_LEAD_I": "1 2 x " * 200}), "digits that are not numbers"),
        (small_aecg({"MDC_ECG_LEAD_I": "1 " * 600}, increment=""), "gives no increment"),
        (
            small_aecg({"MDC_ECG_LEAD_I": "1 " * 600}).replace('unit="uV"', 'unit="mmHg"'),
            "not a voltage",
        ),
        (small_aecg({}), "without a rhythm waveform"),
        (
            small_aecg({"MDC_ECG_LEAD_I": "1 " * 600}).replace(' unit="uV"', ""),
            "origin and scale give no unit",
        ),
        ('<?xml version="1.0"?><Other xmlns="urn:hl7-org:v3"/>', "not an HL7 AnnotatedECG"),
        ("<AnnotatedECG xmlns='urn:hl7-org:v3'><unclosed>", "not readable XML"),
    ],
)
def test_an_aecg_that_is_not_a_readable_ecg_is_a_one_line_error(
    tmp_path: Path, document: str, message: str
) -> None:
    path = tmp_path / "bad.xml"
    path.write_text(document)
    with pytest.raises(RecordError, match=message) as error:
        aecg.read(path)
    assert str(path) in str(error.value) and "\n" not in str(error.value)


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    ).replace("&lol0;", "&lol;")
    + ']>\n<AnnotatedECG xmlns="urn:hl7-org:v3">&lol9;</AnnotatedECG>'
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?>\n<!DOCTYPE AnnotatedECG [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
    '\n<AnnotatedECG xmlns="urn:hl7-org:v3">&secret;</AnnotatedECG>'
)


@pytest.mark.parametrize("document", [BILLION_LAUGHS, EXTERNAL_ENTITY])
def test_entity_declarations_are_refused_at_once(tmp_path: Path, document: str) -> None:
    path = tmp_path / "entities.xml"
    path.write_text(document)
    assert aecg.looks_like(path.read_bytes()[:1024])
    started = time.perf_counter()
    with pytest.raises(RecordError, match="document type declaration"):
        aecg.read(path)
    assert time.perf_counter() - started < 1.0


def test_looks_like_finds_the_annotated_ecg_root() -> None:
    assert aecg.looks_like(b'<?xml version="1.0"?>\n<AnnotatedECG xmlns="urn:hl7-org:v3">')
    assert aecg.looks_like(b"<!-- a comment -->\n<hl7:AnnotatedECG xmlns:hl7='urn:hl7-org:v3'>")
    assert not aecg.looks_like(b"<AnnotatedECGs>")
    assert not aecg.looks_like(b"0       X X X X")
