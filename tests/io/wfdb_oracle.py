"""wfdb.rdheader as the oracle of the header parser: its reading of a header file, where it reads
the file as it is written.

wfdb (4.x) reads some headers wrongly without a word (``seecgnet.io.headers`` lists how), so its
reading counts only where each field it gives is the field the line writes, checked here against
the line's text with the WFDB header grammar (``header(5)``). Otherwise :func:`read_with_wfdb`
says why not: wfdb refused the file (an exception), the header holds text wfdb drops (non-ASCII),
or wfdb gave a field otherwise than it is written, or a value no reader can use.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import wfdb

from seecgnet.io.headers import UNCALIBRATED_GAIN_PER_MV

# What rdheader raises on a header it cannot read, found by reading it and by fuzzing it.
# ValueError: its HeaderSyntaxError where a line does not match its pattern (the file-name quirk),
# or int(), float() or strptime() refusing a field (a gain "1e", a time 99:99:99, a date 31/02/2020,
# an integer of over 4300 digits); IndexError: no record line; OverflowError: a sampling rate beyond
# float's range.
WFDB_REFUSALS = (ValueError, IndexError, OverflowError)

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_INTEGER = re.compile(r"[-+]?\d{1,18}", re.ASCII)
_FORMAT = re.compile(r"\d+(?:x(?P<per_frame>\d+))?(?::\d+)?(?:\+\d+)?", re.ASCII)
_GAIN = re.compile(
    rf"(?P<gain>{_NUMBER})?(?:\((?P<baseline>[-+]?\d{{1,18}})\))?(?:/(?P<units>\S+))?", re.ASCII
)


@dataclass(frozen=True)
class WfdbHeader:
    """The fields wfdb gives, in seecgnet's conventions (gains per mV, 200 where uncalibrated)."""

    name: str
    fs_hz: float
    n_samples: int | None
    lead_names: tuple[str, ...]
    gains: tuple[float, ...]
    baselines: tuple[int, ...]
    uncalibrated: tuple[str, ...]  # the leads whose gain is 0 or absent
    # the codes of the first "Dx:" comment wfdb keeps; None where a comment holds text that is not
    # ASCII, which wfdb drops ("#\x80Dx: 1" would read "Dx: 1")
    dx_codes: tuple[str, ...] | None


@dataclass(frozen=True)
class WfdbReading:
    """wfdb's reading of a header file, or None and why it does not count."""

    header: WfdbHeader | None
    why_not: str = ""

    @property
    def refused(self) -> bool:
        return self.why_not.startswith("refused")


class _MisreadError(Exception):
    """wfdb gave a field otherwise than the line writes it."""


def read_with_wfdb(header_path: Path, record_name: str) -> WfdbReading:
    """Read ``NAME.hea`` with ``wfdb.rdheader``; the reading, where it is the header as written."""
    text = header_path.read_bytes().decode("utf-8", errors="replace")
    lines = [line.strip() for line in text.splitlines()]
    spec = [line for line in lines if line and not line.startswith("#")]
    comments_whole = all(line.isascii() for line in lines if line.startswith("#"))
    if not spec or not all(line.isascii() for line in spec):
        return WfdbReading(
            None, "dropped: no record line, or text that is not ASCII, which wfdb drops"
        )
    try:
        # Local files only: without pn_dir, rdheader never reaches the network.
        record = wfdb.rdheader(str(header_path.with_suffix("")))
    except WFDB_REFUSALS as error:
        return WfdbReading(None, f"refused: {type(error).__name__}: {error}")
    try:
        if not isinstance(record, wfdb.Record):
            raise _MisreadError("a multi-segment record")
        _check_record_line(record, spec, record_name)
        uncalibrated = [
            _check_lead_line(record, index, line, record_name)
            for index, line in enumerate(spec[1:])
        ]
    except _MisreadError as misread:
        return WfdbReading(None, f"misread: {misread}")
    return WfdbReading(
        WfdbHeader(
            name=record.record_name,
            fs_hz=float(record.fs),
            n_samples=record.sig_len,
            lead_names=tuple(record.sig_name),
            gains=tuple(float(gain) for gain in record.adc_gain),
            baselines=tuple(int(baseline) for baseline in record.baseline),
            uncalibrated=tuple(
                n for n, no in zip(record.sig_name, uncalibrated, strict=True) if no
            ),
            dx_codes=_dx_codes(record.comments) if comments_whole else None,
        )
    )


def _first_field(line: str, record_name: str) -> tuple[str, str]:
    """(first field, rest) of a line; a record name with spaces, as the file names it, is whole."""
    for name in (f"{record_name}.mat", record_name):
        if line.startswith(name) and (len(line) == len(name) or line[len(name)].isspace()):
            return name, line[len(name) :]
    first, *rest = line.split(maxsplit=1)
    return first, rest[0] if rest else ""


def _check_record_line(record: wfdb.Record, spec: list[str], record_name: str) -> None:
    """The name, number of leads, rate and number of samples as written, and values a reader can
    use: wfdb reads a prefix of the line and fills the rest with defaults ("NAME 12 fast" is 12
    leads at 250 Hz), and does not compare the number of leads with the lead lines."""
    first, rest = _first_field(spec[0], record_name)
    written = [first, *rest.split(maxsplit=3)[:3]]  # the date and time are not compared
    # a count written with leading zeros ("01" leads) is that number, to wfdb and to the parser
    written = [
        written[0],
        *(str(int(f)) if f.isdigit() and f.isascii() else f for f in written[1:]),
    ]
    read = [record.record_name, str(record.n_sig), str(record.fs)]
    if record.sig_len is not None:
        read.append(str(record.sig_len))
    if written != read:
        raise _MisreadError(f"record line {spec[0]!r} read as {read}")
    if not (1 <= record.n_sig == len(spec) - 1 and record.fs > 0):
        raise _MisreadError(f"record line {spec[0]!r}: {record.n_sig} leads at {record.fs} Hz")
    if record.sig_len is not None and not (_INTEGER.fullmatch(written[3]) and record.sig_len > 0):
        raise _MisreadError(f"record line {spec[0]!r}: {record.sig_len} samples")


def _check_lead_line(record: wfdb.Record, index: int, line: str, record_name: str) -> bool:
    """Lead line ``index`` as written; whether its gain is 0 or absent. The last group of wfdb's
    pattern, the lead's name, takes the rest of the line, so a field wfdb cannot read ends in the
    name ("16 zero 0 0 0 I" is lead "zero 0 0 0 I"): the name must be the eighth field on."""
    fields = _first_field(line, record_name)[1].split(maxsplit=7)
    misread = _MisreadError(f"lead line {index + 1} {line!r}")
    if len(fields) != 8 or fields[7] != record.sig_name[index]:
        raise misread
    storage = _FORMAT.fullmatch(fields[0])  # wfdb also takes "16x", as one sample per frame
    if storage is None or storage["per_frame"] not in (None, "1"):
        raise misread
    if not all(_INTEGER.fullmatch(text) for text in fields[2:7]):  # wfdb's are of any length
        raise misread
    gain_field = _GAIN.fullmatch(fields[1])  # wfdb also takes "1000(12/mV", "1000mV", "(5)/mV"
    if gain_field is None:
        raise misread
    gain = float(gain_field["gain"] or 0)
    baseline = gain_field["baseline"]
    units = gain_field["units"] or "mV"
    if not (
        math.isfinite(gain)
        and (gain or UNCALIBRATED_GAIN_PER_MV) == record.adc_gain[index]
        and int(fields[3] if baseline is None else baseline) == record.baseline[index]
        and units == record.units[index]
        and units.lower() == "mv"
    ):
        raise misread
    return gain == 0


def _dx_codes(comments: list[str]) -> tuple[str, ...]:
    """The codes of the first ``Dx:`` comment wfdb kept, stripped, empty entries left out."""
    for comment in comments:
        key, _, value = comment.partition(":")
        if key.strip().lower() == "dx":
            return tuple(code.strip() for code in value.split(",") if code.strip())
    return ()
