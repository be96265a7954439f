"""An on-disk cache of prepared records: a data folder is decoded and resampled once, then only read.

:func:`open_cache` keeps one cache folder per data folder and working rate under ``cache_dir``:

- ``signals.f16``: every record's prepared signal (:func:`seecgnet.data.dataset.prepare_record`), one
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

This module builds and updates the cache. :mod:`seecgnet.data.cache.index` writes the index and
the completion marker and reads them back; the records are read through the
:class:`seecgnet.data.cache.store.CachedStore` that :func:`open_cache` returns.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from tqdm import tqdm

from seecgnet.challenge.classes import ScoredClasses
from seecgnet.data.cache.index import (
    COMPLETE_FILE,
    FORMAT_VERSION,
    SIGNALS_FILE,
    CacheIndex,
    FileStamp,
    IndexEntry,
    IndexFailure,
    file_stamp,
    preparation,
    read_index,
    write_index,
)
from seecgnet.data.cache.store import SAMPLE_BYTES, SAMPLE_DTYPE, CachedStore
from seecgnet.data.dataset import ReadFailure, prepare_record, tell_absent_leads
from seecgnet.data.signals import SignalSettings
from seecgnet.io.formats.dispatch import find_records
from seecgnet.io.labels import Labels
from seecgnet.io.records import Sex

__all__ = ["cache_folder", "open_cache"]

log = logging.getLogger(__name__)

_LOCK_FILE = "lock"
_FLOAT16_MAX = float(np.finfo(np.float16).max)
_GROUP_BYTES = 4_000_000


@dataclass(frozen=True)
class _Decoded:
    """What a worker sends back for one record: its signal (samples, 12) float16 and header data."""

    signal: np.ndarray
    dx_codes: tuple[str, ...]
    age: float
    sex: Sex
    clipped: int
    absent_leads: tuple[str, ...]


def cache_folder(
    cache_dir: str | os.PathLike[str],
    data_dir: str | os.PathLike[str],
    settings: SignalSettings,
    labels: Labels | None = None,
) -> Path:
    """The folder under ``cache_dir`` that caches ``data_dir`` prepared with ``settings``; with a
    labels file's ``labels``, a folder of its own, keyed by the labels, since the cache keeps each
    record's codes and which records have none."""
    data = Path(data_dir).resolve()
    fields = {"format": FORMAT_VERSION, "data_dir": str(data), **preparation(settings)}
    if labels is not None:
        fields["labels"] = hashlib.sha256(json.dumps(sorted(labels.items())).encode()).hexdigest()
    key = json.dumps(fields, sort_keys=True)
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
    labels: Labels | None = None,
) -> tuple[CachedStore, list[ReadFailure]]:
    """The records of ``data_dir`` through its cache, building or updating the cache as needed;
    ``labels`` as :func:`seecgnet.data.dataset.prepare_record` takes them.

    Same contract as :func:`seecgnet.data.dataset.load_store`: unreadable records are skipped with one
    warning each and returned; a record's name is its header's file name without ``.hea``. The first
    call decodes every record in ``workers`` processes; later calls decode only the records whose
    files are new or changed. Runs that open the same cache wait for each other.
    """
    data_dir = Path(data_dir)
    folder = cache_folder(cache_dir, data_dir, settings, labels)
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with _locked(folder / _LOCK_FILE):
        headers = find_records(data_dir, require_signal=False)  # a missing .mat is a failure
        # stat before decoding: a file changed during the build then looks changed on the next open
        stamps = {header.stem: file_stamp(header) for header in headers}
        index = read_index(folder, data_dir, settings)
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
            decoding = _Decoding(settings, labels, workers, progress)
            index = _update(folder, data_dir, index, plan, stamps, decoding)
        signal_path = folder / SIGNALS_FILE
        status = signal_path.stat()
    order = {header.stem: position for position, header in enumerate(headers)}
    entries = sorted(index.entries, key=lambda e: order[e.name])
    failed = sorted(index.failures, key=lambda f: order[f.name])
    paths = {header.stem: header for header in headers}
    failures = [ReadFailure(paths[f.name], f.reason) for f in failed]
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

    kept: list[IndexEntry]
    kept_failures: list[IndexFailure]
    todo: list[Path]
    fresh: bool  # write a new signals file instead of appending to the present one


def _plan(index: CacheIndex, headers: list[Path], stamps: dict[str, FileStamp]) -> _Plan | None:
    """None when the cache holds exactly the folder's records as they are now."""
    if index.generation == 0:  # no usable cache
        return _Plan([], [], headers, fresh=True)
    kept = [e for e in index.entries if stamps.get(e.name) == e.stamp]
    kept_failures = [f for f in index.failures if stamps.get(f.name) == f.stamp]
    known = {e.name for e in kept} | {f.name for f in kept_failures}
    todo = [header for header in headers if header.stem not in known]
    if not todo and len(kept) + len(kept_failures) == len(index.entries) + len(index.failures):
        return None
    live_bytes = sum(e.length for e in kept) * SAMPLE_BYTES
    if index.signal_bytes - live_bytes > live_bytes:
        # Changed and removed records have left more dead space than records: start again.
        return _Plan([], [], headers, fresh=True)
    return _Plan(kept, kept_failures, todo, fresh=False)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _decode_record(
    header: Path, settings: SignalSettings, labels: Labels | None = None
) -> _Decoded | ReadFailure:
    """Prepare one record as load_store does, laid out as stored (in a worker process, so that
    float16 travels back); a failure says why."""
    prepared = prepare_record(header, settings, labels)
    if isinstance(prepared, ReadFailure):
        return prepared
    signal = prepared.signal
    clipped = int(np.count_nonzero(np.abs(signal) > _FLOAT16_MAX))
    if clipped:
        signal = np.clip(signal, -_FLOAT16_MAX, _FLOAT16_MAX)
    stored = np.ascontiguousarray(signal.T, dtype=SAMPLE_DTYPE)  # (samples, 12)
    return _Decoded(
        stored, prepared.dx_codes, prepared.age, prepared.sex, clipped, prepared.absent_leads
    )


@dataclass(frozen=True)
class _Decoding:
    """How records are decoded: their preparation, the labels file's codes, the processes."""

    settings: SignalSettings
    labels: Labels | None
    workers: int
    progress: bool


def _decode_group(headers: list[Path], decoding: _Decoding) -> list[_Decoded | ReadFailure]:
    return [_decode_record(header, decoding.settings, decoding.labels) for header in headers]


def _decoded(
    headers: list[Path], stamps: dict[str, FileStamp], decoding: _Decoding
) -> Iterator[tuple[Path, _Decoded | ReadFailure]]:
    """Each header with its decoded record, in order, decoded by ``decoding.workers`` processes.

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
    n_jobs = max(1, min(decoding.workers, len(groups) // 2))
    results = Parallel(n_jobs=n_jobs, return_as="generator", batch_size=1)(
        delayed(_decode_group)(group, decoding) for group in groups
    )
    with tqdm(
        total=len(headers), desc="caching records", unit="record", disable=not decoding.progress
    ) as bar:
        for group, decoded in zip(groups, results, strict=True):
            yield from zip(group, decoded, strict=True)
            bar.update(len(group))


def _update(
    folder: Path,
    data_dir: Path,
    index: CacheIndex,
    plan: _Plan,
    stamps: dict[str, FileStamp],
    decoding: _Decoding,
) -> CacheIndex:
    """Decode ``plan.todo`` into signals.f16 (appended, or a new file) and write the new index.

    The completion marker is removed first and written last, so a run killed anywhere in between
    leaves a cache that the next run rebuilds. Results come back from the workers in order and are
    written as they come, so memory holds a few records, not the data set.
    """
    (folder / COMPLETE_FILE).unlink(missing_ok=True)
    signal_path = folder / SIGNALS_FILE
    target = signal_path.with_name(SIGNALS_FILE + ".partial") if plan.fresh else signal_path
    start_bytes = 0 if plan.fresh else index.signal_bytes
    new = CacheIndex(index.generation + 1, 0, list(plan.kept), list(plan.kept_failures))
    clipped, absent = 0, []
    with target.open("wb" if plan.fresh else "r+b") as out:
        out.truncate(start_bytes)  # drops what a killed append left past the indexed records
        out.seek(start_bytes)
        offset = start_bytes // SAMPLE_BYTES
        for header, result in _decoded(plan.todo, stamps, decoding):
            stamp = stamps[header.stem]
            if isinstance(result, ReadFailure):
                new.failures.append(IndexFailure(header.stem, result.reason, stamp))
                continue
            out.write(memoryview(result.signal).cast("B"))
            length = result.signal.shape[0]
            new.entries.append(
                IndexEntry(
                    header.stem, offset, length, result.dx_codes, result.age, result.sex, stamp
                )
            )
            offset += length
            absent.append(result.absent_leads)
            if result.clipped:
                log.warning("%s: %d samples beyond ±65504 mV clipped", header, result.clipped)
                clipped += result.clipped
        new.signal_bytes = offset * SAMPLE_BYTES
        out.flush()
        os.fsync(out.fileno())
    if plan.fresh:
        target.replace(signal_path)
    write_index(folder, new, data_dir, decoding.settings)
    tell_absent_leads(absent, decoding.settings)
    if clipped:
        log.warning("record cache %s: %d samples clipped in all", folder, clipped)
    return new
