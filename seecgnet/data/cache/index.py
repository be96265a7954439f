"""The record cache's index: what ``index.json`` and ``complete.json`` hold, written and read back.

``index.json`` holds one row per record, ``[name, offset, length, codes, age, sex, *stamp]``
(offset and length in samples at the working rate, an unknown age as null), one row per record that
could not be read, ``[name, reason, *stamp]``, and the format version, the signal settings, the data
folder, the generation and the size of ``signals.f16``. ``complete.json``, written after it, holds
the generation and the size again: :func:`read_index` keeps an index only where the two agree with
each other, with ``signals.f16`` and with the settings asked for. A stamp is the size and
modification time of a record's ``.hea`` and ``.mat`` (or ``.dat``; a file of another format
stands for both), by which :mod:`seecgnet.data.cache.build`
finds the records that changed.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from seecgnet.data.cache.store import CachedRecord
from seecgnet.data.signals import SignalSettings
from seecgnet.io.records import Sex

__all__ = [
    "COMPLETE_FILE",
    "FORMAT_VERSION",
    "INDEX_FILE",
    "SIGNALS_FILE",
    "CacheIndex",
    "FileStamp",
    "IndexEntry",
    "IndexFailure",
    "file_stamp",
    "preparation",
    "read_index",
    "write_index",
]

# Beside the builder's logger under seecgnet.data.cache: why a cache is rebuilt is logged with the
# cache's other messages.
log = logging.getLogger(__name__)

# Bump when what is stored changes: the layout, or how prepare_signal makes a signal.
# 2: non-finite samples are zeroed before resampling, not after.
FORMAT_VERSION = 2
# The SignalSettings fields that prepare_signal reads; the others act when windows are drawn, so one
# cache serves every value of them. A field that prepare_signal comes to read must be added here.
_PREPARATION_FIELDS = ("fs_hz",)

SIGNALS_FILE = "signals.f16"
INDEX_FILE = "index.json"
COMPLETE_FILE = "complete.json"


@dataclass(frozen=True, slots=True)
class FileStamp:
    """The size and modification time (ns) of a record's .hea and .mat, to tell when they change."""

    hea_size: int
    hea_mtime_ns: int
    mat_size: int
    mat_mtime_ns: int


_UNREADABLE = FileStamp(-1, -1, -1, -1)


@dataclass(frozen=True, slots=True)
class IndexEntry(CachedRecord):
    """A cached record as the index keeps it: with the stamp of its files when it was decoded."""

    stamp: FileStamp


@dataclass(frozen=True, slots=True)
class IndexFailure:
    """A record that could not be read, with why, as the index keeps it."""

    name: str
    reason: str
    stamp: FileStamp


@dataclass
class CacheIndex:
    """What index.json holds; generation 0 stands for no usable cache."""

    generation: int = 0
    signal_bytes: int = 0
    entries: list[IndexEntry] = field(default_factory=list)
    failures: list[IndexFailure] = field(default_factory=list)


def preparation(settings: SignalSettings) -> dict[str, Any]:
    """The settings a cache is built for and keyed by: those that prepare_signal reads."""
    return {name: getattr(settings, name) for name in _PREPARATION_FIELDS}


def file_stamp(record: Path) -> FileStamp:
    """The stamp of the record whose file (a ``.hea``, or another format's file) is ``record``; all
    -1 where a file cannot be stat'ed. A WFDB record's signal file is its ``.mat``, else its
    ``.dat``; a file of another format is the record's only file, and stands in both places."""
    try:
        hea = record.stat()
        mat = hea if record.suffix != ".hea" else _signal_stat(record)
    except OSError:  # vanished since the listing: decoding will fail and say why
        return _UNREADABLE
    return FileStamp(hea.st_size, hea.st_mtime_ns, mat.st_size, mat.st_mtime_ns)


def _signal_stat(header: Path) -> os.stat_result:
    try:
        return header.with_suffix(".mat").stat()
    except FileNotFoundError:
        return header.with_suffix(".dat").stat()


def write_index(folder: Path, index: CacheIndex, data_dir: Path, settings: SignalSettings) -> None:
    """Write index.json, then complete.json, each atomically; the marker last, so that a run killed
    before it leaves a cache that the next run rebuilds."""
    _write_atomically(folder / INDEX_FILE, _index_json(index, data_dir, settings))
    marker = {"generation": index.generation, "signal_bytes": index.signal_bytes}
    _write_atomically(folder / COMPLETE_FILE, json.dumps(marker))


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(path)


def _index_json(index: CacheIndex, data_dir: Path, settings: SignalSettings) -> str:
    """The index: one row per record, [name, offset, length, codes, age, sex, *stamp]."""
    return json.dumps(
        {
            "format": FORMAT_VERSION,
            "data_dir": str(data_dir.resolve()),
            "preparation": preparation(settings),
            "signal_settings": dataclasses.asdict(settings),
            "generation": index.generation,
            "signal_bytes": index.signal_bytes,
            "records": [
                # JSON has no NaN: an unknown age is null
                [
                    e.name,
                    e.offset,
                    e.length,
                    e.dx_codes,
                    None if np.isnan(e.age) else e.age,
                    e.sex.value,
                    *dataclasses.astuple(e.stamp),
                ]
                for e in index.entries
            ],
            "failures": [[f.name, f.reason, *dataclasses.astuple(f.stamp)] for f in index.failures],
        },
        ensure_ascii=False,
    )


def read_index(folder: Path, data_dir: Path, settings: SignalSettings) -> CacheIndex:
    """The cache's index when the cache is complete and was built for these settings; otherwise an
    empty index of generation 0, which makes the cache be rebuilt."""
    try:
        marker = json.loads((folder / COMPLETE_FILE).read_text(encoding="utf-8"))
        data = json.loads((folder / INDEX_FILE).read_text(encoding="utf-8"))
        size = (folder / SIGNALS_FILE).stat().st_size
    except FileNotFoundError:
        if (folder / INDEX_FILE).exists() or (folder / (SIGNALS_FILE + ".partial")).exists():
            log.warning(
                "record cache %s is incomplete (an interrupted build); rebuilding it", folder
            )
        return CacheIndex()
    except (OSError, ValueError) as error:
        log.warning("record cache %s is unreadable (%s); rebuilding it", folder, error)
        return CacheIndex()
    problem = _index_problem(marker, data, size, data_dir, settings)
    if problem is not None:
        log.warning("record cache %s: %s; rebuilding it", folder, problem)
        return CacheIndex()
    try:
        entries = [
            IndexEntry(
                name,
                offset,
                length,
                tuple(codes),
                float("nan") if age is None else age,
                Sex(sex),
                FileStamp(*stamp),
            )
            for name, offset, length, codes, age, sex, *stamp in data["records"]
        ]
        failures = [
            IndexFailure(name, reason, FileStamp(*stamp))
            for name, reason, *stamp in data["failures"]
        ]
        return CacheIndex(data["generation"], data["signal_bytes"], entries, failures)
    except (KeyError, TypeError, ValueError) as error:
        log.warning("record cache %s: malformed index (%r); rebuilding it", folder, error)
        return CacheIndex()


def _index_problem(
    marker: Any, data: Any, size: int, data_dir: Path, settings: SignalSettings
) -> str | None:
    """Why a cache cannot be read as it is, or None when it can."""
    if not isinstance(marker, dict) or not isinstance(data, dict):
        return "index or completion marker is not a JSON object"
    if data.get("format") != FORMAT_VERSION:
        return f"format {data.get('format')!r}, expected {FORMAT_VERSION}"
    if data.get("preparation") != preparation(settings):
        return f"built with {data.get('preparation')}, wanted {preparation(settings)}"
    if data.get("data_dir") != str(data_dir.resolve()):
        return f"built for {data.get('data_dir')!r}, not {str(data_dir.resolve())!r}"
    if marker.get("generation") != data.get("generation"):
        return (
            f"completion marker of generation {marker.get('generation')!r} for index "
            f"generation {data.get('generation')!r} (an interrupted update)"
        )
    if not marker.get("signal_bytes") == data.get("signal_bytes") == size:
        return (
            f"{SIGNALS_FILE} holds {size} bytes, the index expects {data.get('signal_bytes')!r} "
            f"and the marker {marker.get('signal_bytes')!r} (an interrupted or damaged build)"
        )
    return None
