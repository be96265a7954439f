"""Checkpoints: a training run's state after every epoch, so that a killed run resumes where it stopped.

One implementation serves every training loop of the package (the challenge's network and the
MIT-BIH benchmark's). A checkpoint holds the network, optimiser and scheduler states, torch's random
state, the run's progress (:class:`TrainingState`) and its *identity*: what a run must match to
resume from it (its settings and its records), compared as plain JSON values. It is written beside
its final name and renamed, so that a kill never leaves half a file, and read with
``torch.load(weights_only=True)``, which builds tensors and plain values only and runs no code that
a tampered file might hold.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from seecgnet.destinations import DestinationError, remove_own_files
from seecgnet.errors import SeecgnetError
from seecgnet.training.averaging import WeightAverage

log = logging.getLogger(__name__)

CHECKPOINT_NAME = "checkpoint.pt"
# Every file a checkpoint is: the file itself, and the one it is written to before being renamed.
CHECKPOINT_FILES = (CHECKPOINT_NAME, "checkpoint.partial")

# Checkpoints written before this module held numpy arrays (the best epoch's validation
# probabilities); these rebuild them, and nothing else, when such a file is resumed. The two
# functions are the ones numpy's own pickles of an array and a scalar call, whatever numpy's
# version names their module.
_NUMPY_ARRAY_GLOBALS = [
    np.zeros(0).__reduce__()[0],
    np.float64(0).__reduce__()[0],
    np.ndarray,
    np.dtype,
    *(type(np.dtype(kind)) for kind in ("f4", "f8", "i8", "?")),
]


# What torch.load raises on a file that is not a whole checkpoint: the zip reader and the
# weights-only unpickler fail on damaged bytes with any of these (a truncated or overwritten file).
_UNREADABLE = (
    OSError, EOFError, RuntimeError, pickle.UnpicklingError, IndexError, KeyError, TypeError,
    ValueError,
)  # fmt: skip


class CheckpointError(SeecgnetError, ValueError):
    """A checkpoint cannot be resumed: unreadable, or made by another run; the message names it."""


@dataclass
class TrainingState:
    """A run's progress: epochs done, the best epoch so far and its weights, and each epoch's log.

    ``best_probabilities`` (validation records, classes) are the best epoch's validation outputs
    where the loop keeps them; ``history`` holds one dict of plain numbers per epoch.
    """

    best_state: dict[str, torch.Tensor]
    epochs_done: int = 0
    best_epoch: int = 0
    best_score: float = -math.inf
    best_probabilities: np.ndarray | None = None
    history: list[dict[str, float]] = field(default_factory=list)

    @classmethod
    def start(cls, network: nn.Module) -> TrainingState:
        """A fresh run, whose best weights so far are the initial ones."""
        return cls(best_state=copy.deepcopy(network.state_dict()))

    def end_epoch(
        self,
        epoch: int,
        score: float,
        network: nn.Module,
        defined: bool,
        probabilities: np.ndarray | None = None,
    ) -> None:
        """Count ``epoch`` done and keep its weights if it is the best so far.

        ``defined`` says whether ``score`` ranks the epoch: there are validation records, and
        their labels give the score a meaning (the challenge metric is 0.0 without one). While no
        epoch has a defined score the latest epoch is kept; a defined score replaces it, and then
        replaces the best only by being at least as high. ``best_score`` stays -inf until then.
        """
        ranked = score if defined else -math.inf
        if ranked >= self.best_score:
            self.best_score = ranked
            self.best_epoch = epoch
            self.best_state = copy.deepcopy(network.state_dict())
            self.best_probabilities = probabilities
        self.epochs_done = epoch


def save_checkpoint(
    path: Path,
    identity: dict[str, Any],
    state: TrainingState,
    network: nn.Module,
    optimiser: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    average: WeightAverage | None = None,
) -> None:
    """Write the checkpoint beside its final name and rename it, so a kill never leaves half a file.

    ``average``: the run's weight average, if it keeps one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(CHECKPOINT_FILES[1])
    best_probabilities = state.best_probabilities
    torch.save(
        {
            "identity": identity,
            "state": {
                "epochs_done": state.epochs_done,
                "best_epoch": state.best_epoch,
                "best_score": state.best_score,
                "best_state": state.best_state,
                "best_probabilities": (
                    None if best_probabilities is None else torch.from_numpy(best_probabilities)
                ),
                "history": state.history,
            },
            "network": network.state_dict(),
            "optimiser": optimiser.state_dict(),
            "scheduler": scheduler.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "average": None if average is None else average.state_dict(),
        },
        partial,
    )
    partial.replace(path)


def load_checkpoint(
    path: Path,
    identity: dict[str, Any],
    network: nn.Module,
    optimiser: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    device: torch.device | str = "cpu",
    average: WeightAverage | None = None,
) -> TrainingState:
    """Restore the network, optimiser, scheduler, random state (and the run's weight average, if it
    keeps one) from ``path``; the progress.

    Raises CheckpointError for a file that cannot be read, or one whose identity differs from
    ``identity`` (another run's settings or records), naming the file and what differs.
    """
    try:
        with torch.serialization.safe_globals(_NUMPY_ARRAY_GLOBALS):
            saved = torch.load(path, map_location=device, weights_only=True)
    except _UNREADABLE as error:
        raise CheckpointError(
            f"cannot resume from {path}: it is damaged (truncated or overwritten?); delete it "
            "to start afresh"
        ) from error
    if not isinstance(saved, dict):
        raise CheckpointError(f"cannot resume from {path}: not a checkpoint")
    saved = _in_current_layout(saved)
    differing = [key for key in identity if saved["identity"].get(key) != identity[key]]
    if differing:
        raise CheckpointError(
            f"{path} was made with other {' and '.join(differing)}; resume with the same options "
            "on the same data, or delete it"
        )
    network.load_state_dict(saved["network"])
    optimiser.load_state_dict(saved["optimiser"])
    scheduler.load_state_dict(saved["scheduler"])
    if average is not None:
        if saved.get("average") is None:
            raise CheckpointError(f"cannot resume from {path}: it holds no weight average")
        average.load_state_dict(saved["average"])
    if saved.get("torch_rng") is not None:
        torch.set_rng_state(saved["torch_rng"].cpu())
    progress = saved["state"]
    best_probabilities = progress.get("best_probabilities")
    if isinstance(best_probabilities, torch.Tensor):
        best_probabilities = best_probabilities.cpu().numpy()
    return TrainingState(
        best_state=progress["best_state"],
        epochs_done=progress["epochs_done"],
        best_epoch=progress["best_epoch"],
        best_score=progress["best_score"],
        best_probabilities=best_probabilities,
        history=list(progress["history"]),
    )


def _in_current_layout(saved: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint written before this module (two layouts) in the layout written here."""
    if "identity" in saved:
        return saved
    if "config" in saved:  # the MIT-BIH benchmark's: its training settings, its state nested
        return {**saved, "identity": {"settings": saved["config"]}}
    progress = ("epochs_done", "best_epoch", "best_score", "best_state", "best_probabilities")
    return {  # the challenge's: flat, its settings as JSON text beside its split
        **saved,
        "identity": {"settings": json.loads(saved["settings"]), "records": saved["split"]},
        "state": {**{key: saved.get(key) for key in progress}, "history": saved.get("history")},
    }


# What a training run's checkpoint folder holds: one checkpoint per network (each with the partial
# file it is first written to).
_CHECKPOINT_FILES = tuple(f"member_*/{name}" for name in CHECKPOINT_FILES)


def checkpoint_folder(model_dir: str | Path) -> Path:
    """Where training keeps its checkpoints until the model is saved: ``.NAME.checkpoint`` beside
    the model folder ``NAME``."""
    model_dir = Path(os.path.abspath(model_dir))
    return model_dir.with_name(f".{model_dir.name}.checkpoint")


def check_checkpoint_folder(folder: Path) -> None:
    """Refuse a checkpoint folder that holds anything but checkpoints: it is deleted at the end."""
    if not folder.exists() and not folder.is_symlink():
        return
    if not folder.is_dir() or folder.is_symlink():
        raise DestinationError(f"{folder}: training keeps its checkpoints here, but it is a file")
    own = {path for pattern in _CHECKPOINT_FILES for path in folder.glob(pattern)}
    others = [path for path in folder.rglob("*") if path not in own and not _holds_only(path, own)]
    if others:
        raise DestinationError(
            f"{folder}: training keeps its checkpoints here, but it holds other files "
            f"({others[0].name}); move them or delete the folder"
        )


def _holds_only(path: Path, own: set[Path]) -> bool:
    """A folder whose files are all among ``own`` (an empty one included)."""
    return path.is_dir() and all(p in own or p.is_dir() for p in path.rglob("*"))


@dataclass(frozen=True)
class UnfinishedRun:
    """A training run cut off before its model was saved: its latest network's checkpoint, the
    epochs that network has done and the epochs it was to train (None where the file cannot tell)."""

    checkpoint: Path
    epochs_done: int | None
    epochs: int | None


def unfinished_run(folder: Path) -> UnfinishedRun | None:
    """The unfinished run whose checkpoints ``folder`` (:func:`checkpoint_folder`) holds, if any:
    the checkpoint of its latest network (an ensemble trains them one after another)."""
    found = [path for path in folder.glob(f"member_*/{CHECKPOINT_NAME}") if path.is_file()]
    if not found:
        return None
    # member_K, or member_NAME_K for a routed model's members
    latest = max(found, key=lambda path: int(path.parent.name.rsplit("_", 1)[-1] or 0))
    try:
        with torch.serialization.safe_globals(_NUMPY_ARRAY_GLOBALS):
            saved = _in_current_layout(torch.load(latest, map_location="cpu", weights_only=True))
        epochs = saved["identity"]["settings"]["training"]["epochs"]
        return UnfinishedRun(latest, int(saved["state"]["epochs_done"]), int(epochs))
    except (*_UNREADABLE, AttributeError):
        return UnfinishedRun(latest, None, None)


def remove_checkpoints(folder: Path) -> None:
    """Delete a training run's checkpoints once its model is saved (and the folder, when that
    leaves it empty)."""
    left = remove_own_files(folder, _CHECKPOINT_FILES)
    if left:
        log.warning("%s holds other files than checkpoints; it was left in place", folder)
