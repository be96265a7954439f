"""Reading a header file with wfdb where wfdb reads it right, with our own parser otherwise.

:func:`read_header` reads a header file with ``wfdb.rdheader`` (wfdb 4.x) and converts its fields
to a :class:`seecgnet.headers.Header`; the comments are always parsed by :mod:`seecgnet.headers`, as
wfdb keeps them as plain text. Where wfdb refuses a header, or gives a field otherwise than the line
writes it, the header goes to :func:`seecgnet.headers.parse_header`, our own parser, in which every
way a header can be wrong ends in a RecordError naming the header and the field. The two agree on
every header wfdb's reading is kept for (tested on the shared records and on generated headers).
What wfdb does with the challenge's headers, and so which quirks send a header to our parser:

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
- Gain 0 or absent: wfdb assumes 200 without a word; the conversion adds our parser's warning.
  Units: wfdb keeps their case, and ``mv`` is mV here either way.

What our parser gives each quirk is listed in :mod:`seecgnet.headers`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import wfdb

from seecgnet.io.headers import (
    INTEGER,
    STORAGE_FORMAT,
    UNCALIBRATED_GAIN_PER_MV,
    Header,
    RecordError,
    header_with_comments,
    parse_gain,
    parse_header,
    quoted,
    split_first_field,
    warn_uncalibrated,
)

__all__ = ["header_from_wfdb", "read_header"]

# A child of seecgnet.headers' logger: which parser read a header is logged beside that header's
# warnings, and one logging setting shows both.
logger = logging.getLogger("seecgnet.io.headers.wfdb")

# What wfdb.rdheader (4.x) raises on a header it cannot read, found by reading it and by fuzzing it.
# ValueError: its HeaderSyntaxError where a line does not match its pattern (the file-name quirk),
# or int(), float() or strptime() refusing a field (a gain "1e", a time 99:99:99, a date 31/02/2020,
# an integer of over 4300 digits); IndexError: no record line; OverflowError: a sampling rate beyond
# float's range; OSError: the file gone or unreadable since it was first read.
_WFDB_REFUSALS = (ValueError, IndexError, OverflowError, OSError)


def read_header(header_path: Path, lines: Sequence[str], record_name: str) -> Header:
    """Read the header file ``NAME.hea`` whose lines are ``lines``: with wfdb where wfdb reads it
    right (:func:`header_from_wfdb`), with :func:`seecgnet.headers.parse_header` otherwise.

    ``lines`` are the file's lines decoded as UTF-8 (undecodable bytes as U+FFFD) and
    ``record_name`` the name of the file without extension. Raises RecordError as parse_header does.
    """
    header = header_from_wfdb(header_path, lines, record_name)
    if header is None:
        header = parse_header(lines, str(header_path), record_name)
    return header


def header_from_wfdb(header_path: Path, lines: Sequence[str], record_name: str) -> Header | None:
    """The header file as ``wfdb.rdheader`` reads it, in :mod:`seecgnet.headers`' conventions; None
    where wfdb refuses it or misreads it, with the reason logged at DEBUG level.

    ``lines`` and ``record_name`` are as for :func:`read_header`: the comments are parsed from the
    lines, and each field taken from wfdb is checked against them, so that a header returned here
    is the one :func:`seecgnet.headers.parse_header` reads from the same lines, warnings included.
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
            warn_uncalibrated(where, lead_name)
    return header_with_comments(
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
        raise _WfdbMisreadError(f"record line {quoted(line)}: a multi-segment record")
    # rdheader matches a prefix of the line and fills what it misses with defaults: "NAME 12 fast"
    # reads as 250 Hz, "NAME 12 500 5000abc" as 5000 samples, "rec 1 1 500" (file "rec 1.hea") as
    # record "rec". So each field must be written exactly as wfdb's value prints; one written
    # otherwise ("0500", "500/1000") goes to parse_header, which reads it the same or names it.
    first, rest = split_first_field(line, record_name)
    written = [first, *rest.split(maxsplit=3)[:3]]  # what follows the samples is ignored
    read = [record.record_name, str(record.n_sig), str(record.fs)]
    if record.sig_len is not None:
        read.append(str(record.sig_len))
    if written != read:
        raise _WfdbMisreadError(f"record line {quoted(line)} read by wfdb as {read}")
    if not (
        1 <= record.n_sig == len(spec_lines) - 1  # wfdb does not compare the two
        and record.fs > 0
        and (record.sig_len is None or (INTEGER.fullmatch(written[3]) and record.sig_len > 0))
    ):
        raise _WfdbMisreadError(f"record line {quoted(line)}: values parse_header refuses")


def _check_wfdb_lead_line(record: wfdb.Record, index: int, line: str, record_name: str) -> bool:
    """Raise _WfdbMisreadError unless wfdb read lead line ``index`` (from 0) as it is written and its
    values pass parse_header's checks; return whether the lead is uncalibrated (gain 0 or none)."""
    _, rest = split_first_field(line, record_name)
    fields = rest.split(maxsplit=7)
    # The last group of wfdb's lead-line pattern, the lead's name, takes the rest of the line, so
    # a field wfdb cannot read ends up in the name ("16 zero 0 0 0 I" is lead "zero 0 0 0 I") and
    # a field left out leaves the rest shifted. A name that equals the eighth field on shows that
    # wfdb read each field before it whole; those fields must then be in parse_header's forms.
    misread = _WfdbMisreadError(f"lead line {index + 1} {quoted(line)}")
    if len(fields) != 8 or fields[7] != record.sig_name[index]:
        raise misread
    storage = STORAGE_FORMAT.fullmatch(fields[0])  # wfdb also takes "16x", as one sample per frame
    if storage is None or storage["per_frame"] not in (None, "1"):
        raise misread
    if not all(INTEGER.fullmatch(text) for text in fields[2:7]):  # wfdb's are of any length
        raise misread
    try:
        # wfdb also takes "1000(12/mV", "1000mV" and "(5)/mV"
        gain, baseline, units = parse_gain(fields[1], "")
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
