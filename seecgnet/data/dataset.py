"""Training data: records prepared once (standard leads, 500 Hz, mV) and the windows drawn from them.

A *record store* holds prepared records; the in-memory store below serves small data sets, and any
object with the same members (``RecordStore``) can stand in for it, such as an on-disk cache.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from joblib import Parallel, delayed
from torch.utils.data import Dataset

from seecgnet.challenge.classes import ScoredClasses
from seecgnet.data.augmentation import (
    draw_lead_subset,
    recorder_effects,
    stretched_length,
    to_length,
)
from seecgnet.data.limb_leads import complete_limb_leads
from seecgnet.data.signals import (
    AgeStatistics,
    SignalSettings,
    add_noise,
    cut_window,
    lead_presence,
    random_window_start,
    recorded_leads,
    resample,
    side_features,
)
from seecgnet.io.formats.dispatch import find_records, read_record
from seecgnet.io.labels import Labels
from seecgnet.io.records import (
    STANDARD_LEADS,
    Record,
    RecordError,
    Sex,
    absent_standard_leads,
    to_standard_leads,
)

log = logging.getLogger(__name__)


def prepare_signal(
    record: Record, settings: SignalSettings, warn_missing_leads: bool = True
) -> np.ndarray:
    """A record's signal in the standard lead order at settings.fs_hz, (12, samples) float32 mV.

    A missing lead is zeros, with a warning per lead unless ``warn_missing_leads`` is False (see
    :func:`seecgnet.io.records.to_standard_leads`). Non-finite samples (NaN, infinity) of the
    twelve leads become 0 mV, with a warning naming the record. They are zeroed at the record's own
    rate: resampling would first spread each one over the filter's span, dozens of samples.
    """
    signal = to_standard_leads(record, warn_missing=warn_missing_leads).signal
    bad = ~np.isfinite(signal)
    if bad.any():
        log.warning("%s: %d non-finite samples set to 0 mV", record.name, int(bad.sum()))
        signal = np.where(bad, np.float32(0.0), signal)
    return resample(signal, record.fs_hz, settings.fs_hz)


def prepare_leads(
    record: Record, settings: SignalSettings, warn_missing_leads: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """A record's prepared signal (:func:`prepare_signal`) and which standard leads it holds,
    (12,) bool: those its header names, less any that is 0 mV throughout once prepared (a flat
    lead carries nothing, and training, whose prepared records keep no names, reads it as absent
    too), and with the settings' ``complete_limb_leads`` the limb leads computed from two or more
    of them."""
    signal = prepare_signal(record, settings, warn_missing_leads)
    present = lead_presence(record.lead_names) & recorded_leads(signal)
    if settings.complete_limb_leads:
        signal, present = complete_limb_leads(signal, present)
    return signal, present


@dataclass(frozen=True)
class PreparedRecord:
    """A record ready for the network: signal (12, samples) at the working rate, in mV.

    ``name`` is the header's file name without ``.hea``; ``dx_codes`` are the codes of its ``#Dx``
    line, never empty. A store encodes them into labels for its class list.
    """

    name: str
    signal: np.ndarray
    dx_codes: tuple[str, ...]
    age: float
    sex: Sex
    # the standard leads its file does not hold (zeros in ``signal``), told once per set of them
    absent_leads: tuple[str, ...] = ()


class RecordStore(Protocol):
    """What training needs of a data set: per-record labels, age, sex and signal."""

    names: Sequence[str]
    labels: np.ndarray  # (records, classes) bool
    ages: np.ndarray  # (records,) years, NaN where unknown
    sexes: Sequence[Sex]

    lengths: np.ndarray  # (records,) samples at the working rate

    def __len__(self) -> int: ...

    def signal(self, index: int) -> np.ndarray: ...

    def window(self, index: int, start: int, length: int) -> np.ndarray:
        """Samples start..start+length of a record, (12, length), zeros outside the record."""
        ...


@dataclass
class InMemoryStore:
    """Prepared records held in memory, labelled for ``classes``."""

    records: list[PreparedRecord]
    classes: ScoredClasses
    names: list[str] = field(init=False)
    labels: np.ndarray = field(init=False)
    ages: np.ndarray = field(init=False)
    sexes: list[Sex] = field(init=False)
    lengths: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.names = [r.name for r in self.records]
        self.labels = self.classes.encode_many(r.dx_codes for r in self.records)
        self.ages = np.array([r.age for r in self.records], dtype=np.float64)
        self.sexes = [r.sex for r in self.records]
        self.lengths = np.array([r.signal.shape[1] for r in self.records], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.records)

    def signal(self, index: int) -> np.ndarray:
        return self.records[index].signal

    def window(self, index: int, start: int, length: int) -> np.ndarray:
        return cut_window(self.records[index].signal, start, length)


@dataclass(frozen=True)
class ReadFailure:
    """A record that could not be read, and why."""

    path: Path
    reason: str


def prepare_record(
    header: Path, settings: SignalSettings, labels: Labels | None = None
) -> PreparedRecord | ReadFailure:
    """Read and prepare the record whose file (its ``.hea``, or a file of another format) is
    ``header``; a failure says why. ``labels`` (a labels file, :mod:`seecgnet.io.labels`) gives the
    codes of the records it names, in place of their own.

    A record without a code is a failure too (skipped and counted): no diagnosis is not "no
    disease", and training on it would invent all-negative labels. Every record store gets its
    records here.
    """
    try:
        record = read_record(header)
        signal = prepare_signal(record, settings, warn_missing_leads=False)
    except (RecordError, ValueError, OSError) as error:
        return ReadFailure(header, str(error))
    dx_codes = record.dx_codes if labels is None else labels.get(header.stem, record.dx_codes)
    if not dx_codes:
        reason = "no diagnosis code (#Dx) to learn from"
        return ReadFailure(header, reason + (" nor in the labels file" if labels else ""))
    return PreparedRecord(
        name=header.stem,  # the file name pairs a recording with its output, as the scorer does
        signal=signal,
        dx_codes=dx_codes,
        age=record.age,
        sex=record.sex,
        absent_leads=absent_standard_leads(record.lead_names),
    )


def tell_absent_leads(
    absent_per_record: Iterable[tuple[str, ...]], settings: SignalSettings
) -> None:
    """One warning for each set of absent leads among the records read for training (not one per
    record and lead): how many records lack it, which of its limb leads training computes from the
    present ones (with ``complete_limb_leads``, from two or more), and which stay zeros."""
    limb = STANDARD_LEADS[:6]
    counts = Counter(a for a in absent_per_record if a)
    for absent, count in sorted(counts.items(), key=lambda item: (len(item[0]), item[0])):
        computed = ()
        if settings.complete_limb_leads and len(limb) - len(set(absent) & set(limb)) >= 2:
            computed = tuple(lead for lead in absent if lead in limb)
        zeros = [lead for lead in absent if lead not in computed]
        told = f"{count} record(s) lack leads {', '.join(absent)}:"
        if computed:
            told += f" {', '.join(computed)} computed from the others in training;"
        if zeros:
            told += f" {', '.join(zeros)} absent (zeros for the network)"
        log.warning(told.rstrip(";"))


def load_store(
    data_dir: str | Path,
    classes: ScoredClasses,
    settings: SignalSettings,
    workers: int = 1,
    labels: Labels | None = None,
) -> tuple[InMemoryStore, list[ReadFailure]]:
    """Read and prepare every record in a folder, in parallel; unreadable records are skipped.
    ``labels``: as :func:`prepare_record` takes them.

    Each skipped record gets one warning naming it; the caller decides what to do when few are left.
    Records whose labels hold no scored class are kept as all-negative examples.
    """
    headers = find_records(data_dir, require_signal=False)  # a missing .mat counts as a failure
    results = Parallel(n_jobs=workers)(
        delayed(prepare_record)(header, settings, labels) for header in headers
    )
    prepared = [r for r in results if isinstance(r, PreparedRecord)]
    failures = [r for r in results if isinstance(r, ReadFailure)]
    for failure in failures:
        log.warning("skipping %s: %s", failure.path, failure.reason)
    tell_absent_leads((r.absent_leads for r in prepared), settings)
    return InMemoryStore(prepared, classes), failures


class TrainingWindows(Dataset):
    """One random 10-second window per record per epoch, with the paper's augmentation and those
    the settings add (:mod:`seecgnet.data.augmentation`: other recorders, lead subsets).

    Items are (window (1, 12, window_samples), side input, targets (classes,)) tensors; the side
    input is the age and sex features, then with ``lead_presence`` the 12 leads' presence. A lead
    is present when the record has it (its window is not all zeros) and the drawn subset keeps it;
    an absent lead's row is zeros, except that with ``complete_limb_leads`` an absent limb lead is
    computed from two or more present ones, as at prediction. The random draws depend only on
    (seed, epoch, record), so runs repeat whatever the worker count.

    ``paired`` (for subset distillation, :mod:`seecgnet.training.loop`): each item holds the window
    twice, (window, side input) with all the record's leads and then with a drawn subset of them
    (always drawn, by the settings' ``lead_draw`` otherwise), then the targets.
    """

    def __init__(
        self,
        store: RecordStore,
        indices: Sequence[int],
        settings: SignalSettings,
        age_stats: AgeStatistics,
        seed: int,
        lead_presence: bool = False,
        paired: bool = False,
    ) -> None:
        self.store = store
        self.paired = paired
        self.indices = list(indices)
        self.settings = settings
        self.age_stats = age_stats
        self.seed = seed
        self.lead_presence = lead_presence
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, item: int) -> tuple[torch.Tensor, ...]:
        index = self.indices[item]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        # only the window is read: a 30-minute record costs no more than a 10-second one
        length = stretched_length(self.settings, rng)
        start = random_window_start(int(self.store.lengths[index]), self.settings, rng, length)
        window = self.store.window(index, start, length)
        present = recorded_leads(window)
        window = to_length(window, self.settings.window_samples)
        window = recorder_effects(window, self.settings, rng)
        window = add_noise(window, self.settings, rng)
        labels = torch.from_numpy(self.store.labels[index].astype(np.float32))
        if not self.paired:
            kept = draw_lead_subset(self.settings.lead_draw, rng)
            return (*self._view(window, present, kept, index), labels)
        always = dataclasses.replace(self.settings.lead_draw, subset_probability=1.0)
        kept = draw_lead_subset(always, rng)
        full = self._view(window.copy(), present, None, index)
        return (*full, *self._view(window, present, kept, index), labels)

    def _view(
        self, window: np.ndarray, present: np.ndarray, kept: np.ndarray | None, index: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The window (1, 12, T) with the leads outside ``kept`` (None: all) made absent, and its
        side input."""
        if kept is not None or self.lead_presence:
            present = present if kept is None else present & kept
            window[~present] = 0.0
        if self.settings.complete_limb_leads:
            window, present = complete_limb_leads(window, present)
        side = side_features(
            float(self.store.ages[index]),
            self.store.sexes[index],
            self.age_stats,
            present if self.lead_presence else None,
        )
        return torch.from_numpy(window).unsqueeze(0), torch.from_numpy(side)
