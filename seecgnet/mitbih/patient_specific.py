"""The patient-specific protocol's part of a run (see :mod:`seecgnet.mitbih.adaptation` for the
adaptation itself): the arrays a network's ``predictions.npz`` gains, and the two results per
network it reports, the inter-patient model and the adapted one on exactly the same beats.

The adaptation is made twice. On DS2, the test: each record adapted on its first minutes and
tested on the rest. And on the folds, where choices are made: each held-out training record (DS1
and any extra database) adapted, by the model of the folds that did not hold it, on its own first
minutes, and scored on the rest (parts ``validation after minute N: DATABASE``, beside the
unadapted model's on the same beats), so that the adaptation's settings can be chosen without DS2.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from seecgnet.mitbih.adaptation import adapted_log_p, labelled_and_tested
from seecgnet.mitbih.beats import Beats
from seecgnet.mitbih.breakdown import database_parts, record_232_parts
from seecgnet.mitbih.result_files import MethodResult
from seecgnet.mitbih.run_settings import BenchmarkSettings
from seecgnet.mitbih.scores import score_beats
from seecgnet.mitbih.selection import Choice, decide
from seecgnet.mitbih.splits import Split
from seecgnet.mitbih.training import TrainedBeatModel


def adapted_validation(
    settings: BenchmarkSettings, beats: Beats, split: Split, members: list[TrainedBeatModel]
) -> tuple[np.ndarray, np.ndarray]:
    """The held-out beats after minute N, as positions into ``split.validation``, and their
    log-probabilities by their fold's model adapted to their record's first minutes."""
    a, positions, log_ps, start = settings.adaptation, [], [], 0
    for member, (fit, fold) in zip(members, split.members(), strict=True):
        labelled, tested = labelled_and_tested(beats, fold, a.labelled_minutes)
        log_ps.append(adapted_log_p([member], beats, fit, labelled, tested, a,
                                    settings.training.sampling_power, settings.training.seed))  # fmt: skip
        positions.append(start + np.flatnonzero(np.isin(fold, tested)))
        start += len(fold)
    return np.concatenate(positions), np.concatenate(log_ps)


def adaptation_arrays(
    settings: BenchmarkSettings,
    beats: Beats,
    split: Split,
    members: list[TrainedBeatModel],
    choice: Choice,
) -> dict[str, np.ndarray]:
    """Under the patient-specific protocol, the labelled and tested test beats, the members'
    decisions for the tested ones once adapted to each patient, and the same on the folds (see
    the module's text); else none."""
    if settings.protocol != "patient-specific":
        return {}
    a = settings.adaptation
    labelled, tested = labelled_and_tested(beats, split.test, a.labelled_minutes)
    log_p = adapted_log_p(members, beats, split.train, labelled, tested, a,
                          settings.training.sampling_power, settings.training.seed)  # fmt: skip
    positions, validation_log_p = adapted_validation(settings, beats, split, members)
    return {
        "labelled": labelled,
        "tested": tested,
        "adapted": decide(log_p, choice.offsets),
        "adapted_log_p": log_p.astype(np.float32),
        "validation_tested": positions,
        "validation_adapted": decide(validation_log_p, choice.offsets),
    }


def patient_specific_results(
    result: MethodResult,
    settings: BenchmarkSettings,
    beats: Beats,
    split: Split,
    predictions: Mapping[str, np.ndarray],
) -> list[MethodResult]:
    """The inter-patient model's ``result`` on every test beat (what the inter-patient protocol
    gives with the same settings and seed: the same split, folds and training), then the
    inter-patient model's and the adapted models', both scored on the tested DS2 beats and on the
    held-out beats after minute N."""
    tested, positions = predictions["tested"], predictions["validation_tested"]
    inter = predictions["test"][np.isin(split.test, tested)]  # ``tested`` is in the test's order
    minutes = f"{settings.adaptation.labelled_minutes:g}"
    after = f"validation after minute {minutes}"
    held_out = split.validation[positions]
    rows = [dataclasses.replace(result, method=f"{result.method}, inter-patient model, all beats")]
    for method, predicted, validated in (
        (f"{result.method}, inter-patient model, after minute {minutes}", inter,
         predictions["validation"][positions]),
        (f"{result.method}, adapted to each patient, after minute {minutes}",
         predictions["adapted"], predictions["validation_adapted"]),
    ):  # fmt: skip
        breakdown = (
            *database_parts(beats, split.validation, predictions["validation"]),
            *database_parts(beats, held_out, validated, after, alone=True),
            *record_232_parts(beats, tested, predicted, "tested"),
        )
        rows.append(
            dataclasses.replace(
                result,
                method=method,
                scores=score_beats(beats.labels[tested], predicted),
                breakdown=breakdown,
            )
        )
    return rows
