"""A raw record made into a network's input, by what a predictor needs and nothing else, so that it
can go to the reading processes beside the network (:mod:`seecgnet.inference.reading`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from seecgnet.data.dataset import prepare_leads
from seecgnet.data.limb_leads import complete_limb_leads
from seecgnet.data.signals import AgeStatistics, SignalSettings, side_features
from seecgnet.inference.prediction import NetworkInput, Predictor
from seecgnet.io.records import Record, Sex

if TYPE_CHECKING:
    from seecgnet.inference.routed import RoutedPredictor, RoutedPreparation


@dataclass(frozen=True)
class InputPreparation:
    """How one predictor's networks read a record: its signal settings, the age statistics of the
    side input, and whether the networks are told which leads are present."""

    signal_settings: SignalSettings
    age_stats: AgeStatistics
    lead_presence: bool

    def __call__(self, record: Record, warn_missing_leads: bool = False) -> NetworkInput:
        """The record's network input: the leads its header names present (less flat ones), limb
        leads computed from them where the settings say so, the others absent (zeros)."""
        signal, present = prepare_leads(record, self.signal_settings, warn_missing_leads)
        return NetworkInput(signal, self.side_input(record.age, record.sex, present), present)

    def side_input(self, age: float, sex: Sex, present: np.ndarray) -> np.ndarray:
        """The networks' side input for a record of that age and sex holding leads ``present``."""
        return side_features(age, sex, self.age_stats, present if self.lead_presence else None)

    def completed(
        self, signal: np.ndarray, present: np.ndarray, age: float, sex: Sex
    ) -> NetworkInput:
        """The input of a prepared signal whose limb leads are not yet computed (see
        :func:`seecgnet.data.dataset.prepare_leads`), as ``__call__`` would make it."""
        if self.signal_settings.complete_limb_leads:
            signal, present = complete_limb_leads(signal, present)
        return NetworkInput(signal, self.side_input(age, sex, present), present)


def input_preparation(
    predictor: Predictor | RoutedPredictor,
) -> InputPreparation | RoutedPreparation:
    """How a predictor (one model folder's, or a routed model's) reads a record."""
    if isinstance(predictor, Predictor):
        return InputPreparation(
            predictor.signal_settings, predictor.age_stats, predictor.lead_presence
        )
    return predictor.input_preparation()
