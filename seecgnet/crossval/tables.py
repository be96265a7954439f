"""Cross-validation results as tables (CSV, Markdown) and figures (PNG)."""

from __future__ import annotations

import csv
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seecgnet.challenge.metrics import SUMMARY_NAMES
from seecgnet.crossval.results import MethodResult
from seecgnet.io.reduced_leads import LEAD_SETS_2021
from seecgnet.trained.curves import EpochLog, draw_curves

RULE_NAMES = {
    "per_sample": "per-sample max/5 (paper)",
    "fixed": "fixed 0.5",
    "per_class": "per-class, tuned on inner split",
}


def fold_labels(result: MethodResult) -> tuple[str, ...]:
    """Each fold's name: "fold 1"..., or the source it held out."""
    return result.fold_labels or tuple(f"fold {k + 1}" for k in range(len(result.fold_scores)))


def mean_and_sd(per_fold: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sample standard deviation (ddof=1; 0 for one fold) over the folds (axis 0), of
    the folds with a score: a held-out source whose records are all sinus rhythm or all unscored
    has no challenge metric (NaN), and leaves the others' mean as it is."""
    per_fold = np.asarray(per_fold, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a column of NaN only: NaN
        mean = np.nanmean(per_fold, axis=0)
        sd = np.nanstd(per_fold, axis=0, ddof=1) if len(per_fold) > 1 else per_fold[0] * 0
    return mean, sd


def score_rows(result: MethodResult) -> list[tuple[str, list[float]]]:
    """(label, values) rows: each fold, mean, sd (sample, ddof=1) and pooled."""
    per_fold = np.array([s.summary() for s in result.fold_scores])
    rows = [(label, list(v)) for label, v in zip(fold_labels(result), per_fold, strict=True)]
    mean, sd = mean_and_sd(per_fold)
    rows.append(("mean", list(mean)))
    rows.append(("sd", list(sd)))
    rows.append(("pooled", list(result.pooled_scores.summary())))
    return rows


def lead_set_label(lead_set: str) -> str:
    """A lead set's name in the tables: 12, or the number and the leads (2: I, II)."""
    leads = LEAD_SETS_2021[lead_set]
    return lead_set if len(leads) == 12 else f"{lead_set}: {', '.join(leads)}"


def lead_set_rows(result: MethodResult) -> list[tuple[str, str, list[float]]]:
    """(method, lead set, values) rows of the challenge metric: each fold, mean, sd and pooled;
    each fold's first network, then, with several per fold, their mean ("SE-ECGNet, mean of 3")."""
    parts = [(result.method, result.lead_set_challenge)]
    if result.lead_set_ensemble:
        parts.append((f"{result.method}, mean of {result.members}", result.lead_set_ensemble))
    rows = []
    for method, by_lead_set in parts:
        for lead_set, (per_fold, pooled) in by_lead_set.items():
            mean, sd = mean_and_sd(np.array(per_fold))
            rows.append((method, lead_set, [*per_fold, float(mean), float(sd), pooled]))
    return rows


def write_csv(results: Sequence[MethodResult], path: Path) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["method", "rows", *SUMMARY_NAMES])
        for result in results:
            for label, values in score_rows(result):
                writer.writerow([result.method, label, *(f"{v:.4f}" for v in values)])
        writer.writerow([])
        writer.writerow(["method", "decision rule", *fold_labels(results[0]), "pooled"])
        for result in results:
            for rule, (per_fold, pooled) in result.rule_challenge.items():
                writer.writerow(
                    [result.method, rule, *(f"{v:.4f}" for v in per_fold), f"{pooled:.4f}"]
                )
        for result in results:
            for name, value in result.ensemble_challenge.items():
                writer.writerow([result.method, f"ensemble {name}", f"{value:.4f}"])
        if results[0].lead_set_challenge:
            writer.writerow([])
            header = ["method", "leads", *fold_labels(results[0]), "mean", "sd", "pooled"]
            writer.writerow(header)
            for result in results:
                for method, lead_set, values in lead_set_rows(result):
                    writer.writerow([method, lead_set, *(f"{v:.4f}" for v in values)])


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
    header = "| method | decision rule | " + " | ".join(fold_labels(results[0])) + " | pooled |"
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
            "Ensembles of the networks of each fold (pooled out-of-fold challenge metric):",
            "",
        ]
        lines += ["| method | networks | one network | their mean | their union |"]
        lines += ["|---|---|---|---|---|"]
        for r in ensembles:
            e = r.ensemble_challenge
            lines.append(
                f"| {r.method} | {r.members} | {e['single']:.3f} | {e['mean']:.3f} | "
                f"{e['union']:.3f} |"
            )
    lines += _lead_set_markdown(results)
    return "\n".join(lines) + "\n"


def _lead_set_markdown(results: Sequence[MethodResult]) -> list[str]:
    """The challenge metric per lead set: each fold, mean, sd, pooled (nothing without lead sets)."""
    if not results[0].lead_set_challenge:
        return []
    labels = fold_labels(results[0])
    lines = [
        "",
        "Challenge metric by lead set (the model's own rule; each fold's first network, and the "
        "mean of its networks where it has several; the "
        "held-out records cut down to the leads named, the others absent from header and file):",
        "",
        "| method | leads | " + " | ".join(labels) + " | mean | sd | pooled |",
        "|---" * (len(labels) + 5) + "|",
    ]
    for result in results:
        for method, lead_set, values in lead_set_rows(result):
            cells = " | ".join(f"{v:.3f}" for v in values)
            lines.append(f"| {method} | {lead_set_label(lead_set)} | {cells} |")
    return lines


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
    axis.set_xticks(folds, fold_labels(main), fontsize=8)
    axis.set_xlabel("fold (held out)")
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
