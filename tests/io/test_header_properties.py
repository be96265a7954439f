"""Properties of the header parser: valid headers round-trip, and no text makes it fail otherwise
than with a RecordError. (Its agreement with wfdb on these headers: test_header_oracle.py.)"""

from __future__ import annotations

import contextlib
import logging
import math
import string
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seecgnet.io.headers import Header, RecordError, Sex, parse_header
from seecgnet.io.records import STANDARD_LEADS, record_from_challenge

# Sex as written in a header, and as it must read.
SEXES = {
    None: Sex.UNKNOWN,
    "Male": Sex.MALE,
    "male": Sex.MALE,
    "M": Sex.MALE,
    "Female": Sex.FEMALE,
    "FEMALE": Sex.FEMALE,
    "f": Sex.FEMALE,
    "Unknown": Sex.UNKNOWN,
    "NaN": Sex.UNKNOWN,
}


@dataclass(frozen=True)
class WrittenHeader:
    lines: list[str]
    expected: Header


@st.composite
def written_headers(draw: st.DrawFn, max_samples: int = 10**7) -> WrittenHeader:
    """A valid header in the challenge's layout, with its fields written in the ways WFDB allows."""
    name = draw(st.text(string.ascii_letters + string.digits, min_size=1, max_size=12))
    leads = draw(st.lists(st.sampled_from(STANDARD_LEADS), min_size=1, max_size=12, unique=True))
    fs_hz = draw(st.sampled_from([257.0, 500.0, 1000.0]))
    n_samples = draw(st.integers(1, max_samples))
    gains = draw(
        st.lists(
            st.one_of(st.integers(1, 100_000).map(float), st.floats(0.001, 1e5)),
            min_size=len(leads),
            max_size=len(leads),
        )
    )
    baselines = draw(st.lists(st.integers(-32768, 32767), min_size=len(leads), max_size=len(leads)))

    first = draw(st.sampled_from([name, f"{name}.mat"]))
    first_line = f"{first} {len(leads)} {fs_hz:g} {n_samples}"
    first_line += draw(st.sampled_from(["", " 12:33:59 12/05/2020", " 15-May-2020 11:39:16"]))
    lines = [first_line]
    for lead, gain, baseline in zip(leads, gains, baselines, strict=True):
        units = draw(st.sampled_from(["/mV", "/mv", ""]))
        if draw(st.booleans()):  # baseline in the gain field, or taken from the ADC zero
            gain_field, adc_zero = f"{gain!r}({baseline}){units}", 0
        else:
            gain_field, adc_zero = f"{gain!r}{units}", baseline
        lines.append(f"{name}.mat 16+24 {gain_field} 16 {adc_zero} 0 0 0 {lead}")

    age = draw(st.one_of(st.none(), st.just(math.nan), st.integers(0, 120).map(float)))
    if age is not None:
        lines.append("#Age: NaN" if math.isnan(age) else f"#Age: {age:g}")
    sex = draw(st.sampled_from(list(SEXES)))
    if sex is not None:
        lines.append(f"#Sex: {sex}")
    codes = draw(st.one_of(st.none(), st.lists(st.from_regex(r"[1-9][0-9]{5,9}", fullmatch=True))))
    if codes is not None:
        lines.append("#Dx: " + draw(st.sampled_from([",", ", "])).join(codes))
    lines += draw(st.permutations(["#Rx: Unknown", "#Hx: Unknown"]))
    line_end = draw(st.sampled_from(["", "\n", "\r\n"]))

    expected = Header(
        name=name,
        fs_hz=fs_hz,
        n_samples=n_samples,
        lead_names=tuple(leads),
        gains=tuple(gains),
        baselines=tuple(baselines),
        age=math.nan if age is None else age,
        sex=SEXES[sex],
        dx_codes=tuple(codes or ()),
    )
    return WrittenHeader([line + line_end for line in lines], expected)


@st.composite
def damaged_headers(draw: st.DrawFn) -> WrittenHeader:
    """A short valid header with one to three lines damaged: replaced, cut, or with text put in;
    ``expected`` is the header before the damage."""
    written = draw(written_headers(max_samples=50))
    lines = list(written.lines)
    for _ in range(draw(st.integers(1, 3))):
        row = draw(st.integers(0, len(lines) - 1))
        line = lines[row]
        at = draw(st.integers(0, len(line)))
        damage = draw(st.sampled_from(["replace", "cut", "insert", "drop field"]))
        if damage == "replace":
            lines[row] = draw(st.text(max_size=40))
        elif damage == "cut":
            lines[row] = line[:at]
        elif damage == "insert":
            lines[row] = line[:at] + draw(st.text(min_size=1, max_size=8)) + line[at:]
        else:
            fields = line.split()
            if fields:
                del fields[draw(st.integers(0, len(fields) - 1))]
            lines[row] = " ".join(fields)
    return WrittenHeader(lines, written.expected)


def assert_same_header(parsed: Header, expected: Header) -> None:
    assert (parsed.name, parsed.fs_hz, parsed.n_samples) == (
        expected.name,
        expected.fs_hz,
        expected.n_samples,
    )
    assert parsed.lead_names == expected.lead_names
    assert parsed.gains == expected.gains
    assert parsed.baselines == expected.baselines
    assert parsed.age == expected.age or (math.isnan(parsed.age) and math.isnan(expected.age))
    assert parsed.sex is expected.sex
    assert parsed.dx_codes == expected.dx_codes


@settings(max_examples=200, deadline=None)
@given(written_headers())
def test_valid_header_reads_back_the_fields_it_was_written_with(written: WrittenHeader) -> None:
    assert_same_header(parse_header(written.lines, "generated header"), written.expected)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=60), max_size=15))
def test_arbitrary_text_lines_fail_only_with_record_error(lines: list[str]) -> None:
    with contextlib.suppress(RecordError):
        record_from_challenge(np.zeros((1, 1)), lines)


@settings(max_examples=200, deadline=None)
@given(damaged_headers())
def test_damaged_header_gives_a_record_or_a_record_error(damaged: WrittenHeader) -> None:
    # The matrix the header had before the damage, so that reading may get past the shape check.
    shape = (len(damaged.expected.lead_names), damaged.expected.n_samples)
    try:
        record = record_from_challenge(np.zeros(shape), damaged.lines)
    except RecordError:
        return
    assert record.signal.shape == shape


class _Warnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def header_warnings() -> Iterator[list[str]]:
    """The messages of the warnings seecgnet.io.headers logs meanwhile."""
    handler = _Warnings()
    logger = logging.getLogger("seecgnet.io.headers")
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("A0001 12 500 5000", "announces 12 leads but 0 lead lines follow"),
        ("A0001/2 12 500 5000", "multi-segment"),
        ("A0001 0 500 5000", "gives 0 leads"),
        ("A0001 1 -500 5000", "sampling rate '-500' is not a positive number"),
        ("A0001 1 1e999 5000", "sampling rate '1e999' is not a positive number"),
        ("A0001 1 500 0", "gives 0 samples"),
        ("A0001 1 500 " + "9" * 40, "number of samples '9999.*' is not an integer"),
    ],
)
def test_impossible_record_line_raises_record_error_naming_the_field(
    line: str, problem: str
) -> None:
    with pytest.raises(RecordError, match=f"^test header.*{problem}"):
        parse_header([line], "test header")


@pytest.mark.parametrize(
    ("lead_line", "problem"),
    [
        ("A0001.mat 16x2 1000/mV 16 0 0 0 0 I", "2 samples per frame"),
        ("A0001.mat sixteen 1000/mV 16 0 0 0 0 I", "storage format 'sixteen'"),
        ("A0001.mat 16 1e999/mV 16 0 0 0 0 I", "gain '1e999' is not a finite number"),
        ("A0001.mat 16 1000/mV 16 zero 0 0 0 I", "ADC zero 'zero' is not an integer"),
    ],
)
def test_impossible_lead_line_raises_record_error_naming_the_field(
    lead_line: str, problem: str
) -> None:
    with pytest.raises(
        RecordError, match=f"test header \\(record A0001\\): lead line 1 .*{problem}"
    ):
        parse_header(["A0001 1 500 10", lead_line], "test header")


def test_lead_name_may_hold_spaces_and_baseline_defaults_to_adc_zero() -> None:
    header = parse_header(["A0001 1 500 10", "A0001.mat 16 200/mV 12 1024 0 0 0 MLII lead"], "h")
    assert header.lead_names == ("MLII lead",)
    assert header.baselines == (1024,)
    assert header.gains == (200.0,)
