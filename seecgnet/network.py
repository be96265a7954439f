"""SE-ECGNet (Chen et al., CinC 2020; Zhang, Zhao and Liu, 2020), read like the paper's figure.

    x (B, 1, 12, 5000) ── stem: (1, 50), (1, 15), (1, 15) convolutions, shared by all leads
                      ├── MultiScaleBranch, kernel 3 ─┐
                      └── MultiScaleBranch, kernel 5 ─┼── concat ── FC ── ReLU ── dropout ── FC
    demographics (B, 5) ──────────────────────────────┘                    -> logits (B, 24)

Each branch is a stack of pre-activation residual blocks, each followed by a squeeze-and-excitation
gate. Following Zhang et al., it first works in 2-D on the 12 × T image whose rows are the leads,
with (1, k) kernels shared by all leads, then folds the leads into channels and goes on in 1-D with
the same kernel size. It ends in global max and average pooling over time.

The paper gives no widths or depths; ours are in ``NetworkSettings``, sized so that training on a
few hundred records takes minutes on a 2-core CPU (``benchmarks/network_cost.py`` measures them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from seecgnet.baseline import BaselineSettings, PlainResNet1d
from seecgnet.layers import (
    ConvBnRelu,
    Dims,
    PreActivationBlock,
    SqueezeExcite,
    batch_norm,
    check_network_input,
)


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


class Stem(nn.Sequential):
    """(1, k) convolutions, each with batch norm and ReLU, on the leads × time image; both branches
    start from its output."""

    def __init__(self, settings: NetworkSettings) -> None:
        layers = []
        in_channels = 1
        for channels, kernel, stride in zip(
            settings.stem_channels,
            settings.stem_kernel_samples,
            settings.stem_stride_samples,
            strict=True,
        ):
            layers.append(ConvBnRelu(2, in_channels, channels, kernel, stride))
            in_channels = channels
        super().__init__(*layers)


def se_residual_stack(
    dims: Dims,
    in_channels: int,
    widths: tuple[int, ...],
    strides: tuple[int, ...],
    kernel_samples: int,
    se_reduction: int,
) -> nn.Sequential:
    """Pre-activation residual blocks, each followed by a squeeze-and-excitation gate."""
    layers: list[nn.Module] = []
    for channels, stride in zip(widths, strides, strict=True):
        layers.append(PreActivationBlock(dims, in_channels, channels, kernel_samples, stride))
        layers.append(SqueezeExcite(channels, se_reduction))
        in_channels = channels
    return nn.Sequential(*layers)


class MultiScaleBranch(nn.Module):
    """One scale of SE-ECGNet: SE residual blocks with kernel k in 2-D across the leads, the leads
    folded into channels, SE residual blocks with kernel k in 1-D, then global max and average
    pooling over time.

    ``forward`` maps (B, C_stem, leads, T) to features of shape (B, out_features).
    """

    def __init__(self, settings: NetworkSettings, in_channels: int, kernel_samples: int) -> None:
        super().__init__()
        self.across_leads = se_residual_stack(
            2,
            in_channels,
            settings.block2d_channels,
            settings.block2d_stride_samples,
            kernel_samples,
            settings.se_reduction,
        )
        folded_channels = (settings.block2d_channels or (in_channels,))[-1] * settings.n_leads
        self.along_time = se_residual_stack(
            1,
            folded_channels,
            settings.block1d_channels,
            settings.block1d_stride_samples,
            kernel_samples,
            settings.se_reduction,
        )
        last_channels = (settings.block1d_channels or (folded_channels,))[-1]
        # Pre-activation blocks hand over an un-normalised sum; normalise it once before pooling.
        self.final_norm = batch_norm(1, last_channels)
        self.out_features = 2 * last_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.across_leads(x)  # (B, C_stem, leads, T) -> (B, C2, leads, T2)
        x = x.flatten(1, 2)  # fold leads into channels: (B, C2, leads, T2) -> (B, C2 · leads, T2)
        x = torch.relu(self.final_norm(self.along_time(x)))  # -> (B, C1, T1)
        return torch.cat([x.amax(dim=2), x.mean(dim=2)], dim=1)  # (B, C1, T1) -> (B, 2 · C1)


class SEECGNet(nn.Module):
    """The whole network: stem, one ``MultiScaleBranch`` per kernel size, demographics, FC layers.

    ``forward(x, demographics)``: x of shape (B, 1, leads, T) in mV, demographics of shape
    (B, n_demographics); returns logits of shape (B, n_classes).
    """

    def __init__(self, settings: NetworkSettings) -> None:
        super().__init__()
        self.settings = settings
        self.stem = Stem(settings)
        self.branches = nn.ModuleList(
            MultiScaleBranch(settings, settings.stem_channels[-1], kernel)
            for kernel in settings.branch_kernel_samples
        )
        in_features = sum(b.out_features for b in self.branches) + settings.n_demographics
        self.classifier = nn.Sequential(
            nn.Linear(in_features, settings.fc_hidden_units),
            nn.ReLU(inplace=True),
            nn.Dropout(settings.dropout),
            nn.Linear(settings.fc_hidden_units, settings.n_classes),
        )

    def forward(self, x: torch.Tensor, demographics: torch.Tensor) -> torch.Tensor:
        check_network_input(x, demographics, self.settings.n_leads, self.settings.n_demographics)
        features = self.stem(x)  # (B, 1, leads, T) -> (B, C_stem, leads, T0)
        pooled = [branch(features) for branch in self.branches]  # each (B, out_features)
        return self.classifier(torch.cat([*pooled, demographics], dim=1))  # -> (B, n_classes)


ModelSettings = NetworkSettings | BaselineSettings


def build_network(settings: ModelSettings) -> SEECGNet | PlainResNet1d:
    """The network those settings describe: SE-ECGNet or the plain 1-D ResNet baseline."""
    if isinstance(settings, NetworkSettings):
        return SEECGNet(settings)
    if isinstance(settings, BaselineSettings):
        return PlainResNet1d(settings)
    raise TypeError(f"no network is built from settings of type {type(settings).__name__}")


def count_parameters(model: nn.Module) -> int:
    """Number of trainable weights."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_multiply_adds(model: nn.Module, settings: ModelSettings) -> int:
    """Multiply-adds of the convolutions and fully connected layers for one window.

    Runs one window of zeros of the settings' shape through the model in eval mode and, for each
    Conv/Linear layer, counts (output elements) × (inputs each output sums: in_channels / groups ×
    kernel size, or in_features). Biases, batch norm, activations, SE scaling and pooling are
    left out: they add well under 1 % on these networks.
    """
    total = 0

    def count(module: nn.Module, _inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Linear):
            total += output.numel() * module.in_features
        else:
            per_output = module.in_channels // module.groups * math.prod(module.kernel_size)
            total += output.numel() * per_output

    hooks = [
        m.register_forward_hook(count)
        for m in model.modules()
        if isinstance(m, nn.Conv1d | nn.Conv2d | nn.Linear)
    ]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(
                torch.zeros(1, 1, settings.n_leads, settings.window_samples),
                torch.zeros(1, settings.n_demographics),
            )
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    return total
