"""The three evaluation protocols: which beats train, which choose the best epoch, which are tested.

- intra-patient: the beats of all 48 records pooled and split at random, stratified by class, so
  beats of one patient land in training and test alike; the validation beats come out of the
  training part only.
- inter-patient (de Chazal et al., 2004): training records DS1, test records DS2, the four paced
  records in neither. DS1's records are dealt into folds; one model is trained per fold on the
  other folds' records and predicts its own fold's, so every DS1 record is a validation record
  once, no patient is in two parts of a model's data, and nothing of DS2 is seen before the test.
- ds1: the inter-patient protocol's folds on DS1 alone, without reading DS2: where its choices
  (features, loss, epochs, threshold) are made.
- patient-specific: the inter-patient split; the networks are then adapted to each DS2 record
  with the reference labels of its first minutes, and tested on the rest of it (see
  :mod:`seecgnet.mitbih.adaptation`).

With other databases for training (``--extra-training``), their records (named ``DATABASE/NAME``)
join DS1's as training records: they are dealt into the same number of folds as DS1's, apart from
them, and fold K holds DS1's fold K and theirs, so that every fold holds patients of both and
DS1's folds are those of a run without them. DS2 is tested as before, never trained on.

Records 201 (in DS1) and 202 (in DS2) come from one patient: de Chazal's split is by record, and
this one pair crosses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seecgnet.errors import SeecgnetError
from seecgnet.mitbih.beats import AAMI_CLASSES, Beats
from seecgnet.mitbih.settings import PROTOCOLS, Protocol

DS1 = (
    *("101", "106", "108", "109", "112", "114", "115", "116", "118", "119", "122"),
    *("124", "201", "203", "205", "207", "208", "209", "215", "220", "223", "230"),
)
DS2 = (
    *("100", "103", "105", "111", "113", "117", "121", "123", "200", "202", "210"),
    *("212", "213", "214", "219", "221", "222", "228", "231", "232", "233", "234"),
)
PACED = ("102", "104", "107", "217")
# Each fold of DS1 records must hold at least this part of its fair share (1 / folds) of DS1's S
# and V beats, so that every fold's model is trained on most of them and its validation holds
# some; record 209 alone holds 40 % of DS1's S beats, so no fold can be held to an upper share.
MIN_FAIR_SHARE = 0.5
MAX_DRAWS = 10_000


class SplitError(SeecgnetError, ValueError):
    """A split cannot be made from these records, or a saved one does not fit them."""


@dataclass(frozen=True, eq=False)
class Split:
    """Beat indices (into a ``Beats``) of the training, validation and test parts.

    Without ``folds`` one model trains on ``train`` and is validated on ``validation``; with them,
    one model per fold trains on ``train`` less the fold and is validated on the fold, and
    ``validation`` is the folds one after the other (every training beat once).
    """

    protocol: Protocol
    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    folds: tuple[np.ndarray, ...] = ()

    def members(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """(training, validation) beat indices of each model of the run."""
        if not self.folds:
            return [(self.train, self.validation)]
        return [(np.setdiff1d(self.train, fold), fold) for fold in self.folds]

    def save(self, path: Path) -> None:
        folds = {f"fold_{k}": fold for k, fold in enumerate(self.folds)}
        np.savez(path, train=self.train, validation=self.validation, test=self.test, **folds)

    @classmethod
    def load(cls, path: Path, protocol: Protocol) -> Split:
        with np.load(path) as saved:
            folds = tuple(saved[f"fold_{k}"] for k in range(len(saved.files) - 3))
            return cls(protocol, saved["train"], saved["validation"], saved["test"], folds)


def protocol_records(protocol: Protocol, available: list[str]) -> list[str]:
    """The records a protocol reads: all of them (intra), DS1 then DS2 (inter, patient-specific),
    or DS1 (ds1)."""
    if protocol == "intra":
        return list(available)
    if protocol == "ds1":
        missing = sorted(set(DS1) - set(available))
        if missing:
            raise SplitError(f"the ds1 protocol needs records {missing}, not found")
        return list(DS1)
    if protocol in ("inter", "patient-specific"):
        missing = sorted(set(DS1 + DS2) - set(available))
        if missing:
            raise SplitError(f"the inter-patient protocol needs records {missing}, not found")
        return [*DS1, *DS2]
    raise SplitError(f"unknown protocol {protocol!r}: expected one of {PROTOCOLS}")


def stratified_parts(
    labels: np.ndarray, fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Positions split at random into (rest, part) with ``fraction`` of each class in ``part``."""
    rest, part = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n_part = round(fraction * len(members))
        part.append(members[:n_part])
        rest.append(members[n_part:])
    return np.sort(np.concatenate(rest)), np.sort(np.concatenate(part))


def intra_patient_split(
    beats: Beats, test_fraction: float, validation_fraction: float, seed: int
) -> Split:
    """Stratified random split of all beats; validation is ``validation_fraction`` of training."""
    rng = np.random.default_rng(seed)
    train, test = stratified_parts(beats.labels, test_fraction, rng)
    fit_positions, val_positions = stratified_parts(beats.labels[train], validation_fraction, rng)
    return Split("intra", train[fit_positions], train[val_positions], test)


def record_folds(beats: Beats, candidates: list[str], n_folds: int, seed: int) -> list[list[str]]:
    """``candidates`` dealt at random (seeded) into ``n_folds`` folds of near-equal size, drawn
    again until every fold holds at least MIN_FAIR_SHARE / n_folds of their S beats and of their
    V beats."""
    if not 2 <= n_folds <= len(candidates):
        raise SplitError(
            f"{n_folds} folds of {len(candidates)} records: need 2 to {len(candidates)}"
        )
    by_record = np.array(
        [
            beats.class_counts(np.flatnonzero(beats.record_index == beats.records.index(name)))
            for name in candidates
        ]
    )  # (records, classes)
    sv = [AAMI_CLASSES.index("S"), AAMI_CLASSES.index("V")]
    total = np.maximum(by_record[:, sv].sum(axis=0), 1)
    rng = np.random.default_rng(seed)
    for _ in range(MAX_DRAWS):
        fold_of = rng.permutation(np.arange(len(candidates)) % n_folds)
        shares = [by_record[fold_of == k][:, sv].sum(axis=0) / total for k in range(n_folds)]
        if min(share.min() for share in shares) >= MIN_FAIR_SHARE / n_folds:
            return [
                [c for c, f in zip(candidates, fold_of, strict=True) if f == k]
                for k in range(n_folds)
            ]
    raise SplitError(
        f"no {n_folds} folds of the records {candidates} each hold "
        f"{MIN_FAIR_SHARE / n_folds:.0%} of their S and V beats"
    )


def inter_patient_split(
    beats: Beats, n_folds: int, seed: int, protocol: Protocol = "inter"
) -> Split:
    """DS1's beats and those of the other databases' records (``DATABASE/NAME``), each in
    ``n_folds`` folds of whole records, fold K of both joined (all of them train, each fold
    validates one model); DS2's beats (where ``beats`` holds them) to test."""
    ds1_names = [name for name in DS1 if name in beats.records]
    extra = [name for name in beats.records if "/" in name]
    folds = record_folds(beats, ds1_names, n_folds, seed)
    if extra:
        extra_folds = record_folds(beats, extra, n_folds, seed)
        folds = [a + b for a, b in zip(folds, extra_folds, strict=True)]
    train_names = ds1_names + extra
    indices = {
        name: np.flatnonzero(beats.record_index == k) for k, name in enumerate(beats.records)
    }

    def beats_of(names: list[str]) -> np.ndarray:
        return np.concatenate([indices[n] for n in names] or [np.zeros(0, dtype=np.int64)])

    fold_beats = tuple(beats_of(fold) for fold in folds)
    test_names = [name for name in beats.records if name in DS2]
    return Split(
        protocol,
        train=beats_of(train_names),
        validation=np.concatenate(fold_beats),
        test=beats_of(test_names),
        folds=fold_beats,
    )
