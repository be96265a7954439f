"""The benchmark's settings file (``python -m seecgnet.mitbih ... --settings FILE``): the experiment
knobs that are not command-line options.

A settings file is a JSON object of up to five parts, each an object of that part's settings, named
as in the work folder's ``settings.json``::

    {"training": {"rebase_share": 0.5, "rebase_template": true},
     "beats": {"rr_windows_s": [60, 300], "rr_quantile": 0.75},
     "selection": {"tuned_classes": ["S", "V"]}}

A value the file gives replaces the protocol's default (:func:`protocol_defaults`); the command
line's ``--epochs``, ``--folds`` and ``--seed`` replace the file's. Every key is listed, with its
meaning and its default, in :data:`SETTINGS_KEYS` (``--help`` shows them). The file is checked as the
challenge's settings are: an unknown part or key, a value of the wrong type, or one out of its range
is an error naming the file and the key. The seeds are ``--seed``'s alone.

Nothing here loads torch or wfdb.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path
from typing import Any

from seecgnet.mitbih.settings import (
    CLASS_WEIGHTINGS,
    AdaptationSettings,
    BeatSettings,
    BeatTrainSettings,
    Protocol,
    SelectionSettings,
    SplitSettings,
    protocol_defaults,
)
from seecgnet.trained.settings import SettingsError, from_plain, json_object, settings_text

# The parts of a settings file and the settings class each holds.
PARTS: dict[str, type] = {
    "beats": BeatSettings,
    "split": SplitSettings,
    "training": BeatTrainSettings,
    "selection": SelectionSettings,
    "adaptation": AdaptationSettings,
}
SEED = "seed"  # in the split and training parts: --seed's

# (part, key, meaning) of every key a settings file may hold
SETTINGS_KEYS: tuple[tuple[str, str, str], ...] = (
    ("beats", "fs_hz", "beats resampled to this rate (Hz)"),
    ("beats", "before_s", "window before the R peak (s)"),
    ("beats", "after_s", "window after the R peak (s)"),
    ("beats", "highpass_hz", "high-pass filter's cut-off (Hz)"),
    ("beats", "normalise_amplitude", "each lead divided by its record's median beat amplitude"),
    ("beats", "template_rows", "each lead minus the record's median beat as two more rows"),
    ("beats", "neighbour_rows", "the previous and next beat's windows as four more rows"),
    ("beats", "rr_windows_s", "centred windows (s) whose median RR the RR intervals are divided by"),
    ("beats", "rr_quantile", "the windows' reference is this quantile of their RR intervals "
     "(0.5: the median; above it the patient's slower beats)"),
    ("beats", "rr_sequence_beats", "RR intervals on each side of the beat's own two as features"),
    ("beats", "rr_absolute", "the RR intervals in seconds as well as their ratios"),
    ("beats", "rr_irregularity", "each RR window's irregularity (median successive change over "
     "median RR)"),
    ("split", "test_fraction", "intra-patient: share of the beats tested"),
    ("split", "validation_fraction", "intra-patient: share of the training beats that choose the "
     "epoch"),
    ("split", "folds", "inter-patient and ds1: folds of DS1 records, one model each (--folds)"),
    ("training", "epochs", "passes over the training beats (--epochs)"),
    ("training", "batch_size", "beats per step"),
    ("training", "learning_rate", "peak one-cycle rate"),
    ("training", "weight_decay", "AdamW's weight decay"),
    ("training", "hard_fraction", "share of each batch's hardest beats the loss averages; 1 = no "
     "hard mining"),
    ("training", "amplitude_jitter", "each training beat's leads scaled by factors from "
     "[1 - j, 1 + j]"),
    ("training", "class_weighting", f"the loss's class weights: one of {', '.join(CLASS_WEIGHTINGS)} "
     "(1/log, 1/sqrt or 1/N of the class's beats, or none)"),
    ("training", "sampling_power", "draw each epoch's beats with probability N_c^-p (0: every "
     "beat once; 1: classes equally)"),
    ("training", "epoch_beats", "beats per epoch when sampling (0: as many as there are training "
     "beats)"),
    ("training", "focal_gamma", "focal loss exponent (0: cross-entropy)"),
    ("training", "adversary_weight", "gradient reversal from a head that names the training "
     "record (0: no head)"),
    ("training", "rhythm_expert", "fit a classifier of the RR features alone first; the network "
     "learns on top of it"),
    ("training", "s_by_timing", "leave S against N to the rhythm expert alone (needs "
     "rhythm_expert)"),
    ("training", "expert_weight", "the rhythm expert's logits multiplied by this before they "
     "join the network's"),
    ("training", "rebase_share", "share of training beats whose RR references are re-based by a "
     "factor from [0.6, 1]"),
    ("training", "rebase_template", "re-based training beats of records with S beats: template "
     "rows against their S beats"),
    ("training", "rebase_runs", "re-based S training beats also get an interval after as long as "
     "the one before"),
    ("selection", "scored_classes", "classes whose macro F1 chooses the epoch"),
    ("selection", "tuned_classes", "classes whose logit offset is chosen on the validation beats"),
    ("selection", "offset_min", "lowest logit offset tried"),
    ("selection", "offset_max", "highest logit offset tried"),
    ("selection", "offset_step", "step between the offsets tried"),
    ("selection", "rebased", "choose the epoch and offsets on the held-out DS1 records and their "
     "copy re-based to their S rhythm together (inter-patient and ds1)"),
    ("selection", "rebased_runs", "the re-based copy also gives each S beat an interval after as "
     "long as the one before"),
    ("adaptation", "labelled_minutes", "patient-specific: minutes at the start of each test record "
     "whose reference labels adapt the networks (--labelled-minutes)"),
    ("adaptation", "steps", "patient-specific: Adam steps that fit each network's classifier "
     "again for the patient"),
    ("adaptation", "learning_rate", "patient-specific: the adaptation's Adam rate"),
    ("adaptation", "training_beats", "patient-specific: training beats mixed into every "
     "patient's adaptation"),
    ("adaptation", "training_weight", "patient-specific: the training beats' share of the "
     "adaptation's loss"),
)  # fmt: skip


def protocol_settings(protocol: Protocol, path: str | Path | None = None) -> dict[str, Any]:
    """The protocol's settings of each part (``beats``, ``split``, ``training``, ``selection``,
    ``adaptation``),
    with the values of the settings file at ``path`` (None: none) in place of its defaults."""
    beats, training, selection = protocol_defaults(protocol)
    defaults = {
        "beats": beats,
        "split": SplitSettings(),
        "training": training,
        "selection": selection,
        "adaptation": AdaptationSettings(),
    }
    if path is None:
        return defaults
    data = _read(Path(path))
    unknown = sorted(set(data) - set(PARTS))
    if unknown:
        raise SettingsError(f"{path}: unknown part {unknown[0]!r}: expected one of {list(PARTS)}")
    return {
        part: _part(PARTS[part], default, data.get(part, {}), f"{path}: {part}")
        for part, default in defaults.items()
    }


def _read(path: Path) -> dict[str, Any]:
    return json_object(settings_text(path), str(path), f"a JSON object of parts {list(PARTS)}")


def _part(cls: type, default: Any, data: Any, source: str) -> Any:
    """``default`` with the values in ``data`` (one part of the file) in its place."""
    if not isinstance(data, dict):
        raise SettingsError(f"{source}: expected an object of {cls.__name__} settings")
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    for key in data:
        if key == SEED:
            raise SettingsError(f"{source}: {key}: the seed is --seed's")
        if key not in names:
            raise SettingsError(f"{source}: unknown key {key!r}")
    data = _checked(cls, data, source)
    kept = {name: getattr(default, name) for name in names if name not in data}
    try:
        return from_plain(cls, data, source, given=kept)
    except SettingsError as error:  # a value out of its range, from the class's own check
        raise SettingsError(f"{source}: {error}") from None


def _checked(cls: type, data: dict[str, Any], source: str) -> dict[str, Any]:
    """``data`` after checking each value's type, whole numbers given for numbers made floats (as
    the command line's options gave them, so that ``settings.json`` reads the same)."""
    hints = typing.get_type_hints(cls)
    for key, value in data.items():
        if not _fits(hints[key], value):
            expected = _type_name(hints[key])
            raise SettingsError(f"{source}: {key}: expected {expected}, got {value!r}")
    return {key: _as_float(hints[key], value) for key, value in data.items()}


def _as_float(hint: Any, value: Any) -> Any:
    if hint is float:
        return float(value)
    if typing.get_origin(hint) is tuple and typing.get_args(hint)[0] is float:
        return [float(v) for v in value]
    return value


def _fits(hint: Any, value: Any) -> bool:
    if typing.get_origin(hint) is tuple:
        item = typing.get_args(hint)[0]
        return isinstance(value, list) and all(_fits(item, v) for v in value)
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, hint)


def _type_name(hint: Any) -> str:
    if typing.get_origin(hint) is tuple:
        item = typing.get_args(hint)[0]
        return "a list of " + {int: "whole numbers", float: "numbers", str: "strings"}[item]
    return {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}[hint]


def default_text(part: str, key: str) -> str:
    """A key's default: "12" when every protocol has the same, else "12 intra-patient, 4
    inter-patient and ds1"."""
    values = [_shown(getattr(protocol_settings(p)[part], key)) for p in ("intra", "inter")]
    if values[0] == values[1]:
        return values[0]
    return f"{values[0]} intra-patient, {values[1]} inter-patient and ds1"


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return json.dumps(list(value))
    return json.dumps(value)
