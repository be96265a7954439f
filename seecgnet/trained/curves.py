"""Training curves: each epoch's training loss and validation challenge metric, as CSV and PNG.

An :class:`EpochLog` is what training records of each epoch; the curves are drawn from these.

A model folder holds ``training_curve.csv`` (one row per network and epoch) and
``training_curve.png`` (both curves, the kept epoch marked); cross-validation draws every fold's
curves on one figure. Models trained before the curves were recorded simply have no such files.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from seecgnet.errors import SeecgnetError

CURVE_CSV = "training_curve.csv"
CURVE_PNG = "training_curve.png"
_COLUMNS = ("network", "epoch", "train_loss", "validation_challenge_metric", "seconds")


@dataclass(frozen=True)
class EpochLog:
    """One epoch of training: its mean training loss, the validation challenge metric (NaN when
    undefined or without validation records) and how long it took, in seconds."""

    epoch: int
    train_loss: float
    validation_challenge_metric: float
    seconds: float


class CurveFileError(SeecgnetError, ValueError):
    """A training-curve file is missing or malformed; the message names it."""


def write_curve_csv(path: Path, histories: Sequence[Sequence[EpochLog]]) -> None:
    """One row per network (numbered from 1) and epoch; an undefined metric is written empty."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(_COLUMNS)
        for network, history in enumerate(histories, start=1):
            for entry in history:
                metric = entry.validation_challenge_metric
                writer.writerow(
                    [
                        network,
                        entry.epoch,
                        f"{entry.train_loss:.6g}",
                        f"{metric:.6g}" if math.isfinite(metric) else "",
                        f"{entry.seconds:.3f}",
                    ]
                )


def read_curve_csv(path: Path) -> list[list[EpochLog]]:
    """The histories of a curve file, one list of epochs per network in the file's order."""
    try:
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as error:
        raise CurveFileError(f"cannot read {path}: {error.strerror}") from error
    histories: dict[int, list[EpochLog]] = {}
    for line, row in enumerate(rows, start=2):
        try:
            metric = row["validation_challenge_metric"]
            entry = EpochLog(
                epoch=int(row["epoch"]),
                train_loss=float(row["train_loss"]),
                validation_challenge_metric=float(metric) if metric else math.nan,
                seconds=float(row["seconds"]),
            )
            histories.setdefault(int(row["network"]), []).append(entry)
        except (KeyError, TypeError, ValueError) as error:
            raise CurveFileError(
                f"{path}, line {line}: not a training-curve row ({error})"
            ) from error
    return [histories[k] for k in sorted(histories)]


def draw_curves(
    histories: Sequence[Sequence[EpochLog]],
    labels: Sequence[str],
    path: Path,
    best_epochs: Sequence[int] = (),
) -> None:
    """Training loss and validation challenge metric by epoch, one line per history, as a PNG.

    ``best_epochs`` (one per history, when given) are marked on the metric's curves.
    """
    from matplotlib.figure import Figure  # here: the driver imports this module, never draws

    figure = Figure(figsize=(8.0, 2.8))
    loss_axis, metric_axis = figure.subplots(1, 2)
    for k, (history, label) in enumerate(zip(histories, labels, strict=True)):
        epochs = [entry.epoch for entry in history]
        colour = f"C{k % 10}"
        loss_axis.plot(epochs, [e.train_loss for e in history], color=colour, label=label)
        metric_axis.plot(
            epochs, [e.validation_challenge_metric for e in history], color=colour, marker="."
        )
        if k < len(best_epochs):
            best = [e for e in history if e.epoch == best_epochs[k]]
            if best:
                metric_axis.plot(
                    best[0].epoch,
                    best[0].validation_challenge_metric,
                    "*",
                    color=colour,
                    markersize=10,
                )
    loss_axis.set_title("training loss (hard-mined weighted BCE)", fontsize=9)
    metric_axis.set_title("validation challenge metric (★ kept epoch)", fontsize=9)
    for axis in (loss_axis, metric_axis):
        axis.set_xlabel("epoch", fontsize=8)
        axis.tick_params(labelsize=7)
        axis.grid(alpha=0.3)
    if len(histories) > 1:
        loss_axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def write_training_curves(
    folder: Path, histories: Sequence[Sequence[EpochLog]], best_epochs: Sequence[int]
) -> None:
    """A model folder's ``training_curve.csv`` and ``training_curve.png``."""
    write_curve_csv(folder / CURVE_CSV, histories)
    labels = [f"network {k}" for k in range(1, len(histories) + 1)]
    draw_curves(histories, labels, folder / CURVE_PNG, best_epochs)
