"""The folds of a cross-validation in a work folder: each (assigned once by :mod:`.folds`) shipped
as ``train_model.py`` ships a model, its held-out records predicted (or skipped when complete),
and read back.

Work folder layout::

    folds.csv                         each record's fold (and source, for the source split)
    split.json                        how the folds were made: {"split": "stratified" or "source"}
    fold_K/model/, fold_K/outputs/    the fold's model folder and the held-out records' CSVs
    fold_K/inner_validation.npz       its inner validation labels, probabilities (under the
                                      per_lead_set rule also read with each 2021 lead set) and
                                      thresholds
    fold_K/member_2/ ...              further networks of the fold (--members)
    fold_K/outputs_6_leads/ ...       the held-out records predicted with fewer leads (lead_sets)
    fold_K/done.json                  written last: the fold is complete, its architecture, and
                                      the seconds its networks took to train, tune and predict
    NAME/fold_K/ ...                  the same for each further architecture (--architectures,
                                      --baseline): baseline/, resnext/, resnest/
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from seecgnet.challenge.classes import ScoredClasses
from seecgnet.challenge.outputs import load_outputs
from seecgnet.crossval.folds import CrossValError, FoldPlan
from seecgnet.crossval.lead_sets import lead_set_outputs, predict_lead_sets
from seecgnet.crossval.results import FoldOutcome, MethodResult, score_method
from seecgnet.crossval.tables import FoldCurve
from seecgnet.data.dataset import RecordStore
from seecgnet.data.folds import validation_split
from seecgnet.destinations import remove_own_files
from seecgnet.inference.driver import predict_records
from seecgnet.inference.loading import load_model
from seecgnet.trained.curves import CURVE_CSV, read_curve_csv
from seecgnet.trained.decision import DecisionRule, DecisionSettings, TuningRecords, decision_for
from seecgnet.trained.folder import SETTINGS_FILE, read_manifest
from seecgnet.trained.settings import Settings
from seecgnet.training.checkpoint import CHECKPOINT_FILES
from seecgnet.training.ship import MemberPlan, Shipped, ship

log = logging.getLogger(__name__)

DONE_FILE = "done.json"
INNER_FILE = "inner_validation.npz"
# In INNER_FILE, the inner records' probabilities read with each 2021 lead set, as this + its name.
LEAD_SET_KEY = "lead_set_"


def member_dir(fold_dir: Path, member: int) -> Path:
    """Where a fold's member writes: the fold folder itself for the first network."""
    return fold_dir if member == 0 else fold_dir / f"member_{member + 1}"


def fold_members(fold_dir: Path) -> int:
    """How many networks a complete fold has, from its done-file."""
    return json.loads((fold_dir / DONE_FILE).read_text())["members"]


def run_fold(
    store: RecordStore,
    headers: dict[str, Path],
    classes: ScoredClasses,
    settings: Settings,
    folds: np.ndarray,
    fold: int,
    fold_dir: Path,
    members: int = 1,
    progress: bool = True,
) -> None:
    """Train, save, tune and predict one fold, unless its done-file says that it is complete."""
    if (fold_dir / DONE_FILE).exists():
        check_fold_architecture(fold_dir, settings.architecture)
        log.info("%s is complete; skipping it", fold_dir)
        return
    started = time.perf_counter()
    train_indices = np.flatnonzero(folds != fold)
    held_out = [headers[store.names[i]] for i in np.flatnonzero(folds == fold)]
    # one inner split for every network of the fold, so that their ensembles are validated (and
    # their per-class thresholds tuned) on the same records
    config = settings.training
    fit, inner = validation_split(
        store.labels[train_indices], config.validation_fraction, config.seed
    )
    for member in range(members):
        member_settings = dataclasses.replace(
            settings, training=dataclasses.replace(config, seed=config.seed + member)
        )
        log.info(
            "fold %d, network %d: training on %d records", fold + 1, member + 1, len(train_indices)
        )
        run_member(
            store,
            classes,
            member_settings,
            (train_indices[fit], train_indices[inner]),
            held_out,
            member_dir(fold_dir, member),
            progress,
        )
    done = {
        "fold": fold + 1,
        "records": len(held_out),
        "members": members,
        "architecture": settings.architecture,
        "seconds": round(time.perf_counter() - started, 1),
    }
    (fold_dir / DONE_FILE).write_text(json.dumps(done) + "\n")


def check_fold_architecture(fold_dir: Path, architecture: str) -> None:
    """Refuse to count a complete fold of another architecture as this one's (a work folder
    reused with other options); folds done before done.json named it are read from the model."""
    done = json.loads((fold_dir / DONE_FILE).read_text())
    found = done.get("architecture")
    if found is None:
        model_settings = fold_dir / "model" / SETTINGS_FILE
        found = json.loads(model_settings.read_text()).get("architecture", "seecgnet")
    if found != architecture:
        raise CrossValError(
            f"{fold_dir} holds a {found} fold, not {architecture}: use a new work folder"
        )


def fold_seconds(root: Path, n_folds: int) -> list[float | None]:
    """The seconds each complete fold under ``root`` took, from its done-file; None for a fold
    done before the time was recorded. A fold resumed after a cut counts only its last run."""
    return [
        json.loads((root / f"fold_{k}" / DONE_FILE).read_text()).get("seconds")
        for k in range(1, n_folds + 1)
    ]


def run_member(
    store: RecordStore,
    classes: ScoredClasses,
    settings: Settings,
    split: tuple[np.ndarray, np.ndarray],
    held_out: list[Path],
    out: Path,
    progress: bool,
) -> None:
    """One network of a fold, shipped as ``train_model.py`` ships a model
    (:func:`seecgnet.training.ship.ship`): trained on the first part of ``split`` (resuming from
    its checkpoint), its epoch chosen and its decision tuned on the second (the inner validation
    records), saved as a model folder; then its inner records kept, and the held-out records
    predicted."""
    fit, inner = split
    shipped = ship(
        store,
        classes,
        settings,
        out / "model",
        [MemberPlan(fit, inner, out / "checkpoint")],
        resume=True,
        progress=progress,
    )
    keep_inner_records(shipped, store, inner, classes, out)
    # the held-out fold goes through exactly the driver's path: model folder, records, files
    predict_records(
        load_model(out / "model"),
        held_out,
        out / "outputs",
        progress=progress,
        workers=settings.training.workers,
    )
    remove_own_files(out / "checkpoint", CHECKPOINT_FILES)


def keep_inner_records(
    shipped: Shipped, store: RecordStore, inner: np.ndarray, classes: ScoredClasses, out: Path
) -> None:
    """Keep in ``out/INNER_FILE`` the inner validation records' names, labels and probabilities
    (under a rule tuned on each lead set, also those read with each), and the per-class
    thresholds tuned on them, which the compared per_class rule decides by whatever the model's
    rule."""
    member = shipped.members[0]
    decision = shipped.settings.decision
    if decision.rule is not DecisionRule.PER_CLASS:
        compared = DecisionSettings(rule=DecisionRule.PER_CLASS)
        records = TuningRecords(store.labels[inner], member.validation_probabilities)
        decision = decision_for(compared).tune(records, classes)
    by_lead_set = shipped.tuning.by_lead_set if shipped.tuning is not None else None
    np.savez(
        out / INNER_FILE,
        labels=store.labels[inner],
        probabilities=member.validation_probabilities,
        thresholds=np.asarray(decision.class_thresholds),
        names=np.array([store.names[i] for i in inner], dtype=str),
        **{f"{LEAD_SET_KEY}{name}": p for name, p in (by_lead_set or {}).items()},
    )


def read_fold(
    fold_dir: Path,
    fold: int,
    names: list[str],
    labels: np.ndarray,
    classes: ScoredClasses,
    lead_sets: Sequence[str] = (),
) -> FoldOutcome:
    """Read back a complete fold's output files (with the scorer's reader), its inner thresholds,
    and every network's outputs for each lead set. ``labels`` (records, classes) are the held-out
    records' labels as training read them (a labels file's codes, for records without #Dx)."""
    n_members = fold_members(fold_dir)
    probabilities, binary = [], None
    for member in range(n_members):
        out = member_dir(fold_dir, member)
        outputs = load_outputs([out / "outputs" / f"{name}.csv" for name in names], classes)
        probabilities.append(outputs.scalar)
        binary = outputs.binary if binary is None else binary
    thresholds = np.load(fold_dir / INNER_FILE)["thresholds"]
    inner = [np.load(member_dir(fold_dir, m) / INNER_FILE) for m in range(n_members)]
    inner_labels, inner_probabilities, inner_lead_sets = None, None, {}
    if n_members > 1 and _same_inner_records(inner):
        inner_labels = inner[0]["labels"]
        inner_probabilities = np.stack([part["probabilities"] for part in inner])
        inner_lead_sets = _inner_lead_sets(inner)
    by_lead_set = {
        lead_set: [
            load_outputs(
                [lead_set_outputs(member_dir(fold_dir, m), lead_set) / f"{n}.csv" for n in names],
                classes,
            )
            for m in range(n_members)
        ]
        for lead_set in lead_sets
    }
    return FoldOutcome(
        fold=fold,
        names=tuple(names),
        labels=labels,
        probabilities=np.stack(probabilities),
        binary=binary,
        thresholds=thresholds,
        lead_set_binary={s: outputs[0].binary for s, outputs in by_lead_set.items()},
        lead_set_probabilities={
            s: np.stack([o.scalar for o in outputs]) for s, outputs in by_lead_set.items()
        },
        inner_labels=inner_labels,
        inner_probabilities=inner_probabilities,
        inner_lead_set_probabilities=inner_lead_sets,
    )


def _inner_lead_sets(inner: list[np.lib.npyio.NpzFile]) -> dict[str, np.ndarray]:
    """Each lead set's inner probabilities (members, records, classes), for the sets every
    network of the fold has them for (none in folds made before they were kept)."""
    names = set.intersection(
        *(
            {k[len(LEAD_SET_KEY) :] for k in part.files if k.startswith(LEAD_SET_KEY)}
            for part in inner
        )
    )
    return {name: np.stack([part[LEAD_SET_KEY + name] for part in inner]) for name in sorted(names)}


def _same_inner_records(inner: list[np.lib.npyio.NpzFile]) -> bool:
    """Whether a fold's networks were validated on the same records (folds made before the record
    names were saved, or with one inner split per network, were not)."""
    if any("names" not in part for part in inner):
        return False
    return all(np.array_equal(part["names"], inner[0]["names"]) for part in inner)


def run_method(
    method: str,
    store: RecordStore,
    headers: dict[str, Path],
    classes: ScoredClasses,
    settings: Settings,
    plan: FoldPlan,
    root: Path,
    members: int,
    progress: bool,
    lead_sets: Sequence[str] = ("12",),
) -> MethodResult:
    """Run (or resume) every fold of one method under ``root`` and score it, with all 12 leads and
    with each of ``lead_sets`` (names of :data:`seecgnet.io.reduced_leads.LEAD_SETS_2021`)."""
    outcomes = []
    for fold in range(plan.n_folds):
        fold_dir = root / f"fold_{fold + 1}"
        fold_dir.mkdir(parents=True, exist_ok=True)
        run_fold(store, headers, classes, settings, plan.fold_of, fold, fold_dir, members, progress)
        held_out = np.flatnonzero(plan.fold_of == fold)
        names = [store.names[i] for i in held_out]
        for member in range(fold_members(fold_dir)):
            predict_lead_sets(
                member_dir(fold_dir, member),
                [headers[n] for n in names],
                lead_sets,
                settings.training.workers,
                progress,
            )
        labels = store.labels[held_out]
        outcomes.append(read_fold(fold_dir, fold + 1, names, labels, classes, lead_sets))
    return score_method(method, outcomes, settings, classes, plan.labels)


def fold_curves(root: Path, labels: Sequence[str]) -> list[FoldCurve]:
    """Every fold's training curve (its first network's), from the folds' model folders in fold
    order; a fold whose model has no curve file (trained before curves were recorded) is left out."""
    curves = []
    for k, label in enumerate(labels, start=1):
        folder = root / f"fold_{k}" / "model"
        if (folder / CURVE_CSV).is_file():
            history = read_curve_csv(folder / CURVE_CSV)[0]
            best_epoch = read_manifest(folder)["best_epochs"][0]
            curves.append(FoldCurve(label, history, best_epoch))
    return curves
