"""All the settings of a trained model joined in one object, and the loss and optimisation settings.

Each concern owns its settings class: signal preparation (``SignalSettings`` in
:mod:`seecgnet.data.signals`), the networks (:mod:`seecgnet.models.settings`), the decision rule
(``DecisionSettings`` in :mod:`seecgnet.trained.decision`), and here the loss and the
optimisation, which :mod:`seecgnet.training` reads. :class:`Settings` joins them; it is saved as
``settings.json`` beside every trained model (:mod:`seecgnet.trained.folder`), and loading a model
rebuilds it from that file alone. Defaults are the paper's values where the paper gives one.
Nothing here loads torch, so that the command line shows these defaults and reads a settings file
at once.
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

from seecgnet.data.signals import N_DEMOGRAPHICS, SignalSettings
from seecgnet.errors import SeecgnetError
from seecgnet.models.settings import ARCHITECTURES, ModelSettings, NetworkSettings
from seecgnet.trained.decision import DecisionSettings, decision_for


class SettingsError(SeecgnetError, ValueError):
    """A settings file or value is wrong."""


# What a file of pre-trained lead-shared layers (TrainSettings.pretrained) holds under "format":
# written by seecgnet.training.pretrained, and how pre-training tells its own earlier file.
PRETRAINED_FORMAT = "seecgnet-lead-shared-1"


@dataclass(frozen=True)
class LossSettings:
    """Hard-mining fraction (the paper's 0.7) and the guard for rarely seen classes.

    ``min_count``: positive counts below it are raised to it before the weight is taken. log(1) = 0
    and log(0) is undefined, and log(2) would give a class with two examples a weight 1.6 times that
    of a class with three; so every class seen fewer than 3 times is weighted as if seen 3 times.
    ``normalise_to_mean_one``: divide the weights by their mean. 1 / log(N_c) shrinks as the data
    set grows (about 0.3 for N_c = 30, 0.13 for N_c = 2000), which would tie the loss's scale, and
    so the learning rate, to the data set's size; mean-one weights keep only the ratios between
    classes, which is all the weighting is for, and equal counts give plain BCE.
    """

    hard_fraction: float = 0.7
    min_count: int = 3
    normalise_to_mean_one: bool = True
    # Label smoothing: targets of 1 become 1 - s/2 and targets of 0 become s/2 (0: none, the
    # paper's loss and what settings saved before it existed mean).
    label_smoothing: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.label_smoothing < 1.0:
            raise SettingsError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")
        if not 0.0 < self.hard_fraction <= 1.0:
            raise SettingsError(f"hard_fraction must be in (0, 1], got {self.hard_fraction}")
        if self.min_count < 2:
            raise SettingsError(f"min_count must be at least 2 (log(1) = 0), got {self.min_count}")


@dataclass(frozen=True)
class OptimiserSettings:
    """What every training loop of the package shares: AdamW with a one-cycle schedule (a warm-up
    over the first 30 % of steps, then cosine decay), which trains a small network reliably in few
    epochs without a step schedule per data set. The paper names Adam and a decaying rate without
    numbers; these are ours. Each loop's settings extend these with their own."""

    epochs: int = 30
    batch_size: int = 32
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1:
            raise SettingsError(
                f"epochs and batch_size must be at least 1, got {self.epochs} and {self.batch_size}"
            )
        if not self.learning_rate > 0:
            raise SettingsError(f"learning_rate must be above 0, got {self.learning_rate}")


# The arithmetic a training step on the CPU may run in (TrainSettings.precision).
CPU_PRECISIONS = ("float32", "bf16")


@dataclass(frozen=True)
class TrainSettings(OptimiserSettings):
    """Training the challenge's network: the optimiser's settings, and how the best epoch is kept."""

    # Part of the training records held out to keep the best epoch by the challenge metric.
    validation_fraction: float = 0.2
    seed: int = 0
    device: str = "auto"  # "auto" takes CUDA when present
    workers: int = 0  # DataLoader worker processes
    # Mixed precision on CUDA (bf16 where supported); ignored on the CPU.
    mixed_precision: bool = True
    # The arithmetic of training steps on the CPU: "float32", or "bf16", the forward pass under
    # bfloat16 autocast (weights, gradients and the optimiser stay float32). Ignored on CUDA,
    # where mixed_precision decides.
    precision: str = "float32"
    # On the CPU, lay the lead-shared (2-D) layers' feature maps out channels-last while a step
    # trains them (validation and prediction keep torch's default order): faster convolutions and
    # no layout copies (benchmarks/training_roofline.py), but torch's channels-last batch norm sums
    # its statistics in float32 where the default order sums in double, so one step's gradients
    # differ from float64's by up to 1e-2 of the largest instead of 1e-6
    # (tests/training/test_steps.py). Off until cross-validation shows the metric holds.
    channels_last: bool = False
    # Weight averaging: validate, keep and save an exponential moving average of the weights (and
    # batch norm statistics) whose time constant is this many epochs' steps; 0 keeps the weights
    # themselves (what settings saved before it existed mean).
    average_epochs: float = 0.0
    # A file of pre-trained lead-shared layers (:mod:`seecgnet.training.pretrained`) that SE-ECGNet
    # starts from, read when training starts; "" starts from random weights (what settings saved
    # before it existed mean). A trained model does not need the file.
    pretrained: str = ""
    # Subset distillation: every training window is seen twice, with all its leads (trained on the
    # labels) and cut to a drawn lead subset, trained toward the network's own probabilities for
    # the whole window, with this weight; 0 (what settings saved before it existed mean) is off.
    # It needs the lead-presence input.
    subset_distillation: float = 0.0
    # The epoch kept is the one whose validation challenge metric, averaged over the 2021
    # challenge's five lead sets (each validation record read with only that set's leads, as the
    # driver reads a reduced-lead record), is highest, instead of the one best with all 12 leads:
    # for a network meant to read any lead subset. Validation then costs five passes instead of
    # one. False (what settings saved before it existed mean) chooses on 12 leads.
    select_on_lead_sets: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.subset_distillation < 0:
            raise SettingsError(
                f"subset_distillation must be 0 or more, got {self.subset_distillation}"
            )
        if self.average_epochs < 0:
            raise SettingsError(f"average_epochs must be 0 or more, got {self.average_epochs}")
        if not 0.0 <= self.validation_fraction < 1.0:
            raise SettingsError(
                f"validation_fraction must be in [0, 1), got {self.validation_fraction}"
            )
        if self.precision not in CPU_PRECISIONS:
            raise SettingsError(
                f"precision must be one of {', '.join(CPU_PRECISIONS)}, got {self.precision!r}"
            )
        if self.workers < 0:
            raise SettingsError(
                f"workers (data loader processes) must be 0 or more, got {self.workers}"
            )


# The share of training windows cut down to a lead subset by --any-leads (the rest keep all leads),
# and the share of those subsets that are random ones rather than the 2021 challenge's sets: none,
# since with the limb leads computed the 2021 sets alone scored higher on every lead set
# (docs/lead_sets.md: "Limb leads from two").
ANY_LEADS_SUBSET_PROBABILITY = 0.5
ANY_LEADS_RANDOM_SHARE = 0.0


def any_leads(settings: Settings) -> Settings:
    """``settings`` for one network of any lead subset: the network told which leads are present
    (``lead_presence`` in :mod:`seecgnet.models.settings`), half of the training windows cut
    down to one of the 2021 challenge's lead sets (:class:`seecgnet.data.signals.LeadDrawSettings`),
    and missing limb leads computed from the others (:func:`with_limb_leads`)."""
    lead_draw = dataclasses.replace(
        settings.signal.lead_draw,
        subset_probability=ANY_LEADS_SUBSET_PROBABILITY,
        random_share=ANY_LEADS_RANDOM_SHARE,
    )
    settings = with_limb_leads(settings)
    return dataclasses.replace(
        settings,
        signal=dataclasses.replace(settings.signal, lead_draw=lead_draw),
        network=dataclasses.replace(settings.network, lead_presence=True),
    )


def with_limb_leads(settings: Settings) -> Settings:
    """``settings`` under which a record or training window holding two or more of the six limb
    leads has the others computed from them (:mod:`seecgnet.data.limb_leads`)."""
    signal = dataclasses.replace(settings.signal, complete_limb_leads=True)
    return dataclasses.replace(settings, signal=signal)


@dataclass(frozen=True)
class Settings:
    """Everything that defines a trained model and how it decides.

    Every addition to the paper's method (the lead presence and lead subsets, :func:`any_leads`;
    other recorders' effects, label smoothing, weight averaging) is off by default. A settings file
    is read field by field, a field it lacks taking its class's default, so a ``settings.json``
    saved before an addition existed means the model it was saved with.
    """

    architecture: str = "seecgnet"
    signal: SignalSettings = field(default_factory=SignalSettings)
    network: ModelSettings = field(default_factory=NetworkSettings)
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
        if self.training.subset_distillation > 0 and not self.network.lead_presence:
            raise SettingsError(
                "subset distillation needs the lead-presence input (network.lead_presence)"
            )
        if not decision_for(self.decision).is_tuned and self.training.validation_fraction <= 0:
            raise SettingsError(
                f"the {self.decision.rule.value} rule is tuned on validation records: the "
                "validation fraction must be above 0"
            )

    def to_json(self) -> str:
        return json.dumps(to_plain(self), indent=2)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json() + "\n")

    @classmethod
    def from_json(cls, text: str, source: str = "settings") -> Settings:
        data = json_object(text, source)
        architecture = data.get("architecture", "seecgnet")
        if architecture not in ARCHITECTURES:
            raise SettingsError(f"{source}: unknown architecture {architecture!r}")
        data = dict(data)
        network_data = data.pop("network", {})
        try:
            network = from_plain(ARCHITECTURES[architecture], network_data, f"{source}: network")
            return from_plain(cls, data, source, given={"network": network})
        except (TypeError, ValueError) as error:
            raise SettingsError(f"{source}: {error}") from error

    @classmethod
    def load(cls, path: str | Path) -> Settings:
        return cls.from_json(settings_text(path), source=str(path))


def settings_text(path: str | Path) -> str:
    """A settings file's text; SettingsError naming the file when it cannot be read."""
    try:
        return Path(path).read_text()
    except OSError as error:
        raise SettingsError(f"cannot read {path}: {error.strerror}") from error


def json_object(text: str, source: str, expected: str = "a JSON object") -> dict[str, Any]:
    """The JSON object a settings text holds; SettingsError naming ``source`` otherwise."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise SettingsError(f"{source}: not valid JSON ({error})") from error
    if not isinstance(data, dict):
        raise SettingsError(f"{source}: expected {expected}")
    return data


def to_plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [to_plain(v) for v in value]
    return value


def from_plain(cls: type, data: Any, source: str, given: dict[str, Any] | None = None) -> Any:
    """Build dataclass ``cls`` from JSON values; ``given`` holds fields already built."""
    if not isinstance(data, dict):
        raise SettingsError(f"{source}: expected an object for {cls.__name__}")
    retired = getattr(cls, "RETIRED", {})  # removed settings: the one value an old file may hold
    for name in set(data) & set(retired):
        if data[name] != retired[name]:
            raise SettingsError(
                f"{source}: {name} {data[name]!r}: removed; only {retired[name]!r} was ever read"
            )
    data = {name: value for name, value in data.items() if name not in retired}
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = set(data) - names
    if unknown:
        raise SettingsError(f"{source}: unknown {cls.__name__} setting(s) {sorted(unknown)}")
    values = {name: _convert(hints[name], raw, f"{source}: {name}") for name, raw in data.items()}
    return cls(**values, **(given or {}))


def _convert(hint: Any, raw: Any, source: str) -> Any:
    if dataclasses.is_dataclass(hint):
        return from_plain(hint, raw, source)
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
