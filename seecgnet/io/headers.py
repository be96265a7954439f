"""Reading a WFDB header (``NAME.hea``) as the 2020 challenge writes it.

A header is a *record line* ``NAME LEADS FS SAMPLES [date time]``, one *lead line* per lead
``FILE FORMAT GAIN[(BASELINE)][/UNITS] RESOLUTION ZERO FIRST CHECKSUM BLOCK LEAD`` and comment lines,
of which ``#Age:``, ``#Sex:`` and ``#Dx:`` (comma-separated SNOMED CT codes) carry the demographics
and the labels. Fields follow PhysioNet's WFDB header format, ``header(5)``.

:func:`parse_header` is the package's one header parser, on every path (files read by
:func:`seecgnet.io.records.read_record`, lines handed over by the challenge's driver): every way a
header can be wrong ends in a RecordError naming the header and the field. ``wfdb.rdheader`` is not
used: it spends most of a record's reading time in pandas, and it reads several of the challenge's
quirks wrongly or not at all. It stays the oracle of the tests (``tests/io/wfdb_oracle.py``), which
require the two to agree field by field wherever wfdb reads a header as it is written: on every
shared record, the bad-record corpus and generated headers. Where wfdb does not:

- The file-name quirk, ``E00018.mat 12 500 ...`` (50 of the 295 shared records): wfdb's record-name
  pattern allows no dot and it raises HeaderSyntaxError; this parser drops the ``.mat``, and reads
  what wfdb reads once the ``.mat`` is taken out.
- Dates written ``15-May-2020 11:39:16`` (every shared record): wfdb reads the day as a time of
  15 s and skips the rest, and refuses a date its strptime refuses (``31/02/2020``). Date and time
  are not used here, so whatever follows the number of samples is ignored.
- wfdb decodes a header as ASCII and drops other bytes without a word (``Ä0001`` reads ``0001``;
  a stray byte in ``#Age: 6?0`` would read 60). Here a header is UTF-8 (undecodable bytes read as
  U+FFFD, which only a comment or a lead's name can hold).
- wfdb's line patterns read a prefix of a line and fill what they miss with defaults, silently:
  ``NAME 12 fast 5000`` is 12 leads at 250 Hz without a length, ``NAME 12.5 5000`` 12 leads at
  0.5 Hz, ``5000abc`` 5000 samples, ``16x`` one sample per frame, ``1000mV`` a gain of 1000 per mV,
  ``1000(12/mV`` a baseline of 12, ``16 zero 0 0 0 I`` a lead named ``zero 0 0 0 I``; and wfdb does
  not compare the number of leads with the lead lines. Here each field is read whole, and one that
  is not what its place asks for is a RecordError naming it.
- Gain 0 or absent: both assume 200 digital units per mV (``header(5)``'s default); this parser
  also warns. Units: wfdb keeps their case; ``mv`` is mV here.

What each quirk or fault of a header gets:

- A first line naming the file (``E00018.mat 12 500 ...``, 50 of the shared records): the ``.mat``
  is dropped. A date and time after the number of samples, in any form (``15-May-2020``): ignored.
- No number of samples on the first line: ``n_samples`` is None (the reader takes the matrix's).
- No number of leads or no sampling rate, a lead count that disagrees with the lead lines, a field
  that is not a number, a multi-segment or multi-frequency record: RecordError.
- Gain 0 or absent (``0/mV``, ``/mV``): ``header(5)`` calls the lead uncalibrated and lets a reader
  assume 200 digital units per physical unit; so do we, with a warning naming the lead. No baseline:
  the ADC zero, as ``header(5)`` says (0 when that is absent too).
- Units ``mV`` in any case (``1000/mv`` in the HR and S records) or none (``header(5)``: mV); other
  units: RecordError. A lead line naming no lead: RecordError.
- ``#Age``: absent, empty, ``NaN`` or ``Unknown`` → NaN. Another word, or an age below 0 or above
  120 years → NaN with a warning.
- ``#Sex``: ``Male``/``M`` or ``Female``/``F`` in any case; absent, empty, ``NaN`` or ``Unknown`` →
  UNKNOWN; another word → UNKNOWN with a warning.
- ``#Dx``: codes kept as written, stripped, empty entries (``164889003,,426783006,``) dropped, never
  mapped or filtered. No ``#Dx`` line or no code in it: no codes, with a warning. A code that is not
  a number (``Unknown``): kept, with a warning. A repeated ``#Age``, ``#Sex`` or ``#Dx`` line: the
  first one counts, with a warning.
- Record names with spaces or non-ASCII letters: read whole when the caller knows the name from the
  file's name (``record_name``), by our parser; WFDB itself allows letters, digits and underscores.
"""

from __future__ import annotations

import functools
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from seecgnet.errors import SeecgnetError
from seecgnet.io.comments import NUMBER as _NUMBER
from seecgnet.io.comments import Sex, comment_values, parse_age, parse_dx, parse_sex

logger = logging.getLogger(__name__)

# header(5): "If the gain is zero or missing, this indicates that the signal amplitude is
# uncalibrated; in such cases, a value of 200 (DEFGAIN) ADC units per physical unit may be assumed."
UNCALIBRATED_GAIN_PER_MV = 200.0

# At most 18 digits: beyond that a count is nonsense, and Python refuses to parse huge digit strings.
_INTEGER = re.compile(r"[-+]?\d{1,18}", re.ASCII)
_SAMPLING_RATE = re.compile(rf"(?P<fs>{_NUMBER})(?:/{_NUMBER}(?:\({_NUMBER}\))?)?", re.ASCII)
_STORAGE_FORMAT = re.compile(
    r"\d{1,9}(?:x(?P<per_frame>\d+))?(?::\d{1,9})?(?:\+\d{1,18})?", re.ASCII
)
# The same field's parts, read only for records whose samples are not in a .mat.
_STORAGE_PARTS = re.compile(
    r"(?P<format>\d+)(?:x\d+)?(?::(?P<skew>\d+))?(?:\+(?P<offset>\d+))?", re.ASCII
)
_GAIN = re.compile(
    rf"(?P<gain>{_NUMBER})?(?:\((?P<baseline>[-+]?\d{{1,18}})\))?(?:/(?P<units>\S+))?", re.ASCII
)
_QUOTED_LINE_CHARS = 80
_LEAD_INTEGER_FIELDS = ("ADC resolution", "ADC zero", "first value", "checksum", "block size")


class RecordError(SeecgnetError, ValueError):
    """A record that cannot be read; the message names the file (or record) and the problem."""


class Storage(NamedTuple):
    """Where a lead's samples are stored: its signal file's name as the header writes it, WFDB's
    storage format (16, 212, ...), its skew (in frames) and the byte offset of the file's first
    sample, and the first value that format 8's differences start from."""

    file_name: str
    format: int
    skew: int = 0
    byte_offset: int = 0
    initial_value: int = 0


@dataclass(frozen=True)
class Header:
    """What a header says. Gains are in digital units per mV, baselines in digital units.

    ``name`` is the record name written on the first line; ``n_samples`` is None when the first line
    gives no number of samples; ``age`` is in years, NaN when unknown. ``signal_files`` names each
    lead's signal file (the challenge's records keep them all in ``NAME.mat``); ``storage`` says,
    lead by lead, how its samples are stored there.
    """

    name: str
    fs_hz: float
    n_samples: int | None
    lead_names: tuple[str, ...]
    gains: tuple[float, ...]
    baselines: tuple[int, ...]
    age: float
    sex: Sex
    dx_codes: tuple[str, ...]
    signal_files: tuple[str, ...] = ()
    # each lead's storage field as written ("16+24") and first value, read into Storage on demand:
    # the challenge's .mat reader needs neither, and reading them costs a tenth of a header's time
    storage_fields: tuple[tuple[str, int], ...] = ()

    @functools.cached_property
    def storage(self) -> tuple[Storage, ...]:
        return tuple(
            _storage(file_name, *field)
            for file_name, field in zip(self.signal_files, self.storage_fields, strict=True)
        )


def _storage(file_name: str, field: str, initial_value: int) -> Storage:
    match = _STORAGE_PARTS.fullmatch(field)
    assert match is not None  # checked when the header was parsed
    return Storage(
        file_name,
        int(match["format"]),
        int(match["skew"] or 0),
        int(match["offset"] or 0),
        initial_value,
    )


class _Lead(NamedTuple):
    name: str
    gain_per_mv: float
    baseline: int
    file_name: str
    storage_field: str
    initial_value: int


def parse_header(lines: Sequence[str], source: str, record_name: str | None = None) -> Header:
    """Parse a header's lines (with or without their line ends).

    ``source`` names the header in messages: its path, or where the lines came from. ``record_name``
    is the record's name where the caller knows it from the file's name: a record line or lead line
    that begins with it keeps it whole, spaces and all. Raises RecordError for a header that does not
    describe a readable record; see the module's docstring for what each quirk gets.
    """
    stripped = [line.strip() for line in lines]
    spec_lines = [line for line in stripped if line and not line.startswith("#")]
    if not spec_lines:
        raise RecordError(f"{source}: no record line (only comments or blank lines)")
    name, n_leads, fs_hz, n_samples = _parse_record_line(spec_lines[0], source, record_name)
    where = source if record_name is not None else f"{source} (record {name})"
    lead_lines = spec_lines[1:]
    if len(lead_lines) != n_leads:
        raise RecordError(
            f"{where}: the record line announces {n_leads} leads "
            f"but {len(lead_lines)} lead lines follow"
        )
    leads = [
        _parse_lead_line(line, number, where, record_name)
        for number, line in enumerate(lead_lines, start=1)
    ]
    return _header_with_comments(
        name,
        fs_hz,
        n_samples,
        [(lead.name, lead.gain_per_mv, lead.baseline) for lead in leads],
        stripped,
        where,
        tuple(lead.file_name for lead in leads),
        tuple((lead.storage_field, lead.initial_value) for lead in leads),
    )


def _parse_record_line(
    line: str, source: str, record_name: str | None
) -> tuple[str, int, float, int | None]:
    """(record name, number of leads, sampling rate in Hz, number of samples or None)."""
    first, rest = split_first_field(line, record_name)
    fields = rest.split()
    name = first.removesuffix(".mat")
    label = f"{source}: record line {_quoted(line)}"
    if "/" in name:
        raise RecordError(f"{label} describes a multi-segment record; challenge records have one")
    if not fields:
        raise RecordError(f"{label} gives no number of leads")
    n_leads = _integer(fields[0], "number of leads", label)
    if n_leads < 1:
        raise RecordError(f"{label} gives {n_leads} leads")
    if len(fields) < 2:
        raise RecordError(f"{label} gives no sampling rate")
    match = _SAMPLING_RATE.fullmatch(fields[1])
    fs_hz = float(match["fs"]) if match else math.nan
    if not (math.isfinite(fs_hz) and fs_hz > 0):
        raise RecordError(f"{label}: sampling rate {fields[1]!r} is not a positive number of Hz")
    if len(fields) < 3:
        return name, n_leads, fs_hz, None
    n_samples = _integer(fields[2], "number of samples", label)
    if n_samples < 1:
        raise RecordError(f"{label} gives {n_samples} samples")
    return name, n_leads, fs_hz, n_samples


def _parse_lead_line(line: str, number: int, where: str, record_name: str | None) -> _Lead:
    file_name, rest = split_first_field(line, record_name)
    # format, gain, five integers, then the lead's name (which may hold spaces)
    fields = rest.split(maxsplit=7)
    label = f"{where}: lead line {number} {_quoted(line)}"
    if not fields:
        raise RecordError(f"{label} gives no storage format")
    storage = _STORAGE_FORMAT.fullmatch(fields[0])
    if storage is None:
        raise RecordError(
            f"{label}: storage format {fields[0]!r} is not FORMAT[xN][:SKEW][+OFFSET]"
        )
    if storage["per_frame"] not in (None, "1"):
        raise RecordError(f"{label}: {storage['per_frame']} samples per frame; only 1 is supported")
    integers = [
        _integer(text, what, label)
        for text, what in zip(fields[2:7], _LEAD_INTEGER_FIELDS, strict=False)
    ]
    lead_name = fields[7] if len(fields) > 7 else ""
    if not lead_name:
        raise RecordError(f"{label} names no lead")
    gain, baseline, units = _parse_gain(fields[1] if len(fields) > 1 else "", label)
    if units is not None and units.lower() != "mv":
        raise RecordError(f"{where}: lead {lead_name} is in {units!r}; only mV is supported")
    if gain is None:
        _warn_uncalibrated(where, lead_name)
        gain = UNCALIBRATED_GAIN_PER_MV
    if baseline is None:
        baseline = integers[1] if len(integers) > 1 else 0  # header(5): the ADC zero
    # header(5): format 8's differences start from the first value, else from the ADC zero
    initial_value = integers[2] if len(integers) > 2 else (integers[1] if len(integers) > 1 else 0)
    return _Lead(lead_name, gain, baseline, file_name, fields[0], initial_value)


def _parse_gain(text: str, label: str) -> tuple[float | None, int | None, str | None]:
    """(gain, or None when 0 or absent; baseline or None; units or None) of GAIN(BASELINE)/UNITS."""
    if not text:
        return None, None, None
    match = _GAIN.fullmatch(text)
    if match is None:
        raise RecordError(f"{label}: gain field {text!r} is not GAIN[(BASELINE)][/UNITS]")
    gain = float(match["gain"]) if match["gain"] else 0.0
    if not math.isfinite(gain):
        raise RecordError(f"{label}: gain {match['gain']!r} is not a finite number")
    baseline = int(match["baseline"]) if match["baseline"] is not None else None
    return (gain if gain != 0 else None), baseline, match["units"]


def _warn_uncalibrated(where: str, lead_name: str) -> None:
    """Warn that lead ``lead_name`` of the header ``where`` has no gain, so WFDB's default is used."""
    logger.warning(
        "%s: lead %s has no gain (uncalibrated); assuming WFDB's %g digital units per mV",
        where,
        lead_name,
        UNCALIBRATED_GAIN_PER_MV,
    )


def _header_with_comments(
    name: str,
    fs_hz: float,
    n_samples: int | None,
    leads: list[tuple[str, float, int]],
    stripped: list[str],
    where: str,
    signal_files: tuple[str, ...] = (),
    storage_fields: tuple[tuple[str, int], ...] = (),
) -> Header:
    """The header of these record-line values and (name, gain, baseline) leads, with the age, sex
    and codes of the comment lines among ``stripped``."""
    comments = comment_values((line for line in stripped if line.startswith("#")), where)
    return Header(
        name=name,
        fs_hz=fs_hz,
        n_samples=n_samples,
        lead_names=tuple(lead[0] for lead in leads),
        gains=tuple(float(lead[1]) for lead in leads),
        baselines=tuple(int(lead[2]) for lead in leads),
        age=parse_age(comments.get("age"), where),
        sex=parse_sex(comments.get("sex"), where),
        dx_codes=parse_dx(comments.get("dx"), where),
        signal_files=signal_files,
        storage_fields=storage_fields,
    )


def split_first_field(line: str, record_name: str | None) -> tuple[str, str]:
    """(first field, rest of the line) of a record or lead line of the record ``record_name``.

    A line that begins with the record's name, or with ``NAME.mat``, keeps that name whole.
    """
    known = (f"{record_name}.mat", record_name) if record_name else ()
    for name in known:
        rest = line[len(name) :]
        if line.startswith(name) and (not rest or rest[0].isspace()):
            return name, rest
    first, *rest = line.split(maxsplit=1)
    return first, rest[0] if rest else ""


def _integer(text: str, what: str, label: str) -> int:
    if _INTEGER.fullmatch(text) is None:
        raise RecordError(f"{label}: {what} {_quoted(text)} is not an integer")
    return int(text)


def _quoted(text: str) -> str:
    """``text`` quoted for a message, cut short when long."""
    if len(text) > _QUOTED_LINE_CHARS:
        return repr(text[:_QUOTED_LINE_CHARS] + "...")
    return repr(text)
