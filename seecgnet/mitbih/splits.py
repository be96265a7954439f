"""The two evaluation protocols: which beats train, which choose the best epoch, which are tested.

- intra-patient: the beats of all 48 records pooled and split at random, stratified by class, so
  beats of one patient land in training and test alike; the validation beats come out of the
  training part only.
- inter-patient (de Chazal et al., 2004): training records DS1, test records DS2, the four paced
  records in neither; the validation beats are those of a few DS1 records held out whole, so no
  patient is in two parts and nothing of DS2 is seen before the test.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

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
# A held-out set of DS1 records must hold at least this share of DS1's S and V beats, so that the
# best epoch is chosen on beats of the classes that matter, and at most MAX_SHARE of any class, so
# that training keeps most of the rare ones.
MIN_SHARE = 0.1
MAX_SHARE = 0.4
MAX_DRAWS = 10_000


class SplitError(ValueError):
    """A split cannot be made from these records, or a saved one does not fit them."""


@dataclass(frozen=True, eq=False)
class Split:
    """Beat indices (into a ``Beats``) of the training, validation and test parts."""

    protocol: Protocol
    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray

    def save(self, path: Path) -> None:
        np.savez(path, train=self.train, validation=self.validation, test=self.test)

    @classmethod
    def load(cls, path: Path, protocol: Protocol) -> Split:
        with np.load(path) as saved:
            return cls(protocol, saved["train"], saved["validation"], saved["test"])


def protocol_records(protocol: Protocol, available: list[str]) -> list[str]:
    """The records a protocol reads: all of them (intra), or DS1 then DS2 (inter)."""
    if protocol == "intra":
        return list(available)
    if protocol == "inter":
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


def held_out_records(beats: Beats, candidates: list[str], n_records: int, seed: int) -> list[str]:
    """``n_records`` of ``candidates`` drawn at random (seeded) until they hold between MIN_SHARE
    and MAX_SHARE of the candidates' S and V beats, and at most MAX_SHARE of every class."""
    by_record = {
        name: beats.class_counts(np.flatnonzero(beats.record_index == beats.records.index(name)))
        for name in candidates
    }
    total = sum(by_record.values())
    rng = np.random.default_rng(seed)
    s, v = AAMI_CLASSES.index("S"), AAMI_CLASSES.index("V")
    for _ in range(MAX_DRAWS):
        chosen = sorted(rng.choice(candidates, n_records, replace=False).tolist())
        share = sum(by_record[name] for name in chosen) / np.maximum(total, 1)
        if min(share[s], share[v]) >= MIN_SHARE and share.max() <= MAX_SHARE:
            return chosen
    raise SplitError(
        f"no {n_records} of the records {candidates} hold {MIN_SHARE:.0%} to {MAX_SHARE:.0%} "
        "of their S and V beats"
    )


def inter_patient_split(beats: Beats, validation_records: int, seed: int) -> Split:
    """Train on DS1 less ``validation_records`` held-out DS1 records, test on DS2."""
    train_names = [name for name in DS1 if name in beats.records]
    validation = held_out_records(beats, train_names, validation_records, seed)
    parts = {"fit": [], "validation": [], "test": []}
    for k, name in enumerate(beats.records):
        indices = np.flatnonzero(beats.record_index == k)
        if name in validation:
            parts["validation"].append(indices)
        elif name in DS1:
            parts["fit"].append(indices)
        elif name in DS2:
            parts["test"].append(indices)
    joined = {
        key: np.concatenate(value) if value else np.zeros(0, dtype=np.int64)
        for key, value in parts.items()
    }
    return Split("inter", joined["fit"], joined["validation"], joined["test"])
