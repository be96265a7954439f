"""A model folder loaded for prediction: its networks in a :class:`Predictor`.

What a model folder holds, and how it is written and read, is :mod:`seecgnet.trained.folder`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seecgnet.challenge.classes import ScoredClasses
from seecgnet.inference.prediction import Predictor
from seecgnet.trained.decision import DecisionSettings
from seecgnet.trained.folder import read_model_folder
from seecgnet.trained.settings import Settings


@dataclass
class LoadedModel:
    """A model folder in memory: its predictor and what it was built from."""

    folder: Path
    settings: Settings
    classes: ScoredClasses
    predictor: Predictor
    manifest: dict[str, Any]


def load_model(
    folder: str | Path,
    device: torch.device | str = "cpu",
    decision: DecisionSettings | None = None,
) -> LoadedModel:
    """Rebuild a predictor from a model folder alone. ``decision`` overrides the saved rule."""
    saved = read_model_folder(folder, device=device, decision=decision)
    predictor = Predictor(
        saved.networks,
        saved.classes,
        saved.settings.signal,
        saved.settings.decision,
        saved.age_stats,
        ensemble=saved.ensemble,
        device=device,
    )
    return LoadedModel(saved.folder, saved.settings, saved.classes, predictor, saved.manifest)


def describe(loaded: LoadedModel) -> str:
    """One line for logs: architecture, members, decision rule."""
    members = len(loaded.predictor.networks)
    rule = loaded.settings.decision.rule.value
    mean_score = np.mean(loaded.manifest.get("validation_challenge_metric") or [np.nan])
    return (
        f"{loaded.settings.architecture} model from {loaded.folder} ({members} network(s), "
        f"{rule} decision, validation challenge metric {mean_score:.3f})"
    )
