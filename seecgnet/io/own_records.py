"""Records a command wrote, told from anyone else's: the mark a writing command leaves in a header.

A command that writes WFDB records (``NAME.hea`` + ``NAME.mat``) into a folder its user names ends
each header it writes with one more comment line::

    #Written by: python -m seecgnet.io.synthetic, sha256 HEX

HEX being the SHA-256 of the header's lines above it and of the ``.mat`` file's bytes. Run again, the
command replaces a record only where its mark still holds: a record it made and nobody changed
since. Any other file of the same name (a user's record, one edited since) is refused, by the rule
of :mod:`seecgnet.destinations`::

    kind = own_records("python -m seecgnet.io.synthetic")
    check_output_files(folder, ["SYN00001.hea", "SYN00001.mat"], kind)   # before any work
    ...                                                                  # write the records
    mark_record(folder / "SYN00001.hea", "python -m seecgnet.io.synthetic")

The WFDB readers, the challenge's included, skip comment lines they do not know.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from seecgnet.destinations import OwnOutput

# A header larger than this holds far more than any record's leads and comments: no record of ours.
_LARGEST_HEADER_BYTES = 2**20


def _mark_prefix(writer: str) -> str:
    return f"#Written by: {writer}, sha256 "


def _digest(header_lines: Sequence[bytes], mat_path: Path) -> str:
    digest = hashlib.sha256(b"".join(header_lines))
    digest.update(mat_path.read_bytes())
    return digest.hexdigest()


def mark_record(header_path: Path, writer: str) -> None:
    """End the record's header with the line telling it as ``writer``'s, unchanged since."""
    lines = Path(header_path).read_bytes().splitlines(keepends=True)
    digest = _digest(lines, Path(header_path).with_suffix(".mat"))
    with Path(header_path).open("a", encoding="ascii") as handle:
        handle.write(f"{_mark_prefix(writer)}{digest}\n")


def is_marked_record(path: Path, writer: str) -> bool:
    """Whether ``path`` (a record's ``.hea`` or ``.mat``) belongs to a record that ``writer``
    marked (:func:`mark_record`) and that nobody changed since."""
    header, mat = path.with_suffix(".hea"), path.with_suffix(".mat")
    prefix = _mark_prefix(writer).encode()
    try:
        if header.stat().st_size > _LARGEST_HEADER_BYTES:
            return False
        lines = header.read_bytes().splitlines(keepends=True)
        if not lines or not lines[-1].startswith(prefix):
            return False
        return lines[-1].strip()[len(prefix) :].decode() == _digest(lines[:-1], mat)
    except (OSError, UnicodeDecodeError):
        return False


def own_records(writer: str) -> OwnOutput:
    """The kind of file (a record's header or signal) that ``writer`` may replace: its own marked
    records, for :func:`seecgnet.destinations.check_output_files`."""
    return OwnOutput(
        "record",
        lambda path: is_marked_record(path, writer),
        f"a record {writer} wrote ends its header with a '#Written by: {writer}' line matching "
        "the record",
    )
