"""Reading HL7 aECG files (annotated ECG, HL7 v3 XML: the format drug trials submit to the FDA).

An aECG is an XML document whose root is ``AnnotatedECG`` in the namespace ``urn:hl7-org:v3``.
Its waveforms are ``series``, each holding ``sequenceSet``\\ s: one sequence of times (its
``increment`` is the sampling interval) and one sequence per lead, coded ``MDC_ECG_LEAD_I`` ...
``MDC_ECG_LEAD_V6``, whose value (``SLIST_PQ``, or ``SLIST_INT``) lists integer ``digits`` with an
``origin`` and a ``scale``: the sample is ``origin + scale × digit``, in the unit they give (uV).
What is taken from a file:

- the rhythm waveform: the longest ``sequenceSet`` of a series coded ``RHYTHM`` (of any series
  where none is so coded); the median beats a series derives (``derivation``/``derivedSeries``)
  are not read;
- each lead's samples in mV; leads whose code names no standard lead (``MDC_ECG_LEAD_V7``, Frank
  leads) are dropped, said once; leads of different lengths are a RecordError;
- the rate, from the time sequence's increment (in s or ms);
- the subject's sex (``administrativeGenderCode``) and the age in whole years from the
  ``birthTime`` and the ECG's ``effectiveTime``.

The document is parsed by the standard library's XML reader, so that reading needs no optional
library. A document type declaration is refused before any element is built: without one, an XML
file can neither define entities (an entity expanding into billions of characters) nor refer to
external ones (a file or URL the reader would fetch), so neither happens here. A file that is not
XML, not an aECG, or an aECG without a rhythm waveform of at least a second: RecordError.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ElementTree
from datetime import date
from pathlib import Path
from xml.etree.ElementTree import Element
from xml.parsers import expat

import numpy as np

from seecgnet.io.formats.channels import age_on, millivolts_per, record_from_channels
from seecgnet.io.headers import RecordError, Sex
from seecgnet.io.records import Record

_V3 = "{urn:hl7-org:v3}"
_XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
_ROOT = re.compile(rb"<([\w.-]+:)?AnnotatedECG[\s>/]")
_SECONDS_PER_UNIT = {"s": 1.0, "ms": 1e-3, "us": 1e-6}
_BAD_XML = (expat.ExpatError, ElementTree.ParseError, ValueError, LookupError)


class _DeclarationRefusedError(Exception):
    """Raised from inside the XML parser at a document type declaration, to stop it there."""


def looks_like(head: bytes) -> bool:
    """Whether the file's first bytes hold the start tag of an ``AnnotatedECG`` root."""
    return _ROOT.search(head) is not None


def read(path: Path) -> Record:
    """The record of an HL7 aECG file; RecordError naming the file for one that is not."""
    root = _parse(path)
    if root.tag != _V3 + "AnnotatedECG":
        raise RecordError(f"{path}: XML whose root is {root.tag!r}, not an HL7 AnnotatedECG")
    sequence_sets = _rhythm_sequence_sets(root)
    if not sequence_sets:
        raise RecordError(f"{path}: an aECG without a rhythm waveform")
    fs_hz, labels, rows = max(
        (_waveform(path, sequence_set) for sequence_set in sequence_sets),
        key=lambda waveform: len(waveform[2][0]) / waveform[0] if waveform[2] else 0.0,
    )
    if not rows:
        raise RecordError(f"{path}: an aECG without a rhythm waveform (no lead sequence)")
    age, sex = _demographics(root)
    return record_from_channels(path, labels, rows, fs_hz, age, sex)


def _parse(path: Path) -> Element:
    """The document's root element; RecordError for unreadable XML or a type declaration."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise RecordError(f"{path}: cannot read the file ({error.strerror})") from error
    guard = expat.ParserCreate()

    def refuse(*_: object) -> None:
        raise _DeclarationRefusedError

    guard.StartDoctypeDeclHandler = refuse
    guard.EntityDeclHandler = refuse
    try:
        guard.Parse(data, True)
        return ElementTree.fromstring(data)
    except _DeclarationRefusedError:
        raise RecordError(
            f"{path}: an XML document type declaration (DOCTYPE or ENTITY) is refused; "
            "aECG files have none"
        ) from None
    except _BAD_XML as error:
        raise RecordError(f"{path}: not readable XML ({error})") from error


def _rhythm_sequence_sets(root: Element) -> list[Element]:
    """The sequence sets of the series coded RHYTHM, or of every series where none is."""
    series = root.findall(f"{_V3}component/{_V3}series")
    rhythm = [item for item in series if _code(item) == "RHYTHM"] or series
    return [
        sequence_set
        for item in rhythm
        for sequence_set in item.findall(f"{_V3}component/{_V3}sequenceSet")
    ]


def _waveform(path: Path, sequence_set: Element) -> tuple[float, list[str], list[np.ndarray]]:
    """A sequence set's rate (Hz), lead codes and samples in mV."""
    fs_hz = math.nan
    labels, rows = [], []
    for sequence in sequence_set.findall(f"{_V3}component/{_V3}sequence"):
        code = _code(sequence)
        value = sequence.find(f"{_V3}value")
        if value is None:
            continue
        if code.startswith("TIME_"):
            fs_hz = _rate(path, value)
        elif code.startswith("MDC_ECG_LEAD_"):
            labels.append(code)
            rows.append(_samples_mv(path, code, value))
    if rows and not fs_hz > 0:
        raise RecordError(f"{path}: the waveform has no time sequence with an increment")
    if len({len(row) for row in rows}) > 1:
        each = ", ".join(f"{label} {len(row)}" for label, row in zip(labels, rows, strict=True))
        raise RecordError(f"{path}: leads of different numbers of samples ({each})")
    return fs_hz, labels, rows


def _rate(path: Path, value: Element) -> float:
    increment = value.find(f"{_V3}increment")
    if increment is None:
        raise RecordError(f"{path}: the time sequence gives no increment")
    unit = increment.get("unit", "s")
    seconds = _number(path, increment, "increment") * _SECONDS_PER_UNIT.get(unit, math.nan)
    if not seconds > 0:
        raise RecordError(
            f"{path}: time increment {increment.get('value')!r} {unit!r} is not a positive time"
        )
    return 1.0 / seconds


def _samples_mv(path: Path, code: str, value: Element) -> np.ndarray:
    """``origin + scale × digit`` of a lead's SLIST value, in mV."""
    where = f"{path}: lead {code}"
    origin, scale = value.find(f"{_V3}origin"), value.find(f"{_V3}scale")
    digits = value.find(f"{_V3}digits")
    if origin is None or scale is None or digits is None:
        kind = value.get(_XSI_TYPE, "value")
        raise RecordError(f"{where}: {kind} without origin, scale and digits")
    if scale.get("unit") is None or origin.get("unit") is None:
        raise RecordError(f"{where}: origin and scale give no unit (expected uV, mV or V)")
    try:
        counts = np.array((digits.text or "").split(), dtype=np.float64)
    except ValueError as error:
        raise RecordError(f"{where}: digits that are not numbers ({error})") from error
    origin_mv = _number(path, origin, "origin") * millivolts_per(origin.get("unit", ""), where)
    scale_mv = _number(path, scale, "scale") * millivolts_per(scale.get("unit", ""), where)
    return origin_mv + scale_mv * counts


def _number(path: Path, element: Element, what: str) -> float:
    text = element.get("value", "")
    try:
        return float(text)
    except ValueError:
        raise RecordError(f"{path}: {what} {text!r} is not a number") from None


def _code(element: Element) -> str:
    code = element.find(f"{_V3}code")
    return "" if code is None else code.get("code", "")


def _demographics(root: Element) -> tuple[float, Sex]:
    person = root.find(f".//{_V3}subjectDemographicPerson")
    if person is None:
        return math.nan, Sex.UNKNOWN
    gender = person.find(f"{_V3}administrativeGenderCode")
    sex = Sex.parse(None if gender is None else gender.get("code"))
    birth = _date(person.find(f"{_V3}birthTime"))
    effective = root.find(f"{_V3}effectiveTime")
    taken = None
    if effective is not None:
        taken = _date(effective.find(f"{_V3}center")) or _date(effective.find(f"{_V3}low"))
    if birth is None or taken is None:
        return math.nan, sex
    return age_on(birth, taken), sex


def _date(element: Element | None) -> date | None:
    """The date of an HL7 time stamp (YYYYMMDD...), or None where absent or malformed."""
    text = "" if element is None else element.get("value", "")
    if len(text) < 8 or not text[:8].isdigit():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None
