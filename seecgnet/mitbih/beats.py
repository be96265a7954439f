"""Beats of the MIT-BIH Arrhythmia Database: windows of both leads around each annotated R peak,
their AAMI EC57 class, and the RR-interval features that carry the rhythm.

Signal preparation, in order, for each record (read with ``wfdb.rdrecord``, in mV at 360 Hz):

1. the lead named MLII, where the record has one, becomes the first row (record 114 stores it
   second); the other lead is the second row;
2. baseline wander is removed by a zero-phase 2nd-order Butterworth high-pass at ``highpass_hz``;
3. both leads are resampled to ``fs_hz`` (polyphase, with its anti-alias filter);
4. each beat's window runs from ``before_s`` before its R peak to ``after_s`` after it, as a
   (2, T) array in mV;
5. with ``normalise_amplitude`` (the default), each lead of a record is divided by the median
   peak-to-peak amplitude (mV) of that record's beat windows, so the windows are in units of the
   patient's typical beat: amplitudes differ far more between patients (electrodes, body) than
   between beat types, and a network trained on 22 patients otherwise learns them;
6. with ``template_rows`` (the default), two rows are added: each lead minus the record's median
   beat (the median of all its beat windows, sample by sample; no labels are used), so that the
   image is (lead 1, lead 2, lead 1 - typical beat, lead 2 - typical beat). A beat shaped like the
   patient's usual beat (N, and S, whose QRS is normal) is near zero there, one of another shape (V,
   F) is not, whatever the patient's usual shape. This needs a stretch of the patient's recording
   (here the whole half-hour record, like the record's mean RR interval).

Beats are the reference annotations (``wfdb.rdann``, extension ``atr``) whose symbol belongs to an
AAMI class; every other annotation (rhythm changes, noise, ``~``, ``+``, ``|``...) is skipped.
The first and last beat of a record (no RR interval on one side) and beats whose window runs past
either end of the record are left out.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import wfdb
from scipy import signal as sps
from tqdm import tqdm

log = logging.getLogger(__name__)

AAMI_CLASSES = ("N", "S", "V", "F", "Q")
AAMI_OF_SYMBOL = {
    **dict.fromkeys("NLRej", "N"),
    **dict.fromkeys("AaJS", "S"),
    **dict.fromkeys("VE", "V"),
    "F": "F",
    **dict.fromkeys("/fQ", "Q"),
}
RR_FEATURES = (
    "pre_rr_s",
    "post_rr_s",
    "local_rr_s",
    "record_rr_s",
    "pre_over_local",
    "post_over_pre",
    "pre_over_record",
    "post_over_record",
)
# how many preceding RR intervals the local mean RR averages
LOCAL_RR_BEATS = 10
CACHE_FOLDER = "beats"


class BeatError(ValueError):
    """A record cannot be read into beats; the message names the record."""


@dataclass(frozen=True)
class BeatSettings:
    """How a beat is cut: sampling rate after resampling, window around the R peak, high-pass."""

    fs_hz: int = 180
    before_s: float = 0.3
    after_s: float = 0.4
    highpass_hz: float = 0.5
    # divide each lead of a record by the median peak-to-peak amplitude of its beat windows, so
    # that a beat is measured against its own patient's usual beat rather than in mV
    normalise_amplitude: bool = True
    # add each lead minus the record's median beat as two more rows of the image
    template_rows: bool = True

    @property
    def before_samples(self) -> int:
        return round(self.before_s * self.fs_hz)

    @property
    def window_samples(self) -> int:
        return self.before_samples + round(self.after_s * self.fs_hz)

    @property
    def n_rows(self) -> int:
        """Rows of a beat's image: the two leads, and their deviations from the typical beat."""
        return 4 if self.template_rows else 2


@dataclass(frozen=True, eq=False)
class Beats:
    """The beats of one or more records, in record order.

    ``windows``: (n, rows, T) float32 (see BeatSettings.n_rows); ``rr``: (n, len(RR_FEATURES))
    float32, seconds or ratios; ``labels``: (n,) int64 indices into AAMI_CLASSES;
    ``record_index``: (n,) int64 indices into ``records``.
    """

    records: tuple[str, ...]
    windows: np.ndarray
    rr: np.ndarray
    labels: np.ndarray
    record_index: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def class_counts(self, indices: np.ndarray | None = None) -> np.ndarray:
        """Beats per AAMI class, shape (5,), over ``indices`` (all beats by default)."""
        labels = self.labels if indices is None else self.labels[indices]
        return np.bincount(labels, minlength=len(AAMI_CLASSES))


def rr_features(r_peaks_s: np.ndarray) -> np.ndarray:
    """RR features of every beat but the first and last, shape (n - 2, len(RR_FEATURES)).

    ``r_peaks_s``: R-peak times of all beats of one record, in s, increasing. The local RR is the
    mean of up to LOCAL_RR_BEATS intervals ending at the beat; the record RR the mean of all of the
    record's intervals (no labels are used, only the annotated R peaks).
    """
    intervals = np.diff(np.asarray(r_peaks_s, dtype=np.float64))
    if len(intervals) < 2 or (intervals <= 0).any():
        raise ValueError("need at least 3 strictly increasing R-peak times")
    pre, post = intervals[:-1], intervals[1:]
    sums = np.concatenate([[0.0], np.cumsum(intervals)])
    ends = np.arange(1, len(intervals))  # interval index just after each kept beat
    starts = np.maximum(0, ends - LOCAL_RR_BEATS)
    local = (sums[ends] - sums[starts]) / (ends - starts)
    record = np.full_like(pre, intervals.mean())
    ratios = [pre / local, post / pre, pre / record, post / record]
    return np.stack([pre, post, local, record, *ratios], axis=1).astype(np.float32)


def _mlii_first(record: wfdb.Record) -> np.ndarray:
    """The record's two leads as (samples, 2) in mV, MLII first where the record has it."""
    names = list(record.sig_name)
    if record.p_signal is None or record.p_signal.shape[1] != 2:
        raise BeatError(f"{record.record_name}: expected 2 leads, got {names}")
    order = [1, 0] if names[1] == "MLII" else [0, 1]
    return record.p_signal[:, order]


def prepare_signal(samples_mv: np.ndarray, fs_in_hz: float, settings: BeatSettings) -> np.ndarray:
    """High-pass and resample (samples, leads) in mV from ``fs_in_hz`` to ``settings.fs_hz``."""
    sos = sps.butter(2, settings.highpass_hz, btype="highpass", fs=fs_in_hz, output="sos")
    filtered = sps.sosfiltfilt(sos, samples_mv, axis=0)
    ratio = Fraction(settings.fs_hz) / Fraction(fs_in_hz).limit_denominator(1000)
    return sps.resample_poly(filtered, ratio.numerator, ratio.denominator, axis=0)


def read_record_beats(path: str | Path, settings: BeatSettings) -> Beats:
    """The beats of one record (``path`` without extension), as a ``Beats`` of one record."""
    path = Path(path)
    try:
        record = wfdb.rdrecord(str(path))
        annotation = wfdb.rdann(str(path), "atr")
    except (OSError, ValueError) as error:
        raise BeatError(f"{path}: cannot read record or annotations ({error})") from error
    is_beat = np.array([s in AAMI_OF_SYMBOL for s in annotation.symbol], dtype=bool)
    symbols = np.asarray(annotation.symbol, dtype=object)[is_beat]
    r_peaks_s = np.asarray(annotation.sample)[is_beat] / record.fs
    if len(symbols) < 3:
        raise BeatError(f"{path}: only {len(symbols)} annotated beats")
    leads = prepare_signal(_mlii_first(record), record.fs, settings)  # (samples', 2)
    rr = rr_features(r_peaks_s)
    labels = np.array([AAMI_CLASSES.index(AAMI_OF_SYMBOL[s]) for s in symbols[1:-1]])
    peaks = np.round(r_peaks_s[1:-1] * settings.fs_hz).astype(np.int64)
    starts = peaks - settings.before_samples
    inside = (starts >= 0) & (starts + settings.window_samples <= len(leads))
    offsets = starts[inside, None] + np.arange(settings.window_samples)  # (n, T)
    windows = leads[offsets].transpose(0, 2, 1)  # (n, T, 2) -> (n, 2, T)
    if not len(windows):  # no beat far enough from the record's ends: no rows to add to
        windows = np.zeros((0, settings.n_rows, settings.window_samples), dtype=np.float32)
    if settings.normalise_amplitude and len(windows):
        typical = np.median(np.ptp(windows, axis=2), axis=0)  # (n, 2, T) -> (n, 2) -> (2,)
        windows = windows / np.maximum(typical, 1e-3)[None, :, None]
    if settings.template_rows and len(windows):
        deviation = windows - np.median(windows, axis=0)  # (n, 2, T) - (2, T)
        windows = np.concatenate([windows, deviation], axis=1)  # -> (n, 4, T)
    return Beats(
        records=(path.name,),
        windows=np.ascontiguousarray(windows, dtype=np.float32),
        rr=rr[inside],
        labels=labels[inside].astype(np.int64),
        record_index=np.zeros(int(inside.sum()), dtype=np.int64),
    )


def join_beats(parts: Sequence[Beats]) -> Beats:
    """Beats of several records in one ``Beats``, record indices renumbered."""
    return Beats(
        records=tuple(name for part in parts for name in part.records),
        windows=np.concatenate([p.windows for p in parts]),
        rr=np.concatenate([p.rr for p in parts]),
        labels=np.concatenate([p.labels for p in parts]),
        record_index=np.concatenate(
            [np.full(len(p), k, dtype=np.int64) for k, p in enumerate(parts)]
        ),
    )


def find_records(data_dir: str | Path) -> list[str]:
    """Names of the records in ``data_dir``: its RECORDS file, else every NAME.hea with NAME.atr."""
    data_dir = Path(data_dir)
    listing = data_dir / "RECORDS"
    if listing.exists():
        names = listing.read_text().split()
    else:
        names = sorted(p.stem for p in data_dir.glob("*.hea") if p.with_suffix(".atr").exists())
    if not names:
        raise BeatError(f"{data_dir}: no records (no RECORDS file and no NAME.hea + NAME.atr)")
    return names


def read_beats(
    data_dir: str | Path, records: Sequence[str], settings: BeatSettings, progress: bool = True
) -> Beats:
    """The beats of ``records`` in ``data_dir``, read one record after another."""
    parts = [
        read_record_beats(Path(data_dir) / name, settings)
        for name in tqdm(records, desc="reading records", disable=not progress, leave=False)
    ]
    return join_beats(parts)


def load_or_read_beats(
    data_dir: str | Path,
    records: Sequence[str],
    settings: BeatSettings,
    cache_dir: Path,
    progress: bool = True,
) -> Beats:
    """The beats of ``records``, from ``cache_dir`` (.npy files) when it was made with the same
    records and settings, else read from ``data_dir`` and saved there."""
    meta_path = cache_dir / "beats.json"
    meta = {"records": list(records), "settings": asdict(settings), "rr": list(RR_FEATURES)}
    arrays = ("windows", "rr", "labels", "record_index")
    if meta_path.exists() and json.loads(meta_path.read_text()) == meta:
        log.info("beats from the cache in %s", cache_dir)
        loaded = {name: np.load(cache_dir / f"{name}.npy") for name in arrays}
        return Beats(records=tuple(records), **loaded)
    beats = read_beats(data_dir, records, settings, progress)
    cache_dir.mkdir(parents=True, exist_ok=True)
    for name in arrays:
        np.save(cache_dir / f"{name}.npy", getattr(beats, name))
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")  # last: marks the cache complete
    return beats
