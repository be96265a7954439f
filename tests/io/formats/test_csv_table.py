"""The CSV layout: a column per lead named in the header row, values in mV, the rate from a
``# fs_hz:`` line; every fault a one-line RecordError naming the file, line and column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seecgnet.io.formats.csv_table import looks_like, read
from seecgnet.io.headers import RecordError, Sex

GOOD = (
    "# fs_hz: 250\n# age: 63\n# sex: female\n# dx: 164889003,426783006\n"
    "I,II,V1\n0.1,0.2,-0.3\n0.4,0.5,-0.6\n0.7,0.8,-0.9\n"
)


def _write(folder: Path, text: str, name: str = "rec.csv") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_the_documented_layout_reads_with_rate_demographics_and_codes(tmp_path: Path) -> None:
    record = read(_write(tmp_path, GOOD))
    assert record.name == "rec"
    assert record.lead_names == ("I", "II", "V1")
    assert (record.fs_hz, record.age, record.sex) == (250.0, 63.0, Sex.FEMALE)
    assert record.dx_codes == ("164889003", "426783006")
    np.testing.assert_array_equal(
        record.signal, np.array([[0.1, 0.4, 0.7], [0.2, 0.5, 0.8], [-0.3, -0.6, -0.9]], np.float32)
    )


def test_lead_labels_in_other_forms_and_microvolts_are_read(tmp_path: Path) -> None:
    text = "# fs_hz: 500\n# units: uV\ntime_s,ECG II,avr\n0,100,-250\n0.002,200,50\n"
    record = read(_write(tmp_path, text))
    assert record.lead_names == ("II", "aVR")
    np.testing.assert_allclose(record.signal, [[0.1, 0.2], [-0.25, 0.05]], rtol=1e-6)


def test_a_table_is_recognised_by_its_content_not_its_extension(tmp_path: Path) -> None:
    assert looks_like(GOOD.encode())
    assert looks_like(b"I,II,III,aVR,aVL,aVF,V1,V2")  # a header row cut off by the head's end
    assert not looks_like(b"# Examples\n\nSix synthetic records, I and II.\n")
    assert not looks_like(b"MATLAB 5.0 MAT-file\0\0")
    assert not looks_like(b"time,pressure\n0,1\n")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("I,II\n0.1,0.2\n", r"rec\.csv: no '# fs_hz: RATE' line"),
        ("# fs_hz: fast\nI,II\n0.1,0.2\n", r"rec\.csv: fs_hz 'fast' is not a positive number"),
        ("# fs_hz: 500\n# units: mmHg\nI\n1\n", r"rec\.csv: units 'mmHg' cannot be interpreted"),
        ("# fs_hz: 500\nI,II,ii\n1,2,3\n", r"rec\.csv: line 2, column 3: lead II appears twice"),
        (
            "# fs_hz: 500\nI,II\n1,2\n3\n",
            r"rec\.csv: line 4: 1 values where the header row names 2",
        ),
        ("# fs_hz: 500\nI,II\n1,2\n3,x\n", r"rec\.csv: line 4, column 2: 'x' is not a number"),
        ("# fs_hz: 500\nI,II\n1,\n", r"rec\.csv: line 3, column 2: '' is not a number"),
        (
            "# fs_hz: 500\ntime,resp\n1,2\n",
            r"rec\.csv: line 2: no column names a standard ECG lead",
        ),
        ("# fs_hz: 500\nI,II\n", r"rec\.csv: no samples after the header row"),
        ("# fs_hz: 500\n", r"rec\.csv: no header row naming the leads"),
    ],
)
def test_each_fault_is_one_line_naming_file_line_and_column(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(RecordError, match=message) as caught:
        read(_write(tmp_path, text))
    assert "\n" not in str(caught.value)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cut=st.integers(min_value=0, max_value=len(GOOD)),
    edits=st.lists(
        st.tuples(st.integers(0, len(GOOD) - 1), st.sampled_from(list(",x\n#-.e \x00é"))),
        max_size=6,
    ),
)
def test_damaged_tables_read_or_fail_in_one_line(
    tmp_path: Path, cut: int, edits: list[tuple[int, str]]
) -> None:
    """Cut tables and tables with characters overwritten give a record or a RecordError naming the
    file, never another exception."""
    text = list(GOOD[:cut])
    for position, char in edits:
        if position < len(text):
            text[position] = char
    path = _write(tmp_path, "".join(text))
    try:
        record = read(path)
    except RecordError as error:
        assert str(path) in str(error) and "\n" not in str(error)
    else:
        assert record.signal.dtype == np.float32 and record.signal.shape[0] == record.n_leads
