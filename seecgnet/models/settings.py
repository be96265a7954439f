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

    def __post_init__(self) -> None:
        if len(self.block_channels) != len(self.block_stride_samples):
            raise ValueError(
                f"block_channels {self.block_channels} and block_stride_samples "
                f"{self.block_stride_samples} must have the same length"
            )


ModelSettings = NetworkSettings | BaselineSettings

# The architectures by the name settings files and the command line give them.
ARCHITECTURES: dict[str, type] = {"seecgnet": NetworkSettings, "baseline": BaselineSettings}
