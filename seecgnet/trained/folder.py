"""The model folder: what a trained model is on disk, written atomically and loaded from itself alone.

A model folder holds:
- ``settings.json``: the resolved settings (signal preparation, network, loss, decision, training);
- ``model.json``: the class list, the age statistics, the weight files, and the ensemble rule;
- one ``state_dict`` file per network (``weights.pt``, or ``weights_fold1.pt``... for an ensemble);
- ``training_curve.csv`` and ``training_curve.png``: each epoch's training loss and validation
  challenge metric (see curves.py), when the histories are given; loading does not need them.

:func:`save_model` writes one (training ships it: :mod:`seecgnet.training.ship`) and
:func:`read_model_folder` reads one back, each weights file checked against the network its
settings build; prediction puts what it read into a predictor (:mod:`seecgnet.inference.loading`).
"""

from __future__ import annotations

import json
import logging
import math
import os
import pickle
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seecgnet.challenge.classes import ScoredClasses, load_scored_classes
from seecgnet.data.signals import AgeStatistics
from seecgnet.destinations import (
    DestinationError,
    check_apart,
    check_folder_destination,
    check_not_the_current_folder,
    remove_own_files,
)
from seecgnet.errors import SeecgnetError
from seecgnet.models.registry import build_network
from seecgnet.trained.curves import CURVE_CSV, CURVE_PNG, EpochLog, write_training_curves
from seecgnet.trained.decision import DecisionSettings
from seecgnet.trained.ensemble import EnsembleRule
from seecgnet.trained.settings import Settings, SettingsError

SETTINGS_FILE = "settings.json"
MODEL_FILE = "model.json"
FORMAT_VERSION = 1
_WEIGHTS_NAME = re.compile(r"weights(_fold[0-9]+)?\.pt")

log = logging.getLogger(__name__)


class ModelFolderError(SeecgnetError, ValueError):
    """A model folder is missing, incomplete or corrupt; the message names the file."""


@dataclass(frozen=True)
class ModelSummary:
    """What model.json records besides the weights: where the model came from."""

    n_training_records: int
    best_epochs: tuple[int, ...]
    validation_challenge_metric: tuple[float, ...]


def save_model(
    folder: str | Path,
    settings: Settings,
    classes: ScoredClasses,
    age_stats: AgeStatistics,
    state_dicts: Sequence[dict[str, torch.Tensor]],
    summary: ModelSummary,
    ensemble: EnsembleRule = EnsembleRule.MEAN,
    histories: Sequence[Sequence[EpochLog]] = (),
) -> Path:
    """Write a model folder atomically: everything goes to a temporary folder that is then renamed.

    An existing model folder at ``folder`` is replaced only once the new one is complete; anything
    else there is refused (see :func:`check_model_destination`). A model folder that cannot be
    renamed (a mount point), that is a symbolic link, or that holds other files besides the model's
    (a README, say) has the model's files replaced in place and keeps the others. ``histories``
    (one per network) become the training-curve files.
    """
    folder = Path(os.path.abspath(folder))
    check_model_destination(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    # a symbolic link is kept, and the folder it points to updated
    in_place = os.path.ismount(folder) or folder.is_symlink() or bool(foreign_entries(folder))
    staging_parent = folder if in_place else folder.parent
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=staging_parent))
    staging.chmod(0o755)  # mkdtemp makes it private; a model folder is meant to be shared
    try:
        names = (
            ["weights.pt"]
            if len(state_dicts) == 1
            else [f"weights_fold{k + 1}.pt" for k in range(len(state_dicts))]
        )
        for name, state in zip(names, state_dicts, strict=True):
            torch.save(state, staging / name)
        settings.save(staging / SETTINGS_FILE)
        (staging / MODEL_FILE).write_text(
            json.dumps(_manifest(classes, age_stats, names, ensemble, summary), indent=2) + "\n"
        )
        if histories:
            write_training_curves(staging, histories, summary.best_epochs)
        if in_place:
            _replace_contents(staging, folder)
        else:
            _swap_into_place(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder


def _manifest(
    classes: ScoredClasses,
    age_stats: AgeStatistics,
    weight_files: list[str],
    ensemble: EnsembleRule,
    summary: ModelSummary,
) -> dict[str, Any]:
    return {
        "format": FORMAT_VERSION,
        "classes": list(classes.codes),
        "age_statistics": {
            "mean_years": age_stats.mean_years,
            "std_years": age_stats.std_years,
        },
        "weights": weight_files,
        "ensemble": EnsembleRule(ensemble).value,
        "n_training_records": summary.n_training_records,
        "best_epochs": list(summary.best_epochs),
        # JSON has no NaN (a model trained without validation records has no score): null
        "validation_challenge_metric": [
            score if math.isfinite(score) else None for score in summary.validation_challenge_metric
        ],
    }


def check_model_destination(folder: str | Path, data_dir: str | Path | None = None) -> None:
    """Refuse a model folder destination that would lose a user's files, before any work starts.

    ``folder`` may be absent, an empty folder, or a model folder (one with ``model.json``), which
    is then replaced. A file, a folder of other files, the current folder, and (given
    ``data_dir``) the data folder, a folder holding it or one inside it are DestinationErrors.
    """
    if data_dir is not None:
        check_apart(folder, "model folder", data_dir, "data folder")
    check_not_the_current_folder(folder, "model folder")
    check_folder_destination(folder, "model folder")
    folder = Path(folder)
    if folder.is_dir() and not (folder / MODEL_FILE).is_file() and any(folder.iterdir()):
        raise DestinationError(
            f"{folder}: not a model folder (it holds other files and no {MODEL_FILE}); "
            "name a new or empty folder for the model, or a model folder to replace"
        )


def _own_files(folder: Path) -> set[str]:
    """The names of the files a model folder's own model consists of."""
    own = {MODEL_FILE, SETTINGS_FILE, CURVE_CSV, CURVE_PNG}
    try:
        listed = read_manifest(folder).get("weights", [])
        own.update(name for name in listed if isinstance(name, str))
    except ModelFolderError:
        pass
    own.update(p.name for p in folder.glob("weights*.pt") if _WEIGHTS_NAME.fullmatch(p.name))
    return own


def foreign_entries(folder: Path) -> list[Path]:
    """What a folder holds besides a model's own files (none for an absent folder)."""
    if not folder.is_dir():
        return []
    own = _own_files(folder)
    return [path for path in folder.iterdir() if path.name not in own]


def _swap_into_place(staging: Path, folder: Path) -> None:
    """Rename the complete staging folder to ``folder``, keeping the old one until that has worked."""
    if not folder.exists():
        staging.rename(folder)
        return
    retired = folder.with_name(f".{folder.name}.old-{os.getpid()}")
    folder.rename(retired)
    try:
        staging.rename(folder)
    except BaseException:
        retired.rename(folder)
        raise
    # the retired folder held the old model's files only (see check_model_destination)
    left = remove_own_files(retired, ["*"])
    if left:
        log.warning("could not remove the replaced model's files in %s", retired)


def _replace_contents(staging: Path, folder: Path) -> None:
    """Move the staged files into ``folder`` one by one, for a folder that cannot be renamed or that
    holds other files besides the model's, which stay.

    The old manifest goes first and the new one comes last, so that at every moment the folder
    either loads as the old model, or as the new one, or not at all (no model.json).
    """
    old_files = _own_files(folder) - {MODEL_FILE}
    (folder / MODEL_FILE).unlink(missing_ok=True)
    # the old model's files go too: weights, and curves that a save without histories would leave
    for name in old_files:
        (folder / name).unlink(missing_ok=True)
    for path in sorted(staging.iterdir(), key=lambda p: p.name == MODEL_FILE):
        os.replace(path, folder / path.name)
    staging.rmdir()


def read_manifest(folder: Path) -> dict[str, Any]:
    """The model folder's model.json, checked; a missing or malformed one is a ModelFolderError."""
    path = folder / MODEL_FILE
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError as error:
        raise ModelFolderError(
            f"{path} is missing: not a model folder, or an incomplete one"
        ) from error
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelFolderError(f"{path} is corrupt: {error}") from error
    required = {"format", "classes", "age_statistics", "weights", "ensemble"}
    if not isinstance(manifest, dict) or not required <= set(manifest):
        raise ModelFolderError(f"{path} lacks {sorted(required - set(manifest or {}))}")
    if manifest["format"] != FORMAT_VERSION:
        raise ModelFolderError(f"{path}: format {manifest['format']}, expected {FORMAT_VERSION}")
    if isinstance(manifest.get("validation_challenge_metric"), list):
        manifest["validation_challenge_metric"] = [
            np.nan if score is None else score for score in manifest["validation_challenge_metric"]
        ]
    return manifest


@dataclass
class SavedModel:
    """A model folder read back: its settings, classes, age statistics, how its networks are
    combined, and the networks with their weights (in eval mode, on the device asked for)."""

    folder: Path
    settings: Settings
    classes: ScoredClasses
    age_stats: AgeStatistics
    ensemble: EnsembleRule
    networks: list[torch.nn.Module]
    manifest: dict[str, Any]


def read_model_folder(
    folder: str | Path,
    device: torch.device | str = "cpu",
    decision: DecisionSettings | None = None,
) -> SavedModel:
    """A model folder read from itself alone, each weights file checked against the network its
    settings build; ModelFolderError naming the file otherwise. ``decision`` overrides the saved
    rule."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ModelFolderError(f"{folder}: is a file, not a model folder")
    if not folder.is_dir():
        raise ModelFolderError(f"model folder {folder} does not exist")
    manifest = read_manifest(folder)
    try:
        settings = Settings.load(folder / SETTINGS_FILE)
    except SettingsError as error:
        raise ModelFolderError(str(error)) from error
    if decision is not None:
        settings = replace(settings, decision=decision)

    reference = load_scored_classes()
    codes = tuple(str(code) for code in manifest["classes"])
    if codes != reference.codes:
        raise ModelFolderError(
            f"{folder / MODEL_FILE}: its {len(codes)} classes differ from weights.csv's "
            f"{len(reference.codes)}"
        )
    networks = []
    for name in manifest["weights"]:
        network = build_network(settings.network)
        network.load_state_dict(_read_weights(folder / name, network))
        networks.append(network.to(device).eval())
    return SavedModel(
        folder,
        settings,
        reference,
        AgeStatistics(**manifest["age_statistics"]),
        EnsembleRule(manifest["ensemble"]),
        networks,
        manifest,
    )


# What torch.load raises on a file that is not a whole torch.save file (truncated, overwritten,
# or something else altogether).
_UNREADABLE_WEIGHTS = (
    RuntimeError, OSError, EOFError, KeyError, ValueError, IndexError, pickle.UnpicklingError,
)  # fmt: skip


def _read_weights(path: Path, network: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A weights file's state_dict, checked against the network the settings build; a
    ModelFolderError in one line otherwise."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as error:
        raise ModelFolderError(f"{path} is missing") from error
    except _UNREADABLE_WEIGHTS as error:
        raise ModelFolderError(
            f"{path} is damaged: not a whole weights file as torch.save writes one "
            "(truncated or overwritten?)"
        ) from error
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelFolderError(f"{path} holds no network weights (a state_dict of tensors)")
    expected = network.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    resized = [k for k in expected if k in state and state[k].shape != expected[k].shape]
    if missing or unexpected or resized:
        parts = [
            f"{what} {names[0]}" + (f" and {len(names) - 1} more" if len(names) > 1 else "")
            for what, names in (
                ("lacks", missing),
                ("has unknown", unexpected),
                ("has another shape for", resized),
            )
            if names
        ]
        raise ModelFolderError(
            f"{path} does not fit the network of {path.parent / SETTINGS_FILE}: it "
            + ", ".join(parts)
        )
    return state
