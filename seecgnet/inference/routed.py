"""Prediction with a routed model folder: each record goes to the members of its route.

A :class:`RoutedPredictor` stands where a :class:`~seecgnet.inference.prediction.Predictor` does
for the driver, the report and one-record prediction. A record is read once, at the members' common
sampling rate with no limb lead computed, and its route told by the leads it holds
(:func:`seecgnet.trained.routes.route_of`); each member of the route then makes its own input of
it (limb leads computed, the lead presence told, as its settings say) and the route's decision
labels the mean of their probabilities. A route of one member predicts exactly as that member's own
model folder does.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import torch

from seecgnet.data.dataset import prepare_leads
from seecgnet.data.signals import lead_presence
from seecgnet.errors import SeecgnetError
from seecgnet.inference.inputs import InputPreparation
from seecgnet.inference.prediction import NetworkInput, Predictor, RecordOutcome, RecordPrediction
from seecgnet.io.records import Record
from seecgnet.trained.decision import decide
from seecgnet.trained.routes import RoutingTable, route_of

Tag = TypeVar("Tag")


class MultiMemberRouteError(SeecgnetError, ValueError):
    """What needs one member's windows (the report) met a route of several members."""


@dataclass(frozen=True)
class RoutedInput:
    """A record ready for its route: the route's name and each of its members' input."""

    route: str
    inputs: Mapping[str, NetworkInput]

    @property
    def present(self) -> np.ndarray:
        """The leads (12,) bool the route's first member reads (after its computed limb leads)."""
        return next(iter(self.inputs.values())).present


@dataclass(frozen=True)
class RoutedPreparation:
    """How a routed model reads a record: once, then each member of its route its own way."""

    table: RoutingTable
    members: Mapping[str, InputPreparation]

    def __call__(self, record: Record, warn_missing_leads: bool = False) -> RoutedInput:
        first = next(iter(self.members.values())).signal_settings
        plain = dataclasses.replace(first, complete_limb_leads=False)
        signal, present = prepare_leads(record, plain, warn_missing_leads)
        route = route_of(present)
        inputs = {
            name: self.members[name].completed(signal, present, record.age, record.sex)
            for name in self.table.routes[route].members
        }
        return RoutedInput(route, inputs)


class RoutedPredictor:
    """Member predictors, each loaded once, and the routing table that says who serves a record."""

    def __init__(self, members: Mapping[str, Predictor], table: RoutingTable) -> None:
        needed = set(table.members)
        if not needed <= set(members):
            raise ValueError(f"routes name members {sorted(needed - set(members))} not loaded")
        rates = {p.signal_settings.fs_hz for p in members.values()}
        if len(rates) != 1:
            raise ValueError(f"a routed model's members work at one rate, not {sorted(rates)} Hz")
        self.members = {name: members[name] for name in table.members}
        self.table = table
        first = next(iter(self.members.values()))
        self.device = first.device
        self.classes = first.classes

    @property
    def networks(self) -> list[torch.nn.Module]:
        """Every member's networks."""
        return [net for member in self.members.values() for net in member.networks]

    def input_preparation(self) -> RoutedPreparation:
        """What the reading processes need to make a record's input."""
        return RoutedPreparation(
            self.table,
            {
                name: InputPreparation(p.signal_settings, p.age_stats, p.lead_presence)
                for name, p in self.members.items()
            },
        )

    def input_probabilities(self, prepared: RoutedInput) -> np.ndarray:
        """Probabilities (classes,) of one record's routed input, run alone."""
        return np.mean(
            [self.members[name].input_probabilities(x) for name, x in prepared.inputs.items()],
            axis=0,
        )

    def decide_input(self, probabilities: np.ndarray, prepared: RoutedInput) -> np.ndarray:
        """Labels of a record's probabilities, by its route's decision."""
        return decide(probabilities, self.table.routes[prepared.route].decision, prepared.present)

    def predict_record(self, record: Record) -> RecordPrediction:
        """Labels and probabilities of a raw record (any rate, any leads, in any order), from the
        members of the route of the leads it holds."""
        prepared = self.input_preparation()(record)
        # told once per set of leads, as a single model tells it, by the member that reads it
        first = self.members[self.table.routes[prepared.route].members[0]]
        first.tell_lead_set(lead_presence(record.lead_names), prepared.present)
        probabilities = self.input_probabilities(prepared)
        return RecordPrediction(probabilities, self.decide_input(probabilities, prepared))

    def route_name(self, record: Record) -> str:
        """The name of the route that serves the record (a 2021 lead set's, or ``other``)."""
        return self.input_preparation()(record).route

    def route_predictor(self, record: Record, name: str | None = None) -> Predictor:
        """The one member serving the record's route (``name``, when the caller has it from
        :meth:`route_name`), deciding by the route's rule: what the report explains window by
        window. MultiMemberRouteError for a route of several members."""
        name = self.route_name(record) if name is None else name
        route = self.table.routes[name]
        if len(route.members) > 1:
            raise MultiMemberRouteError(
                f"record {record.name}: its route ({name}) takes the mean of "
                f"{', '.join(route.members)}, and a report explains one member's windows"
            )
        member = self.members[route.members[0]]
        return Predictor(
            member.networks,
            member.classes,
            member.signal_settings,
            route.decision,
            member.age_stats,
            ensemble=member.ensemble,
            device=member.device,
        )

    def predict_stream(
        self, items: Iterable[tuple[Tag, RoutedInput | None]]
    ) -> Iterator[RecordOutcome[Tag]]:
        """The probabilities of a stream of records, in the order they came: every member runs on
        the records of its routes, batched across them as one predictor's stream is."""
        names = list(self.members)
        copies = itertools.tee(iter(items), len(names))
        streams = [
            self.members[name].predict_stream(_member_items(copy, name))
            for name, copy in zip(names, copies, strict=True)
        ]
        for outcomes in zip(*streams, strict=True):
            tag, prepared = outcomes[0].tag
            yield _combined(tag, prepared, dict(zip(names, outcomes, strict=True)))


def _member_items(
    items: Iterable[tuple[Tag, RoutedInput | None]], member: str
) -> Iterator[tuple[tuple[Tag, RoutedInput | None], NetworkInput | None]]:
    """A member's stream: every record, with the member's input where the record's route uses it
    (and None, passed through, where not), tagged with the caller's tag and the routed input."""
    for tag, prepared in items:
        mine = None if prepared is None else prepared.inputs.get(member)
        yield (tag, prepared), mine


def _combined(
    tag: Any, prepared: RoutedInput | None, outcomes: Mapping[str, RecordOutcome[Any]]
) -> RecordOutcome[Any]:
    """One record's outcome from its route's members': the mean of their probabilities, or the
    first member's failure."""
    if prepared is None:
        return RecordOutcome(tag, None)
    used = [outcomes[name] for name in prepared.inputs]
    for outcome in used:
        if outcome.probabilities is None:
            return RecordOutcome(tag, None, outcome.network_error)
    return RecordOutcome(tag, np.mean([o.probabilities for o in used], axis=0))
