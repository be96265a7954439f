"""The benchmark's settings: the protocols, how beats are cut, the split, the training and the
choice of epoch and threshold, and each protocol's defaults (a settings file replaces them, see
:mod:`seecgnet.mitbih.settings_file`). Nothing here loads torch or wfdb, so that ``--help`` and
usage errors answer at once."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

import numpy as np

from seecgnet.mitbih.rhythm import rr_feature_names
from seecgnet.trained.settings import LossSettings, OptimiserSettings, SettingsError

Protocol = Literal["intra", "inter", "ds1", "patient-specific"]
PROTOCOLS: tuple[Protocol, ...] = ("intra", "inter", "ds1", "patient-specific")
AAMI_CLASSES = ("N", "S", "V", "F", "Q")
CLASS_WEIGHTINGS = ("log", "sqrt", "inverse", "none")
# the files that mark a work folder as this benchmark's: one run's settings, or several seeds' list
RUN_MARKER = "settings.json"
SEEDS_MARKER = "seeds.json"


@dataclass(frozen=True)
class BeatSettings:
    """How a beat is cut: sampling rate after resampling, window around the R peak, high-pass,
    the rows of its image and its RR features."""

    fs_hz: int = 180
    before_s: float = 0.3
    after_s: float = 0.4
    highpass_hz: float = 0.5
    # divide each lead of a record by the median peak-to-peak amplitude of its beat windows, so
    # that a beat is measured against its own patient's usual beat rather than in mV
    normalise_amplitude: bool = True
    # add each lead minus the record's median beat as two more rows of the image
    template_rows: bool = True
    # add the previous and the next beat's windows (both leads) as four more rows
    neighbour_rows: bool = False
    # centred windows (s) over whose median RR interval the RR before and after are also given
    rr_windows_s: tuple[float, ...] = ()
    # the quantile of a window's intervals that is its reference: 0.5 the median; above it the
    # patient's slower intervals, against which a premature beat is short even where most are
    rr_quantile: float = 0.5
    # RR intervals before and after the beat's own two given as features (over the local RR)
    rr_sequence_beats: int = 0
    # give the RR intervals in seconds too, not only their ratios to the patient's rhythm
    rr_absolute: bool = True
    # give each window's irregularity: the median change between successive intervals / median
    rr_irregularity: bool = False

    def __post_init__(self) -> None:
        if any(window <= 0 for window in self.rr_windows_s) or self.rr_sequence_beats < 0:
            raise SettingsError(
                f"rr_windows_s must be positive and rr_sequence_beats >= 0, got "
                f"{self.rr_windows_s} and {self.rr_sequence_beats}"
            )
        if not 0 < self.rr_quantile < 1:
            raise SettingsError(f"rr_quantile must be in (0, 1), got {self.rr_quantile}")

    @property
    def before_samples(self) -> int:
        return round(self.before_s * self.fs_hz)

    @property
    def window_samples(self) -> int:
        return self.before_samples + round(self.after_s * self.fs_hz)

    @property
    def n_rows(self) -> int:
        """Rows of a beat's image: the two leads, their deviations from the typical beat, and the
        neighbouring beats' leads."""
        return 2 + 2 * self.template_rows + 4 * self.neighbour_rows

    @property
    def rr_names(self) -> tuple[str, ...]:
        """The names of the RR features, one per column of ``Beats.rr``."""
        return rr_feature_names(
            self.rr_windows_s, self.rr_sequence_beats, self.rr_absolute, self.rr_irregularity
        )


@dataclass(frozen=True)
class SplitSettings:
    """How the beats are split. ``test_fraction`` and ``validation_fraction`` (a share of the
    training beats) serve the intra-patient protocol, ``folds`` (of DS1 records, one model each)
    the inter-patient and ds1 ones."""

    test_fraction: float = 0.2
    validation_fraction: float = 0.1
    folds: int = 4
    seed: int = 0

    def __post_init__(self) -> None:
        if not (0 < self.test_fraction < 1 and 0 < self.validation_fraction < 1):
            raise SettingsError(
                f"test_fraction and validation_fraction must be in (0, 1), got "
                f"{self.test_fraction} and {self.validation_fraction}"
            )
        if self.folds < 2:
            raise SettingsError(f"folds must be at least 2, got {self.folds}")


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
    # the loss's class weights: 1/log(N_c) (the package's), 1/sqrt(N_c), 1/N_c, or none
    class_weighting: str = "log"
    # each epoch draws its beats with probability N_c^-p (N_c: the beat's class's training beats);
    # 0 takes every training beat once, 1 draws the classes equally often
    sampling_power: float = 0.0
    # beats per epoch when sampling (0: as many as there are training beats)
    epoch_beats: int = 0
    # focal loss: each beat's loss times (1 - p)^gamma, p the probability of its class; 0 = none
    focal_gamma: float = 0.0
    # strength of the gradient reversal from the record head (subject-adversarial); 0 = no head
    adversary_weight: float = 0.0
    # fit a classifier of the RR features alone first, and train the network on the sum of its
    # logits and the network's (see rhythm_expert.py)
    rhythm_expert: bool = False
    # leave S against N to the rhythm expert alone: the network's S logit is its N logit
    s_by_timing: bool = False
    # the expert's logits are multiplied by this before they join the network's (1: as fitted)
    expert_weight: float = 1.0
    # share of the training beats (and of the rhythm expert's) whose RR references are re-based by
    # a factor from [0.6, 1], labels unchanged (see rebasing.py); 0 = none
    rebase_share: float = 0.0
    # the re-based training beats of records holding S beats also get their template rows made
    # against the median of the record's S beats (needs rebase_share and template rows)
    rebase_template: bool = False
    # the re-based S training beats are also given an interval after as long as the one before
    rebase_runs: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        LossSettings(hard_fraction=self.hard_fraction)  # validates the fraction
        if self.class_weighting not in CLASS_WEIGHTINGS:
            raise SettingsError(
                f"class_weighting {self.class_weighting!r}: expected one of {CLASS_WEIGHTINGS}"
            )
        if self.s_by_timing and not self.rhythm_expert:
            raise SettingsError("s_by_timing needs the rhythm expert (rhythm_expert)")
        if min(self.sampling_power, self.epoch_beats, self.focal_gamma, self.adversary_weight) < 0:
            raise SettingsError(
                "sampling_power, epoch_beats, focal_gamma and adversary_weight must be >= 0"
            )
        if self.expert_weight < 0:
            raise SettingsError(f"expert_weight must be >= 0, got {self.expert_weight}")
        if not 0 <= self.rebase_share <= 1:
            raise SettingsError(f"rebase_share must be within [0, 1], got {self.rebase_share}")
        if (self.rebase_template or self.rebase_runs) and not self.rebase_share:
            raise SettingsError(
                "rebase_template and rebase_runs need a share of re-based beats (rebase_share)"
            )

    @property
    def samples(self) -> bool:
        """Whether epochs are drawn (instead of every training beat once, shuffled)."""
        return self.sampling_power > 0 or self.epoch_beats > 0


@dataclass(frozen=True)
class SelectionSettings:
    """Which classes the choice of epoch scores, which get a tuned logit offset, and the offsets'
    grid (see :mod:`seecgnet.mitbih.selection`)."""

    scored_classes: tuple[str, ...] = ("N", "S", "V")
    tuned_classes: tuple[str, ...] = ("S",)
    offset_min: float = -4.0
    offset_max: float = 4.0
    offset_step: float = 0.25
    # also score the re-based copy of the held-out records (see rebasing.py): the choice is made on
    # the mean of the two scores
    rebased: bool = False
    # the re-based copy also gives each S beat an interval after as long as the one before
    rebased_runs: bool = False

    def __post_init__(self) -> None:
        unknown = set(self.tuned_classes + self.scored_classes) - set(AAMI_CLASSES)
        if (
            unknown
            or not self.scored_classes
            or self.offset_step <= 0
            or self.offset_min > 0
            or self.offset_max < 0
        ):
            raise SettingsError(
                f"scored (at least one) and tuned classes must be among {AAMI_CLASSES} and the grid "
                f"[{self.offset_min}, {self.offset_max}] step {self.offset_step} must hold 0"
            )

    @property
    def grid(self) -> np.ndarray:
        """The offsets tried, 0 first so that ties keep the plain argmax."""
        grid = np.arange(self.offset_min, self.offset_max + self.offset_step / 2, self.offset_step)
        return np.concatenate([[0.0], grid[np.abs(grid) > 1e-9]])


@dataclass(frozen=True)
class AdaptationSettings:
    """The patient-specific protocol's adaptation (:mod:`seecgnet.mitbih.adaptation`): the minutes
    of each test record whose reference labels are given, and how the trained networks' classifier
    (the fully connected layers after the pooling) is fitted again for the patient: Adam steps on
    the labelled beats and a sample of the training beats, neither the number of steps nor anything
    else chosen on the test record."""

    labelled_minutes: float = 5.0
    steps: int = 100
    learning_rate: float = 1e-3
    # training beats (DS1 and the extra databases) drawn once per run and mixed into every
    # patient's steps, so that the classifier keeps what it knew of the classes the patient's
    # first minutes lack
    training_beats: int = 2000
    # the training beats' share of each step's loss (the patient's beats have the rest)
    training_weight: float = 0.5

    def __post_init__(self) -> None:
        if self.labelled_minutes <= 0 or self.steps < 1 or self.learning_rate <= 0:
            raise SettingsError(
                f"labelled_minutes and learning_rate must be positive and steps at least 1, got "
                f"{self.labelled_minutes}, {self.learning_rate} and {self.steps}"
            )
        if self.training_beats < 0 or not 0 <= self.training_weight < 1:
            raise SettingsError(
                f"training_beats must be >= 0 and training_weight in [0, 1), got "
                f"{self.training_beats} and {self.training_weight}"
            )


# On new patients (inter-patient, and ds1 where its choices were made on DS1's folds alone): RR
# intervals only as ratios to the patient's rhythm over 10 beats, 1 and 5 minutes and the record,
# with each window's irregularity; the rhythm expert; epochs of 15,000 beats drawn with
# probability N_c^-0.5; four of them; half the training beats re-based (RR references and, in
# records with S beats, template rows; see rebasing.py); the same for the patient-specific
# protocol, whose networks are trained as the inter-patient ones before they are adapted.
# Intra-patient keeps the settings that reach the paper's 99.2 % on beats of patients seen in
# training.
NEW_PATIENT_BEATS = {"rr_windows_s": (60.0, 300.0), "rr_absolute": False, "rr_irregularity": True}
NEW_PATIENT_TRAINING = {
    "epochs": 4,
    "sampling_power": 0.5,
    "epoch_beats": 15_000,
    "rhythm_expert": True,
    "rebase_share": 0.5,
    "rebase_template": True,
}


NEW_PATIENT_SELECTION: dict[str, object] = {}


def protocol_defaults(
    protocol: Protocol,
) -> tuple[BeatSettings, BeatTrainSettings, SelectionSettings]:
    """The beat, training and selection settings a protocol runs with unless told otherwise."""
    if protocol == "intra":
        return BeatSettings(), BeatTrainSettings(), SelectionSettings()
    return (
        dataclasses.replace(BeatSettings(), **NEW_PATIENT_BEATS),
        dataclasses.replace(BeatTrainSettings(), **NEW_PATIENT_TRAINING),
        dataclasses.replace(SelectionSettings(), **NEW_PATIENT_SELECTION),
    )


@dataclass(frozen=True)
class PretrainSettings(OptimiserSettings):
    """Pre-training the lead-shared layers (:mod:`seecgnet.mitbih.lead_shared`): the optimiser's
    settings (fewer epochs than the challenge's), the random 10-second windows drawn from each
    training record per epoch (128 of a half-hour record's 180), which records are held out, and
    the seed. About 3 minutes on one CPU thread for the 48 records."""

    epochs: int = 10
    windows_per_record: int = 128
    holdout_every: int = 8  # records 0, 8, 16... of the sorted list are held out
    seed: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.windows_per_record < 1 or self.holdout_every < 2:
            raise SettingsError(
                f"windows_per_record must be at least 1 and holdout_every at least 2, got "
                f"{self.windows_per_record} and {self.holdout_every}"
            )
