"""Beats of the MIT-BIH Arrhythmia Database: windows of both leads around each annotated R peak,
their AAMI EC57 class, and the RR-interval features that carry the rhythm.

Signal preparation, in order, for each record (read with ``wfdb.rdrecord``, in mV at 360 Hz):

1. the lead named MLII, where the record has one, becomes the first row (record 114 stores it
   second); the other lead is the second row. Records whose leads are not named (the MIT-BIH
   Supraventricular Arrhythmia Database's ``ECG1`` and ``ECG2``) keep the order they are stored
   in: see docs/mitbih.md on why its first signal takes MLII's row;
2. baseline wander is removed by a zero-phase 2nd-order Butterworth high-pass at ``highpass_hz``;
3. both leads are resampled from the record's own rate (360 Hz in MIT-BIH, 128 Hz in the
   Supraventricular Arrhythmia Database) to ``fs_hz`` (polyphase, with its anti-alias filter);
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
   (here the whole half-hour record, like the record's mean RR interval);
7. with ``neighbour_rows``, the windows of the previous and the next beat (both leads, each
   centred on its own R peak, scaled as in 5; zeros where a neighbour's window leaves the record)
   are added as four more rows, so that the network sees the beats around this one.

The RR features (:mod:`seecgnet.mitbih.rhythm`) carry the rhythm: the intervals around the beat
against the patient's own rhythm over ``rr_windows_s``.

Beats are the reference annotations (``wfdb.rdann``, extension ``atr``) whose symbol belongs to an
AAMI class; every other annotation (rhythm changes, noise, ``~``, ``+``, ``|``...) is skipped.
The first and last beat of a record (no RR interval on one side) and beats whose window runs past
either end of the record are left out.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import wfdb
from scipy import signal as sps
from tqdm import tqdm

from seecgnet.errors import SeecgnetError
from seecgnet.mitbih.rhythm import rr_features
from seecgnet.mitbih.settings import AAMI_CLASSES, BeatSettings

log = logging.getLogger(__name__)

AAMI_OF_SYMBOL = {
    **dict.fromkeys("NLRej", "N"),
    **dict.fromkeys("AaJS", "S"),
    **dict.fromkeys("VE", "V"),
    "F": "F",
    **dict.fromkeys("/fQ", "Q"),
}
CACHE_FOLDER = "beats"


class BeatError(SeecgnetError, ValueError):
    """A record cannot be read into beats; the message names the record."""


@dataclass(frozen=True, eq=False)
class Beats:
    """The beats of one or more records, in record order.

    ``windows``: (n, rows, T) float32 (see BeatSettings.n_rows); ``rr``: (n, len(BeatSettings.rr_names))
    float32, seconds or ratios; ``labels``: (n,) int64 indices into AAMI_CLASSES;
    ``record_index``: (n,) int64 indices into ``records``; ``time_s``: (n,) float64, each beat's
    R peak in seconds from the start of its record (None for beats made from others', such as
    re-based copies).
    """

    records: tuple[str, ...]
    windows: np.ndarray
    rr: np.ndarray
    labels: np.ndarray
    record_index: np.ndarray
    time_s: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.labels)

    def class_counts(self, indices: np.ndarray | None = None) -> np.ndarray:
        """Beats per AAMI class, shape (5,), over ``indices`` (all beats by default)."""
        labels = self.labels if indices is None else self.labels[indices]
        return np.bincount(labels, minlength=len(AAMI_CLASSES))


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


def cut_windows(
    leads: np.ndarray, r_peaks_s: np.ndarray, settings: BeatSettings
) -> tuple[np.ndarray, np.ndarray]:
    """The (2, T) window around every R peak of ``leads`` (samples, 2) at ``settings.fs_hz``, as
    (n, 2, T), zeros where a window leaves the signal; and the mask (n,) of whole windows."""
    starts = np.round(r_peaks_s * settings.fs_hz).astype(np.int64) - settings.before_samples
    inside = (starts >= 0) & (starts + settings.window_samples <= len(leads))
    windows = np.zeros((len(starts), 2, settings.window_samples), dtype=np.float64)
    offsets = starts[inside, None] + np.arange(settings.window_samples)  # (n', T)
    windows[inside] = leads[offsets].transpose(0, 2, 1)  # (n', T, 2) -> (n', 2, T)
    return windows, inside


def beat_images(windows: np.ndarray, kept: np.ndarray, settings: BeatSettings) -> np.ndarray:
    """The (rows, T) image of each beat in ``kept`` (indices into ``windows``, never the first or
    last), shape (len(kept), settings.n_rows, T): steps 5 to 7 of the module's list."""
    if not len(kept):  # no beat far enough from the record's ends: no rows to add to
        return np.zeros((0, settings.n_rows, settings.window_samples), dtype=np.float32)
    beat = windows[kept]  # (n, 2, T)
    scale = np.ones((1, 2, 1))
    if settings.normalise_amplitude:
        typical = np.median(np.ptp(beat, axis=2), axis=0)  # (n, 2, T) -> (n, 2) -> (2,)
        scale = 1.0 / np.maximum(typical, 1e-3)[None, :, None]
    rows = [beat * scale]
    if settings.template_rows:
        rows.append(rows[0] - np.median(rows[0], axis=0))  # (n, 2, T) - (2, T)
    if settings.neighbour_rows:
        rows += [windows[kept - 1] * scale, windows[kept + 1] * scale]
    return np.concatenate(rows, axis=1)  # -> (n, rows, T)


def read_annotated(path: Path) -> tuple[wfdb.Record, np.ndarray, np.ndarray]:
    """Record ``path`` (without extension), and its ``atr`` beat annotations: the beat symbols
    (those with an AAMI class) and their positions in samples at the record's rate."""
    try:
        record = wfdb.rdrecord(str(path))
        annotation = wfdb.rdann(str(path), "atr")
    except (OSError, ValueError) as error:
        raise BeatError(f"{path}: cannot read record or annotations ({error})") from error
    is_beat = np.array([s in AAMI_OF_SYMBOL for s in annotation.symbol], dtype=bool)
    symbols = np.asarray(annotation.symbol, dtype=object)[is_beat]
    return record, symbols, np.asarray(annotation.sample)[is_beat]


def read_record_beats(path: str | Path, settings: BeatSettings, name: str | None = None) -> Beats:
    """The beats of one record (``path`` without extension), as a ``Beats`` of one record named
    ``name`` (default: the file's)."""
    path = Path(path)
    record, symbols, beat_samples = read_annotated(path)
    r_peaks_s = beat_samples / record.fs
    if len(symbols) < 3:
        raise BeatError(f"{path}: only {len(symbols)} annotated beats")
    if (np.diff(r_peaks_s) <= 0).any():
        raise BeatError(f"{path}: the beat annotations are not in strictly increasing time")
    leads = prepare_signal(_mlii_first(record), record.fs, settings)  # (samples', 2)
    rr = rr_features(
        r_peaks_s,
        settings.rr_windows_s,
        settings.rr_sequence_beats,
        settings.rr_absolute,
        settings.rr_irregularity,
        settings.rr_quantile,
    )
    labels = np.array([AAMI_CLASSES.index(AAMI_OF_SYMBOL[s]) for s in symbols[1:-1]])
    windows, whole = cut_windows(leads, r_peaks_s, settings)
    inside = whole[1:-1]  # the first and last beat have no RR interval on one side
    images = beat_images(windows, np.flatnonzero(inside) + 1, settings)
    return Beats(
        records=(name or path.name,),
        windows=np.ascontiguousarray(images, dtype=np.float32),
        rr=rr[inside],
        labels=labels[inside].astype(np.int64),
        record_index=np.zeros(int(inside.sum()), dtype=np.int64),
        time_s=r_peaks_s[1:-1][inside].astype(np.float64),
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
        time_s=np.concatenate([p.time_s for p in parts]),
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
    data_dir: str | Path,
    records: Sequence[str],
    settings: BeatSettings,
    progress: bool = True,
    paths: Mapping[str, Path] | None = None,
) -> Beats:
    """The beats of ``records``, read one record after another: each from ``paths[name]`` where
    given (the records of other databases, see :mod:`seecgnet.mitbih.sources`), else from
    ``data_dir/name``."""
    paths = paths or {}
    parts = [
        read_record_beats(paths.get(name, Path(data_dir) / name), settings, name)
        for name in tqdm(records, desc="reading records", disable=not progress, leave=False)
    ]
    return join_beats(parts)


def load_or_read_beats(
    data_dir: str | Path,
    records: Sequence[str],
    settings: BeatSettings,
    cache_dir: Path,
    progress: bool = True,
    paths: Mapping[str, Path] | None = None,
) -> Beats:
    """The beats of ``records``, from ``cache_dir`` (.npy files) when it was made with the same
    records and settings, else read (as :func:`read_beats` does) and saved there. A cache from
    before the beats' times were kept is read again."""
    meta_path = cache_dir / "beats.json"
    meta = {"records": list(records), "settings": asdict(settings), "rr": list(settings.rr_names)}
    meta = json.loads(json.dumps(meta))  # tuples as JSON lists, as the saved file reads back
    arrays = ("windows", "rr", "labels", "record_index", "time_s")
    whole = all((cache_dir / f"{name}.npy").exists() for name in arrays)
    if whole and meta_path.exists() and json.loads(meta_path.read_text()) == meta:
        log.info("beats from the cache in %s", cache_dir)
        loaded = {name: np.load(cache_dir / f"{name}.npy") for name in arrays}
        return Beats(records=tuple(records), **loaded)
    beats = read_beats(data_dir, records, settings, progress, paths)
    cache_dir.mkdir(parents=True, exist_ok=True)
    for name in arrays:
        np.save(cache_dir / f"{name}.npy", getattr(beats, name))
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")  # last: marks the cache complete
    return beats
