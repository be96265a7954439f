"""Damaged EDF, BDF, DICOM and aECG files: a RecordError naming the file (or the one-line error for a
missing library), never another exception.

Each property starts from a small valid file of its format and damages it: cut short anywhere,
bytes overwritten anywhere, or the magic bytes (EDF's ``0``, BDF's ``\\xffBIOSEMI``, DICOM's
``DICM``, the aECG's root tag) replaced.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seecgnet.io.formats import aecg, dicom, edf
from seecgnet.io.formats.leads import MissingLibraryError
from seecgnet.io.records import RecordError
from tests.io.formats.writers import small_aecg, small_record, write_dicom, write_edf

pytest.importorskip("edfio")
pytest.importorskip("pydicom")
# pydicom warns about each malformed value it reads on
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:pydicom")


def _written(write: Callable[[Path], object], suffix: str) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"seed{suffix}"
        write(path)
        return path.read_bytes()


RECORD = small_record(fs_hz=100.0, seconds=2.0)
SEEDS = {
    "edf": (edf, ".edf", _written(lambda path: write_edf(RECORD, path), ".edf"), slice(0, 8)),
    "bdf": (
        edf,
        ".bdf",
        _written(lambda path: write_edf(RECORD, path, bdf=True), ".bdf"),
        slice(0, 8),
    ),
    "dicom": (
        dicom,
        ".dcm",
        _written(lambda path: write_dicom(RECORD, path, median_beat=True), ".dcm"),
        slice(128, 132),
    ),
}
_DOCUMENT = small_aecg({"MDC_ECG_LEAD_I": "3 -2 " * 300, "MDC_ECG_LEAD_V2": "1 4 " * 300}).encode()
_ROOT = _DOCUMENT.index(b"<AnnotatedECG")
SEEDS["aecg"] = (aecg, ".xml", _DOCUMENT, slice(_ROOT, _ROOT + 13))


def read_damaged(kind: str, data: bytes) -> None:
    """Read ``data`` as a file of ``kind``: a record or a one-line error naming the file."""
    reader, suffix, _, _ = SEEDS[kind]
    assert isinstance(reader.looks_like(data[:1024]), bool)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"damaged{suffix}"
        path.write_bytes(data)
        try:
            reader.read(path)
        except (RecordError, MissingLibraryError) as error:
            assert str(path) in str(error) or isinstance(error, MissingLibraryError)
            assert "\n" not in str(error)


def test_every_seed_reads_whole() -> None:
    for reader, suffix, data, _ in SEEDS.values():
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"seed{suffix}"
            path.write_bytes(data)
            assert reader.looks_like(data[:1024])
            assert reader.read(path).n_leads >= 2


@pytest.mark.parametrize("kind", sorted(SEEDS))
@settings(max_examples=int(os.environ.get("N", 40)), deadline=None)
@given(fraction=st.floats(0.0, 1.0, exclude_max=True))
def test_a_file_cut_short_is_a_record_error(kind: str, fraction: float) -> None:
    data = SEEDS[kind][2]
    read_damaged(kind, data[: int(len(data) * fraction)])


@pytest.mark.parametrize("kind", sorted(SEEDS))
@settings(max_examples=int(os.environ.get("N", 60)), deadline=None)
@given(
    changes=st.lists(
        st.tuples(st.floats(0.0, 1.0, exclude_max=True), st.integers(0, 255)),
        min_size=1,
        max_size=8,
    ),
    near_start=st.booleans(),
)
def test_overwritten_bytes_are_a_record_error(kind: str, changes: list, near_start: bool) -> None:
    data = bytearray(SEEDS[kind][2])
    # headers are where damage bites: half the draws land in the first 2 KB
    span = min(len(data), 2048) if near_start else len(data)
    for where, value in changes:
        data[int(where * span)] = value
    read_damaged(kind, bytes(data))


@pytest.mark.parametrize("kind", sorted(SEEDS))
@settings(max_examples=int(os.environ.get("N", 20)), deadline=None)
@given(magic=st.binary(min_size=4, max_size=13))
def test_a_wrong_magic_is_a_record_error(kind: str, magic: bytes) -> None:
    _, _, data, where = SEEDS[kind]
    size = where.stop - where.start
    damaged = data[: where.start] + magic.ljust(size, b"?")[:size] + data[where.stop :]
    read_damaged(kind, damaged)
