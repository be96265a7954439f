"""Several seeds of one benchmark run, and what they say together: the mean and spread of each
figure over the seeds, and (inter-patient) the seeds' ensemble.

Each seed is a whole run in ``WORKDIR/seed_K`` (its own split, folds and weights), resumed like
any other. The ensemble averages the seeds' probabilities for every beat: on DS1 (each seed's
out-of-fold predictions, so every beat is still predicted only by models that never saw its
record) its S offset is chosen again, as in a single run, and the test beats are decided with it.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from seecgnet.mitbih.beats import find_records
from seecgnet.mitbih.result_files import PROTOCOL_TITLES, MethodResult
from seecgnet.mitbih.run import BenchmarkSettings, run_benchmark
from seecgnet.mitbih.scores import BeatScores, score_beats
from seecgnet.mitbih.selection import decide, tune_offsets
from seecgnet.mitbih.settings import AAMI_CLASSES, SEEDS_MARKER
from seecgnet.mitbih.splits import protocol_records

S, V = AAMI_CLASSES.index("S"), AAMI_CLASSES.index("V")
FIGURES = {
    "S Se": lambda s: s.sensitivity[S],
    "S PPV": lambda s: s.ppv[S],
    "S F1": lambda s: s.f1[S],
    "V Se": lambda s: s.sensitivity[V],
    "V PPV": lambda s: s.ppv[V],
    "V F1": lambda s: s.f1[V],
    "macro F1 (N,S,V,F)": lambda s: s.macro_f1_nsvf,
    "weighted F1": lambda s: s.weighted_f1,
}


def seed_settings(settings: BenchmarkSettings, seed: int) -> BenchmarkSettings:
    """The run's settings with ``seed`` for both the split and the weights."""
    return dataclasses.replace(
        settings,
        split=dataclasses.replace(settings.split, seed=seed),
        training=dataclasses.replace(settings.training, seed=seed),
    )


def seed_ensemble(
    settings: BenchmarkSettings, folders: list[Path], architecture: str
) -> BeatScores:
    """Test scores of the seeds' probabilities averaged, the S offset chosen on DS1 (see above)."""
    labels = np.load(folders[0] / "beats" / "labels.npy")
    validation_p, test_p = np.zeros((len(labels), len(AAMI_CLASSES))), 0.0
    for folder in folders:
        split = np.load(folder / "split.npz")
        predictions = np.load(folder / architecture / "predictions.npz")
        validation_p[split["validation"]] += np.exp(predictions["validation_log_p"])
        test_p = test_p + np.exp(predictions["test_log_p"])
    validation, test = split["validation"], split["test"]
    validation_log_p = np.log(np.maximum(validation_p[validation] / len(folders), 1e-30))
    offsets, _ = tune_offsets(labels[validation], validation_log_p, settings.selection)
    test_log_p = np.log(np.maximum(test_p / len(folders), 1e-30))
    part = test if len(test) else validation
    log_p = test_log_p if len(test) else validation_log_p
    return score_beats(labels[part], decide(log_p, offsets))


def _row(method: str, values: list[float]) -> list[str]:
    return [method, f"{np.mean(values):.3f}", f"{np.std(values):.3f}", f"{min(values):.3f}",
            f"{max(values):.3f}"]  # fmt: skip


PART_FIGURES = {name: FIGURES[name] for name in ("S Se", "S PPV", "S F1", "V F1")}


def breakdown_summary(
    runs: dict[int, list[MethodResult]], seeds: list[int]
) -> tuple[list[list[str]], list[str]]:
    """seeds.csv's rows and seeds.md's table of the breakdown's parts (each database's
    validation, record 232 and the test without it): S and V figures, mean ± sd over the seeds."""
    rows, lines = [], []
    for k, first in enumerate(runs[seeds[0]]):
        for j, (part, _) in enumerate(first.breakdown):
            cells = []
            for name, figure in PART_FIGURES.items():
                values = [float(figure(runs[seed][k].breakdown[j][1])) for seed in seeds]
                rows.append(_row(f"{first.method}, {part}: {name}", values))
                # a figure of a class the part has no beats of (V in record 232) is NaN
                shown = np.isfinite(values).all()
                cells.append(f"{np.mean(values):.3f} ± {np.std(values):.3f}" if shown else "–")
            lines.append(f"| {first.method} | {part} | " + " | ".join(cells) + " |")
    if lines:
        header = "| method | part | " + " | ".join(PART_FIGURES) + " |"
        lines = ["", header, "|---" * (len(PART_FIGURES) + 2) + "|", *lines]
    return rows, lines


def write_summary(
    settings: BenchmarkSettings, runs: dict[int, list[MethodResult]], workdir: Path
) -> str:
    """seeds.csv (one row per network, figure: mean, standard deviation, lowest, highest) and
    seeds.md (mean ± standard deviation, and the seeds' ensemble); returns the Markdown."""
    seeds = sorted(runs)
    folders = [workdir / f"seed_{seed}" for seed in seeds]
    title = PROTOCOL_TITLES[settings.protocol]
    lines = [
        f"### MIT-BIH, {title} protocol, {len(seeds)} seeds ({', '.join(map(str, seeds))}): "
        "mean ± standard deviation",
        "",
        "| method | " + " | ".join(FIGURES) + " | training (s) |",
        "|---" * (len(FIGURES) + 2) + "|",
    ]
    rows = []
    for k, first in enumerate(runs[seeds[0]]):
        method = first.method
        results = [runs[seed][k] for seed in seeds]
        cells = []
        for name, figure in FIGURES.items():
            values = [float(figure(r.shown[1])) for r in results]
            rows.append(_row(f"{method}: {name}", values))
            cells.append(f"{np.mean(values):.3f} ± {np.std(values):.3f}")
        seconds = [r.train_seconds for r in results]
        rows.append(_row(f"{method}: training (s)", seconds))
        lines.append(f"| {method} | " + " | ".join(cells) + f" | {np.mean(seconds):.0f} |")
        # intra: other validation beats in each seed; patient-specific: two rows per network
        if len(seeds) > 1 and settings.protocol in ("inter", "ds1"):
            ensemble = seed_ensemble(settings, folders, settings.architectures[k])
            cells = [f"{float(figure(ensemble)):.3f}" for figure in FIGURES.values()]
            lines.append(
                f"| {method}, ensemble of the {len(seeds)} seeds | " + " | ".join(cells)
                + f" | {np.sum(seconds):.0f} |"
            )  # fmt: skip
    part_rows, part_lines = breakdown_summary(runs, seeds)
    rows += part_rows
    lines += part_lines
    with (workdir / "seeds.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["figure", "mean", "std", "lowest", "highest"])
        writer.writerows(rows)
    text = "\n".join(lines) + "\n"
    (workdir / "seeds.md").write_text(text)
    return text


def run_seeds(
    settings: BenchmarkSettings,
    seeds: list[int],
    data_dir: Path,
    workdir: Path,
    progress: bool = True,
    extra_dirs: Sequence[Path] = (),
) -> str:
    """Run (or resume) the benchmark once per seed in ``workdir/seed_K``; the summary's Markdown.
    ``workdir/seeds.json`` (the seeds and the settings) marks the folder as a seeds' work folder
    from the start, so that a run cut off resumes. Nothing is written before the data folder's
    records are found."""
    protocol_records(settings.protocol, find_records(data_dir))
    workdir.mkdir(parents=True, exist_ok=True)
    marker = {"seeds": seeds, "settings": json.loads(settings.to_json())}
    (workdir / SEEDS_MARKER).write_text(json.dumps(marker, indent=2) + "\n")
    runs = {
        seed: run_benchmark(
            seed_settings(settings, seed), data_dir, workdir / f"seed_{seed}", progress, extra_dirs
        )
        for seed in seeds
    }
    return write_summary(settings, runs, workdir)
