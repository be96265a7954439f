"""Reading a WFDB header (``NAME.hea``) as the 2020 challenge writes it.

A header is a *record line* ``NAME LEADS FS SAMPLES [date time]``, one *lead line* per lead
``FILE FORMAT GAIN[(BASELINE)][/UNITS] RESOLUTION ZERO FIRST CHECKSUM BLOCK LEAD`` and comment lines,
of which ``#Age:``, ``#Sex:`` and ``#Dx:`` (comma-separated SNOMED CT codes) carry the demographics
and the labels. Fields follow PhysioNet's WFDB header format, ``header(5)``.

:func:`read_header` reads a header file with ``wfdb.rdheader`` (wfdb 4.x) and converts its fields
to a :class:`Header`; the comments are always parsed here, as wfdb keeps them as plain text. Where
wfdb refuses a header, or gives a field otherwise than the line writes it, the header goes to
:func:`parse_header`, our own parser, in which every way a header can be wrong ends in a RecordError
naming the header and the field. The two agree on every header wfdb's reading is kept for (tested on
the shared records and on generated headers). What wfdb does with the challenge's headers:

- The file-name quirk, ``E00018.mat 12 500 ...`` (50 of the 295 shared records): wfdb's record-name
  pattern allows no dot, and rdheader raises HeaderSyntaxError. Our parser drops the ``.mat``.
- Dates written ``15-May-2020 11:39:16`` (every shared record): wfdb silently reads the day as a
  time of 15 s and skips the rest. Date and time are not used, so there is nothing to correct; a date
  wfdb's strptime refuses (``31/02/2020``) only sends the header to our parser, which ignores it.
- wfdb decodes a header as ASCII and drops other bytes silently (``Ä0001`` reads ``0001``, and a
  stray byte 0xFF in ``#Age: 6?0`` would read 60): record and lead lines holding other text go to
  our parser, and comments are parsed from the file's UTF-8 text.
- wfdb's line patterns read a prefix of a line and fill what they miss with defaults, silently
  (``NAME 12 fast 5000`` is 12 leads at 250 Hz without a length, ``16 zero 0 0 0 I`` a lead named
  ``zero 0 0 0 I``, ``1000mV`` a gain of 1000 per mV), and do not compare the number of leads with
  the lead lines: a field is taken from wfdb only where the whole field of the line says the same.
- Gain 0 or absent: wfdb assumes 200 without a word; the conversion adds this module's warning.
  Units: wfdb keeps their case, and ``mv`` is mV here either way.

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

import enum
import logging
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import wfdb

logger = logging.getLogger(__name__)

# header(5): "If the gain is zero or missing, this indicates that the signal amplitude is
# uncalibrated; in such cases, a value of 200 (DEFGAIN) ADC units per physical unit may be assumed."
UNCALIBRATED_GAIN_PER_MV = 200.0
MAX_PLAUSIBLE_AGE_YEARS = 120.0

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
# At most 18 digits: beyond that a count is nonsense, and Python refuses to parse huge digit strings.
_INTEGER = re.compile(r"[-+]?\d{1,18}", re.ASCII)
_SAMPLING_RATE = re.compile(rf"(?P<fs>{_NUMBER})(?:/{_NUMBER}(?:\({_NUMBER}\))?)?", re.ASCII)
_FORMAT = re.compile(r"\d+(?:x(?P<per_frame>\d+))?(?::\d+)?(?:\+\d+)?", re.ASCII)
_GAIN = re.compile(
    rf"(?P<gain>{_NUMBER})?(?:\((?P<baseline>[-+]?\d{{1,18}})\))?(?:/(?P<units>\S+))?", re.ASCII
)
_SNOMED_CODE = re.compile(r"\d+", re.ASCII)
_UNKNOWN_WORDS = frozenset({"", "nan", "unknown"})
_QUOTED_LINE_CHARS = 80
_LEAD_INTEGER_FIELDS = ("ADC resolution", "ADC zero", "first value", "checksum", "block size")
# What wfdb.rdheader (4.x) raises on a header it cannot read, found by reading it and by fuzzing it.
# ValueError: its HeaderSyntaxError where a line does not match its pattern (the file-name quirk),
# or int(), float() or strptime() refusing a field (a gain "1e", a time 99:99:99, a date 31/02/2020,
# an integer of over 4300 digits); IndexError: no record line; OverflowError: a sampling rate beyond
# float's range; OSError: the file gone or unreadable since it was first read.
_WFDB_REFUSALS = (ValueError, IndexError, OverflowError, OSError)


class RecordError(ValueError):
    """A record that cannot be read; the message names the file (or record) and the problem."""


class Sex(enum.Enum):
    MALE = "Male"
    FEMALE = "Female"
    UNKNOWN = "Unknown"

    @classmethod
    def parse(cls, text: str | None) -> Sex:
        """``Male``/``M`` and ``Female``/``F`` in any case; anything else or nothing is UNKNOWN."""
        word = (text or "").strip().lower()
        if word in ("male", "m"):
            return cls.MALE
        if word in ("female", "f"):
            return cls.FEMALE
        return cls.UNKNOWN


@dataclass(frozen=True)
class Header:
    """What a header says. Gains are in digital units per mV, baselines in digital units.

    ``name`` is the record name written on the first line; ``n_samples`` is None when the first line
    gives no number of samples; ``age`` is in years, NaN when unknown.
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


@dataclass(frozen=True)
class _Lead:
    name: str
    gain_per_mv: float
    baseline: int


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
    return _with_comments(
        name,
        fs_hz,
        n_samples,
        [(lead.name, lead.gain_per_mv, lead.baseline) for lead in leads],
        stripped,
        where,
    )


def read_header(header_path: Path, lines: Sequence[str], record_name: str) -> Header:
    """Read the header file ``NAME.hea`` whose lines are ``lines``: with wfdb where wfdb reads it
    right (:func:`header_from_wfdb`), with :func:`parse_header` otherwise.

    ``lines`` are the file's lines decoded as UTF-8 (undecodable bytes as U+FFFD) and
    ``record_name`` the name of the file without extension. Raises RecordError as parse_header does.
    """
    header = header_from_wfdb(header_path, lines, record_name)
    if header is None:
        header = parse_header(lines, str(header_path), record_name)
    return header


def header_from_wfdb(header_path: Path, lines: Sequence[str], record_name: str) -> Header | None:
    """The header file as ``wfdb.rdheader`` reads it, in this module's conventions; None where
    wfdb refuses it or misreads it, with the reason logged at DEBUG level.

    ``lines`` and ``record_name`` are as for :func:`read_header`: the comments are parsed from the
    lines, and each field taken from wfdb is checked against them, so that a header returned here
    is the one :func:`parse_header` reads from the same lines, warnings included.
    """
    where = str(header_path)
    stripped = [line.strip() for line in lines]
    spec_lines = [line for line in stripped if line and not line.startswith("#")]
    if not spec_lines or not all(line.isascii() for line in spec_lines):
        # rdheader decodes the file as ASCII and drops any other byte without a word.
        return _not_from_wfdb(where, "no record line, or non-ASCII text in a record or lead line")
    try:
        # Local files only: without pn_dir, rdheader never reaches the network.
        record = wfdb.rdheader(str(header_path.with_suffix("")))
    except _WFDB_REFUSALS as error:
        # For real headers, the file-name quirk: "E00018.mat 12 500 ..." (50 of the shared records)
        # raises HeaderSyntaxError, as wfdb's record-name pattern [-\w]+ allows no dot.
        return _not_from_wfdb(where, f"wfdb.rdheader raised {type(error).__name__}: {error}")
    try:
        _check_wfdb_record_line(record, spec_lines, record_name)
        uncalibrated = [
            _check_wfdb_lead_line(record, index, line, record_name)
            for index, line in enumerate(spec_lines[1:])
        ]
    except _WfdbMisreadError as misreading:
        return _not_from_wfdb(where, str(misreading))
    for lead_name, no_gain in zip(record.sig_name, uncalibrated, strict=True):
        if no_gain:  # wfdb's gain of 200 is right; the warning is what it leaves out
            _warn_uncalibrated(where, lead_name)
    return _with_comments(
        record.record_name,
        float(record.fs),
        record.sig_len,
        list(zip(record.sig_name, record.adc_gain, record.baseline, strict=True)),
        stripped,
        where,
    )


class _WfdbMisreadError(Exception):
    """wfdb read a header line otherwise than it is written; the message says where."""


def _not_from_wfdb(where: str, reason: str) -> None:
    logger.debug("%s: read by our own parser, not wfdb: %s", where, reason)


def _check_wfdb_record_line(
    record: wfdb.Record | wfdb.MultiRecord, spec_lines: list[str], record_name: str
) -> None:
    """Raise _WfdbMisreadError unless wfdb read the record line's name, number of leads, sampling
    rate and number of samples as they are written, and the values pass parse_header's checks."""
    line = spec_lines[0]
    if not isinstance(record, wfdb.Record):  # a multi-segment record, which parse_header refuses
        raise _WfdbMisreadError(f"record line {_quote(line)}: a multi-segment record")
    # rdheader matches a prefix of the line and fills what it misses with defaults: "NAME 12 fast"
    # reads as 250 Hz, "NAME 12 500 5000abc" as 5000 samples, "rec 1 1 500" (file "rec 1.hea") as
    # record "rec". So each field must be written exactly as wfdb's value prints; one written
    # otherwise ("0500", "500/1000") goes to parse_header, which reads it the same or names it.
    first, rest = _split_first_field(line, _known_names(record_name))
    written = [first, *rest.split(maxsplit=3)[:3]]  # what follows the samples is ignored
    read = [record.record_name, str(record.n_sig), str(record.fs)]
    if record.sig_len is not None:
        read.append(str(record.sig_len))
    if written != read:
        raise _WfdbMisreadError(f"record line {_quote(line)} read by wfdb as {read}")
    if not (
        1 <= record.n_sig == len(spec_lines) - 1  # wfdb does not compare the two
        and record.fs > 0
        and (record.sig_len is None or (_INTEGER.fullmatch(written[3]) and record.sig_len > 0))
    ):
        raise _WfdbMisreadError(f"record line {_quote(line)}: values parse_header refuses")


def _check_wfdb_lead_line(record: wfdb.Record, index: int, line: str, record_name: str) -> bool:
    """Raise _WfdbMisreadError unless wfdb read lead line ``index`` (from 0) as it is written and its
    values pass parse_header's checks; return whether the lead is uncalibrated (gain 0 or none)."""
    _, rest = _split_first_field(line, _known_names(record_name))
    fields = rest.split(maxsplit=7)
    # The last group of wfdb's lead-line pattern, the lead's name, takes the rest of the line, so
    # a field wfdb cannot read ends up in the name ("16 zero 0 0 0 I" is lead "zero 0 0 0 I") and
    # a field left out leaves the rest shifted. A name that equals the eighth field on shows that
    # wfdb read each field before it whole; those fields must then be in parse_header's forms.
    misread = _WfdbMisreadError(f"lead line {index + 1} {_quote(line)}")
    if len(fields) != 8 or fields[7] != record.sig_name[index]:
        raise misread
    storage = _FORMAT.fullmatch(fields[0])  # wfdb also takes "16x", as one sample per frame
    if storage is None or storage["per_frame"] not in (None, "1"):
        raise misread
    if not all(_INTEGER.fullmatch(text) for text in fields[2:7]):  # wfdb's are of any length
        raise misread
    try:
        # wfdb also takes "1000(12/mV", "1000mV" and "(5)/mV"
        gain, baseline, units = _parse_gain(fields[1], "")
    except RecordError as error:
        raise misread from error
    if (
        (gain or UNCALIBRATED_GAIN_PER_MV) != record.adc_gain[index]
        or (int(fields[3]) if baseline is None else baseline) != record.baseline[index]
        or (units or "mV") != record.units[index]
        or record.units[index].lower() != "mv"
    ):
        raise misread
    return gain is None


def _parse_record_line(
    line: str, source: str, record_name: str | None
) -> tuple[str, int, float, int | None]:
    """(record name, number of leads, sampling rate in Hz, number of samples or None)."""
    first, rest = _split_first_field(line, _known_names(record_name))
    fields = rest.split()
    name = first.removesuffix(".mat")
    label = f"{source}: record line {_quote(line)}"
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
    _, rest = _split_first_field(line, _known_names(record_name))
    # format, gain, five integers, then the lead's name (which may hold spaces)
    fields = rest.split(maxsplit=7)
    label = f"{where}: lead line {number} {_quote(line)}"
    if not fields:
        raise RecordError(f"{label} gives no storage format")
    storage = _FORMAT.fullmatch(fields[0])
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
    return _Lead(lead_name, gain, baseline)


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
    logger.warning(
        "%s: lead %s has no gain (uncalibrated); assuming WFDB's %g digital units per mV",
        where,
        lead_name,
        UNCALIBRATED_GAIN_PER_MV,
    )


def _with_comments(
    name: str,
    fs_hz: float,
    n_samples: int | None,
    leads: list[tuple[str, float, int]],
    stripped: list[str],
    where: str,
) -> Header:
    """The header of these record-line values and (name, gain, baseline) leads, with the age, sex
    and codes of the comment lines among ``stripped``."""
    comments = _comment_values((line for line in stripped if line.startswith("#")), where)
    return Header(
        name=name,
        fs_hz=fs_hz,
        n_samples=n_samples,
        lead_names=tuple(lead[0] for lead in leads),
        gains=tuple(float(lead[1]) for lead in leads),
        baselines=tuple(int(lead[2]) for lead in leads),
        age=_parse_age(comments.get("age"), where),
        sex=_parse_sex(comments.get("sex"), where),
        dx_codes=_parse_dx(comments.get("dx"), where),
    )


def _comment_values(lines: Iterable[str], where: str) -> dict[str, str]:
    """``#Key: value`` lines as {lower-case key: value}; the first of a repeated key counts."""
    values: dict[str, str] = {}
    for line in lines:
        key, colon, value = line.lstrip("#").partition(":")
        key = key.strip().lower()
        if not colon:
            continue
        if key not in values:
            values[key] = value.strip()
        elif key in ("age", "sex", "dx"):
            logger.warning("%s: a second #%s line; the first one counts", where, key.capitalize())
    return values


def _parse_age(text: str | None, where: str) -> float:
    """Age in years; NaN when unknown, not a number, or implausible (a warning for the last two)."""
    if text is None or text.lower() in _UNKNOWN_WORDS:
        return math.nan
    if not re.fullmatch(_NUMBER, text, re.ASCII):
        logger.warning("%s: #Age %r is not a number; age unknown", where, text)
        return math.nan
    age = float(text)
    if not 0 <= age <= MAX_PLAUSIBLE_AGE_YEARS:
        logger.warning(
            "%s: #Age %s is implausible (not 0 to %g years); age unknown",
            where,
            text,
            MAX_PLAUSIBLE_AGE_YEARS,
        )
        return math.nan
    return age


def _parse_sex(text: str | None, where: str) -> Sex:
    sex = Sex.parse(text)
    if sex is Sex.UNKNOWN and text is not None and text.lower() not in _UNKNOWN_WORDS:
        logger.warning("%s: #Sex %r is neither male nor female; sex unknown", where, text)
    return sex


def _parse_dx(text: str | None, where: str) -> tuple[str, ...]:
    """The ``#Dx`` codes as written: stripped, empty entries dropped."""
    if text is None:
        logger.warning("%s: no #Dx line; the record has no diagnosis codes", where)
        return ()
    codes = tuple(code.strip() for code in text.split(",") if code.strip())
    if not codes:
        logger.warning("%s: the #Dx line holds no code", where)
    odd = [code for code in codes if not _SNOMED_CODE.fullmatch(code)]
    if odd:
        logger.warning("%s: #Dx codes %s are not SNOMED CT numbers; kept as written", where, odd)
    return codes


def _known_names(record_name: str | None) -> tuple[str, ...]:
    """The first fields that a record or lead line of the record ``record_name`` keeps whole."""
    return (f"{record_name}.mat", record_name) if record_name else ()


def _split_first_field(line: str, known: Iterable[str]) -> tuple[str, str]:
    """(first field, rest of the line); a line that begins with a known name keeps that name whole."""
    for name in known:
        rest = line[len(name) :]
        if line.startswith(name) and (not rest or rest[0].isspace()):
            return name, rest
    first, *rest = line.split(maxsplit=1)
    return first, rest[0] if rest else ""


def _integer(text: str, what: str, label: str) -> int:
    if _INTEGER.fullmatch(text) is None:
        raise RecordError(f"{label}: {what} {_quote(text)} is not an integer")
    return int(text)


def _quote(text: str) -> str:
    """``text`` quoted for a message, cut short when long."""
    if len(text) > _QUOTED_LINE_CHARS:
        return repr(text[:_QUOTED_LINE_CHARS] + "...")
    return repr(text)
