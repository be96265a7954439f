"""Folds for validation splits and cross-validation: multi-label stratified (iterative
stratification), or one per source database (leave-one-source-out).

Iterative stratification (Sechidis, Tsoumakas and Vlahavas, 2011) deals out the records of the rarest
class first, each to the fold that still wants most of that class, so every class, rare ones above
all, is spread across folds in proportion. Records with no scored class are dealt last, by size.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from seecgnet.challenge.sources import SOURCES, record_sources
from seecgnet.errors import SeecgnetError


class FoldError(SeecgnetError, ValueError):
    """The records cannot be split into the folds asked for: too few of them, or one source."""


def iterative_stratification(labels: np.ndarray, n_folds: int, seed: int = 0) -> np.ndarray:
    """The fold (0..n_folds-1) of each record, from its (records, classes) multi-hot labels.

    Deterministic for a seed. Fold sizes differ by at most a few records.
    """
    labels = np.asarray(labels, dtype=bool)
    n_records = labels.shape[0]
    if n_folds < 2:
        raise ValueError(f"n_folds must be at least 2, got {n_folds}")
    if n_records < n_folds:
        raise FoldError(f"{n_records} records cannot fill {n_folds} folds")
    rng = np.random.default_rng(seed)
    fold_of = np.full(n_records, -1, dtype=np.int64)
    fold_shares = np.full(n_folds, 1.0 / n_folds)
    wanted_records = n_records * fold_shares
    wanted_per_class = labels.sum(axis=0)[None, :] * fold_shares[:, None]  # (folds, classes)

    remaining = labels.copy()
    while True:
        counts = remaining.sum(axis=0)
        if not counts.any():
            break
        present = np.flatnonzero(counts)
        rarest = present[np.argmin(counts[present])]
        members = np.flatnonzero(remaining[:, rarest])
        for record in rng.permutation(members):
            fold = _pick(wanted_per_class[:, rarest], wanted_records, rng)
            fold_of[record] = fold
            wanted_per_class[fold] -= labels[record]
            wanted_records[fold] -= 1
            remaining[record] = False

    for record in rng.permutation(np.flatnonzero(fold_of < 0)):
        fold = _pick(wanted_records, wanted_records, rng)
        fold_of[record] = fold
        wanted_records[fold] -= 1
    return fold_of


def _pick(primary: np.ndarray, secondary: np.ndarray, rng: np.random.Generator) -> int:
    """The fold wanting most by ``primary``, ties broken by ``secondary``, then at random."""
    best = np.flatnonzero(primary == primary.max())
    if len(best) > 1:
        best = best[secondary[best] == secondary[best].max()]
    return int(rng.choice(best))


# Fewer records than this are not split: all of them train, and none is held out for validation.
MIN_RECORDS_TO_SPLIT = 4


def validation_split(
    labels: np.ndarray, fraction: float, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Stratified (train indices, validation indices) with about ``fraction`` held out."""
    n_records = len(labels)
    if fraction <= 0 or n_records < MIN_RECORDS_TO_SPLIT:
        return np.arange(n_records), np.zeros(0, dtype=np.int64)
    n_folds = min(n_records, max(2, round(1.0 / fraction)))
    folds = iterative_stratification(labels, n_folds, seed)
    return np.flatnonzero(folds != 0), np.flatnonzero(folds == 0)


def leave_one_source_out(names: Sequence[str]) -> tuple[np.ndarray, tuple[str, ...]]:
    """One fold per source database: the fold (0..) of each record, and each fold's source prefix.

    The source is read from the record name's prefix (:mod:`seecgnet.challenge.sources`); folds
    follow the order of ``SOURCES``. A record of no known source is an UnknownSourceError, and
    records of a single source cannot be split (FoldError); both are ValueErrors.
    """
    prefixes = record_sources(names)
    present = tuple(prefix for prefix in SOURCES if prefix in prefixes)
    if len(present) < 2:
        raise FoldError(
            f"leave-one-source-out needs records of at least two sources; all {len(names)} "
            f"are {SOURCES[present[0]] if present else 'of none'}"
        )
    fold_of = np.array([present.index(prefix) for prefix in prefixes], dtype=np.int64)
    return fold_of, present
