"""Prediction: records' windows through the network(s), the one-vote union, and the decision.

The same path serves ``driver.py``, validation during training and cross-validation: records come
in as a stream, their 10 s windows are packed into batches of a fixed shape (windows of many records
share a batch, and a long record spans several), and each record's probabilities are the largest of
its windows' (the one-vote union) once all of them are through. The decision rule is applied to
those record probabilities, not to each window (see :mod:`seecgnet.trained.decision` for what
that computes under each rule). ``record_probabilities`` runs one
record alone, as ``team_code.run_12ECG_classifier`` is called; both give the same probabilities
within float32 rounding.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import numpy as np
import torch
from torch import nn

from seecgnet import interrupts
from seecgnet.challenge.classes import ScoredClasses
from seecgnet.data.dataset import RecordStore, prepare_leads
from seecgnet.data.limb_leads import complete_limb_leads
from seecgnet.data.signals import (
    AgeStatistics,
    SignalSettings,
    lead_presence,
    recorded_leads,
    side_features,
    sliding_windows,
    window_starts,
)
from seecgnet.io.records import STANDARD_LEADS, Record, Sex
from seecgnet.io.reduced_leads import LEAD_SETS_2021
from seecgnet.trained.decision import DecisionSettings, decide, one_vote_union
from seecgnet.trained.ensemble import EnsembleRule

log = logging.getLogger(__name__)

# Windows per forward pass. Every full batch has this shape; the last one of a stream is padded up
# to a power of two, so a run meets at most a handful of shapes (each costs a set-up on its first
# call) and pads at most half a batch. On a CPU a small batch is fastest: at 16 windows the
# activations of a layer (16 x 16 channels x 12 leads x 500 samples) still fit in the cache, and
# per window 64 took twice as long as 16 on our 2-core machine; a GPU wants many windows at once.
WINDOWS_PER_BATCH = {"cpu": 16, "cuda": 256}

# One record alone goes through in one pass of all its windows, in passes of this many for long
# records (a 30-minute record has 359 windows), which bounds memory.
MAX_WINDOWS_PER_PASS = 64

Tag = TypeVar("Tag")


@dataclass(frozen=True)
class RecordPrediction:
    """A record's probabilities (classes,) and its labels (classes,) bool."""

    probabilities: np.ndarray
    labels: np.ndarray


@dataclass(frozen=True)
class NetworkInput:
    """A record ready for the network: its prepared signal (12, samples) float32 at the working
    rate, its side input float32: the demographic features (n_demographics,), then, for
    networks told the lead presence, which of the 12 leads the record has (1 or 0); and those
    leads, (12,) bool (after any limb leads computed), which the per_lead_set rule decides by."""

    signal: np.ndarray
    demographics: np.ndarray
    present: np.ndarray


@dataclass(frozen=True)
class RecordOutcome(Generic[Tag]):
    """What the network made of one record of a stream, known by the caller's ``tag``.

    ``probabilities`` (classes,) is None for a record that came without input, or whose windows
    failed in the network (``network_error`` then says how).
    """

    tag: Tag
    probabilities: np.ndarray | None
    network_error: RuntimeError | None = None


def _lead_list(mask: np.ndarray) -> str:
    """The standard leads a (12,) bool mask marks, in their order: "I, II, V2"."""
    return ", ".join(lead for lead, marked in zip(STANDARD_LEADS, mask, strict=True) if marked)


class Predictor:
    """One network or an ensemble of networks, with everything needed to turn records into labels."""

    def __init__(
        self,
        networks: Sequence[nn.Module],
        classes: ScoredClasses,
        signal_settings: SignalSettings,
        decision: DecisionSettings,
        age_stats: AgeStatistics,
        ensemble: EnsembleRule = EnsembleRule.MEAN,
        device: torch.device | str = "cpu",
        windows_per_batch: int | None = None,
    ) -> None:
        """``windows_per_batch`` defaults to WINDOWS_PER_BATCH of the device's type (or the CPU's)."""
        if not networks:
            raise ValueError("a predictor needs at least one network")
        self.device = torch.device(device)
        if windows_per_batch is None:
            windows_per_batch = WINDOWS_PER_BATCH.get(self.device.type, WINDOWS_PER_BATCH["cpu"])
        if windows_per_batch < 1:
            raise ValueError(f"windows_per_batch must be at least 1, got {windows_per_batch}")
        self.networks = [network.eval() for network in networks]
        self.classes = classes
        self.signal_settings = signal_settings
        self.decision = decision
        self.age_stats = age_stats
        self.ensemble = EnsembleRule(ensemble)
        self.windows_per_batch = windows_per_batch
        # the lead sets (named, present) already told of by predict_record
        self._lead_sets_told: set[tuple[tuple[bool, ...], tuple[bool, ...]]] = set()
        # whether the networks take the lead presence beside age and sex (see side_features)
        self.lead_presence = any(
            getattr(getattr(net, "settings", None), "lead_presence", False) for net in networks
        )

    def side_features(self, age: float, sex: Sex, present: np.ndarray) -> np.ndarray:
        """The networks' side input for a record of that age and sex whose standard leads
        ``present`` (12,) bool are there: age and sex, and the presence if the networks take it."""
        return side_features(age, sex, self.age_stats, present if self.lead_presence else None)

    @torch.no_grad()
    def batch_probabilities(self, windows: torch.Tensor, demographics: torch.Tensor) -> np.ndarray:
        """Window probabilities (members, n, classes) of windows (n, 1, 12, window_samples) with
        their demographics (n, n_demographics)."""
        windows = windows.to(self.device)
        demographics = demographics.to(self.device)
        return np.stack(
            [
                torch.sigmoid(net(windows, demographics).float()).cpu().numpy()
                for net in self.networks
            ]
        )

    def window_probabilities(
        self, windows: np.ndarray, age: float, sex: Sex, present: np.ndarray | None = None
    ) -> np.ndarray:
        """Each member's probabilities for each window of one record: (members, n_windows,
        classes), run alone, unpadded, in passes of MAX_WINDOWS_PER_PASS for long records.

        ``windows`` is (n_windows, 12, window_samples) at the working rate, in mV; ``present``
        (12,) bool says which leads the record has (by default, those not all zeros).
        """
        if present is None:
            present = np.any(windows != 0, axis=(0, 2))
        return self._alone(windows, self.side_features(age, sex, present))

    def _alone(self, windows: np.ndarray, features: np.ndarray) -> np.ndarray:
        """window_probabilities, given the demographic features (N_DEMOGRAPHICS,)."""
        batch = torch.from_numpy(windows).unsqueeze(1)  # (n, 1, 12, window_samples)
        demographics = torch.from_numpy(features)
        chunks = []
        for start in range(0, len(batch), MAX_WINDOWS_PER_PASS):
            part = batch[start : start + MAX_WINDOWS_PER_PASS]
            chunks.append(self.batch_probabilities(part, demographics.expand(len(part), -1)))
        return np.concatenate(chunks, axis=1)

    def union_of_windows(self, window_probabilities: np.ndarray) -> np.ndarray:
        """A record's probabilities (classes,) from its (members, n_windows, classes) windows."""
        return self.combine_members(np.stack([one_vote_union(m) for m in window_probabilities]))

    def combine_members(self, per_member: np.ndarray) -> np.ndarray:
        """The ensemble rule over the members' probabilities on axis 0: (members, ...) -> (...)."""
        if self.ensemble is EnsembleRule.UNION:
            return per_member.max(axis=0)
        return per_member.mean(axis=0)

    def network_input(
        self, signal: np.ndarray, age: float, sex: Sex, present: np.ndarray | None = None
    ) -> NetworkInput:
        """A prepared (12, samples) signal with its side input; ``present`` (12,) bool says which
        leads the record has (by default, those not all zeros: a prepared signal keeps no names); with
        the settings' ``complete_limb_leads`` its absent limb leads are computed from the others."""
        present = recorded_leads(signal) if present is None else present
        if self.signal_settings.complete_limb_leads:
            signal, present = complete_limb_leads(signal, present)
        return NetworkInput(signal, self.side_features(age, sex, present), present)

    def record_probabilities(
        self, signal: np.ndarray, age: float, sex: Sex, present: np.ndarray | None = None
    ) -> np.ndarray:
        """Probabilities (classes,) of one prepared (12, samples) signal at the working rate."""
        return self.input_probabilities(self.network_input(signal, age, sex, present))

    def input_probabilities(self, prepared: NetworkInput) -> np.ndarray:
        """Probabilities (classes,) of one record's network input, run alone (not batched)."""
        windows = sliding_windows(
            prepared.signal,
            self.signal_settings.window_samples,
            self.signal_settings.stride_samples,
        )
        return self.union_of_windows(self._alone(windows, prepared.demographics))

    def predict_record(self, record: Record) -> RecordPrediction:
        """Labels and probabilities of a raw record (any rate, any leads, in any order: the leads
        its header names are present, the others absent)."""
        signal, present = prepare_leads(record, self.signal_settings, warn_missing_leads=False)
        self.tell_lead_set(lead_presence(record.lead_names), present)
        prepared = self.network_input(signal, record.age, record.sex, present)
        probabilities = self.input_probabilities(prepared)
        return RecordPrediction(probabilities, self.decide(probabilities, prepared.present))

    def tell_lead_set(self, named: np.ndarray, present: np.ndarray) -> None:
        """One log line for each set of leads met with some lead missing, the first time a record
        of it comes: which leads were computed from the others, and which are absent (zeros)."""
        key = (tuple(named), tuple(present))
        if present.all() or key in self._lead_sets_told:
            return
        self._lead_sets_told.add(key)
        told = [f"records of leads {_lead_list(named) or 'none'}:"]
        if (present & ~named).any():
            told.append(f"{_lead_list(present & ~named)} computed from them;")
        if not present.all():
            told.append(f"{_lead_list(~present)} absent (zeros for the network)")
        log.warning(" ".join(told).rstrip(";"))

    def decide_input(self, probabilities: np.ndarray, prepared: NetworkInput) -> np.ndarray:
        """Labels of a record's probabilities (classes,), read from its input ``prepared``."""
        return self.decide(probabilities, prepared.present)

    def decide(self, probabilities: np.ndarray, present: np.ndarray) -> np.ndarray:
        """Labels of record probabilities (classes,) or (records, classes) read with leads
        ``present`` (12,) or (records, 12) bool, under the predictor's rule."""
        return decide(probabilities, self.decision, present)

    def predict_stream(
        self, items: Iterable[tuple[Tag, NetworkInput | None]]
    ) -> Iterator[RecordOutcome[Tag]]:
        """The probabilities of a stream of records, in the order they came, batched across them.

        Each item is a caller's tag and the record's input, or None for a record that could not be
        prepared (it passes through, in its place, without probabilities). A batch that fails in
        the network (RuntimeError) fails every record with windows in it; the stream goes on.
        """
        batch = _WindowBatch(self.windows_per_batch, self.signal_settings.window_samples)
        waiting: deque[_Waiting[Tag]] = deque()
        for tag, prepared in items:
            interrupts.check()  # a Ctrl-C passed over where it landed ends the run here
            entry = _Waiting(tag)
            waiting.append(entry)
            if prepared is not None:
                starts = window_starts(
                    prepared.signal.shape[1],
                    self.signal_settings.window_samples,
                    self.signal_settings.stride_samples,
                )
                entry.windows_left = len(starts)
                for start in starts:
                    batch.add(entry, prepared, start)
                    if batch.is_full():
                        self._run(batch)
            yield from self._finished(waiting)
        if batch.owners:
            self._run(batch)
        yield from self._finished(waiting)

    def store_probabilities(
        self, store: RecordStore, indices: Sequence[int], leads: np.ndarray | None = None
    ) -> np.ndarray:
        """Record probabilities (len(indices), classes) for records of a store, batched across
        them; with ``leads`` (12,) bool, each record read with only those of them it has, as a
        record holding only those leads would be read (limb leads computed as the settings say)."""
        items = ((i, self._store_input(store, i, leads)) for i in indices)
        rows = []
        for outcome in self.predict_stream(items):
            if outcome.network_error is not None:
                raise outcome.network_error
            rows.append(outcome.probabilities)
        if not rows:
            return np.zeros((0, len(self.classes)), dtype=np.float32)
        return np.stack(rows)

    def _store_input(self, store: RecordStore, i: int, leads: np.ndarray | None) -> NetworkInput:
        """The network input of record ``i`` of a store, with only ``leads`` (12,) bool if given."""
        signal, present = _kept(store.signal(i), leads)
        return self.network_input(signal, float(store.ages[i]), store.sexes[i], present)

    def _run(self, batch: _WindowBatch) -> None:
        """Put the batch through the network(s) and fold each window into its record's union."""
        windows, demographics = batch.padded()
        try:
            probabilities = self.batch_probabilities(windows, demographics)
        except RuntimeError as error:  # a fault of the network or the machine: say so per record
            for entry in batch.owners:
                entry.network_error = error
                entry.windows_left -= 1
            batch.clear()
            return
        for row, entry in enumerate(batch.owners):
            window = probabilities[:, row]  # (members, classes)
            entry.union = window if entry.union is None else np.maximum(entry.union, window)
            entry.windows_left -= 1
        batch.clear()

    def _finished(self, waiting: deque[_Waiting[Tag]]) -> Iterator[RecordOutcome[Tag]]:
        """The records at the front of the queue whose windows are all through, in order."""
        while waiting and waiting[0].windows_left == 0:
            entry = waiting.popleft()
            if entry.network_error is not None or entry.union is None:
                yield RecordOutcome(entry.tag, None, entry.network_error)
            else:
                yield RecordOutcome(entry.tag, self.combine_members(entry.union))


def _kept(signal: np.ndarray, leads: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """A prepared (12, samples) signal with only ``leads`` kept (the others zeros, absent), and
    the leads it then holds, (12,) bool; all its leads without ``leads``."""
    present = recorded_leads(signal)
    if leads is None:
        return signal, present
    return np.where(leads[:, None], signal, np.float32(0)), present & leads


def lead_set_probabilities(
    predictor: Predictor, store: RecordStore, indices: Sequence[int]
) -> dict[str, np.ndarray]:
    """Each 2021 lead set's name -> the records' probabilities (len(indices), classes) read with
    only that set's leads: what the per_lead_set rule's divisors are tuned on."""
    return {
        name: predictor.store_probabilities(store, indices, lead_presence(leads))
        for name, leads in LEAD_SETS_2021.items()
    }


@dataclass(eq=False)
class _Waiting(Generic[Tag]):
    """A record of a stream whose windows are not all through yet; ``union`` (members, classes)
    is the largest probability so far of its windows, per member."""

    tag: Tag
    windows_left: int = 0
    union: np.ndarray | None = None
    network_error: RuntimeError | None = None


@dataclass(eq=False)
class _WindowBatch:
    """A batch being filled with windows cut from many records' signals, and whose they are.

    ``windows`` (size, 1, leads, window_samples) and ``demographics`` (size, n_demographics) are
    made at the first window and refilled for every batch.
    """

    size: int
    window_samples: int
    owners: list[_Waiting] = field(default_factory=list)
    windows: torch.Tensor | None = None
    demographics: torch.Tensor | None = None

    def is_full(self) -> bool:
        return len(self.owners) == self.size

    def add(self, owner: _Waiting, prepared: NetworkInput, start: int) -> None:
        """Cut the window at ``start`` of the signal into the next row (zeros past its end)."""
        if self.windows is None or self.demographics is None:
            leads = prepared.signal.shape[0]
            self.windows = torch.zeros(self.size, 1, leads, self.window_samples)
            self.demographics = torch.zeros(self.size, len(prepared.demographics))
        row = len(self.owners)
        target = self.windows[row, 0].numpy()  # (leads, window_samples), sharing the memory
        piece = prepared.signal[:, start : start + self.window_samples]
        target[:, : piece.shape[1]] = piece
        target[:, piece.shape[1] :] = 0.0
        self.demographics[row] = torch.from_numpy(prepared.demographics)
        self.owners.append(owner)

    def padded(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The filled rows, padded with zero windows to a power of two (the full size at most)."""
        if self.windows is None or self.demographics is None:
            raise ValueError("an empty batch has nothing to run")
        filled = len(self.owners)
        rows = min(self.size, 1 << (filled - 1).bit_length())
        self.windows[filled:rows] = 0.0
        self.demographics[filled:rows] = 0.0
        return self.windows[:rows], self.demographics[:rows]

    def clear(self) -> None:
        self.owners.clear()
