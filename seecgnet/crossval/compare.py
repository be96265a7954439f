"""The architectures of one cross-validation side by side: what each network costs, how it scored
on the same folds (mean ± sd over folds, and pooled), and the seconds its folds took.

This is the layout of the SE-ECGNet paper's comparison table (challenge metric, F-beta and G-beta
of SE-ECGNet, ResNeXt and ResNeSt), with AUROC, the spread over folds, the networks' size and the
time beside it; and, for each architecture after the first, how far its pooled challenge metric is
from the first's, with a paired bootstrap interval over the records.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seecgnet.challenge.classes import ScoredClasses
from seecgnet.challenge.metrics import ChallengeMetric
from seecgnet.crossval.folds import CrossValError
from seecgnet.crossval.results import MethodResult
from seecgnet.models.registry import build_network, count_multiply_adds, count_parameters
from seecgnet.models.settings import ModelSettings

# The columns compared, by their place in Scores.summary().
COMPARED = (("Challenge metric", 6), ("Fbeta-measure", 4), ("Gbeta-measure", 5), ("AUROC", 0))
RESAMPLES = 2000


@dataclass(frozen=True)
class PairedDifference:
    """Pooled challenge metric of an architecture minus the first's, on the same records: the
    difference observed, the 2.5 and 97.5 percentiles of the difference over bootstrap resamples of
    the records, and the share of resamples in which it is above zero."""

    observed: float
    low: float
    high: float
    share_above_zero: float

    def __str__(self) -> str:
        return f"{self.observed:+.3f} [{self.low:+.3f}, {self.high:+.3f}]"


def paired_bootstrap(
    results: Sequence[MethodResult],
    classes: ScoredClasses,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> list[PairedDifference | None]:
    """Each result's difference from the first (None for the first itself).

    Every resample draws the records with replacement once and scores all the architectures on
    it, so the interval shows how much the difference owes to which records happened to be in the
    data; it says nothing of how it would move with another training seed or other folds.
    """
    labels = results[0].pooled_labels
    if labels is None or any(not np.array_equal(r.pooled_labels, labels) for r in results):
        raise CrossValError("a paired bootstrap needs every result's out-of-fold labels, alike")
    binaries = [r.pooled_binary for r in results]
    rng = np.random.default_rng(seed)
    differences = np.empty((resamples, len(results) - 1))
    for b in range(resamples):
        chosen = rng.integers(0, len(labels), len(labels))
        metric = ChallengeMetric(labels[chosen], classes)
        scores = [metric(binary[chosen]) for binary in binaries]
        differences[b] = np.array(scores[1:]) - scores[0]
    observed = ChallengeMetric(labels, classes)
    first = observed(binaries[0])
    return [None] + [
        PairedDifference(
            observed(binary) - first,
            float(np.percentile(differences[:, k], 2.5)),
            float(np.percentile(differences[:, k], 97.5)),
            float((differences[:, k] > 0).mean()),
        )
        for k, binary in enumerate(binaries[1:])
    ]


@dataclass(frozen=True)
class ArchitectureRow:
    """One architecture's line: its results, its network's cost and each fold's seconds."""

    result: MethodResult
    n_parameters: int
    multiply_adds: int
    fold_seconds: tuple[float | None, ...]
    versus_first: PairedDifference | None = None

    def spread(self, column: int) -> tuple[float, float, float]:
        """Mean and sample sd over folds, and the pooled value, of one summary score."""
        per_fold = np.array([s.summary()[column] for s in self.result.fold_scores])
        sd = float(per_fold.std(ddof=1)) if len(per_fold) > 1 else 0.0
        return float(per_fold.mean()), sd, self.result.pooled_scores.summary()[column]

    def total_seconds(self) -> float | None:
        """All folds' seconds, or None when a fold's time was not recorded."""
        if any(s is None for s in self.fold_seconds):
            return None
        return float(sum(self.fold_seconds))


def architecture_row(
    result: MethodResult,
    network: ModelSettings,
    fold_seconds: Sequence[float | None],
    versus_first: PairedDifference | None = None,
) -> ArchitectureRow:
    """Count the network's weights and multiply-adds per window beside its results."""
    model = build_network(network)
    return ArchitectureRow(
        result,
        count_parameters(model),
        count_multiply_adds(model, network),
        tuple(fold_seconds),
        versus_first,
    )


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"


def comparison_markdown(rows: Sequence[ArchitectureRow]) -> str:
    """The table: cost, each compared score as "mean ± sd (pooled)", and seconds."""
    n_folds = len(rows[0].fold_seconds)
    lines = [
        f"Architectures compared on the same {n_folds} folds (mean ± sd over folds, pooled in "
        "brackets):",
        "",
        "| method | weights | multiply-adds per window | "
        + " | ".join(name for name, _ in COMPARED)
        + f" | challenge metric minus {rows[0].result.method}'s [95 % interval] "
        "| seconds per fold | seconds in all |",
        "|---" * (len(COMPARED) + 6) + "|",
    ]
    for row in rows:
        cells = []
        for _, column in COMPARED:
            mean, sd, pooled = row.spread(column)
            cells.append(f"{mean:.3f} ± {sd:.3f} ({pooled:.3f})")
        per_fold = ", ".join(_seconds(s) or "?" for s in row.fold_seconds)
        lines.append(
            f"| {row.result.method} | {row.n_parameters:,} | {row.multiply_adds / 1e6:.1f} M | "
            + " | ".join(cells)
            + f" | {row.versus_first or ''} | {per_fold} | {_seconds(row.total_seconds())} |"
        )
    if len(rows) > 1:
        lines += [
            "",
            f"The interval: {RESAMPLES} paired bootstrap resamples of the records (all "
            "architectures scored on the same resample); it shows how much a difference owes to "
            "which records were drawn, not how it moves with another training seed or other folds.",
        ]
    return "\n".join(lines) + "\n"


def write_comparison_csv(rows: Sequence[ArchitectureRow], path: Path) -> None:
    """One line per architecture: cost, mean, sd and pooled of each compared score, seconds."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        header = ["method", "weights", "multiply_adds"]
        for name, _ in COMPARED:
            header += [f"{name} mean", f"{name} sd", f"{name} pooled"]
        header += ["minus first", "minus first low", "minus first high", "minus first above 0"]
        n_folds = len(rows[0].fold_seconds)
        writer.writerow([*header, *(f"seconds fold {k + 1}" for k in range(n_folds)), "seconds"])
        for row in rows:
            values = [f"{v:.4f}" for _, column in COMPARED for v in row.spread(column)]
            d = row.versus_first
            values += (
                ["", "", "", ""]
                if d is None
                else [f"{v:.4f}" for v in (d.observed, d.low, d.high, d.share_above_zero)]
            )
            seconds = [_seconds(s) for s in (*row.fold_seconds, row.total_seconds())]
            writer.writerow(
                [row.result.method, row.n_parameters, row.multiply_adds, *values, *seconds]
            )
