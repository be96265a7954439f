"""Cross-validation results as tables (CSV, Markdown) and figures (PNG)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seecgnet.challenge.metrics import SUMMARY_NAMES
from seecgnet.crossval.results import MethodResult
from seecgnet.training.curves import EpochLog, draw_curves

RULE_NAMES = {
    "per_sample": "per-sample max/5 (paper)",
    "fixed": "fixed 0.5",
    "per_class": "per-class, tuned on inner split",
}


def score_rows(result: MethodResult) -> list[tuple[str, list[float]]]:
    """(label, values) rows: each fold, mean, sd (sample, ddof=1) and pooled."""
    per_fold = np.array([s.summary() for s in result.fold_scores])
    rows = [(f"fold {k + 1}", list(v)) for k, v in enumerate(per_fold)]
    rows.append(("mean", list(per_fold.mean(axis=0))))
    rows.append(
        ("sd", list(per_fold.std(axis=0, ddof=1) if len(per_fold) > 1 else per_fold[0] * 0))
    )
    rows.append(("pooled", list(result.pooled_scores.summary())))
    return rows


def write_csv(results: Sequence[MethodResult], path: Path) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["method", "rows", *SUMMARY_NAMES])
        for result in results:
            for label, values in score_rows(result):
                writer.writerow([result.method, label, *(f"{v:.4f}" for v in values)])
        writer.writerow([])
        writer.writerow(
            [
                "method",
                "decision rule",
                *(f"fold {k + 1}" for k in range(len(results[0].fold_scores))),
                "pooled",
            ]
        )
        for result in results:
            for rule, (per_fold, pooled) in result.rule_challenge.items():
                writer.writerow(
                    [result.method, rule, *(f"{v:.4f}" for v in per_fold), f"{pooled:.4f}"]
                )
        for result in results:
            for name, value in result.ensemble_challenge.items():
                writer.writerow([result.method, f"ensemble {name}", f"{value:.4f}"])


def markdown(results: Sequence[MethodResult]) -> str:
    lines = []
    for result in results:
        lines += [
            f"**{result.method}**",
            "",
            "| | " + " | ".join(SUMMARY_NAMES) + " |",
            "|---" * (len(SUMMARY_NAMES) + 1) + "|",
        ]
        for label, values in score_rows(result):
            lines.append(f"| {label} | " + " | ".join(f"{v:.3f}" for v in values) + " |")
        lines.append("")
    n_folds = len(results[0].fold_scores)
    header = (
        "| method | decision rule | "
        + " | ".join(f"fold {k + 1}" for k in range(n_folds))
        + " | pooled |"
    )
    lines += [
        "Challenge metric by decision rule (out-of-fold):",
        "",
        header,
        "|---" * (n_folds + 3) + "|",
    ]
    for result in results:
        for rule, (per_fold, pooled) in result.rule_challenge.items():
            cells = " | ".join(f"{v:.3f}" for v in per_fold)
            lines.append(f"| {result.method} | {RULE_NAMES[rule]} | {cells} | {pooled:.3f} |")
    ensembles = [r for r in results if r.ensemble_challenge]
    if ensembles:
        lines += [
            "",
            "Ensembles of two networks per fold (pooled out-of-fold challenge metric):",
            "",
        ]
        lines += ["| method | one network | mean of two | union of two |", "|---|---|---|---|"]
        for r in ensembles:
            e = r.ensemble_challenge
            lines.append(f"| {r.method} | {e['single']:.3f} | {e['mean']:.3f} | {e['union']:.3f} |")
    return "\n".join(lines) + "\n"


def draw(results: Sequence[MethodResult], path: Path) -> None:
    """Per-class AUROC and F-measure (pooled), and the challenge metric per fold and rule."""
    import matplotlib

    matplotlib.use("Agg")  # files only; no display is needed or wanted
    import matplotlib.pyplot as plt

    main = results[0]
    classes = main.pooled_scores.classes
    x = np.arange(len(classes))
    figure, axes = plt.subplots(3, 1, figsize=(12, 11))
    width = 0.8 / len(results)
    for panel, (attribute, title) in enumerate(
        (
            ("auroc_classes", "AUROC per class (pooled out-of-fold)"),
            ("f_measure_classes", "F-measure per class (pooled out-of-fold)"),
        )
    ):
        axis = axes[panel]
        for m, result in enumerate(results):
            axis.bar(
                x + m * width, getattr(result.pooled_scores, attribute), width, label=result.method
            )
        axis.set_xticks(x + width * (len(results) - 1) / 2, classes, rotation=60, fontsize=7)
        axis.set_ylim(0, 1)
        axis.set_title(title)
        axis.legend(fontsize=8)
    axis = axes[2]
    folds = np.arange(1, len(main.fold_scores) + 1)
    for result in results:
        for rule, (per_fold, _) in result.rule_challenge.items():
            axis.plot(folds, per_fold, marker="o", label=f"{result.method}, {RULE_NAMES[rule]}")
    axis.set_xticks(folds)
    axis.set_xlabel("fold")
    axis.set_ylabel("challenge metric")
    axis.set_title("Challenge metric per fold")
    axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


@dataclass(frozen=True)
class FoldCurve:
    """One fold's training curve: its label, each epoch's log, and the epoch kept."""

    label: str
    history: list[EpochLog]
    best_epoch: int


def draw_fold_curves(curves: Sequence[FoldCurve], path: Path) -> int:
    """Every fold's training curves (loss, validation challenge metric) on one figure; nothing is
    drawn without curves. Returns the number of folds drawn."""
    if curves:
        draw_curves(
            [c.history for c in curves],
            [c.label for c in curves],
            path,
            [c.best_epoch for c in curves],
        )
    return len(curves)
