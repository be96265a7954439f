"""The networks' settings: input and output shapes, widths, depths and kernel sizes, and the
architectures the package can train.

They are plain frozen dataclasses, free of torch, so that the command line can show their defaults
and a model folder's ``settings.json`` can be read without loading the networks themselves;
:mod:`seecgnet.models.registry` builds the network a settings object describes.

An architecture is registered once, by :func:`register_architecture` on its settings class: its
name (in settings files and on the command line), its title (in tables and figures) and the torch
module its settings build. Settings files, the builder, the command line's choices and
cross-validation all read :data:`ARCHITECTURES` and :data:`ARCHITECTURE_NAMES`, which that
registration fills; adding an architecture is its settings class, its network module and their
tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from seecgnet.data.signals import N_DEMOGRAPHICS, SignalSettings
from seecgnet.io.records import STANDARD_LEADS

# The architectures by the name settings files and the command line give them, in the order they
# are registered: name -> settings class.
ARCHITECTURES: dict[str, type[NetworkShape]] = {}
# The architectures by the name tables and figures give them.
ARCHITECTURE_NAMES: dict[str, str] = {}
# The torch module each settings class builds, as "package.module.Class" (imported only when a
# network is built, so that reading settings loads no torch).
NETWORK_CLASSES: dict[type[NetworkShape], str] = {}

SettingsClass = TypeVar("SettingsClass", bound="type[NetworkShape]")


def register_architecture(
    name: str, title: str, network: str
) -> Callable[[SettingsClass], SettingsClass]:
    """Register the settings class it decorates as architecture ``name``, called ``title`` in
    tables, whose network is the torch module ``network`` ("package.module.Class", built from
    the settings alone)."""

    def register(settings: SettingsClass) -> SettingsClass:
        if name in ARCHITECTURES:
            raise ValueError(f"architecture {name!r} is registered twice")
        ARCHITECTURES[name] = settings
        ARCHITECTURE_NAMES[name] = title
        NETWORK_CLASSES[settings] = network
        return settings

    return register


@dataclass(frozen=True)
class NetworkShape:
    """What every network takes and gives: ``n_leads`` leads of ``window_samples`` samples (a
    window of the signal settings' length at their rate), ``n_demographics`` age and sex features,
    and ``n_classes`` probabilities (the challenge's scored classes). Every architecture's settings
    start with these fields, in this order, as every settings file holds them."""

    n_leads: int = len(STANDARD_LEADS)
    window_samples: int = SignalSettings().window_samples
    n_demographics: int = N_DEMOGRAPHICS
    n_classes: int = 24


@register_architecture("seecgnet", "SE-ECGNet", network="seecgnet.models.seecgnet.SEECGNet")
@dataclass(frozen=True)
class NetworkSettings(NetworkShape):
    """The widths and depths of SE-ECGNet.

    Kernel sizes and strides are in samples along time (at 500 Hz); every one of them is applied to
    all leads alike. The branch kernels (3 and 5) and the SE reduction (16) are the papers' values;
    the widths, depths and strides are ours (about 76 M multiply-adds per 10 s window).
    """

    stem_channels: tuple[int, ...] = (8, 8, 16)
    stem_kernel_samples: tuple[int, ...] = (50, 15, 15)
    stem_stride_samples: tuple[int, ...] = (5, 2, 1)
    branch_kernel_samples: tuple[int, ...] = (3, 5)
    block2d_channels: tuple[int, ...] = (16, 16)
    block2d_stride_samples: tuple[int, ...] = (2, 2)
    block1d_channels: tuple[int, ...] = (128, 128)
    block1d_stride_samples: tuple[int, ...] = (2, 2)
    # The papers' r = 16. At the 16-channel 2-D blocks that leaves a single hidden unit, so there the
    # gate is one learned direction of the channel means; the 128-channel 1-D blocks get 8.
    se_reduction: int = 16
    fc_hidden_units: int = 64
    dropout: float = 0.3
    # The lead-presence input (off in settings saved before it existed): the network is told which
    # of the n_leads leads the record holds, as n_leads values of 0 or 1 after the age and sex
    # features (see side_input_size), and the absent leads' rows are kept at zero after every
    # lead-shared layer and left out of the 2-D squeeze-and-excitation's channel means.
    lead_presence: bool = False

    def __post_init__(self) -> None:
        for widths, strides in (
            ("stem_channels", "stem_stride_samples"),
            ("stem_channels", "stem_kernel_samples"),
            ("block2d_channels", "block2d_stride_samples"),
            ("block1d_channels", "block1d_stride_samples"),
        ):
            if len(getattr(self, widths)) != len(getattr(self, strides)):
                raise ValueError(
                    f"{widths} {getattr(self, widths)} and {strides} {getattr(self, strides)} "
                    "must have the same length"
                )
        if not self.stem_channels or not self.branch_kernel_samples:
            raise ValueError("SE-ECGNet needs at least one stem layer and one branch")

    @classmethod
    def small(cls, **overrides: object) -> NetworkSettings:
        """A tiny network for tests, about 12 k weights and 4 M multiply-adds: the same parts,
        narrower and shallower. Keyword arguments override any field."""
        tiny = {
            "stem_channels": (4, 4),
            "stem_kernel_samples": (15, 5),
            "stem_stride_samples": (4, 2),
            "block2d_channels": (4,),
            "block2d_stride_samples": (2,),
            "block1d_channels": (16,),
            "block1d_stride_samples": (2,),
            "fc_hidden_units": 16,
        }
        return cls(**{**tiny, **overrides})


@register_architecture(
    "baseline", "plain 1-D ResNet", network="seecgnet.models.baseline.PlainResNet1d"
)
@dataclass(frozen=True)
class BaselineSettings(NetworkShape):
    """Widths and depths of the plain 1-D ResNet: our choices, about 34 M multiply-adds per window.

    Kernel sizes and strides are in samples along time (at 500 Hz).
    """

    stem_channels: int = 32
    stem_kernel_samples: int = 15
    stem_stride_samples: int = 4
    block_channels: tuple[int, ...] = (32, 32, 64, 64)
    block_stride_samples: tuple[int, ...] = (2, 2, 2, 2)
    block_kernel_samples: int = 7
    dropout: float = 0.3
    # The lead-presence input (off in settings saved before it existed): the network is told which
    # of the n_leads leads the record holds, as n_leads values of 0 or 1 after the age and sex
    # features (see side_input_size).
    lead_presence: bool = False

    def __post_init__(self) -> None:
        if len(self.block_channels) != len(self.block_stride_samples):
            raise ValueError(
                f"block_channels {self.block_channels} and block_stride_samples "
                f"{self.block_stride_samples} must have the same length"
            )


@dataclass(frozen=True)
class _StagedSettings(NetworkShape):
    """What the 1-D ResNeXt and ResNeSt share: a strided stem, then stages of bottleneck blocks
    whose middle convolution is ``cardinality`` groups wide ``bottleneck_width`` × 2^s channels in
    stage s. A stage is ``stage_blocks`` blocks with ``stage_channels`` outputs; its first block
    carries the stride. Kernel sizes and strides are in samples along time (at 500 Hz).
    """

    stem_channels: int = 32
    stem_kernel_samples: int = 15
    stem_stride_samples: int = 5
    stage_channels: tuple[int, ...] = (64, 128, 256, 512)
    stage_blocks: tuple[int, ...] = (1, 1, 1, 2)
    stage_stride_samples: tuple[int, ...] = (2, 2, 2, 2)
    cardinality: int = 16
    bottleneck_width: int = 2
    kernel_samples: int = 7
    dropout: float = 0.3
    # The lead-presence input (off in settings saved before it existed): the network is told which
    # of the n_leads leads the record holds, as n_leads values of 0 or 1 after the age and sex
    # features (see side_input_size).
    lead_presence: bool = False

    def __post_init__(self) -> None:
        """Stage lists of one length, at least one block each, and widths the groups divide."""
        lengths = {len(self.stage_channels), len(self.stage_blocks), len(self.stage_stride_samples)}
        if len(lengths) != 1 or not self.stage_channels:
            raise ValueError(
                f"stage_channels {self.stage_channels}, stage_blocks {self.stage_blocks} and "
                f"stage_stride_samples {self.stage_stride_samples} must be non-empty and of the "
                "same length"
            )
        if min(self.stage_blocks) < 1 or self.kernel_samples % 2 == 0:
            raise ValueError(
                f"every stage needs a block and an odd kernel; got stage_blocks "
                f"{self.stage_blocks}, kernel_samples {self.kernel_samples}"
            )
        if self.cardinality < 1 or self.bottleneck_width < 1:
            raise ValueError(
                f"cardinality {self.cardinality} and bottleneck_width "
                f"{self.bottleneck_width} must be at least 1"
            )


@register_architecture("resnext", "ResNeXt", network="seecgnet.models.resnext.ResNeXt1d")
@dataclass(frozen=True)
class ResNeXtSettings(_StagedSettings):
    """Widths and depths of the 1-D ResNeXt (Xie et al., 2017) that the SE-ECGNet paper compares
    against: our choices, sized like SE-ECGNet (0.79 M weights, 74 M multiply-adds per window).

    Inside a block of stage s the grouped convolution has ``cardinality`` × ``bottleneck_width`` ×
    2^s channels in ``cardinality`` groups (the paper's "C × d" template, 32 × 4d for ResNeXt-50,
    doubling the width per stage); ours is 16 × 2d.
    """

    @classmethod
    def small(cls, **overrides: object) -> ResNeXtSettings:
        """A tiny ResNeXt for tests, about 4 k weights and 2 M multiply-adds: two stages of one
        block, 4 groups. Keyword arguments override any field."""
        tiny = {
            "stem_channels": 8,
            "stage_channels": (16, 16),
            "stage_blocks": (1, 1),
            "stage_stride_samples": (4, 2),
            "cardinality": 4,
            "bottleneck_width": 2,
        }
        return cls(**{**tiny, **overrides})


@register_architecture("resnest", "ResNeSt", network="seecgnet.models.resnest.ResNeSt1d")
@dataclass(frozen=True)
class ResNeStSettings(_StagedSettings):
    """Widths and depths of the 1-D ResNeSt (Zhang et al., 2020) that the SE-ECGNet paper compares
    against: our choices, sized like SE-ECGNet (0.79 M weights, 79 M multiply-adds per window).

    The same stages as :class:`ResNeXtSettings`; each block's middle convolution is a
    split-attention convolution of ``radix`` splits in ``cardinality`` groups, and its width in
    stage s is ``cardinality`` × ``bottleneck_width`` × 2^s. ResNeSt-50 is 2s1x64d (radix 2,
    cardinality 1, width 64); ours is 2s1x16d. The attention's hidden layer has
    max(width × radix / ``attention_reduction``, ``attention_min_units``) units (the paper's 4
    and 32).
    """

    cardinality: int = 1
    bottleneck_width: int = 16
    radix: int = 2
    attention_reduction: int = 4
    attention_min_units: int = 32

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.radix < 1 or self.attention_reduction < 1 or self.attention_min_units < 1:
            raise ValueError(
                f"radix {self.radix}, attention_reduction {self.attention_reduction} and "
                f"attention_min_units {self.attention_min_units} must be at least 1"
            )

    @classmethod
    def small(cls, **overrides: object) -> ResNeStSettings:
        """A tiny ResNeSt for tests, about 4 k weights and 2 M multiply-adds: two stages of one
        block, radix 2. Keyword arguments override any field."""
        tiny = {
            "stem_channels": 8,
            "stage_channels": (16, 16),
            "stage_blocks": (1, 1),
            "stage_stride_samples": (4, 2),
            "bottleneck_width": 4,
            "attention_min_units": 4,
        }
        return cls(**{**tiny, **overrides})


# The settings of any registered architecture.
ModelSettings = NetworkShape


def side_input_size(settings: ModelSettings) -> int:
    """Width of a network's side input: the age and sex features (n_demographics), then one value
    per lead (1 present, 0 absent) for a network that takes the lead presence (every registered
    architecture can; its ``lead_presence`` field says whether this one does)."""
    presence = getattr(settings, "lead_presence", False)
    return settings.n_demographics + (settings.n_leads if presence else 0)
