"""One benchmark run in a work folder: settings, beats, split, each network trained and tested.

Work folder layout::

    settings.json        the resolved settings (a rerun must resolve to the same ones)
    data_files.json      the sizes of the database files the beats were read from
    beats/               the beat windows, RR features, labels and R-peak times as .npy (read once)
    split.npz            beat indices of the training, validation and test parts (and DS1 folds)
    seecgnet/, baseline/ one folder per network, holding one fold_K/ per model (one for intra,
                         one per DS1 fold otherwise): checkpoint.pt and epochs/NNN.pt while it
                         trains, model.pt at the chosen epoch; then the network's predictions.npz,
                         validation_logits.npy (every epoch's, in split.npz's validation order)
                         and done.json (chosen epoch, offsets, each epoch's validation score);
                         under the patient-specific protocol predictions.npz also holds the
                         labelled and tested DS2 beats, the adapted models' decisions for the
                         tested ones, and those of the held-out beats after minute N
    results.csv, results.md, confusion.png

A network whose done.json exists is not trained again; one cut off during training resumes from
its last finished epoch. Every model of a network is trained first; then the epoch and the S
threshold are chosen on all their validation beats at once (:mod:`seecgnet.mitbih.selection`),
and the test beats are predicted by the models at that epoch, their probabilities averaged.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from seecgnet.mitbih.beats import (
    AAMI_CLASSES,
    CACHE_FOLDER,
    Beats,
    find_records,
    load_or_read_beats,
)
from seecgnet.mitbih.breakdown import database_parts, record_232_parts
from seecgnet.mitbih.network import beat_settings_for
from seecgnet.mitbih.patient_specific import adaptation_arrays, patient_specific_results
from seecgnet.mitbih.rebasing import rebased_validation
from seecgnet.mitbih.result_files import MethodResult, draw_confusion, markdown, write_csv
from seecgnet.mitbih.run_settings import BenchmarkSettings, WorkdirError, check_or_save_settings
from seecgnet.mitbih.scores import score_beats
from seecgnet.mitbih.selection import Choice, choose, decide, log_probabilities
from seecgnet.mitbih.sources import check_or_save_sources, extra_names, extra_records
from seecgnet.mitbih.splits import (
    Split,
    inter_patient_split,
    intra_patient_split,
    protocol_records,
)
from seecgnet.mitbih.training import (
    EPOCHS_FOLDER,
    TrainedBeatModel,
    predict_logits,
    train_beat_model,
)
from seecgnet.training.checkpoint import CHECKPOINT_NAME

log = logging.getLogger(__name__)

METHOD_NAMES = {"seecgnet": "SE-ECGNet", "baseline": "plain 1-D ResNet"}


def make_split(settings: BenchmarkSettings, beats: Beats, workdir: Path) -> Split:
    """The run's split: read from WORKDIR/split.npz when there, else made and saved."""
    path = workdir / "split.npz"
    if path.exists():
        return Split.load(path, settings.protocol)
    s = settings.split
    if settings.protocol == "intra":
        split = intra_patient_split(beats, s.test_fraction, s.validation_fraction, s.seed)
    else:  # inter, ds1 and patient-specific: folds of DS1 (and the extra databases)
        split = inter_patient_split(beats, s.folds, s.seed, settings.protocol)
    split.save(path)
    return split


def train_members(
    architecture: str,
    settings: BenchmarkSettings,
    beats: Beats,
    split: Split,
    out: Path,
    progress: bool,
) -> list[TrainedBeatModel]:
    """Train (or resume) each model of the split: one, or one per DS1 fold, in ``out/fold_K``."""
    network_settings = beat_settings_for(architecture, settings.beats)
    members = split.members()
    trained = []
    for k, (fit, validation) in enumerate(members, start=1):
        log.info("%s, model %d of %d: %d training beats", architecture, k, len(members), len(fit))
        trained.append(
            train_beat_model(
                beats, fit, validation, network_settings, settings.training, out / f"fold_{k}",
                progress, settings.beats.rr_names,
            )
        )  # fmt: skip
    return trained


def ensemble_log_p(
    members: list[TrainedBeatModel], beats: Beats, indices: np.ndarray
) -> np.ndarray:
    """log of the members' softmax probabilities averaged, shape (len(indices), classes)."""
    probabilities = [
        np.exp(log_probabilities(predict_logits(m.network, beats, indices, m.scaler, m.expert)))
        for m in members
    ]
    return np.log(np.maximum(np.mean(probabilities, axis=0), 1e-30))


@dataclass(frozen=True, eq=False)
class RebasedCopy:
    """The re-based copy of the held-out records (see rebasing.py): ``positions`` into the pooled
    validation beats, and each epoch's logits for them (epochs, len(positions), classes)."""

    positions: np.ndarray
    logits: list[np.ndarray]


def rebased_copy(
    settings: BenchmarkSettings,
    beats: Beats,
    split: Split,
    members: list[TrainedBeatModel],
    saved: list[list[dict]],
) -> RebasedCopy:
    """Each fold's held-out records that hold S beats, re-based to their S rhythm (RR references
    and, where the images have them, template rows), predicted by the fold's model after every
    epoch; empty without folds (intra-patient)."""
    names, s = settings.beats.rr_names, AAMI_CLASSES.index("S")
    windows = beats.windows if settings.beats.template_rows else None
    positions, copies, start = [], [], 0
    for fold in split.folds:
        kept, rr, images = rebased_validation(
            beats.rr,
            names,
            beats.labels,
            beats.record_index,
            fold,
            s,
            windows,
            settings.selection.rebased_runs,
        )
        picked = fold[kept]
        images = beats.windows[picked] if images is None else images
        copies.append(
            Beats(beats.records, images, rr, beats.labels[picked], beats.record_index[picked])
        )
        positions.append(start + kept)
        start += len(fold)
    logits = []
    for epoch in range(settings.training.epochs if split.folds else 0):
        parts = []
        for member, states, copy in zip(members, saved, copies, strict=True):
            member.network.load_state_dict(states[epoch]["network"])
            everything = np.arange(len(copy))
            parts.append(predict_logits(member.network, copy, everything, member.scaler,
                                        member.expert))  # fmt: skip
        logits.append(np.concatenate(parts))
    return RebasedCopy(np.concatenate(positions or [np.zeros(0, np.int64)]), logits)


def save_members(members: list[TrainedBeatModel], saved: list[list[dict]], choice: Choice) -> None:
    """Set each model to the chosen epoch and write its model.pt (weights, RR scaler, offsets,
    expert)."""
    for member, states in zip(members, saved, strict=True):
        member.network.load_state_dict(states[choice.epoch - 1]["network"])
        torch.save(
            {
                "network": member.network.state_dict(),
                "rr_mean": member.scaler.mean,
                "rr_std": member.scaler.std,
                "offsets": np.asarray(choice.offsets),
                "expert": None if member.expert is None else member.expert.state_dict(),
            },
            member.folder / "model.pt",
        )


def train_and_save(
    architecture: str,
    settings: BenchmarkSettings,
    beats: Beats,
    split: Split,
    out: Path,
    progress: bool,
) -> None:
    """Train every model, choose the epoch and offsets on their pooled validation beats, set each
    model to that epoch, and write the models, the test and validation predictions, and
    done.json, which marks the network finished."""
    started = time.perf_counter()
    members = train_members(architecture, settings, beats, split, out, progress)
    epochs = range(1, settings.training.epochs + 1)
    saved = [[torch.load(m.epoch_file(e), weights_only=True) for e in epochs] for m in members]
    pooled = [
        np.concatenate([s[e - 1]["validation_logits"].numpy() for s in saved]) for e in epochs
    ]
    copy = rebased_copy(settings, beats, split, members, saved)
    copy_labels = beats.labels[split.validation][copy.positions]
    rebased = (copy_labels, copy.logits) if copy.logits else None
    choice, table = choose(beats.labels[split.validation], pooled, settings.selection, rebased)
    np.save(out / "validation_logits.npy", np.stack(pooled))  # (epochs, validation beats, classes)
    save_members(members, saved, choice)
    test_log_p = ensemble_log_p(members, beats, split.test)
    validation_log_p = log_probabilities(pooled[choice.epoch - 1])
    rebased_log_p = log_probabilities(
        copy.logits[choice.epoch - 1] if copy.logits else np.zeros((0, len(AAMI_CLASSES)))
    )
    np.savez(
        out / "predictions.npz",
        test=decide(test_log_p, choice.offsets),
        validation=decide(validation_log_p, choice.offsets),
        test_log_p=test_log_p.astype(np.float32),
        validation_log_p=validation_log_p.astype(np.float32),
        rebased_positions=copy.positions,
        rebased=decide(rebased_log_p, choice.offsets),
        rebased_log_p=rebased_log_p.astype(np.float32),
        **adaptation_arrays(settings, beats, split, members, choice),
    )
    summary = {
        "best_epoch": choice.epoch,
        "offsets": list(choice.offsets),
        "validation_score": choice.score,
        "train_seconds": sum(e.seconds for m in members for e in m.history),
        "wall_seconds_this_session": time.perf_counter() - started,
        "selection": table,
        "history": [[e.to_plain() for e in m.history] for m in members],
    }
    (out / "done.json").write_text(json.dumps(summary, indent=2) + "\n")
    for member in members:
        (member.folder / CHECKPOINT_NAME).unlink(missing_ok=True)
        shutil.rmtree(member.folder / EPOCHS_FOLDER, ignore_errors=True)


def run_network(
    architecture: str,
    settings: BenchmarkSettings,
    beats: Beats,
    split: Split,
    out: Path,
    progress: bool,
) -> list[MethodResult]:
    """Train (or resume, or skip when done) one network and score it on the test beats: one
    result, or under the patient-specific protocol two on the tested beats (the inter-patient
    model's, then the adapted one's)."""
    done = out / "done.json"
    if not done.exists():
        train_and_save(architecture, settings, beats, split, out, progress)
    summary = json.loads(done.read_text())
    predictions = np.load(out / "predictions.npz")
    rebased = None
    # intra-patient runs have no copy, nor have work folders from before it
    if "rebased" in predictions.files and len(predictions["rebased_positions"]):
        copy_labels = beats.labels[split.validation][predictions["rebased_positions"]]
        rebased = score_beats(copy_labels, predictions["rebased"])
    validation = database_parts(beats, split.validation, predictions["validation"])
    result = MethodResult(
        method=METHOD_NAMES[architecture],
        scores=score_beats(beats.labels[split.test], predictions["test"]),
        validation_scores=score_beats(beats.labels[split.validation], predictions["validation"]),
        best_epoch=summary["best_epoch"],
        s_offset=summary["offsets"][AAMI_CLASSES.index("S")],
        epochs=settings.training.epochs,
        train_seconds=summary["train_seconds"],
        seed=settings.training.seed,
        rebased_scores=rebased,
        breakdown=validation + record_232_parts(beats, split.test, predictions["test"]),
    )
    if settings.protocol != "patient-specific":
        return [result]
    return patient_specific_results(result, settings, beats, split, predictions)


def run_benchmark(
    settings: BenchmarkSettings,
    data_dir: Path,
    workdir: Path,
    progress: bool = True,
    extra_dirs: Sequence[Path] = (),
) -> list[MethodResult]:
    """Run (or resume) every network of the settings and write the results files. Every
    database's records are found before anything is written into ``workdir``.
    ``extra_dirs``: the folders of the databases ``settings.extra_training`` names."""
    if extra_names(extra_dirs) != settings.extra_training:
        raise WorkdirError(
            f"the extra databases {settings.extra_training} of the settings are not those "
            f"given: {[str(d) for d in extra_dirs]}"
        )
    paths = extra_records(extra_dirs)
    records = protocol_records(settings.protocol, find_records(data_dir)) + list(paths)
    check_or_save_settings(settings, workdir)
    check_or_save_sources(Path(data_dir), records, workdir, paths)
    beats = load_or_read_beats(
        data_dir, records, settings.beats, workdir / CACHE_FOLDER, progress, paths
    )
    split = make_split(settings, beats, workdir)
    log.info(
        "%s: %d beats from %d records; train %s, validation %s, test %s (N, S, V, F, Q)",
        settings.protocol,
        len(beats),
        len(records),
        *(
            beats.class_counts(part).tolist()
            for part in (split.train, split.validation, split.test)
        ),
    )
    results = []
    for architecture in settings.architectures:
        out = workdir / architecture
        out.mkdir(parents=True, exist_ok=True)
        results += run_network(architecture, settings, beats, split, out, progress)
    write_csv(results, settings.protocol, workdir / "results.csv")
    (workdir / "results.md").write_text(markdown(results, settings.protocol))
    draw_confusion(results, settings.protocol, workdir / "confusion.png")
    return results
