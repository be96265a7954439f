"""Reading prepared records from a record cache's ``signals.f16``, as
:mod:`seecgnet.data.cache.build` built it.

``signals.f16`` holds every record's prepared signal
(:func:`seecgnet.data.dataset.prepare_signal`), one after another, each stored time-major as
(samples, 12) float16 mV, so that any stretch of a record is one contiguous read. Where each
record lies (offset and length, in samples at the cache's working rate) comes from the cache's
index, as :class:`CachedRecord` entries.

:class:`CachedStore` reads a record with ``os.preadv`` into a fresh array rather than through a
memory map: pages touched through a long-lived map count in the process's resident memory and would
grow over an epoch, while pages read with ``pread`` stay in the kernel's page cache. The store
pickles without any signal and opens its file lazily in each process (DataLoader workers).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from seecgnet.challenge.classes import ScoredClasses
from seecgnet.errors import SeecgnetError
from seecgnet.io.records import STANDARD_LEADS, Sex

__all__ = ["SAMPLE_BYTES", "SAMPLE_DTYPE", "CacheError", "CachedRecord", "CachedStore"]

SAMPLE_DTYPE = np.dtype("<f2")
_N_LEADS = len(STANDARD_LEADS)
SAMPLE_BYTES = _N_LEADS * SAMPLE_DTYPE.itemsize  # one sample of every lead


class CacheError(SeecgnetError, RuntimeError):
    """A cache file is not what its index says, or changed while a store was reading it."""


@dataclass(frozen=True, slots=True)
class CachedRecord:
    """A cached record: where its signal lies in signals.f16 (in samples) and its header's data."""

    name: str
    offset: int
    length: int
    dx_codes: tuple[str, ...]
    age: float
    sex: Sex


class CachedStore:
    """Prepared records read from a cache's signals.f16; a :class:`seecgnet.data.dataset.RecordStore`.

    ``names``, ``labels`` (records × classes, bool), ``ages`` (years, NaN where unknown) and
    ``sexes`` are held in memory; signals are read from disk on each call, (12, samples) float32 mV
    at the cache's working rate.
    """

    def __init__(
        self,
        signal_path: Path,
        entries: Sequence[CachedRecord],
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
        :func:`seecgnet.data.signals.cut_window` pads a shifted window.
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
        raw = np.empty((count, _N_LEADS), dtype=SAMPLE_DTYPE)
        view = memoryview(raw).cast("B")
        position = (int(self.offsets[index]) + first) * SAMPLE_BYTES
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
