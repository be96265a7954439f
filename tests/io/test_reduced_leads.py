"""Reduced-lead records: a record cut down to some of its leads, byte for byte as the 2021
challenge's own extract_leads_wfdb.py writes it, and read back with only those leads."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from seecgnet.io.records import STANDARD_LEADS, RecordError, read_record
from seecgnet.io.reduced_leads import (
    LEAD_SETS_2021,
    keep_leads,
    lead_set,
    reduced_header_text,
    write_reduced_record,
    write_reduced_records,
)
from seecgnet.io.synthetic import write_synthetic_record
from tests.paths import REFERENCE

HARNESS = REFERENCE / "official_2021_harness"
needs_harness = pytest.mark.skipif(
    not (HARNESS / "extract_leads_wfdb.py").is_file(),
    reason="the 2021 challenge's harness (../shared/reference/official_2021_harness) absent",
)
SHUFFLED = ("V6", "aVF", "I", "V1", "III", "V3", "aVR", "II", "V5", "aVL", "V2", "V4")


def records(folder: Path) -> list[Path]:
    """Synthetic records with the shapes a reduced record must keep: the standard header, a
    header without date and time, leads in another order, 257 Hz, and a first line that names
    the .mat file (as 50 of the shared records do)."""
    headers = [
        write_synthetic_record(folder, "A0001", seed=1),
        write_synthetic_record(folder, "E0002", four_field_first_line=True, age=None, seed=2),
        write_synthetic_record(folder, "HR0003", lead_order=SHUFFLED, seed=3),
        write_synthetic_record(folder, "Q0004", fs_hz=257, duration_s=7.3, sex="F", seed=4),
        write_synthetic_record(folder, "S0005", seed=5),
    ]
    text = headers[4].read_text()
    headers[4].write_text(text.replace("S0005 12", "S0005.mat 12", 1))
    return headers


@pytest.fixture(scope="module")
def extract_leads() -> ModuleType:
    """The 2021 challenge's extract_leads_wfdb.py, imported from the shared folder (it imports its
    helper_code.py from beside it)."""
    sys.path.insert(0, str(HARNESS))
    try:
        yield importlib.import_module("extract_leads_wfdb")
    finally:
        sys.path.remove(str(HARNESS))
        sys.modules.pop("extract_leads_wfdb", None)
        sys.modules.pop("helper_code", None)


@needs_harness
@pytest.mark.parametrize(
    "leads",
    [*LEAD_SETS_2021.values(), ("V6", "I", "aVR")],
    ids=[*(f"{n}_leads" for n in LEAD_SETS_2021), "another_order"],
)
def test_reduced_records_are_byte_for_byte_the_2021_tools(tmp_path, extract_leads, leads):
    headers = records(tmp_path / "full")
    arguments = ["-i", str(tmp_path / "full"), "-o", str(tmp_path / "oracle"), "-l", *leads]
    extract_leads.run(extract_leads.get_parser().parse_args(arguments))
    written = write_reduced_records(headers, leads, tmp_path / "ours")
    assert [p.name for p in written] == [p.name for p in headers]
    oracle = sorted(p.name for p in (tmp_path / "oracle").iterdir())
    assert sorted(p.name for p in (tmp_path / "ours").iterdir()) == oracle
    for name in oracle:
        ours, theirs = (
            (tmp_path / "ours" / name).read_bytes(),
            (tmp_path / "oracle" / name).read_bytes(),
        )
        assert ours == theirs, name


def test_a_reduced_record_holds_only_its_leads_in_the_order_asked(tmp_path):
    full = read_record(records(tmp_path / "full")[2])  # leads in another order
    reduced = read_record(
        write_reduced_record(tmp_path / "full" / "HR0003.hea", ("V2", "I"), tmp_path / "out")
    )
    assert reduced.lead_names == ("V2", "I")
    np.testing.assert_array_equal(
        reduced.signal, full.signal[[SHUFFLED.index("V2"), SHUFFLED.index("I")]]
    )
    assert (reduced.fs_hz, reduced.age, reduced.sex, reduced.dx_codes) == (
        full.fs_hz,
        full.age,
        full.sex,
        full.dx_codes,
    )
    first_line = (tmp_path / "out" / "HR0003.hea").read_text().splitlines()[0]
    assert first_line.split()[:2] == ["HR0003", "2"]


def test_leads_are_found_without_case_and_a_lead_the_record_lacks_names_the_header(tmp_path):
    header = write_synthetic_record(tmp_path / "full", "A0001", lead_order=("I", "II", "V1"))
    text = header.read_text()
    reduced = reduced_header_text(text, ("v1", "i"), str(header), "A0001")
    assert [line.split()[-1] for line in reduced.splitlines()[1:3]] == ["V1", "I"]
    with pytest.raises(RecordError, match=r"A0001\.hea: no lead V2"):
        write_reduced_record(header, ("I", "II", "V2"), tmp_path / "out")
    kept = write_reduced_record(header, ("I", "II", "V2"), tmp_path / "out", absent_ok=True)
    assert read_record(kept).lead_names == ("I", "II")
    with pytest.raises(RecordError, match="none of the leads V5, V6"):
        write_reduced_record(header, ("V5", "V6"), tmp_path / "other", absent_ok=True)


def test_a_reduced_record_never_replaces_a_file(tmp_path):
    header = write_synthetic_record(tmp_path / "full", "A0001")
    before = header.read_bytes(), header.with_suffix(".mat").read_bytes()
    with pytest.raises(ValueError, match="another folder"):
        write_reduced_record(header, ("I", "II"), tmp_path / "full")
    write_reduced_record(header, ("I", "II"), tmp_path / "out")
    with pytest.raises(FileExistsError, match="A0001"):
        write_reduced_record(header, ("I",), tmp_path / "out")
    assert (header.read_bytes(), header.with_suffix(".mat").read_bytes()) == before
    assert read_record(tmp_path / "out" / "A0001.hea").lead_names == ("I", "II")


def test_the_2021_lead_sets_are_the_challenges():
    assert LEAD_SETS_2021 == {
        "12": STANDARD_LEADS,
        "6": ("I", "II", "III", "aVR", "aVL", "aVF"),
        "4": ("I", "II", "III", "V2"),
        "3": ("I", "II", "V2"),
        "2": ("I", "II"),
    }


def test_a_lead_set_takes_the_standard_spelling_and_names_a_lead_it_does_not_know():
    assert lead_set(("v2", "AVR", "i")) == ("V2", "aVR", "I")
    assert lead_set(LEAD_SETS_2021["12"]) == STANDARD_LEADS
    with pytest.raises(ValueError, match=r"'ECG1' is not among the twelve standard leads"):
        lead_set(("I", "ECG1"))
    with pytest.raises(ValueError, match=r"'X', 'Y' are not among"):
        lead_set(("X", "II", "Y"))
    for wrong in ((), ("I", "i")):
        with pytest.raises(ValueError, match="distinct leads, at least one"):
            lead_set(wrong)


def test_keeping_leads_drops_the_others_and_leaves_the_missing_ones_absent(tmp_path):
    full = read_record(records(tmp_path)[2])  # leads in another order
    kept = keep_leads(full, ("II", "v1", "V2"))
    assert kept.lead_names == ("II", "V1", "V2")
    rows = [SHUFFLED.index(lead) for lead in kept.lead_names]
    np.testing.assert_array_equal(kept.signal, full.signal[rows])
    assert (kept.name, kept.fs_hz, kept.dx_codes) == (full.name, full.fs_hz, full.dx_codes)
    two = keep_leads(kept, ("I", "II", "V2"))  # I is not in the record: absent, not zero
    assert two.lead_names == ("II", "V2")
    assert keep_leads(two, ("II", "V2")) is two
    with pytest.raises(RecordError, match=r"record HR0003: none of the leads V5, V6"):
        keep_leads(two, ("V5", "V6"))
