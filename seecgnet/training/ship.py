"""Shipping a model: train its network(s), tune its decision rule, save the model folder.

This is the one way a model folder is made: ``train_model.py`` and ``team_code.py`` (through
:func:`seecgnet.training.data_folder.train_folder`) and each network of a cross-validation fold
(:func:`seecgnet.crossval.run.run_member`) all call :func:`ship`, so a fold's model is trained,
tuned and saved exactly as the shipped one.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seecgnet.challenge.classes import ScoredClasses
from seecgnet.data.dataset import RecordStore
from seecgnet.data.signals import AgeStatistics
from seecgnet.errors import SeecgnetError
from seecgnet.inference.prediction import Predictor, lead_set_probabilities
from seecgnet.trained.decision import TuningRecords, decision_for
from seecgnet.trained.ensemble import EnsembleRule
from seecgnet.trained.folder import ModelSummary, save_model
from seecgnet.trained.settings import Settings
from seecgnet.training.loop import TrainedModel, train_model

log = logging.getLogger(__name__)


class NothingToTrainError(SeecgnetError, ValueError):
    """The data folder holds no readable record, or none is left to tune the decision rule on."""


@dataclass(frozen=True)
class MemberPlan:
    """One network's records: those it trains on, those that choose its epoch (None: training
    holds a stratified part of the first out itself), and the folder of its checkpoints."""

    train_indices: np.ndarray
    validation_indices: np.ndarray | None
    checkpoint_dir: Path | None = None


@dataclass(frozen=True)
class Shipped:
    """What was shipped: the trained networks, the settings saved (the decision tuned), the model
    folder's summary, and the records the decision was tuned on (None for a rule not tuned)."""

    members: list[TrainedModel]
    settings: Settings
    summary: ModelSummary
    tuning: TuningRecords | None


def ship(
    store: RecordStore,
    classes: ScoredClasses,
    settings: Settings,
    model_dir: Path,
    plans: Sequence[MemberPlan],
    ensemble: EnsembleRule = EnsembleRule.MEAN,
    tuning_indices: np.ndarray | None = None,
    resume: bool = False,
    progress: bool = True,
) -> Shipped | None:
    """Train one network per plan, tune the decision rule, and save them as the model folder
    ``model_dir``; None in the helper processes of a distributed run, which save nothing.

    The age statistics are those of every record the model learns from (each plan's records and
    ``tuning_indices``). A tuned rule is tuned on the single network's own validation records, or
    for an ensemble on ``tuning_indices``, records held out of every network, predicted by the
    ensemble itself.
    """
    records = _learnt_from(plans, tuning_indices)
    age_stats = AgeStatistics.from_ages(store.ages[records])
    members = [
        train_model(
            store,
            classes,
            settings,
            train_indices=plan.train_indices,
            validation_indices=plan.validation_indices,
            checkpoint_dir=plan.checkpoint_dir,
            resume=resume,
            progress=progress,
            age_stats=age_stats,
        )
        for plan in plans
    ]
    if not all(m.is_main for m in members):  # a helper process of a distributed run
        return None
    settings, tuning = _tuned(settings, store, classes, members, ensemble, tuning_indices)
    best_epochs = tuple(m.best_epoch for m in members)
    summary = ModelSummary(
        len(records),
        best_epochs,
        tuple(
            next(e.validation_challenge_metric for e in m.history if e.epoch == m.best_epoch)
            for m in members
        ),
    )
    save_model(
        model_dir,
        settings,
        classes,
        age_stats,
        [m.network.state_dict() for m in members],
        summary,
        ensemble=ensemble,
        histories=[m.history for m in members],
    )
    return Shipped(members, settings, summary, tuning)


def _learnt_from(plans: Sequence[MemberPlan], tuning_indices: np.ndarray | None) -> np.ndarray:
    """Every record a model learns from, in the store's order."""
    parts = [np.asarray(plan.train_indices, dtype=np.int64) for plan in plans]
    parts += [np.asarray(p.validation_indices) for p in plans if p.validation_indices is not None]
    if tuning_indices is not None:
        parts.append(np.asarray(tuning_indices))
    return np.unique(np.concatenate(parts).astype(np.int64))


def _tuned(
    settings: Settings,
    store: RecordStore,
    classes: ScoredClasses,
    members: list[TrainedModel],
    ensemble: EnsembleRule,
    tuning_indices: np.ndarray | None,
) -> tuple[Settings, TuningRecords | None]:
    """Settings whose decision is tuned (where the rule is) on the probabilities of what is
    shipped, and the records it was tuned on."""
    decision = decision_for(settings.decision)
    if not decision.tuned_parameters:
        return settings, None
    single = tuning_indices is None
    indices = members[0].validation_indices if single else tuning_indices
    if len(indices) == 0:
        raise NothingToTrainError(
            f"the {decision.rule.value} rule needs validation records to be tuned on: raise "
            "--validation-fraction or give more records"
        )
    shipping = Predictor(
        [m.network for m in members],
        classes,
        settings.signal,
        settings.decision,
        members[0].age_stats,
        ensemble=ensemble,
        device=next(members[0].network.parameters()).device,
    )
    probabilities = None
    if single:  # training kept the single network's validation probabilities
        probabilities = members[0].validation_probabilities
    elif not decision.reads_lead_sets:
        probabilities = shipping.store_probabilities(store, indices)
    by_lead_set = None
    if decision.reads_lead_sets:
        by_lead_set = lead_set_probabilities(shipping, store, indices)
    tuning = TuningRecords(store.labels[indices], probabilities, by_lead_set)
    tuned = decision.tune(tuning, classes)
    log.info(
        "%s rule tuned on %d validation records: %s",
        tuned.rule.value,
        len(indices),
        decision_for(tuned).describe(),
    )
    return dataclasses.replace(settings, decision=tuned), tuning
