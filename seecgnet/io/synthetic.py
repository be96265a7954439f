"""Synthetic 12-lead ECG records in the challenge's format, for tests, the example and benchmarks.

What it models:

- Each beat is a fixed P-Q-R-S-T template, a sum of five Gaussian bumps with per-lead amplitudes
  (an upright R in II and V5, a deep S in V1, a negative aVR). The T wave moves closer to the R peak
  as the rate rises, roughly as the QT interval shortens.
- Leads I, II and V1..V6 are generated; III, aVR, aVL and aVF are computed from I and II with
  Einthoven's and Goldberger's relations, as most electrocardiographs do.
- Rhythm: sinus beats at the given rate with a 2 % beat-to-beat jitter, or atrial fibrillation:
  no P waves, RR intervals drawn uniformly within ±40 % of the mean, and small 4–9 Hz fibrillatory
  waves.
- A QRS scale factor shrinks Q, R and S for low QRS voltages.
- Small white noise and a slow sinusoidal baseline wander on each generated lead.

What it does not model: morphology that changes from beat to beat, conduction blocks, ectopic
beats, ST changes, respiration, electrode motion or mains interference, or any other rhythm. The
records are for exercising code and for a learnable toy task, not for judging a method on real ECGs.

The files follow the challenge's layout: a WFDB header whose first line reads
``NAME 12 500 5000 01-Jan-2020 00:00:00`` (date before time, as in the challenge data), one line per
lead ``NAME.mat 16+24 1000/mV 16 0 <first value> <checksum> 0 <lead>``, the ``#Age``, ``#Sex``,
``#Dx``, ``#Rx``, ``#Hx`` and ``#Sx`` comments; and a MATLAB v4 ``NAME.mat`` holding int16 ``val``
(leads × samples) at 1000 digital units per mV.

``python -m seecgnet.io.synthetic OUT`` ends each header it writes with the mark of
:mod:`seecgnet.io.own_records` (``#Written by: python -m seecgnet.io.synthetic, sha256 HEX``): run
again, it replaces a record only where the mark still holds (a record it made and nobody changed
since), and refuses any other file of the same name.
"""

from __future__ import annotations

import argparse
import enum
import logging
import math
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.io
from tqdm import tqdm

from seecgnet.destinations import DestinationError, check_output_files
from seecgnet.io.own_records import mark_record, own_records
from seecgnet.io.records import STANDARD_LEADS

logger = logging.getLogger(__name__)

SINUS_RHYTHM = "426783006"
SINUS_BRADYCARDIA = "426177001"
SINUS_TACHYCARDIA = "427084000"
ATRIAL_FIBRILLATION = "164889003"
LOW_QRS_VOLTAGES = "251146004"

GAIN_PER_MV = 1000
# header(5): a record name holds letters, digits and underscores only.
_RECORD_NAME = re.compile(r"[A-Za-z0-9_]+", re.ASCII)

# Wave centres relative to the R peak and widths (standard deviations), in seconds, for P Q R S;
# the T wave's centre depends on the rate (see _beat_templates).
_WAVE_CENTRES_S = (-0.16, -0.035, 0.0, 0.035)
_WAVE_WIDTHS_S = (0.025, 0.010, 0.012, 0.012, 0.05)
_T_CENTRE_AT_60_BPM_S = 0.27
_QRS_WAVES = slice(1, 4)

# Amplitudes in mV of the P, Q, R, S and T waves of the leads that are generated; the other limb
# leads are derived from I and II.
_AMPLITUDES_MV: dict[str, tuple[float, float, float, float, float]] = {
    "I": (0.08, -0.05, 0.8, -0.10, 0.20),
    "II": (0.15, -0.08, 1.2, -0.20, 0.30),
    "V1": (0.05, 0.00, 0.2, -0.90, 0.10),
    "V2": (0.06, 0.00, 0.4, -1.20, 0.40),
    "V3": (0.07, 0.00, 0.7, -0.80, 0.45),
    "V4": (0.08, -0.05, 1.2, -0.50, 0.40),
    "V5": (0.08, -0.08, 1.3, -0.30, 0.30),
    "V6": (0.08, -0.08, 1.0, -0.15, 0.25),
}
# Where fibrillatory waves show most (V1, the inferior leads), relative to V1.
_FIBRILLATION_WEIGHT = {"I": 0.3, "II": 0.6, "V1": 1.0, "V2": 0.7, "V3": 0.4}

_NOISE_MV = 0.015
_WANDER_MV = 0.08


class Rhythm(enum.Enum):
    SINUS = "sinus"
    ATRIAL_FIBRILLATION = "atrial fibrillation"


@dataclass(frozen=True)
class _RecordKind:
    """One labelled kind of record in a synthetic data set."""

    dx_codes: tuple[str, ...]
    heart_rate_bpm: tuple[float, float]  # drawn uniformly between these
    rhythm: Rhythm = Rhythm.SINUS
    qrs_scale: float = 1.0


_DATASET_KINDS: tuple[_RecordKind, ...] = (
    _RecordKind((SINUS_RHYTHM,), (60.0, 100.0)),
    _RecordKind((SINUS_BRADYCARDIA,), (40.0, 55.0)),
    _RecordKind((SINUS_TACHYCARDIA,), (105.0, 150.0)),
    _RecordKind((ATRIAL_FIBRILLATION,), (70.0, 140.0), rhythm=Rhythm.ATRIAL_FIBRILLATION),
    _RecordKind((LOW_QRS_VOLTAGES, SINUS_RHYTHM), (60.0, 100.0), qrs_scale=0.25),
)


def write_synthetic_record(
    directory: str | os.PathLike[str],
    name: str,
    *,
    fs_hz: float = 500,
    duration_s: float = 10.0,
    heart_rate_bpm: float = 75.0,
    rhythm: Rhythm = Rhythm.SINUS,
    qrs_scale: float = 1.0,
    dx_codes: Sequence[str] = (SINUS_RHYTHM,),
    age: float | None = 60.0,
    sex: str = "Male",
    lead_order: Sequence[str] | None = None,
    four_field_first_line: bool = False,
    seed: int = 0,
) -> Path:
    """Write ``NAME.hea`` and ``NAME.mat`` into ``directory`` (made if missing); return the header.

    ``dx_codes`` and ``sex`` are written as given (``dx_codes`` joined by commas, so empty entries
    stay empty); ``age=None`` leaves out the ``#Age`` line and NaN writes ``#Age: NaN``.
    ``lead_order`` names the leads to write, in that order (standard names; a subset leaves the rest
    out); by default the twelve in the standard order. ``four_field_first_line`` leaves the date and
    time out of the first line. The same arguments always write the same files.
    """
    leads = tuple(STANDARD_LEADS if lead_order is None else lead_order)
    _check_arguments(name, fs_hz, duration_s, heart_rate_bpm, qrs_scale, leads, sex, dx_codes)
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)

    n_samples = round(duration_s * fs_hz)
    signal_mv = _standard_leads_mv(
        n_samples, fs_hz, heart_rate_bpm, rhythm, qrs_scale, np.random.default_rng(seed)
    )
    rows = [STANDARD_LEADS.index(lead) for lead in leads]
    digital = np.clip(np.round(signal_mv[rows] * GAIN_PER_MV), -32768, 32767).astype(np.int16)

    scipy.io.savemat(folder / f"{name}.mat", {"val": digital}, format="4")
    header_path = folder / f"{name}.hea"
    header_path.write_text(
        "\n".join(
            _header_lines(name, fs_hz, digital, leads, dx_codes, age, sex, four_field_first_line)
        )
        + "\n",
        encoding="ascii",
    )
    return header_path


def write_synthetic_dataset(
    directory: str | os.PathLike[str], n: int, seed: int = 0, name_prefix: str = "SYN"
) -> list[Path]:
    """Write ``n`` labelled records ``SYN00001``... into ``directory``; return their headers.

    ``name_prefix`` starts the names in place of ``SYN`` (``HR`` writes ``HR00001``..., records
    that look like PTB-XL's to the source split of cross-validation).

    The labels cycle, in a shuffled order, through five kinds whose signals differ visibly: sinus
    rhythm (60–100 bpm), sinus bradycardia (40–55 bpm), sinus tachycardia (105–150 bpm), atrial
    fibrillation (70–140 bpm, irregular, no P waves) and low QRS voltages (QRS × 0.25, with sinus
    rhythm). Most records are 10 s at 500 Hz; some are at 257 or 1000 Hz, or 6–30 s long. Ages are
    18–90 years (5 % NaN), sexes are male or female.
    """
    if n < 1:
        raise ValueError(f"number of synthetic records must be at least 1, got {n}")
    rng = np.random.default_rng(seed)
    kinds = [_DATASET_KINDS[i % len(_DATASET_KINDS)] for i in range(n)]
    rng.shuffle(kinds)
    headers = []
    for i, kind in enumerate(tqdm(kinds, desc="synthetic records", unit="record", disable=None)):
        fs_hz = float(rng.choice([500.0, 257.0, 1000.0], p=[0.8, 0.1, 0.1]))
        duration_s = 10.0 if rng.random() < 0.7 else round(float(rng.uniform(6.0, 30.0)), 1)
        headers.append(
            write_synthetic_record(
                directory,
                f"{name_prefix}{i + 1:05d}",
                fs_hz=fs_hz,
                duration_s=duration_s,
                heart_rate_bpm=float(rng.uniform(*kind.heart_rate_bpm)),
                rhythm=kind.rhythm,
                qrs_scale=kind.qrs_scale,
                dx_codes=kind.dx_codes,
                age=math.nan if rng.random() < 0.05 else float(rng.integers(18, 91)),
                sex=str(rng.choice(["Male", "Female"])),
                seed=int(rng.integers(2**31)),
            )
        )
    return headers


def _check_arguments(
    name: str,
    fs_hz: float,
    duration_s: float,
    heart_rate_bpm: float,
    qrs_scale: float,
    leads: tuple[str, ...],
    sex: str,
    dx_codes: Sequence[str],
) -> None:
    if _RECORD_NAME.fullmatch(name) is None:
        raise ValueError(
            f"record name {name!r} must be ASCII letters, digits and underscores, as WFDB wants"
        )
    if not fs_hz > 0 or not duration_s > 0:
        raise ValueError(f"record {name}: fs_hz={fs_hz} and duration_s={duration_s} must be > 0")
    if round(duration_s * fs_hz) < 1:
        raise ValueError(f"record {name}: {duration_s} s at {fs_hz} Hz holds no sample")
    if not 20 <= heart_rate_bpm <= 250:
        raise ValueError(f"record {name}: heart rate {heart_rate_bpm} bpm is outside 20–250")
    if not qrs_scale > 0:
        raise ValueError(f"record {name}: qrs_scale {qrs_scale} must be > 0")
    unknown = [lead for lead in leads if lead not in STANDARD_LEADS]
    if not leads or unknown or len(set(leads)) != len(leads):
        raise ValueError(
            f"record {name}: lead_order {leads} must list distinct standard leads "
            f"{STANDARD_LEADS} (unknown: {unknown})"
        )
    # Written into an ASCII header as given, one line each.
    for text in (sex, *dx_codes):
        if not text.isascii() or text.splitlines() not in ([], [text]):
            raise ValueError(f"record {name}: {text!r} must be ASCII on one line for the header")


def _standard_leads_mv(
    n_samples: int,
    fs_hz: float,
    heart_rate_bpm: float,
    rhythm: Rhythm,
    qrs_scale: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """The twelve standard leads in mV, shape (12, n_samples)."""
    mean_rr_s = 60.0 / heart_rate_bpm
    generated = tuple(_AMPLITUDES_MV)
    templates, r_offset = _beat_templates(generated, fs_hz, mean_rr_s, rhythm, qrs_scale)
    width = templates.shape[1]

    # Beats run from before the first sample to past the last, so the record starts mid-cycle.
    beats_s = [-rng.uniform(0.0, mean_rr_s)]
    end_s = n_samples / fs_hz + width / fs_hz
    while beats_s[-1] < end_s:
        if rhythm is Rhythm.ATRIAL_FIBRILLATION:
            beats_s.append(beats_s[-1] + mean_rr_s * rng.uniform(0.6, 1.4))
        else:
            beats_s.append(beats_s[-1] + mean_rr_s * (1.0 + 0.02 * rng.standard_normal()))

    # Beats are placed on the nearest sample: a jitter of at most half a sample period.
    padded = np.zeros((len(generated), n_samples + 2 * width))
    for beat_s in beats_s:
        start = round(beat_s * fs_hz) - r_offset + width
        if 0 <= start <= padded.shape[1] - width:
            padded[:, start : start + width] += templates
    leads = padded[:, width : width + n_samples]

    t_s = np.arange(n_samples) / fs_hz
    for row in range(len(generated)):
        wander_hz = rng.uniform(0.1, 0.4)
        phase = rng.uniform(0.0, 2 * np.pi)
        leads[row] += _WANDER_MV * np.sin(2 * np.pi * wander_hz * t_s + phase)
        leads[row] += _NOISE_MV * rng.standard_normal(n_samples)
    if rhythm is Rhythm.ATRIAL_FIBRILLATION:
        waves = sum(
            rng.uniform(0.01, 0.03) * np.sin(2 * np.pi * rng.uniform(4.0, 9.0) * t_s + phase)
            for phase in rng.uniform(0.0, 2 * np.pi, size=3)
        )
        for row, lead in enumerate(generated):
            leads[row] += _FIBRILLATION_WEIGHT.get(lead, 0.2) * waves

    lead_i, lead_ii = leads[0], leads[1]
    limb = {
        "I": lead_i,
        "II": lead_ii,
        "III": lead_ii - lead_i,
        "aVR": -(lead_i + lead_ii) / 2,
        "aVL": lead_i - lead_ii / 2,
        "aVF": lead_ii - lead_i / 2,
    }
    precordial = {lead: leads[row] for row, lead in enumerate(generated) if lead.startswith("V")}
    by_name = limb | precordial
    return np.stack([by_name[lead] for lead in STANDARD_LEADS])


def _beat_templates(
    leads: tuple[str, ...],
    fs_hz: float,
    mean_rr_s: float,
    rhythm: Rhythm,
    qrs_scale: float,
) -> tuple[np.ndarray, int]:
    """One beat per lead in mV, shape (leads, samples), and the R peak's sample within it."""
    t_centre_s = _T_CENTRE_AT_60_BPM_S * math.sqrt(mean_rr_s)  # shorter QT at faster rates
    centres_s = np.array([*_WAVE_CENTRES_S, t_centre_s])
    widths_s = np.array(_WAVE_WIDTHS_S)
    before_s, after_s = 0.3, t_centre_s + 4 * widths_s[-1]
    t_s = np.arange(-round(before_s * fs_hz), round(after_s * fs_hz) + 1) / fs_hz
    # shape (waves, samples): each wave a unit-height Gaussian
    waves = np.exp(
        -0.5 * ((t_s[np.newaxis, :] - centres_s[:, np.newaxis]) / widths_s[:, np.newaxis]) ** 2
    )
    amplitudes = np.array([_AMPLITUDES_MV[lead] for lead in leads])  # (leads, waves)
    amplitudes[:, _QRS_WAVES] *= qrs_scale
    if rhythm is Rhythm.ATRIAL_FIBRILLATION:
        amplitudes[:, 0] = 0.0
    return amplitudes @ waves, round(before_s * fs_hz)


def _header_lines(
    name: str,
    fs_hz: float,
    digital: np.ndarray,
    leads: tuple[str, ...],
    dx_codes: Sequence[str],
    age: float | None,
    sex: str,
    four_field_first_line: bool,
) -> list[str]:
    first_line = f"{name} {len(leads)} {fs_hz:g} {digital.shape[1]}"
    if not four_field_first_line:
        first_line += " 01-Jan-2020 00:00:00"
    # WFDB's checksum: the 16-bit two's-complement sum of a lead's samples.
    checksums = (digital.astype(np.int64).sum(axis=1) + 32768) % 65536 - 32768
    lines = [first_line]
    for lead, first, checksum in zip(leads, digital[:, 0], checksums, strict=True):
        lines.append(f"{name}.mat 16+24 {GAIN_PER_MV}/mV 16 0 {first} {checksum} 0 {lead}")
    if age is not None:
        lines.append("#Age: NaN" if math.isnan(age) else f"#Age: {age:g}")
    lines += [f"#Sex: {sex}", f"#Dx: {','.join(dx_codes)}"]
    lines += ["#Rx: Unknown", "#Hx: Unknown", "#Sx: Unknown"]
    return lines


# Who marks the records written by main (see seecgnet.io.own_records).
WRITER = "python -m seecgnet.io.synthetic"
SYNTHETIC_RECORDS = own_records(WRITER)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m seecgnet.io.synthetic",
        description="Write a small labelled set of synthetic 12-lead records in the challenge's "
        "format (NAME.hea + NAME.mat).",
    )
    parser.add_argument(
        "out_dir",
        type=Path,
        help="folder to write into (made if missing); a record of the same name there is "
        "replaced only if this command wrote it and nobody changed it since",
    )
    parser.add_argument("--n", type=int, default=20, help="number of records (default 20)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error(f"--n must be at least 1, got {args.n}")
    names = [f"SYN{i:05d}{suffix}" for i in range(1, args.n + 1) for suffix in (".hea", ".mat")]
    try:
        check_output_files(args.out_dir, names, SYNTHETIC_RECORDS)
    except DestinationError as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    headers = write_synthetic_dataset(args.out_dir, args.n, seed=args.seed)
    for header in headers:
        mark_record(header, WRITER)
    logger.info("wrote %d synthetic records to %s", len(headers), args.out_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
