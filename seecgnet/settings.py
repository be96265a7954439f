"""All the settings of a run in one frozen object, saved as JSON beside every trained model.

Each concern owns its settings class (signal preparation, the network, the loss, the decision rule,
the optimisation in ``train_settings.py``); this module joins them. Defaults are the paper's values
where the paper gives one.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seecgnet.baseline import BaselineSettings
from seecgnet.decision import DecisionSettings
from seecgnet.loss import LossSettings
from seecgnet.network import NetworkSettings
from seecgnet.signals import N_DEMOGRAPHICS, SignalSettings
from seecgnet.train_settings import SettingsError, TrainSettings

ARCHITECTURES: dict[str, type] = {"seecgnet": NetworkSettings, "baseline": BaselineSettings}


@dataclass(frozen=True)
class Settings:
    """Everything that defines a trained model and how it decides."""

    architecture: str = "seecgnet"
    signal: SignalSettings = field(default_factory=SignalSettings)
    network: NetworkSettings | BaselineSettings = field(default_factory=NetworkSettings)
    loss: LossSettings = field(default_factory=LossSettings)
    decision: DecisionSettings = field(default_factory=DecisionSettings)
    training: TrainSettings = field(default_factory=TrainSettings)

    def __post_init__(self) -> None:
        expected = ARCHITECTURES.get(self.architecture)
        if expected is None:
            raise SettingsError(
                f"architecture {self.architecture!r}: expected one of {sorted(ARCHITECTURES)}"
            )
        if not isinstance(self.network, expected):
            raise SettingsError(
                f"architecture {self.architecture!r} needs {expected.__name__}, "
                f"got {type(self.network).__name__}"
            )
        if self.network.window_samples != self.signal.window_samples:
            raise SettingsError(
                f"the network takes windows of {self.network.window_samples} samples but the "
                f"signal settings cut {self.signal.window_samples}"
            )
        if self.network.n_demographics != N_DEMOGRAPHICS:
            raise SettingsError(
                f"the network takes {self.network.n_demographics} age and sex features; "
                f"there are {N_DEMOGRAPHICS}"
            )

    def to_json(self) -> str:
        return json.dumps(_to_plain(self), indent=2)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json() + "\n")

    @classmethod
    def from_json(cls, text: str, source: str = "settings") -> Settings:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise SettingsError(f"{source}: not valid JSON ({error})") from error
        if not isinstance(data, dict):
            raise SettingsError(f"{source}: expected a JSON object")
        architecture = data.get("architecture", "seecgnet")
        if architecture not in ARCHITECTURES:
            raise SettingsError(f"{source}: unknown architecture {architecture!r}")
        data = dict(data)
        network_data = data.pop("network", {})
        try:
            network = _from_plain(ARCHITECTURES[architecture], network_data, f"{source}: network")
            return _from_plain(cls, data, source, given={"network": network})
        except (TypeError, ValueError) as error:
            raise SettingsError(f"{source}: {error}") from error

    @classmethod
    def load(cls, path: str | Path) -> Settings:
        path = Path(path)
        try:
            text = path.read_text()
        except OSError as error:
            raise SettingsError(f"cannot read {path}: {error.strerror}") from error
        return cls.from_json(text, source=str(path))


def _to_plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {f.name: _to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [_to_plain(v) for v in value]
    return value


def _from_plain(cls: type, data: Any, source: str, given: dict[str, Any] | None = None) -> Any:
    """Build dataclass ``cls`` from JSON values; ``given`` holds fields already built."""
    if not isinstance(data, dict):
        raise SettingsError(f"{source}: expected an object for {cls.__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = set(data) - names
    if unknown:
        raise SettingsError(f"{source}: unknown {cls.__name__} setting(s) {sorted(unknown)}")
    values = {name: _convert(hints[name], raw, f"{source}: {name}") for name, raw in data.items()}
    return cls(**values, **(given or {}))


def _convert(hint: Any, raw: Any, source: str) -> Any:
    if dataclasses.is_dataclass(hint):
        return _from_plain(hint, raw, source)
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if raw is None:
            return None
        return _convert(options[0], raw, source) if len(options) == 1 else raw
    if origin is tuple:
        if not isinstance(raw, list):
            raise SettingsError(f"{source}: expected a list, got {raw!r}")
        args = typing.get_args(hint)
        item = args[0] if args else Any
        return tuple(_convert(item, v, source) for v in raw)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(raw)
    return raw
