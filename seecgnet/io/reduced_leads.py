"""Reduced-lead records: a 12-lead record cut down to some of its leads, as a reduced-lead recorder
would write it.

The 2021 challenge ("Will Two Do?") scored entries on 12-, 6-, 4-, 3- and 2-lead versions of its
records (:data:`LEAD_SETS_2021`). A reduced record holds only the kept leads: the header announces
their number and lists their lead lines, the ``.mat`` holds their rows; the other leads are absent,
not zero-valued. :func:`write_reduced_record` writes such a record the way the challenge made its
reduced-lead files from 12-lead ones (its ``extract_leads_wfdb.py``, which the tests use as an
oracle):

- the record line keeps every field but the number of leads, its fields joined by single spaces;
- the kept lead lines follow in the order asked for, each exactly as written in the full header
  (file name, gain, first value and checksum of that lead); comment lines and anything else after
  the lead lines are kept as they are; lines end in ``\\n``;
- ``val`` holds the kept rows in that order, in the type the full ``.mat`` stores, written as a
  MATLAB v4 file by ``scipy.io.savemat``.

Leads are found by name without case (the challenge's tool needs the exact name). A lead asked for
that the record lacks is a RecordError naming the header.

A record already in memory is cut down by :func:`keep_leads`, to a lead set checked by
:func:`lead_set` (as the 2021 challenge's ``load_model`` hands one to an entry).

``python -m seecgnet.io.reduced_leads INPUT OUTPUT --leads I,II`` writes a reduced copy of every
record of INPUT into OUTPUT; it creates new files only, and refuses (before writing any) an OUTPUT
where a record's file exists already.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.io

from seecgnet.destinations import OwnOutput, check_output_files
from seecgnet.errors import SeecgnetError
from seecgnet.io.headers import RecordError, parse_header, split_first_field
from seecgnet.io.records import STANDARD_LEADS, Record, find_records, read_val_matrix

__all__ = [
    "ALL_LEADS",
    "LEAD_SETS_2021",
    "keep_leads",
    "lead_set",
    "reduced_header_text",
    "write_reduced_record",
    "write_reduced_records",
]

# The lead sets of the 2021 challenge, by their number of leads.
LEAD_SETS_2021: dict[str, tuple[str, ...]] = {
    "12": STANDARD_LEADS,
    "6": ("I", "II", "III", "aVR", "aVL", "aVF"),
    "4": ("I", "II", "III", "V2"),
    "3": ("I", "II", "V2"),
    "2": ("I", "II"),
}
# The name of the set of all 12 leads.
ALL_LEADS = "12"


def lead_set(leads: Sequence[str]) -> tuple[str, ...]:
    """``leads`` as a lead set: each named as :data:`STANDARD_LEADS` spells it, in the order given.

    Names are matched without case (``AVR`` is aVR). ValueError, naming the leads, for an empty set,
    a lead named twice, or a name that is not one of the twelve standard leads.
    """
    spelling = {lead.upper(): lead for lead in STANDARD_LEADS}
    unknown = [lead for lead in leads if str(lead).upper() not in spelling]
    if unknown:
        raise ValueError(
            f"leads {', '.join(map(str, leads))}: {', '.join(map(repr, unknown))} "
            f"{'is' if len(unknown) == 1 else 'are'} not among the twelve standard leads "
            f"({', '.join(STANDARD_LEADS)})"
        )
    named = tuple(spelling[str(lead).upper()] for lead in leads)
    if not named or len(set(named)) != len(named):
        raise ValueError(f"a lead set needs distinct leads, at least one: {list(leads)}")
    return named


def keep_leads(record: Record, leads: Sequence[str]) -> Record:
    """The record holding only those of ``leads`` it has (found by name without case), in the order
    of ``leads``; its other leads are dropped, and a lead of ``leads`` it lacks stays absent.

    RecordError for a record holding none of ``leads``, or holding one of them twice.
    """
    rows = _lead_rows(record.lead_names, leads, f"record {record.name}", absent_ok=True)
    if rows == list(range(record.n_leads)):
        return record
    return dataclasses.replace(
        record,
        signal=record.signal[rows],
        lead_names=tuple(record.lead_names[row] for row in rows),
    )


def reduced_header_text(
    text: str, leads: Sequence[str], source: str, record_name: str | None = None
) -> str:
    """The header ``text`` cut down to ``leads``, in that order.

    ``source`` names the header in messages; ``record_name`` is the record's name where the caller
    knows it from the file's name (see :func:`seecgnet.io.headers.parse_header`).
    """
    return _reduce_header(text, leads, source, record_name)[0]


def _reduce_header(
    text: str, leads: Sequence[str], source: str, record_name: str | None, absent_ok: bool = False
) -> tuple[str, list[int], int]:
    """(the reduced header's text, the rows of the full record it keeps, the full number of leads)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    header = parse_header(lines, source, record_name)
    rows = _lead_rows(header.lead_names, leads, source, absent_ok)
    spec = [i for i, line in enumerate(lines) if line.strip() and not line.strip().startswith("#")]
    record_line, lead_lines = spec[0], set(spec[1:])
    first, rest = split_first_field(lines[record_line].strip(), record_name)
    fields = rest.split()
    fields[0] = str(len(rows))
    reduced = [
        *lines[:record_line],
        " ".join([first, *fields]),
        *(lines[spec[1 + row]] for row in rows),
        *(line for i, line in enumerate(lines) if i > record_line and i not in lead_lines),
    ]
    return "\n".join(reduced), rows, len(header.lead_names)


def _lead_rows(
    lead_names: Sequence[str], leads: Sequence[str], source: str, absent_ok: bool
) -> list[int]:
    """The row of each lead asked for, matched by name without case; with ``absent_ok`` the leads
    the record lacks are left out, as long as one is left."""
    if len({lead.upper() for lead in leads}) != len(leads) or not leads:
        raise ValueError(f"the leads to keep must be distinct and at least one: {list(leads)}")
    row_of: dict[str, list[int]] = {}
    for row, name in enumerate(lead_names):
        row_of.setdefault(name.upper(), []).append(row)
    rows = []
    for lead in leads:
        found = row_of.get(lead.upper(), [])
        if len(found) > 1 or not (found or absent_ok):
            what = "no lead" if not found else "two leads named"
            raise RecordError(f"{source}: {what} {lead} (its leads: {', '.join(lead_names)})")
        rows += found
    if not rows:
        raise RecordError(f"{source}: none of the leads {', '.join(leads)}")
    return rows


def write_reduced_record(
    header_path: str | os.PathLike[str],
    leads: Sequence[str],
    out_dir: str | os.PathLike[str],
    absent_ok: bool = False,
) -> Path:
    """Write the record of ``header_path`` holding only ``leads`` into ``out_dir``, under the same
    file names; return the new header's path.

    ``out_dir`` (made if missing) must not be the record's own folder, and files already there are
    never overwritten (FileExistsError). RecordError for a record that cannot be read, or that
    lacks a lead: with ``absent_ok`` a record lacking some of ``leads`` keeps those it has.
    """
    header_path = Path(header_path)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if out.resolve() == header_path.parent.resolve():
        raise ValueError(f"{out}: reduced records must go to another folder than their records")
    try:
        raw = header_path.read_bytes()
    except OSError as error:
        raise RecordError(f"{header_path}: cannot read the header ({error.strerror})") from error
    name = header_path.stem
    text, rows, n_leads = _reduce_header(
        raw.decode("utf-8", errors="surrogateescape"), leads, str(header_path), name, absent_ok
    )
    mat_path = header_path.with_suffix(".mat")
    matrix = read_val_matrix(mat_path)
    if matrix.shape[0] != n_leads:
        raise RecordError(
            f"{mat_path}: signal matrix is {matrix.shape} but the header gives {n_leads} leads"
        )
    reduced_header, reduced_mat = out / header_path.name, out / mat_path.name
    for path in (reduced_header, reduced_mat):
        if path.exists():
            raise FileExistsError(f"{path}: already exists; a reduced record never replaces a file")
    with reduced_mat.open("xb") as handle:
        scipy.io.savemat(handle, {"val": np.asarray(matrix)[rows]}, format="4")
    with reduced_header.open("x", encoding="utf-8", errors="surrogateescape", newline="\n") as f:
        f.write(text)
    return reduced_header


def write_reduced_records(
    headers: Sequence[str | os.PathLike[str]],
    leads: Sequence[str],
    out_dir: str | os.PathLike[str],
    absent_ok: bool = False,
) -> list[Path]:
    """:func:`write_reduced_record` for each header; the new headers' paths in the same order."""
    return [write_reduced_record(header, leads, out_dir, absent_ok) for header in headers]


# A reduced record never replaces a file, not even an earlier reduced copy.
_NEW_FILES_ONLY = OwnOutput(
    "reduced record", lambda path: False, "this command writes new files only"
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m seecgnet.io.reduced_leads",
        description="Write a copy of every record (NAME.hea + NAME.mat) of INPUT into OUTPUT that "
        "holds only the leads given, as the 2021 challenge made its reduced-lead records.",
    )
    parser.add_argument("input", type=Path, help="folder of records")
    parser.add_argument(
        "output", type=Path, help="folder for the reduced records (made if missing; new files only)"
    )
    parser.add_argument(
        "--leads",
        required=True,
        help="leads to keep, separated by commas (e.g. I,II), or a 2021 lead set's number: "
        + ", ".join(LEAD_SETS_2021),
    )
    parser.add_argument(
        "--absent-ok",
        action="store_true",
        help="a record lacking some of the leads keeps the others",
    )
    args = parser.parse_args(argv)
    try:
        leads = lead_set(LEAD_SETS_2021.get(args.leads) or args.leads.split(","))
        headers = find_records(args.input)
        names = [path.name for header in headers for path in (header, header.with_suffix(".mat"))]
        check_output_files(args.output, names, _NEW_FILES_ONLY, reads=[args.input])
        written = write_reduced_records(headers, leads, args.output, args.absent_ok)
    except (SeecgnetError, ValueError) as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 2
    print(f"{len(written)} records of leads {', '.join(leads)} written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
