"""One benchmark run in a work folder: settings, beats, split, each network trained and tested.

Work folder layout::

    settings.json        the resolved settings (a rerun must resolve to the same ones)
    beats/               the beat windows, RR features and labels as .npy (read once)
    split.npz            beat indices of the training, validation and test parts
    seecgnet/, baseline/ checkpoint.pt while training; then model.pt, predictions.npz, done.json
    results.csv, results.md, confusion.png

A network whose done.json exists is not trained again; one cut off during training resumes from
its last finished epoch.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from seecgnet.mitbih.beats import (
    CACHE_FOLDER,
    Beats,
    BeatSettings,
    find_records,
    load_or_read_beats,
)
from seecgnet.mitbih.network import beat_settings_for
from seecgnet.mitbih.report import MethodResult, draw_confusion, markdown, write_csv
from seecgnet.mitbih.scores import score_beats
from seecgnet.mitbih.settings import PROTOCOLS, BeatTrainSettings, SplitSettings
from seecgnet.mitbih.splits import (
    Split,
    inter_patient_split,
    intra_patient_split,
    protocol_records,
)
from seecgnet.mitbih.training import predict, train_beat_model
from seecgnet.training.checkpoint import CHECKPOINT_NAME
from seecgnet.training.settings import to_plain

log = logging.getLogger(__name__)

METHOD_NAMES = {"seecgnet": "SE-ECGNet", "baseline": "plain 1-D ResNet"}


class WorkdirError(ValueError):
    """The work folder was made by a run with other settings."""


@dataclass(frozen=True)
class BenchmarkSettings:
    """Everything that defines a benchmark run; saved as WORKDIR/settings.json."""

    protocol: str = "intra"
    architectures: tuple[str, ...] = ("seecgnet",)
    beats: BeatSettings = field(default_factory=BeatSettings)
    split: SplitSettings = field(default_factory=SplitSettings)
    training: BeatTrainSettings = field(default_factory=BeatTrainSettings)

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"protocol {self.protocol!r}: expected one of {PROTOCOLS}")
        for architecture in self.architectures:
            beat_settings_for(
                architecture, self.beats.window_samples, self.beats.n_rows
            )  # fails on unknown names

    def to_json(self) -> str:
        plain = to_plain(self)
        plain["networks"] = {
            a: to_plain(beat_settings_for(a, self.beats.window_samples, self.beats.n_rows))
            for a in self.architectures
        }
        return json.dumps(plain, indent=2) + "\n"


def check_or_save_settings(settings: BenchmarkSettings, workdir: Path) -> None:
    """Save the settings in a new work folder; in an old one, insist they are the same."""
    path = workdir / "settings.json"
    text = settings.to_json()
    if path.exists():
        saved = json.loads(path.read_text())
        if saved != json.loads(text):
            changed = sorted(k for k in saved if saved[k] != json.loads(text).get(k))
            raise WorkdirError(
                f"{path} holds other settings ({', '.join(changed)}): use a new folder"
            )
        return
    workdir.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def source_sizes(data_dir: Path, records: list[str]) -> dict[str, list[int]]:
    """Each record's header, signal and annotation file sizes in bytes (-1: absent): what tells one
    copy of the database from another whose records have the same names."""
    return {
        name: [
            path.stat().st_size if path.exists() else -1
            for path in (data_dir / f"{name}{suffix}" for suffix in (".hea", ".dat", ".atr"))
        ]
        for name in records
    }


def check_or_save_sources(data_dir: Path, records: list[str], workdir: Path) -> None:
    """Save which files a new work folder is made from; an old one refuses other files, since its
    cached beats, split and networks came from the files it recorded."""
    path = workdir / "data_files.json"
    sizes = source_sizes(data_dir, records)
    if path.exists():
        if json.loads(path.read_text()) != sizes:
            raise WorkdirError(
                f"{path}: this work folder was made from other data files than "
                f"those in {data_dir}: use a new folder"
            )
        return
    path.write_text(json.dumps(sizes, indent=1) + "\n")


def make_split(settings: BenchmarkSettings, beats: Beats, workdir: Path) -> Split:
    """The run's split: read from WORKDIR/split.npz when there, else made and saved."""
    path = workdir / "split.npz"
    if path.exists():
        return Split.load(path, settings.protocol)
    s = settings.split
    if settings.protocol == "intra":
        split = intra_patient_split(beats, s.test_fraction, s.validation_fraction, s.seed)
    else:
        split = inter_patient_split(beats, s.validation_records, s.seed)
    split.save(path)
    return split


def train_and_save(
    architecture: str,
    settings: BenchmarkSettings,
    beats: Beats,
    split: Split,
    out: Path,
    progress: bool,
) -> None:
    """Train one network (resuming from its checkpoint), then write its model, its predictions
    of the test and validation beats, and done.json, which marks it finished."""
    started = time.perf_counter()
    network_settings = beat_settings_for(
        architecture, settings.beats.window_samples, settings.beats.n_rows
    )
    trained = train_beat_model(
        beats, split.train, split.validation, network_settings, settings.training, out, progress
    )
    model = {
        "network": trained.network.state_dict(),
        "rr_mean": trained.scaler.mean,
        "rr_std": trained.scaler.std,
    }
    torch.save(model, out / "model.pt")
    np.savez(
        out / "predictions.npz",
        test=predict(trained.network, beats, split.test, trained.scaler),
        validation=predict(trained.network, beats, split.validation, trained.scaler),
    )
    summary = {
        "best_epoch": trained.best_epoch,
        "train_seconds": sum(e["s"] for e in trained.history),
        "wall_seconds_this_session": time.perf_counter() - started,
        "history": trained.history,
    }
    (out / "done.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / CHECKPOINT_NAME).unlink(missing_ok=True)


def run_network(
    architecture: str,
    settings: BenchmarkSettings,
    beats: Beats,
    split: Split,
    out: Path,
    progress: bool,
) -> MethodResult:
    """Train (or resume, or skip when done) one network and score it on the test beats."""
    done = out / "done.json"
    if not done.exists():
        train_and_save(architecture, settings, beats, split, out, progress)
    summary = json.loads(done.read_text())
    predictions = np.load(out / "predictions.npz")
    return MethodResult(
        method=METHOD_NAMES[architecture],
        scores=score_beats(beats.labels[split.test], predictions["test"]),
        validation_scores=score_beats(beats.labels[split.validation], predictions["validation"]),
        best_epoch=summary["best_epoch"],
        epochs=settings.training.epochs,
        train_seconds=summary["train_seconds"],
        seed=settings.training.seed,
    )


def run_benchmark(
    settings: BenchmarkSettings, data_dir: Path, workdir: Path, progress: bool = True
) -> list[MethodResult]:
    """Run (or resume) every network of the settings and write the results files."""
    check_or_save_settings(settings, workdir)
    records = protocol_records(settings.protocol, find_records(data_dir))
    check_or_save_sources(Path(data_dir), records, workdir)
    beats = load_or_read_beats(data_dir, records, settings.beats, workdir / CACHE_FOLDER, progress)
    split = make_split(settings, beats, workdir)
    log.info(
        "%s-patient: %d beats from %d records; train %s, validation %s, test %s (N, S, V, F, Q)",
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
        results.append(run_network(architecture, settings, beats, split, out, progress))
    write_csv(results, settings.protocol, workdir / "results.csv")
    (workdir / "results.md").write_text(markdown(results, settings.protocol))
    draw_confusion(results, settings.protocol, workdir / "confusion.png")
    return results
