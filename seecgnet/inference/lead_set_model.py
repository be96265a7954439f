"""A model folder loaded for one lead set, as the 2021 challenge's entry functions use a model.

The 2021 challenge ("Will Two Do?") loads an entry's model once for each lead set its records hold
(12, 6, 4, 3 or 2 leads; any set a header lists) and then runs it on each record with that set.
One SE-ECGNet model folder serves every lead set: the network reads leads by name, and the leads a
record lacks are absent; of a routed model folder (:mod:`seecgnet.trained.routes`) only the
members of the set's route are loaded, and they serve every record. A :class:`LeadSetModel` is
that folder with the set it was loaded for; it reads those leads of a record and no others
(:func:`seecgnet.io.reduced_leads.keep_leads`), so that a record holding more leads than the set
is predicted as a record of the set would be.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from seecgnet.inference.loading import LoadedModel, load_model
from seecgnet.io.reduced_leads import keep_leads, lead_set
from seecgnet.trained.routes import route_of_leads

if TYPE_CHECKING:
    import torch

    from seecgnet.inference.prediction import RecordPrediction
    from seecgnet.io.records import Record


@dataclass(frozen=True)
class LeadSetModel:
    """A loaded model folder and the leads it reads, in their standard spelling."""

    loaded: LoadedModel
    leads: tuple[str, ...]

    @property
    def classes(self) -> tuple[str, ...]:
        """The class codes, in the order of every prediction's entries."""
        return self.loaded.classes.codes

    def predict_record(self, record: Record) -> RecordPrediction:
        """Labels and probabilities of a raw record from its leads of the set (any rate, any lead
        order); RecordError for a record holding none of them."""
        return self.loaded.predictor.predict_record(keep_leads(record, self.leads))


def load_lead_set_model(
    folder: str | Path, leads: Sequence[str], device: torch.device | str = "cpu"
) -> LeadSetModel:
    """The model folder ``folder`` loaded to read ``leads`` (standard lead names, matched without
    case): ValueError naming the leads for a set it cannot read, ModelFolderError for the folder."""
    checked = lead_set(leads)  # before the folder: a wrong set fails at once
    # a routed folder: only the members of the set's route are read
    return LeadSetModel(load_model(folder, device=device, route=route_of_leads(checked)), checked)
