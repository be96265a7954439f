"""The benchmark's results files: results.csv, results.md and confusion.png (a confusion-matrix
figure), from each network's scores."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seecgnet.mitbih.beats import AAMI_CLASSES
from seecgnet.mitbih.scores import BeatScores


@dataclass(frozen=True, eq=False)
class MethodResult:
    """One network's test scores and how it got there: the epoch and the S logit offset chosen
    on the validation beats (out of fold under the inter-patient protocol)."""

    method: str
    scores: BeatScores
    validation_scores: BeatScores
    best_epoch: int
    s_offset: float
    epochs: int
    train_seconds: float
    seed: int
    # the re-based copy of the held-out records (see rebasing.py), with the chosen epoch and offset
    rebased_scores: BeatScores | None = None
    # (part, scores) of parts of the beats given apart (see breakdown.py): each training
    # database's validation beats, record 232's test beats and the test without them
    breakdown: tuple[tuple[str, BeatScores], ...] = ()

    @property
    def parts(self) -> tuple[tuple[str, BeatScores], ...]:
        """(part, scores) of the test, validation, (where there is one) re-based copy, and the
        breakdown's parts."""
        parts = (("test", self.scores), ("validation", self.validation_scores))
        if self.rebased_scores is not None:
            parts += (("rebased validation", self.rebased_scores),)
        return parts + self.breakdown

    @property
    def shown(self) -> tuple[str, BeatScores]:
        """The part the tables show: the test beats, or the validation beats where there are no
        test beats (the ds1 protocol)."""
        if self.scores.support.sum():
            return "test", self.scores
        if any(part.startswith("validation: ") for part, _ in self.breakdown):
            return "DS1 and extra databases' out-of-fold validation", self.validation_scores
        return "DS1 out-of-fold validation", self.validation_scores


SUMMARY = ("accuracy", "macro_f1", "macro_f1_nsvf", "weighted_f1")
SUMMARY_TITLES = ("accuracy", "macro F1", "macro F1 (N,S,V,F)", "weighted F1")
RUN_COLUMNS = ("best_epoch", "epochs", "s_offset", "train_s", "seed")
PROTOCOL_TITLES = {
    "intra": "intra-patient",
    "inter": "inter-patient",
    "ds1": "DS1-folds",
    "patient-specific": "patient-specific",
}


def write_csv(results: Sequence[MethodResult], protocol: str, path: Path) -> None:
    """One row per method and class (Se, PPV, F1, support), then one per method with the summary."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["protocol", "method", "part", "class", "support", "Se", "PPV", "F1"])
        for r in results:
            for part, scores in r.parts:
                for k, name in enumerate(AAMI_CLASSES):
                    writer.writerow(
                        [protocol, r.method, part, name, int(scores.support[k])]
                        + [f"{v[k]:.4f}" for v in (scores.sensitivity, scores.ppv, scores.f1)]
                    )
        writer.writerow([])
        writer.writerow(["protocol", "method", "part", *SUMMARY, *RUN_COLUMNS])
        for r in results:
            for part, scores in r.parts:
                writer.writerow(
                    [protocol, r.method, part]
                    + [f"{getattr(scores, name):.4f}" for name in SUMMARY]
                    + [r.best_epoch, r.epochs, f"{r.s_offset:g}", f"{r.train_seconds:.0f}", r.seed]
                )


def _cell(value: float) -> str:
    return "–" if np.isnan(value) else f"{value:.3f}"


def _rebased_lines(results: Sequence[MethodResult]) -> list[str]:
    """A sentence per method on the re-based copy of the held-out records, where there is one."""
    s, v = AAMI_CLASSES.index("S"), AAMI_CLASSES.index("V")
    lines = []
    for r in results:
        c = r.rebased_scores
        if c is not None and c.support.sum():
            lines.append(
                f"{r.method}, the held-out training records re-based to their S rhythm "
                f"({c.support.sum()} beats, {c.support[s]} S): S Se {_cell(c.sensitivity[s])}, "
                f"PPV {_cell(c.ppv[s])}, F1 {_cell(c.f1[s])}; V F1 {_cell(c.f1[v])}."
            )
    return ["", *lines] if lines else []


def _breakdown_lines(results: Sequence[MethodResult]) -> list[str]:
    """A table of the breakdown's parts (S and V figures), where the results have any."""
    s, v = AAMI_CLASSES.index("S"), AAMI_CLASSES.index("V")
    rows = [
        f"| {r.method} | {part} | {c.support.sum()} | {c.support[s]} | {_cell(c.sensitivity[s])} "
        f"| {_cell(c.ppv[s])} | {_cell(c.f1[s])} | {_cell(c.f1[v])} |"
        for r in results
        for part, c in r.breakdown
    ]
    if not rows:
        return []
    return [
        "",
        "| method | part | beats | S beats | S Se | S PPV | S F1 | V F1 |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
    ]


def markdown(results: Sequence[MethodResult], protocol: str) -> str:
    """Summary table, per-class table and confusion matrices of the test beats (of the pooled
    validation beats where there are none)."""
    part = results[0].shown[0] if results else "test"
    lines = [
        f"### MIT-BIH, {PROTOCOL_TITLES[protocol]} protocol ({part} beats)",
        "",
        "| method | " + " | ".join(SUMMARY_TITLES) + " | epoch | S offset | training (s) | seed |",
        "|---" * (len(SUMMARY) + 5) + "|",
    ]
    for r in results:
        values = " | ".join(_cell(getattr(r.shown[1], name)) for name in SUMMARY)
        lines.append(
            f"| {r.method} | {values} | {r.best_epoch}/{r.epochs} | {r.s_offset:g} "
            f"| {r.train_seconds:.0f} | {r.seed} |"
        )
    lines += ["", "| method | class | beats | Se | PPV | F1 |", "|---|---|---|---|---|---|"]
    for r in results:
        s = r.shown[1]
        for k, name in enumerate(AAMI_CLASSES):
            lines.append(
                f"| {r.method} | {name} | {s.support[k]} | {_cell(s.sensitivity[k])} "
                f"| {_cell(s.ppv[k])} | {_cell(s.f1[k])} |"
            )
    lines += _rebased_lines(results)
    lines += _breakdown_lines(results)
    for r in results:
        lines += ["", f"Confusion matrix, {r.method} (rows: reference, columns: predicted):", ""]
        lines += ["| | " + " | ".join(AAMI_CLASSES) + " |", "|---" * 6 + "|"]
        for k, name in enumerate(AAMI_CLASSES):
            lines.append(
                f"| {name} | " + " | ".join(str(v) for v in r.shown[1].confusion[k]) + " |"
            )
    return "\n".join(lines) + "\n"


def draw_confusion(results: Sequence[MethodResult], protocol: str, path: Path) -> None:
    """One confusion matrix per method, each row normalised to the reference class's beats."""
    from matplotlib.figure import Figure  # drawn to a file, without pyplot or a display

    figure = Figure(figsize=(5 * len(results), 4.4))
    axes = figure.subplots(1, len(results), squeeze=False)
    for axis, r in zip(axes[0], results, strict=True):
        part, scores = r.shown
        counts = scores.confusion
        share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        axis.imshow(share, cmap="Blues", vmin=0, vmax=1)
        for (i, j), n in np.ndenumerate(counts):
            colour = "white" if share[i, j] > 0.5 else "black"
            axis.text(j, i, str(n), ha="center", va="center", fontsize=8, color=colour)
        ticks = np.arange(len(AAMI_CLASSES))
        axis.set_xticks(ticks, AAMI_CLASSES)
        axis.set_yticks(ticks, AAMI_CLASSES)
        axis.set_xlabel("predicted")
        axis.set_ylabel("reference")
        axis.set_title(
            f"{r.method}, {PROTOCOL_TITLES[protocol]} ({part})\nmacro F1 {scores.macro_f1:.3f}"
        )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
