"""The networks' settings: input and output shapes, widths, depths and kernel sizes.

They are plain frozen dataclasses, free of torch, so that the command line can show their defaults
and a model folder's ``settings.json`` can be read without loading the networks themselves;
:mod:`seecgnet.models.registry` builds the network a settings object describes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NetworkSettings:
    """Shape of the input and output, and the widths and depths of SE-ECGNet.

    Kernel sizes and strides are in samples along time (at 500 Hz); every one of them is applied to
    all leads alike. The branch kernels (3 and 5) and the SE reduction (16) are the papers' values;
    the widths, depths and strides are ours (about 76 M multiply-adds per 10 s window).
    """

    n_leads: int = 12
    window_samples: int = 5000
    n_demographics: int = 5
    n_classes: int = 24
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


@dataclass(frozen=True)
class BaselineSettings:
    """Widths and depths of the plain 1-D ResNet: our choices, about 34 M multiply-adds per window.

    Kernel sizes and strides are in samples along time (at 500 Hz).
    """

    n_leads: int = 12
    window_samples: int = 5000
    n_demographics: int = 5
    n_classes: int = 24
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
class _StagedSettings:
    """What the 1-D ResNeXt and ResNeSt share: a strided stem, then stages of bottleneck blocks
    whose middle convolution is ``cardinality`` groups wide ``bottleneck_width`` × 2^s channels in
    stage s. A stage is ``stage_blocks`` blocks with ``stage_channels`` outputs; its first block
    carries the stride. Kernel sizes and strides are in samples along time (at 500 Hz).
    """

    n_leads: int = 12
    window_samples: int = 5000
    n_demographics: int = 5
    n_classes: int = 24
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


ModelSettings = NetworkSettings | BaselineSettings | ResNeXtSettings | ResNeStSettings


def side_input_size(settings: ModelSettings) -> int:
    """Width of a network's side input: the age and sex features (n_demographics), then one value
    per lead (1 present, 0 absent) for a network that takes the lead presence."""
    return settings.n_demographics + (settings.n_leads if settings.lead_presence else 0)


# The architectures by the name settings files and the command line give them.
ARCHITECTURES: dict[str, type] = {
    "seecgnet": NetworkSettings,
    "baseline": BaselineSettings,
    "resnext": ResNeXtSettings,
    "resnest": ResNeStSettings,
}

# The architectures by the name tables and figures give them.
ARCHITECTURE_NAMES: dict[str, str] = {
    "seecgnet": "SE-ECGNet",
    "baseline": "plain 1-D ResNet",
    "resnext": "ResNeXt",
    "resnest": "ResNeSt",
}
