"""Prediction: a record's windows through the network(s), the one-vote union, and the decision.

The same path serves ``driver.py``, validation during training and cross-validation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

import numpy as np
import torch
from torch import nn

from seecgnet.classes import ScoredClasses
from seecgnet.dataset import RecordStore, prepare_signal
from seecgnet.decision import DecisionSettings, decide, one_vote_union
from seecgnet.records import Record, Sex
from seecgnet.signals import AgeStatistics, SignalSettings, demographic_features, sliding_windows

# Windows per forward pass: bounds memory on long records (a 30-minute record has 359 windows).
MAX_WINDOWS_PER_PASS = 64


class EnsembleRule(str, Enum):
    MEAN = "mean"  # average the members' record probabilities
    UNION = "union"  # any member: the largest of the members' record probabilities


@dataclass(frozen=True)
class RecordPrediction:
    """A record's probabilities (classes,) and its labels (classes,) bool."""

    probabilities: np.ndarray
    labels: np.ndarray


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
    ) -> None:
        if not networks:
            raise ValueError("a predictor needs at least one network")
        self.networks = [network.eval() for network in networks]
        self.classes = classes
        self.signal_settings = signal_settings
        self.decision = decision
        self.age_stats = age_stats
        self.ensemble = EnsembleRule(ensemble)
        self.device = torch.device(device)

    def record_probabilities(self, signal: np.ndarray, age: float, sex: Sex) -> np.ndarray:
        """Probabilities (classes,) of a prepared (12, samples) signal at the working rate."""
        windows = sliding_windows(
            signal, self.signal_settings.window_samples, self.signal_settings.stride_samples
        )
        return self.union_of_windows(self.window_probabilities(windows, age, sex))

    @torch.no_grad()
    def window_probabilities(self, windows: np.ndarray, age: float, sex: Sex) -> np.ndarray:
        """Each member's probabilities for each window: (members, n_windows, classes).

        ``windows`` is (n_windows, 12, window_samples) at the working rate, in mV.
        """
        demographics = torch.from_numpy(demographic_features(age, sex, self.age_stats))
        per_member = []
        for network in self.networks:
            chunks = []
            for start in range(0, len(windows), MAX_WINDOWS_PER_PASS):
                batch = torch.from_numpy(windows[start : start + MAX_WINDOWS_PER_PASS])
                batch = batch.unsqueeze(1).to(self.device)  # (n, 1, 12, window_samples)
                demo = demographics.expand(batch.shape[0], -1).to(self.device)
                chunks.append(torch.sigmoid(network(batch, demo).float()).cpu().numpy())
            per_member.append(np.concatenate(chunks))
        return np.stack(per_member)

    def union_of_windows(self, window_probabilities: np.ndarray) -> np.ndarray:
        """A record's probabilities (classes,) from its (members, n_windows, classes) windows."""
        return self.combine_members(np.stack([one_vote_union(m) for m in window_probabilities]))

    def combine_members(self, per_member: np.ndarray) -> np.ndarray:
        """The ensemble rule over the members' probabilities on axis 0: (members, ...) -> (...)."""
        if self.ensemble is EnsembleRule.UNION:
            return per_member.max(axis=0)
        return per_member.mean(axis=0)

    def predict_record(self, record: Record) -> RecordPrediction:
        """Labels and probabilities of a raw record (any rate, any lead order)."""
        signal = prepare_signal(record, self.signal_settings)
        probabilities = self.record_probabilities(signal, record.age, record.sex)
        return RecordPrediction(probabilities, decide(probabilities, self.decision))

    def store_probabilities(self, store: RecordStore, indices: Sequence[int]) -> np.ndarray:
        """Record probabilities (len(indices), classes) for records of a store."""
        rows = [
            self.record_probabilities(store.signal(i), float(store.ages[i]), store.sexes[i])
            for i in indices
        ]
        if not rows:
            return np.zeros((0, len(self.classes)), dtype=np.float32)
        return np.stack(rows)
