"""An on-disk cache of prepared records: a data folder is decoded and resampled once, then only read.

:func:`open_cache` keeps one cache folder per data folder and working rate under ``cache_dir``:

- ``signals.f16``: every record's prepared signal (:func:`seecgnet.dataset.prepare_signal`), one
  after another, each stored time-major as (samples, 12) float16, so that any stretch of a record is
  one contiguous read;
- ``index.json``: per record its name, offset and length (in samples at the working rate), ``#Dx``
  codes, age and sex, and the size and modification time of its ``.hea`` and ``.mat``; the records
  that could not be read, with why; the format version, the signal settings and the data folder;
- ``complete.json``, written last: the generation of the index and the size ``signals.f16`` must
  have. Without it, or when it disagrees with the index or the file, the cache is rebuilt, not read.

A record whose files changed (size or modification time), a new record and a removed record are
found by comparing every file's ``stat`` with the index; only new and changed records are decoded
again, appended to ``signals.f16``. Labels are encoded from the stored codes when the cache is
opened, so one cache serves any class list.

Why float16: 2 bytes a sample like int16, but no scale to choose and no clipping. Its 11-bit
significand rounds a sample by at most 0.05 % of its value: at most 0.5 µV below 2 mV, where almost
every ECG sample lies (about the 1 µV step of the challenge's int16 files at 1000 units per mV), and
at most 16 µV near 32 mV, well under the noise of such a signal. int16 in µV would be as precise
below 2 mV but would clip above ±32.8 mV, which resampling overshoot and the databases stored with a
low gain can reach. Only samples beyond float16's ±65,504 mV are clipped, counted and reported.

Reading: :class:`CachedStore` reads a record with ``os.preadv`` into a fresh array rather than
through a memory map: pages touched through a long-lived map count in the process's resident memory
and would grow over an epoch, while pages read with ``pread`` stay in the kernel's page cache. The
store pickles without any signal and opens its file lazily in each process (DataLoader workers).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from tqdm import tqdm

from seecgnet.classes import ScoredClasses
from seecgnet.dataset import ReadFailure, prepare_signal
from seecgnet.records import STANDARD_LEADS, RecordError, Sex, find_records, read_record
from seecgnet.signals import SignalSettings

__all__ = [
    "COMPLETE_FILE",
    "FORMAT_VERSION",
    "INDEX_FILE",
    "SIGNALS_FILE",
    "CacheError",
    "CachedStore",
    "cache_folder",
    "open_cache",
]

log = logging.getLogger(__name__)

# Bump when what is stored changes: the layout, or how prepare_signal makes a signal.
FORMAT_VERSION = 1
# The SignalSettings fields that prepare_signal reads; the others act when windows are drawn, so one
# cache serves every value of them. A field that prepare_signal comes to read must be added here.
_PREPARATION_FIELDS = ("fs_hz",)

SIGNALS_FILE = "signals.f16"
INDEX_FILE = "index.json"
COMPLETE_FILE = "complete.json"
_LOCK_FILE = "lock"
_DTYPE = np.dtype("<f2")
_FLOAT16_MAX = float(np.finfo(np.float16).max)
_GROUP_BYTES = 4_000_000
_N_LEADS = len(STANDARD_LEADS)
_SAMPLE_BYTES = _N_LEADS * _DTYPE.itemsize


class CacheError(RuntimeError):
    """A cache file is not what its index says, or changed while a store was reading it."""


@dataclass(frozen=True, slots=True)
class _Stamp:
    """The size and modification time (ns) of a record's .hea and .mat, to tell when they change."""

    hea_size: int
    hea_mtime_ns: int
    mat_size: int
    mat_mtime_ns: int


_UNREADABLE = _Stamp(-1, -1, -1, -1)


@dataclass(frozen=True, slots=True)
class _Entry:
    """A cached record: where its signal lies in signals.f16 (in samples) and its header's data."""

    name: str
    offset: int
    length: int
    dx_codes: tuple[str, ...]
    age: float
    sex: Sex
    stamp: _Stamp


@dataclass(frozen=True, slots=True)
class _Failed:
    name: str
    reason: str
    stamp: _Stamp


@dataclass
class _Index:
    generation: int = 0
    signal_bytes: int = 0
    entries: list[_Entry] = field(default_factory=list)
    failures: list[_Failed] = field(default_factory=list)


@dataclass(frozen=True)
class _Decoded:
    """What a worker sends back for one record: its signal (samples, 12) float16 and header data."""

    signal: np.ndarray
    dx_codes: tuple[str, ...]
    age: float
    sex: Sex
    clipped: int


class CachedStore:
    """Prepared records read from a cache's signals.f16; a :class:`seecgnet.dataset.RecordStore`.

    ``names``, ``labels`` (records × classes, bool), ``ages`` (years, NaN where unknown) and
    ``sexes`` are held in memory; signals are read from disk on each call, (12, samples) float32 mV
    at the cache's working rate.
    """

    def __init__(
        self,
        signal_path: Path,
        entries: Sequence[_Entry],
        classes: ScoredClasses,
        file_id: tuple[int, int],
    ) -> None:
        self._fd: int | None = None
        self.signal_path = signal_path
        self.names = [e.name for e in entries]
        self.labels = classes.encode_many(e.dx_codes for e in entries)
        self.ages = np.array([e.age for e in entries], dtype=np.float64)
        self.sexes = [e.sex for e in entries]
        self.offsets = np.array([e.offset for e in entries], dtype=np.int64)
        self.lengths = np.array([e.length for e in entries], dtype=np.int64)
        self._file_id = file_id  # (device, inode) of the file the offsets belong to

    def __len__(self) -> int:
        return len(self.names)

    def signal(self, index: int) -> np.ndarray:
        """The whole prepared signal of record ``index``, (12, samples) float32 mV."""
        raw = self._read(index, 0, int(self.lengths[index]))
        return raw.T.astype(np.float32, order="C")

    def window(self, index: int, start: int, length: int) -> np.ndarray:
        """Samples ``start`` to ``start + length`` of record ``index``, (12, length) float32 mV.

        Only that stretch is read. Samples before the record's start or past its end are zeros, as
        :func:`seecgnet.signals.cut_window` pads a shifted window.
        """
        out = np.zeros((_N_LEADS, length), dtype=np.float32)
        first, stop = max(0, start), min(int(self.lengths[index]), start + length)
        if stop > first:
            out[:, first - start : stop - start] = self._read(index, first, stop - first).T
        return out

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_fd"] = None  # each process opens the file for itself
        return state

    def _read(self, index: int, first: int, count: int) -> np.ndarray:
        """Samples first..first+count of a record as stored, (count, 12) float16."""
        raw = np.empty((count, _N_LEADS), dtype=_DTYPE)
        view = memoryview(raw).cast("B")
        position = (int(self.offsets[index]) + first) * _SAMPLE_BYTES
        done = 0
        while done < len(view):
            got = os.preadv(self._file(), [view[done:]], position + done)
            if got == 0:
                raise CacheError(
                    f"{self.signal_path}: ends at byte {position + done}, inside record "
                    f"{self.names[index]!r}; the cache was damaged while in use"
                )
            done += got
        return raw

    def _file(self) -> int:
        if self._fd is None:
            fd = os.open(self.signal_path, os.O_RDONLY)
            status = os.fstat(fd)
            if (status.st_dev, status.st_ino) != self._file_id:
                os.close(fd)
                raise CacheError(
                    f"{self.signal_path} was rebuilt after this store was opened; open the cache "
                    "again"
                )
            self._fd = fd
        return self._fd


def cache_folder(
    cache_dir: str | os.PathLike[str], data_dir: str | os.PathLike[str], settings: SignalSettings
) -> Path:
    """The folder under ``cache_dir`` that caches ``data_dir`` prepared with ``settings``."""
    data = Path(data_dir).resolve()
    key = json.dumps(
        {"format": FORMAT_VERSION, "data_dir": str(data), **_preparation(settings)},
        sort_keys=True,
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", data.name) or "data"
    return Path(cache_dir) / f"{slug}-{settings.fs_hz}Hz-{digest}"


def open_cache(
    data_dir: str | os.PathLike[str],
    cache_dir: str | os.PathLike[str],
    classes: ScoredClasses,
    settings: SignalSettings,
    workers: int = 1,
    progress: bool = True,
) -> tuple[CachedStore, list[ReadFailure]]:
    """The records of ``data_dir`` through its cache, building or updating the cache as needed.

    Same contract as :func:`seecgnet.dataset.load_store`: unreadable records are skipped with one
    warning each and returned; a record's name is its header's file name without ``.hea``. The first
    call decodes every record in ``workers`` processes; later calls decode only the records whose
    files are new or changed. Runs that open the same cache wait for each other.
    """
    data_dir = Path(data_dir)
    folder = cache_folder(cache_dir, data_dir, settings)
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with _locked(folder / _LOCK_FILE):
        headers = find_records(data_dir, require_signal=False)  # a missing .mat is a failure
        # stat before decoding: a file changed during the build then looks changed on the next open
        stamps = {header.stem: _stamp(header) for header in headers}
        index = _read_index(folder, data_dir, settings)
        plan = _plan(index, headers, stamps)
        if plan is not None:
            if plan.fresh:
                log.info("building the record cache %s for %d records", folder, len(plan.todo))
            else:
                log.info(
                    "updating the record cache %s: %d records kept, %d to decode",
                    folder,
                    len(plan.kept) + len(plan.kept_failures),
                    len(plan.todo),
                )
            index = _update(folder, data_dir, settings, index, plan, stamps, workers, progress)
        signal_path = folder / SIGNALS_FILE
        status = signal_path.stat()
    order = {header.stem: position for position, header in enumerate(headers)}
    entries = sorted(index.entries, key=lambda e: order[e.name])
    failed = sorted(index.failures, key=lambda f: order[f.name])
    failures = [ReadFailure(data_dir / f"{f.name}.hea", f.reason) for f in failed]
    for failure in failures:
        log.warning("skipping %s: %s", failure.path, failure.reason)
    store = CachedStore(signal_path, entries, classes, (status.st_dev, status.st_ino))
    log.info(
        "record cache %s: %d records, %d unreadable, %.1f s",
        folder,
        len(store),
        len(failures),
        time.perf_counter() - started,
    )
    return store, failures


@dataclass(frozen=True)
class _Plan:
    """What an update keeps of the cache and what it decodes."""

    kept: list[_Entry]
    kept_failures: list[_Failed]
    todo: list[Path]
    fresh: bool  # write a new signals file instead of appending to the present one


def _plan(index: _Index, headers: list[Path], stamps: dict[str, _Stamp]) -> _Plan | None:
    """None when the cache holds exactly the folder's records as they are now."""
    if index.generation == 0:  # no usable cache
        return _Plan([], [], headers, fresh=True)
    kept = [e for e in index.entries if stamps.get(e.name) == e.stamp]
    kept_failures = [f for f in index.failures if stamps.get(f.name) == f.stamp]
    known = {e.name for e in kept} | {f.name for f in kept_failures}
    todo = [header for header in headers if header.stem not in known]
    if not todo and len(kept) + len(kept_failures) == len(index.entries) + len(index.failures):
        return None
    live_bytes = sum(e.length for e in kept) * _SAMPLE_BYTES
    if index.signal_bytes - live_bytes > live_bytes:
        # Changed and removed records have left more dead space than records: start again.
        return _Plan([], [], headers, fresh=True)
    return _Plan(kept, kept_failures, todo, fresh=False)


def _preparation(settings: SignalSettings) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in _PREPARATION_FIELDS}


def _stamp(header: Path) -> _Stamp:
    try:
        hea, mat = header.stat(), header.with_suffix(".mat").stat()
    except OSError:  # vanished since the listing: decoding will fail and say why
        return _UNREADABLE
    return _Stamp(hea.st_size, hea.st_mtime_ns, mat.st_size, mat.st_mtime_ns)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _decode_record(header: Path, settings: SignalSettings) -> _Decoded | ReadFailure:
    """Read and prepare one record (in a worker process); a failure says why."""
    try:
        record = read_record(header)
        signal = prepare_signal(record, settings)
    except (RecordError, ValueError, OSError) as error:
        return ReadFailure(header, str(error))
    if not record.dx_codes:  # load_store's rule: no diagnosis is not "no disease"
        return ReadFailure(header, "no diagnosis code (#Dx) to learn from")
    clipped = int(np.count_nonzero(np.abs(signal) > _FLOAT16_MAX))
    if clipped:
        signal = np.clip(signal, -_FLOAT16_MAX, _FLOAT16_MAX)
    stored = np.ascontiguousarray(signal.T, dtype=_DTYPE)  # (samples, 12)
    return _Decoded(stored, record.dx_codes, record.age, record.sex, clipped)


def _decode_group(headers: list[Path], settings: SignalSettings) -> list[_Decoded | ReadFailure]:
    return [_decode_record(header, settings) for header in headers]


def _decoded(
    headers: list[Path],
    stamps: dict[str, _Stamp],
    settings: SignalSettings,
    workers: int,
    progress: bool,
) -> Iterator[tuple[Path, _Decoded | ReadFailure]]:
    """Each header with its decoded record, in order, decoded by ``workers`` processes.

    Records go to the workers in groups of about _GROUP_BYTES of .mat: a group of many 10-s records
    pays for one hand-over, and a long record travels alone, so the few groups in flight (joblib
    dispatches two per worker ahead) stay small in memory whatever the number of records.
    """
    groups: list[list[Path]] = []
    group_bytes = _GROUP_BYTES
    for header in headers:
        size = max(0, stamps[header.stem].mat_size)
        if group_bytes + size > _GROUP_BYTES:
            groups.append([])
            group_bytes = 0
        groups[-1].append(header)
        group_bytes += size
    # Starting worker processes takes seconds: not worth it for a group or two.
    n_jobs = max(1, min(workers, len(groups) // 2))
    results = Parallel(n_jobs=n_jobs, return_as="generator", batch_size=1)(
        delayed(_decode_group)(group, settings) for group in groups
    )
    with tqdm(
        total=len(headers), desc="caching records", unit="record", disable=not progress
    ) as bar:
        for group, decoded in zip(groups, results, strict=True):
            yield from zip(group, decoded, strict=True)
            bar.update(len(group))


def _update(
    folder: Path,
    data_dir: Path,
    settings: SignalSettings,
    index: _Index,
    plan: _Plan,
    stamps: dict[str, _Stamp],
    workers: int,
    progress: bool,
) -> _Index:
    """Decode ``plan.todo`` into signals.f16 (appended, or a new file) and write the new index.

    The completion marker is removed first and written last, so a run killed anywhere in between
    leaves a cache that the next run rebuilds. Results come back from the workers in order and are
    written as they come, so memory holds a few records, not the data set.
    """
    (folder / COMPLETE_FILE).unlink(missing_ok=True)
    signal_path = folder / SIGNALS_FILE
    target = signal_path.with_name(SIGNALS_FILE + ".partial") if plan.fresh else signal_path
    start_bytes = 0 if plan.fresh else index.signal_bytes
    new = _Index(index.generation + 1, 0, list(plan.kept), list(plan.kept_failures))
    clipped = 0
    with target.open("wb" if plan.fresh else "r+b") as out:
        out.truncate(start_bytes)  # drops what a killed append left past the indexed records
        out.seek(start_bytes)
        offset = start_bytes // _SAMPLE_BYTES
        for header, result in _decoded(plan.todo, stamps, settings, workers, progress):
            stamp = stamps[header.stem]
            if isinstance(result, ReadFailure):
                new.failures.append(_Failed(header.stem, result.reason, stamp))
                continue
            out.write(memoryview(result.signal).cast("B"))
            length = result.signal.shape[0]
            new.entries.append(
                _Entry(header.stem, offset, length, result.dx_codes, result.age, result.sex, stamp)
            )
            offset += length
            if result.clipped:
                log.warning("%s: %d samples beyond ±65504 mV clipped", header, result.clipped)
                clipped += result.clipped
        new.signal_bytes = offset * _SAMPLE_BYTES
        out.flush()
        os.fsync(out.fileno())
    if plan.fresh:
        target.replace(signal_path)
    _write_atomically(folder / INDEX_FILE, _index_json(new, data_dir, settings))
    marker = {"generation": new.generation, "signal_bytes": new.signal_bytes}
    _write_atomically(folder / COMPLETE_FILE, json.dumps(marker))
    if clipped:
        log.warning("record cache %s: %d samples clipped in all", folder, clipped)
    return new


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(path)


def _index_json(index: _Index, data_dir: Path, settings: SignalSettings) -> str:
    """The index: one row per record, [name, offset, length, codes, age, sex, *stamp]."""
    return json.dumps(
        {
            "format": FORMAT_VERSION,
            "data_dir": str(data_dir.resolve()),
            "preparation": _preparation(settings),
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


def _read_index(folder: Path, data_dir: Path, settings: SignalSettings) -> _Index:
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
        return _Index()
    except (OSError, ValueError) as error:
        log.warning("record cache %s is unreadable (%s); rebuilding it", folder, error)
        return _Index()
    problem = _index_problem(marker, data, size, data_dir, settings)
    if problem is not None:
        log.warning("record cache %s: %s; rebuilding it", folder, problem)
        return _Index()
    try:
        entries = [
            _Entry(
                name,
                offset,
                length,
                tuple(codes),
                float("nan") if age is None else age,
                Sex(sex),
                _Stamp(*stamp),
            )
            for name, offset, length, codes, age, sex, *stamp in data["records"]
        ]
        failures = [
            _Failed(name, reason, _Stamp(*stamp)) for name, reason, *stamp in data["failures"]
        ]
        return _Index(data["generation"], data["signal_bytes"], entries, failures)
    except (KeyError, TypeError, ValueError) as error:
        log.warning("record cache %s: malformed index (%r); rebuilding it", folder, error)
        return _Index()


def _index_problem(
    marker: Any, data: Any, size: int, data_dir: Path, settings: SignalSettings
) -> str | None:
    """Why a cache cannot be read as it is, or None when it can."""
    if not isinstance(marker, dict) or not isinstance(data, dict):
        return "index or completion marker is not a JSON object"
    if data.get("format") != FORMAT_VERSION:
        return f"format {data.get('format')!r}, expected {FORMAT_VERSION}"
    if data.get("preparation") != _preparation(settings):
        return f"built with {data.get('preparation')}, wanted {_preparation(settings)}"
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
