"""The benchmark's settings that its command line shows: the protocols, the split and the
training. Nothing here loads torch or wfdb, so that ``--help`` and usage errors answer at once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from seecgnet.training.settings import LossSettings, OptimiserSettings

Protocol = Literal["intra", "inter"]
PROTOCOLS: tuple[Protocol, ...] = ("intra", "inter")


@dataclass(frozen=True)
class SplitSettings:
    """How the beats are split. ``test_fraction`` and ``validation_fraction`` (a share of the
    training beats) serve the intra-patient protocol, ``validation_records`` (DS1 records held out)
    the inter-patient one."""

    test_fraction: float = 0.2
    validation_fraction: float = 0.1
    validation_records: int = 4
    seed: int = 0


@dataclass(frozen=True)
class BeatTrainSettings(OptimiserSettings):
    """Optimisation of a beat classifier: the package's optimiser settings with our values, sized
    for two CPU cores, and what only beats need."""

    epochs: int = 12
    batch_size: int = 128
    # 1.0 averages every beat of a batch; below 1 only the hardest part (the paper's hard mining)
    hard_fraction: float = 1.0
    # each training beat's leads are scaled by factors drawn from [1 - j, 1 + j], j this value,
    # since amplitudes differ between patients far more than between beats of one patient
    amplitude_jitter: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        LossSettings(hard_fraction=self.hard_fraction)  # validates the fraction
