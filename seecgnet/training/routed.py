"""Training a routed model folder (``train_model.py --routed``): every member network trained on the
same records as ``train_model.py`` trains one model, then saved together with the routes
(:mod:`seecgnet.trained.routes`).

The members are two recipes on the same settings: ``limb``, the network that reads a record's
missing limb leads as computed from two others (``--limb-leads``, the shipped recipe, deciding by
the settings' rule), and ``any``, the network for any lead subset deciding by a divisor per lead
set (``--any-leads --decision per_lead_set``). Training a routed model costs one training per
member: about twice the time of one model.

Unless a routes file says otherwise, the routes are :data:`DEFAULT_ROUTES`, the routes chosen by
the rule of :func:`seecgnet.crossval.routed.choose_routes` (fixed before any routed model was
scored) from three seeds of stratified and of leave-one-source-out cross-validation: all 12 leads
go to the ``limb`` network alone, every reduced set and every other set to the ``any`` network
alone (docs/lead_sets.md: "Routed models"). Other routes, e.g. the mean of both members, are given
through ``--routes FILE``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from seecgnet.challenge.classes import load_scored_classes
from seecgnet.destinations import DestinationError
from seecgnet.io.labels import Labels
from seecgnet.io.reduced_leads import LEAD_SETS_2021
from seecgnet.trained.decision import DecisionRule
from seecgnet.trained.ensemble import EnsembleRule
from seecgnet.trained.folder import foreign_entries
from seecgnet.trained.routes import OTHER, read_routes_file, routes_from_plain, save_routed_model
from seecgnet.trained.settings import Settings, SettingsError, any_leads, with_limb_leads
from seecgnet.training.checkpoint import remove_checkpoints
from seecgnet.training.data_folder import (
    TrainingReport,
    _check_destinations,
    _check_resume,
    _member_plans,
    _training_records,
)
from seecgnet.training.ship import Shipped, ship

log = logging.getLogger(__name__)


def reduced_lead_recipe(settings: Settings) -> Settings:
    """The network for any lead subset with its best decision rule: ``--any-leads --decision
    per_lead_set`` (docs/lead_sets.md: "Reading fewer leads: a divisor per lead set")."""
    settings = any_leads(settings)
    decision = settings.decision.with_rule(DecisionRule.PER_LEAD_SET)
    return dataclasses.replace(settings, decision=decision)


# Each member's recipe: the settings it is trained with, from the run's settings.
MEMBER_RECIPES: dict[str, Callable[[Settings], Settings]] = {
    "limb": with_limb_leads,
    "any": reduced_lead_recipe,
}
DEFAULT_ROUTES: dict[str, Any] = {
    "12": {"members": ["limb"]},
    **{name: {"members": ["any"]} for name in LEAD_SETS_2021 if name != "12"},
    OTHER: {"members": ["any"]},
}


def load_routes(path: str | Path | None) -> dict[str, Any]:
    """The routes of a routes file, or :data:`DEFAULT_ROUTES`; checked against the member recipes
    before any training (SettingsError naming the file)."""
    routes = DEFAULT_ROUTES if path is None else read_routes_file(path)
    source = "default routes" if path is None else str(path)
    table = routes_from_plain(routes, source)
    unknown = sorted(set(table.members) - set(MEMBER_RECIPES))
    if unknown:
        raise SettingsError(
            f"{source}: members {unknown} are not among those trained: {sorted(MEMBER_RECIPES)}"
        )
    return routes


def member_settings(
    settings: Settings, members: Mapping[str, Any] | None = None
) -> dict[str, Settings]:
    """Each member's settings, for the members the routes use (all recipes by default)."""
    names = list(MEMBER_RECIPES) if members is None else list(members)
    return {name: MEMBER_RECIPES[name](settings) for name in names}


def train_routed_folder(
    data_dir: str | Path,
    model_dir: str | Path,
    settings: Settings,
    routes: Mapping[str, Any],
    folds: int = 1,
    ensemble: EnsembleRule = EnsembleRule.MEAN,
    resume: bool = False,
    progress: bool = True,
    cache_dir: str | Path | None = None,
    labels: Labels | None = None,
) -> TrainingReport:
    """Train every member the routes use on the readable records of ``data_dir`` (each as
    :func:`seecgnet.training.data_folder.train_folder` trains a model, ``folds`` networks each,
    ``labels`` as it takes them) and write the routed model folder ``model_dir``. An unfinished
    run is continued only with ``resume``, as there."""
    started = time.perf_counter()
    table = routes_from_plain(routes, "routes")
    checkpoint_root = _check_destinations(data_dir, model_dir, folds)
    _check_resume(model_dir, checkpoint_root, resume)
    if Path(model_dir).is_dir() and foreign_entries(Path(model_dir)):
        raise DestinationError(
            f"{model_dir}: a routed model is written as a whole folder, and this one holds other "
            "files: name a new or empty folder, or a model folder to replace"
        )
    classes = load_scored_classes()
    store, failures = _training_records(data_dir, classes, settings, cache_dir, progress, labels)
    model_dir = Path(os.path.abspath(model_dir))
    model_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{model_dir.name}.members.", dir=model_dir.parent))
    shipped: dict[str, Shipped | None] = {}
    try:
        for name, own in member_settings(settings, dict.fromkeys(table.members)).items():
            log.info("routed model: training member %r", name)
            plans, tuning = _member_plans(store, folds, own, checkpoint_root)
            plans = [  # every member's checkpoints in the run's checkpoint folder
                dataclasses.replace(plan, checkpoint_dir=checkpoint_root / f"member_{name}_{k}")
                for k, plan in enumerate(plans, start=1)
            ]
            shipped[name] = ship(
                store, classes, own, staging / name, plans, ensemble, tuning, resume, progress
            )
        # a helper process of a distributed run saves nothing
        if all(member is not None for member in shipped.values()):
            members = {name: staging / name for name in shipped}
            save_routed_model(model_dir, members, routes, classes)
            remove_checkpoints(checkpoint_root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    summaries = [s.summary for s in shipped.values() if s is not None]
    return TrainingReport(
        Path(model_dir),
        len(store),
        len(failures),
        tuple(e for summary in summaries for e in summary.best_epochs),
        tuple(v for summary in summaries for v in summary.validation_challenge_metric),
        time.perf_counter() - started,
    )
