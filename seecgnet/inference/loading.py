"""A model folder loaded for prediction: its networks in a :class:`Predictor`.

What a model folder holds, and how it is written and read, is :mod:`seecgnet.trained.folder`'s.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seecgnet.challenge.classes import ScoredClasses
from seecgnet.inference.prediction import Predictor
from seecgnet.inference.routed import RoutedPredictor
from seecgnet.io.reduced_leads import ALL_LEADS
from seecgnet.trained.decision import DecisionSettings
from seecgnet.trained.folder import read_model_folder
from seecgnet.trained.routes import (
    ROUTED_FORMAT,
    RoutingTable,
    is_routed,
    member_folder,
    read_routed_manifest,
    routes_to_plain,
)
from seecgnet.trained.settings import Settings


@dataclass
class LoadedModel:
    """A model folder in memory: its predictor and what it was built from."""

    folder: Path
    settings: Settings
    classes: ScoredClasses
    predictor: Predictor | RoutedPredictor
    manifest: dict[str, Any]


def load_model(
    folder: str | Path,
    device: torch.device | str = "cpu",
    decision: DecisionSettings | None = None,
    route: str | None = None,
) -> LoadedModel:
    """Rebuild a predictor from a model folder alone. ``decision`` overrides the saved rule (of
    every route, for a routed model folder). A routed folder (:mod:`seecgnet.trained.routes`)
    gives a :class:`RoutedPredictor`; with ``route`` (a lead set's name) only that route's members
    are read, and every record goes to them."""
    if is_routed(folder):
        return _load_routed(Path(folder), device, decision, route)
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


def _load_routed(
    folder: Path, device: torch.device | str, decision: DecisionSettings | None, route: str | None
) -> LoadedModel:
    """A routed model folder's members (those of ``route`` alone, if given) and routing table."""
    manifest = read_routed_manifest(folder)
    table = manifest.table if route is None else manifest.table.serving_only(route)
    if decision is not None:
        table = RoutingTable({n: replace(r, decision=decision) for n, r in table.routes.items()})
    members = {name: load_model(member_folder(folder, name), device) for name in table.members}
    predictor = RoutedPredictor({n: m.predictor for n, m in members.items()}, table)
    # what a log line or a report page says of the model: the members' first, deciding by the
    # route of all 12 leads
    first = members[table.routes[ALL_LEADS].members[0]]
    settings = replace(first.settings, decision=table.routes[ALL_LEADS].decision)
    plain = {"format": ROUTED_FORMAT, "routes": routes_to_plain(table)}
    return LoadedModel(folder, settings, first.classes, predictor, plain)


def describe(loaded: LoadedModel) -> str:
    """One line for logs: architecture, members, decision rule."""
    if isinstance(loaded.predictor, RoutedPredictor):
        routes = loaded.predictor.table.routes
        return (
            f"routed model from {loaded.folder} ("
            + "; ".join(
                f"{name}: {' + '.join(route.members)}, {route.decision.rule.value}"
                for name, route in routes.items()
            )
            + ")"
        )
    members = len(loaded.predictor.networks)
    rule = loaded.settings.decision.rule.value
    mean_score = np.mean(loaded.manifest.get("validation_challenge_metric") or [np.nan])
    return (
        f"{loaded.settings.architecture} model from {loaded.folder} ({members} network(s), "
        f"{rule} decision, validation challenge metric {mean_score:.3f})"
    )
