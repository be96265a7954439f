"""A routed model folder: several networks in one folder, each record served by the route of the
leads it holds.

The 2021 challenge allowed a model for each lead set, and no one network reads every lead set
best. A routed model folder holds member networks, each an ordinary model folder (format 1, see
:mod:`seecgnet.trained.folder`) in ``members/NAME/``, stored once however many routes use it, and a
``model.json`` of format 2 naming, for each 2021 lead set (``12``, ``6``, ``4``, ``3``, ``2``) and
for every other set of leads (``other``), the members that serve it and the decision (rule and its
tuned parameters) that turns their probabilities into labels. A route of several members takes the
mean of their probabilities.

A record's route is told by the leads it holds: those its header lists, less any that is flat
(0 mV throughout once prepared), before any limb lead is computed (computed limb leads would make
a record of leads I and II one of all six limb leads). A record holding exactly the leads of a
2021 set takes that set's route; any other record, the ``other`` route.

``model.json`` of a routed folder::

    {"format": 2, "classes": [...],
     "members": ["limb", "any"],
     "routes": {"12": {"members": ["limb"], "decision": {"rule": "per_lead_set", ...}},
                "2": {"members": ["limb", "any"], "decision": {"rule": "per_sample", ...}}, ...}}
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from seecgnet.challenge.classes import ScoredClasses
from seecgnet.data.signals import lead_presence
from seecgnet.destinations import DestinationError
from seecgnet.io.reduced_leads import LEAD_SETS_2021
from seecgnet.trained.decision import DecisionSettings
from seecgnet.trained.folder import (
    MEMBERS_FOLDER,
    MODEL_FILE,
    SETTINGS_FILE,
    ModelFolderError,
    check_model_destination,
    foreign_entries,
    swap_into_place,
)
from seecgnet.trained.settings import Settings, SettingsError, from_plain, json_object, to_plain

ROUTED_FORMAT = 2
# The route of every record whose leads are not exactly one of the 2021 sets.
OTHER = "other"
ROUTE_NAMES: tuple[str, ...] = (*LEAD_SETS_2021, OTHER)


@dataclass(frozen=True)
class Route:
    """The members serving a route (their probabilities' mean) and the decision on that mean."""

    members: tuple[str, ...]
    decision: DecisionSettings


@dataclass(frozen=True)
class RoutingTable:
    """Every route's members and decision, by route name (:data:`ROUTE_NAMES`)."""

    routes: Mapping[str, Route]

    def __post_init__(self) -> None:
        missing = [name for name in ROUTE_NAMES if name not in self.routes]
        unknown = sorted(set(self.routes) - set(ROUTE_NAMES))
        if missing or unknown:
            raise ValueError(
                f"a routing table names every route {list(ROUTE_NAMES)}: "
                f"missing {missing}, unknown {unknown}"
            )
        empty = [name for name, route in self.routes.items() if not route.members]
        if empty:
            raise ValueError(f"routes {empty} name no member")

    @property
    def members(self) -> tuple[str, ...]:
        """Every member some route uses, in the order first named."""
        return tuple(dict.fromkeys(m for name in ROUTE_NAMES for m in self.routes[name].members))

    def serving_only(self, name: str) -> RoutingTable:
        """This table with every route served as ``name`` is: a model loaded for one lead set."""
        return RoutingTable({route: self.routes[name] for route in ROUTE_NAMES})


def route_of(present: np.ndarray) -> str:
    """The route of a record holding the standard leads ``present`` (12,) bool (before any limb
    lead is computed): the 2021 set of exactly those leads, or :data:`OTHER`."""
    present = np.asarray(present, dtype=bool)
    for name, leads in LEAD_SETS_2021.items():
        if np.array_equal(present, lead_presence(leads)):
            return name
    return OTHER


def route_of_leads(leads: Sequence[str]) -> str:
    """The route of a lead set given by standard names."""
    return route_of(lead_presence(leads))


def is_routed(folder: str | Path) -> bool:
    """Whether a folder's model.json is a routed model's (format 2); False for any other."""
    try:
        manifest = json.loads((Path(folder) / MODEL_FILE).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("format") == ROUTED_FORMAT


def member_folder(folder: str | Path, member: str) -> Path:
    """Where a routed model folder keeps a member's model folder."""
    return Path(folder) / MEMBERS_FOLDER / member


def routes_to_plain(table: RoutingTable) -> dict[str, Any]:
    """The routes as model.json (and a routes file) writes them."""
    return {
        name: {"members": list(route.members), "decision": to_plain(route.decision)}
        for name, route in table.routes.items()
    }


def routes_from_plain(
    data: Any, source: str, member_decisions: Mapping[str, DecisionSettings] | None = None
) -> RoutingTable:
    """A routing table from JSON values; SettingsError naming ``source`` for a bad one.

    A route without a decision takes its single member's own (from ``member_decisions``), or the
    default rule (the paper's max/5) for a route of several members.
    """
    if not isinstance(data, dict):
        raise SettingsError(f"{source}: expected an object of routes {list(ROUTE_NAMES)}")
    routes = {}
    for name, raw in data.items():
        where = f"{source}: route {name!r}"
        members = raw.get("members") if isinstance(raw, dict) else None
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            raise SettingsError(f"{where}: expected {{'members': [names], 'decision': {{...}}}}")
        if "decision" in raw:
            decision = from_plain(DecisionSettings, raw["decision"], f"{where}: decision")
        elif len(members) == 1 and member_decisions and members[0] in member_decisions:
            decision = member_decisions[members[0]]
        else:
            decision = DecisionSettings()
        routes[name] = Route(tuple(members), decision)
    try:
        return RoutingTable(routes)
    except ValueError as error:
        raise SettingsError(f"{source}: {error}") from error


def read_routes_file(path: str | Path) -> dict[str, Any]:
    """A routes file's JSON object (checked when the members' decisions are known)."""
    try:
        text = Path(path).read_text()
    except OSError as error:
        raise SettingsError(f"cannot read routes file {path}: {error.strerror}") from error
    return json_object(text, str(path), "an object of routes")


@dataclass(frozen=True)
class RoutedManifest:
    """A routed model folder's model.json read back and checked."""

    folder: Path
    classes: tuple[str, ...]
    table: RoutingTable


def read_routed_manifest(folder: str | Path) -> RoutedManifest:
    """A routed folder's model.json, every member it names present; ModelFolderError otherwise."""
    folder = Path(folder)
    path = folder / MODEL_FILE
    try:
        manifest = json_object(path.read_text(), str(path))
        if manifest.get("format") != ROUTED_FORMAT:
            raise ModelFolderError(f"{path}: not a routed model (format {ROUTED_FORMAT})")
        table = routes_from_plain(manifest.get("routes"), str(path))
    except (OSError, SettingsError) as error:
        raise ModelFolderError(f"{path}: not a readable routed model: {error}") from error
    for member in table.members:
        if not (member_folder(folder, member) / MODEL_FILE).is_file():
            raise ModelFolderError(f"{path}: member {member!r} has no model folder in "
                                   f"{member_folder(folder, member)}")  # fmt: skip
    return RoutedManifest(folder, tuple(map(str, manifest.get("classes", []))), table)


def save_routed_model(
    folder: str | Path,
    members: Mapping[str, Path],
    routes: Any,
    classes: ScoredClasses,
    source: str = "routes",
) -> Path:
    """Write a routed model folder from member model folders (which are moved into it) and routes
    (JSON values, see :func:`routes_from_plain`), as a whole: the complete folder replaces an old
    model folder only once it is written. Returns the folder."""
    folder = Path(os.path.abspath(folder))
    check_model_destination(folder)
    if folder.is_dir() and foreign_entries(folder):
        raise DestinationError(
            f"{folder}: a routed model is written as a whole folder, and this one holds other "
            "files: name a new or empty folder, or a model folder to replace"
        )
    decisions = {
        name: Settings.load(path / SETTINGS_FILE).decision for name, path in members.items()
    }
    table = routes_from_plain(routes, source, decisions)
    unknown = sorted(set(table.members) - set(members))
    if unknown:
        raise SettingsError(f"{source}: routes name members {unknown}, not among {sorted(members)}")
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    staging.chmod(0o755)
    try:
        for name in table.members:
            shutil.move(str(members[name]), member_folder(staging, name))
        manifest = {
            "format": ROUTED_FORMAT,
            "classes": list(classes.codes),
            "members": list(table.members),
            "routes": routes_to_plain(table),
        }
        (staging / MODEL_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
        swap_into_place(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder
