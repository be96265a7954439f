"""What defines one benchmark run (:class:`BenchmarkSettings`, saved as WORKDIR/settings.json),
and the check that a work folder is resumed with the settings it was made with."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from seecgnet.errors import SeecgnetError
from seecgnet.mitbih.beats import BeatSettings
from seecgnet.mitbih.network import beat_settings_for
from seecgnet.mitbih.settings import (
    PROTOCOLS,
    RUN_MARKER,
    AdaptationSettings,
    BeatTrainSettings,
    SelectionSettings,
    SplitSettings,
)
from seecgnet.trained.settings import SettingsError, to_plain


class WorkdirError(SeecgnetError, ValueError):
    """The work folder was made by a run with other settings."""


@dataclass(frozen=True)
class BenchmarkSettings:
    """Everything that defines a benchmark run; saved as WORKDIR/settings.json."""

    protocol: str = "intra"
    architectures: tuple[str, ...] = ("seecgnet",)
    beats: BeatSettings = field(default_factory=BeatSettings)
    split: SplitSettings = field(default_factory=SplitSettings)
    training: BeatTrainSettings = field(default_factory=BeatTrainSettings)
    selection: SelectionSettings = field(default_factory=SelectionSettings)
    # the names of the other databases whose records train beside DS1 (--extra-training)
    extra_training: tuple[str, ...] = ()
    adaptation: AdaptationSettings = field(default_factory=AdaptationSettings)

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise SettingsError(f"protocol {self.protocol!r}: expected one of {PROTOCOLS}")
        if self.protocol == "intra" and self.extra_training:
            raise SettingsError(
                "--extra-training: the intra-patient protocol tests beats of its training "
                "patients; other databases train under inter, ds1 or patient-specific"
            )
        if self.protocol != "patient-specific" and self.adaptation != AdaptationSettings():
            raise SettingsError("the adaptation settings serve --protocol patient-specific alone")
        for architecture in self.architectures:
            beat_settings_for(architecture, self.beats)  # fails on unknown names
        if self.training.rebase_template and not self.beats.template_rows:
            raise SettingsError(
                "training.rebase_template needs the template rows in the beat images "
                "(beats.template_rows)"
            )

    def to_json(self) -> str:
        plain = to_plain(self)
        # left out where unused, so that work folders made before they existed stay valid
        if not self.extra_training:
            del plain["extra_training"]
        if self.protocol != "patient-specific":
            del plain["adaptation"]
        plain["networks"] = {
            a: to_plain(beat_settings_for(a, self.beats)) for a in self.architectures
        }
        return json.dumps(plain, indent=2) + "\n"


def check_or_save_settings(settings: BenchmarkSettings, workdir: Path) -> None:
    """Save the settings in a new work folder; in an old one, insist they are the same."""
    path = workdir / RUN_MARKER
    text = settings.to_json()
    if path.exists():
        saved, wanted = json.loads(path.read_text()), json.loads(text)
        if saved != wanted:
            changed = sorted(
                k for k in saved.keys() | wanted.keys() if saved.get(k) != wanted.get(k)
            )
            raise WorkdirError(
                f"{path} holds other settings ({', '.join(changed)}): use a new folder"
            )
        return
    workdir.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
