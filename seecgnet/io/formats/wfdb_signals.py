"""Reading WFDB records whose samples are in signal files (``NAME.dat``), as PhysioNet's databases
(PTB, PTB-XL, MIMIC-IV-ECG, LUDB, INCART, MIT-BIH) store them.

The header is read by the package's one header parser (:func:`seecgnet.io.headers.parse_header`),
which gives each lead's signal file, storage format, skew and byte offset. A header whose leads are
all in ``NAME.mat`` is a challenge record, read exactly as :func:`seecgnet.io.records.read_record`
reads it. Otherwise the signal files are decoded here, with numpy, in the storage formats of WFDB's
``signal(5)``:

- 8 (8-bit first differences from the header's first value), 16 (16-bit, little-endian), 61
  (16-bit, big-endian), 80 (8-bit offset by 128), 160 (16-bit offset by 32768), 24 and 32 (24- and
  32-bit, little-endian), 212 (two 12-bit samples in 3 bytes), 310 (three 10-bit samples in two
  16-bit words), 311 (three 10-bit samples in one 32-bit word). wfdb's ``rdrecord`` is the oracle of
  the tests on every one of them. The FLAC formats (508, 516, 524) are refused with a RecordError.
- Several signal files per record, each holding its leads' samples frame by frame; a byte offset
  (``16+24``) skips the file's first bytes; a skew (``16:3``) means a lead's sample n is stored in
  frame n + 3. Its last samples are read from the frames after the header's length where the file
  holds them (wfdb-python marks them invalid instead), and are NaN where it does not (set to 0 when
  the signal is prepared).
- Lead names in any case and in the other forms :func:`standard_lead_name` knows (``i``, ``avr``,
  ``ECG V1``). Leads outside the twelve (PTB's Frank leads vx, vy, vz; MIT-BIH's MLII) are dropped,
  said once per record, and their files are not read. A record without any standard lead, two
  leads with the same name, a missing or truncated signal file: RecordError naming the file.
- Samples are kept as stored, WFDB's "invalid sample" value included, as the ``.mat`` reader does.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from seecgnet.io.formats.leads import standard_lead_name
from seecgnet.io.headers import Header, RecordError
from seecgnet.io.records import Record, read_val_matrix, read_wfdb_header, record_from_digital

__all__ = ["FORMATS", "read_digital", "read_wfdb_record", "samples_in"]

logger = logging.getLogger(__name__)

# The storage formats read here, with the bytes a group of samples takes and the samples in it.
FORMATS: dict[int, tuple[int, int]] = {
    8: (1, 1), 16: (2, 1), 61: (2, 1), 80: (1, 1), 160: (2, 1), 24: (3, 1), 32: (4, 1),
    212: (3, 2), 310: (4, 3), 311: (4, 3),
}  # fmt: skip
_SIMPLE = {16: "<i2", 61: ">i2", 32: "<i4", 8: "i1", 80: "u1", 160: "<u2"}
_OFFSETS = {80: 128, 160: 32768}


def read_wfdb_record(path: str | os.PathLike[str]) -> Record:
    """Read the WFDB record whose header is ``path`` (``NAME.hea``), from ``.mat`` or signal files."""
    header_path = Path(path)
    name = header_path.name.removesuffix(".hea")
    header = read_wfdb_header(header_path, name)
    if all(file_name.endswith(".mat") for file_name in header.signal_files):
        mat_path = header_path.with_name(name + ".mat")
        return record_from_digital(header, read_val_matrix(mat_path), str(mat_path), name)
    rows, standard = _standard_rows(header, header_path)
    digital = read_digital(header, header_path.parent, rows)
    kept = dataclasses.replace(
        header,
        n_samples=digital.shape[1],
        lead_names=standard,
        gains=tuple(header.gains[row] for row in rows),
        baselines=tuple(header.baselines[row] for row in rows),
        signal_files=tuple(header.signal_files[row] for row in rows),
        storage_fields=tuple(header.storage_fields[row] for row in rows),
    )
    files = sorted({header.storage[row].file_name for row in rows})
    return record_from_digital(kept, digital, str(header_path.parent / files[0]), name)


def _standard_rows(header: Header, header_path: Path) -> tuple[list[int], tuple[str, ...]]:
    """The rows of the header's standard leads, and their standard names; the others are said once."""
    rows: list[int] = []
    names: list[str] = []
    others: list[str] = []
    for row, label in enumerate(header.lead_names):
        lead = standard_lead_name(label)
        if lead is None:
            others.append(label)
        elif lead in names:
            raise RecordError(f"{header_path}: lead {lead} appears twice ({label!r})")
        else:
            rows.append(row)
            names.append(lead)
    if not rows:
        raise RecordError(
            f"{header_path}: none of its leads ({', '.join(header.lead_names)}) is one of the "
            "twelve standard ECG leads"
        )
    if others:
        logger.warning(
            "%s: leads %s are not among the twelve standard leads; dropped",
            header_path,
            ", ".join(others),
        )
    return rows, tuple(names)


def read_digital(header: Header, folder: Path, rows: Sequence[int] | None = None) -> np.ndarray:
    """The digital samples (``rows`` × samples; all leads by default) of a header's signal files in
    ``folder``: int32 or int64, or float64 where a skew reaches past a file's end (NaN there)."""
    rows = range(len(header.lead_names)) if rows is None else rows
    n_frames = header.n_samples
    files = {header.storage[row].file_name for row in rows}
    if len(files) == 1 and n_frames is not None and not any(s.skew for s in header.storage):
        # the common case (PTB-XL, MIMIC-IV-ECG): one file, no skew; no copy before the cast to mV
        in_file = [i for i, s in enumerate(header.storage) if s.file_name in files]
        frames = _read_file(header, folder / files.pop(), in_file)[:n_frames]
        columns = [in_file.index(row) for row in rows]
        return frames.T if columns == list(range(len(in_file))) else frames[:, columns].T
    decoded: dict[int, np.ndarray] = {}
    for file_name in dict.fromkeys(header.storage[row].file_name for row in rows):
        in_file = [i for i, storage in enumerate(header.storage) if storage.file_name == file_name]
        frames = _read_file(header, folder / file_name, in_file)
        for column, lead in enumerate(in_file):
            decoded[lead] = frames[:, column]
    if n_frames is None:  # the header gives no length: what every file holds
        n_frames = min(decoded[row].shape[0] for row in rows)
    return np.stack([_skewed(decoded[row], header.storage[row].skew, n_frames) for row in rows])


def _skewed(samples: np.ndarray, skew: int, n_frames: int) -> np.ndarray:
    """A lead's samples, delayed by ``skew`` frames; NaN past the file's end."""
    shifted = samples[skew : skew + n_frames]
    if shifted.shape[0] >= n_frames:
        return shifted
    padded = np.full(n_frames, np.nan)
    padded[: shifted.shape[0]] = shifted
    return padded


def _read_file(header: Header, path: Path, leads: list[int]) -> np.ndarray:
    """A signal file's samples as (frames, leads in the file), decoded."""
    storage = header.storage[leads[0]]
    formats = {header.storage[i].format for i in leads}
    if len(formats) > 1 or storage.format not in FORMATS:
        raise RecordError(
            f"{path}: storage format {'/'.join(map(str, sorted(formats)))} is not one read here "
            f"(WFDB formats {', '.join(map(str, FORMATS))})"
        )
    width = len(leads)
    needed = None
    if header.n_samples is not None:
        needed = header.n_samples * width
    raw = _read_bytes(path, storage.byte_offset)
    available = samples_in(len(raw), storage.format)
    if needed is not None and available < needed:
        raise RecordError(
            f"{path}: truncated: the header gives {header.n_samples} samples of {width} leads "
            f"({needed} in format {storage.format}) but the file holds {available}"
        )
    count = available - available % width
    frames = _decode(raw, storage.format, count).reshape(-1, width)
    if storage.format == 8:  # first differences, each lead from its first value
        initial = np.array([header.storage[i].initial_value for i in leads], dtype=np.int64)
        frames = np.cumsum(frames, axis=0, dtype=np.int64) + initial
    return frames


def _read_bytes(path: Path, offset: int) -> bytes:
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            return handle.read()
    except FileNotFoundError as error:
        raise RecordError(f"{path}: no such signal file") from error
    except OSError as error:
        raise RecordError(f"{path}: cannot read the signal file ({error.strerror})") from error


def samples_in(n_bytes: int, storage_format: int) -> int:
    """How many whole samples ``n_bytes`` bytes of a storage format hold."""
    group_bytes, group_samples = FORMATS[storage_format]
    groups, rest = divmod(n_bytes, group_bytes)
    if storage_format == 212:
        partial = 1 if rest == 2 else 0
    elif storage_format in (310, 311):
        partial = {0: 0, 1: 0, 2: 1, 3: 1 if storage_format == 310 else 2}[rest]
    else:
        partial = 0
    return groups * group_samples + partial


def _decode(raw: bytes, storage_format: int, count: int) -> np.ndarray:
    """The first ``count`` samples of ``raw`` in a storage format, as integers."""
    if storage_format in _SIMPLE:
        dtype = np.dtype(_SIMPLE[storage_format])
        values = np.frombuffer(raw, dtype, count)
        if storage_format in _OFFSETS:
            return values.astype(np.int32) - _OFFSETS[storage_format]
        return values
    group_bytes, group_samples = FORMATS[storage_format]
    groups = -(-count // group_samples)
    padded = np.zeros(groups * group_bytes, dtype=np.uint8)
    usable = min(len(raw), padded.size)
    padded[:usable] = np.frombuffer(raw, np.uint8, usable)
    b = padded.reshape(groups, group_bytes).astype(np.int64)
    if storage_format == 24:
        values, bits = b[:, 0] | b[:, 1] << 8 | b[:, 2] << 16, 24
    elif storage_format == 212:
        first = b[:, 0] | (b[:, 1] & 0x0F) << 8
        second = b[:, 2] | (b[:, 1] & 0xF0) << 4
        values, bits = np.stack([first, second], axis=1), 12
    elif storage_format == 310:
        word0, word1 = b[:, 0] | b[:, 1] << 8, b[:, 2] | b[:, 3] << 8
        third = (word0 >> 11 & 0x1F) | (word1 >> 11 & 0x1F) << 5
        values, bits = np.stack([word0 >> 1 & 0x3FF, word1 >> 1 & 0x3FF, third], axis=1), 10
    else:  # 311
        word = b[:, 0] | b[:, 1] << 8 | b[:, 2] << 16 | b[:, 3] << 24
        values = np.stack([word & 0x3FF, word >> 10 & 0x3FF, word >> 20 & 0x3FF], axis=1)
        bits = 10
    flat = values.reshape(-1)[:count]
    # two's complement of the format's width
    return np.where(flat >= 1 << (bits - 1), flat - (1 << bits), flat)
