"""Scoring each fold's held-out records with fewer leads: the records cut down to a 2021 lead set
(:mod:`seecgnet.io.reduced_leads`), as a reduced-lead recorder would write them, and predicted by
the fold's model through the driver's own path (model folder, records, challenge CSVs).

Work folder layout, beside a fold's 12-lead ``outputs/``::

    fold_K/outputs_6_leads/ ...       the held-out records' CSVs, predicted from 6-lead copies
    fold_K/.partial_6_leads/          while a lead set is under way: its reduced records and CSVs

A lead set's outputs folder appears (by renaming) only once every record of the fold is predicted,
so a run cut off resumes with that lead set. Each further network of a fold (``member_K/``, see
:mod:`seecgnet.crossval.run`) has the same folders in its own.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from pathlib import Path

from seecgnet.inference.driver import predict_records
from seecgnet.inference.loading import load_model
from seecgnet.io.reduced_leads import ALL_LEADS, LEAD_SETS_2021, write_reduced_records

log = logging.getLogger(__name__)


def lead_set_outputs(fold_dir: Path, lead_set: str) -> Path:
    """Where a fold's outputs for a lead set are: the fold's own outputs for all 12 leads."""
    if lead_set == ALL_LEADS:
        return fold_dir / "outputs"
    return fold_dir / f"outputs_{lead_set}_leads"


def predict_lead_sets(
    fold_dir: Path,
    held_out: Sequence[Path],
    lead_sets: Sequence[str],
    workers: int,
    progress: bool,
) -> None:
    """Predict the fold's held-out records cut down to each lead set whose outputs are missing,
    with the fold's model (``fold_dir/model``)."""
    missing = [s for s in lead_sets if not lead_set_outputs(fold_dir, s).is_dir()]
    if not missing:
        return
    loaded = load_model(fold_dir / "model")
    for lead_set in missing:
        partial = fold_dir / f".partial_{lead_set}_leads"
        shutil.rmtree(partial, ignore_errors=True)  # a run cut off in this lead set
        # a record lacking some of the set's leads keeps those it has, as it would arrive
        reduced = write_reduced_records(
            held_out, LEAD_SETS_2021[lead_set], partial / "records", absent_ok=True
        )
        summary = predict_records(
            loaded, reduced, partial / "outputs", progress=progress, workers=workers
        )
        (partial / "outputs").rename(lead_set_outputs(fold_dir, lead_set))
        shutil.rmtree(partial)
        log.info(
            "%s: %d held-out records predicted with %s leads (%d failed), %.1f s",
            fold_dir.name,
            summary.n_records,
            lead_set,
            summary.n_failed,
            summary.seconds,
        )
