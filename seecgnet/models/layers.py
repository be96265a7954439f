"""Building blocks of SE-ECGNet: convolutions along time, the squeeze-and-excitation gate and the
pre-activation residual block.

Every block works on 1-D feature maps of shape (B, C, T) or on 2-D maps of shape
(B, C, leads, T), whose rows are the ECG leads. In 2-D every kernel and stride is (1, k): it slides
along time only and is shared by all leads, so no convolution mixes one lead with another.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

Dims = Literal[1, 2]


def time_conv(
    dims: Dims,
    in_channels: int,
    out_channels: int,
    kernel_samples: int,
    stride_samples: int = 1,
    groups: int = 1,
) -> nn.Conv1d | nn.Conv2d:
    """A bias-free convolution along time: ``Conv1d`` on (B, C, T), or ``Conv2d`` with a (1, k)
    kernel on (B, C, leads, T). With ``groups`` g > 1 the channels are split into g groups that are
    convolved apart (each output sees in_channels / g inputs), as in ResNeXt's grouped convolution.

    The padding of (k - 1) // 2 samples on each side gives ceil(T / s) output samples for odd k
    (T at stride 1), but ceil((T - 1) / s) for even k such as the stem's 50: one sample short at
    stride 1, and one short of ceil(T / s) whenever T is one more than a multiple of s. The bias is
    left out because batch norm always follows or precedes it and has its own shift.
    """
    padding = (kernel_samples - 1) // 2
    if dims == 1:
        return nn.Conv1d(
            in_channels,
            out_channels,
            kernel_samples,
            stride_samples,
            padding,
            groups=groups,
            bias=False,
        )
    if dims == 2:
        return nn.Conv2d(
            in_channels,
            out_channels,
            (1, kernel_samples),
            (1, stride_samples),
            (0, padding),
            groups=groups,
            bias=False,
        )
    raise ValueError(f"dims must be 1 or 2, got {dims!r}")


def batch_norm(dims: Dims, channels: int) -> nn.BatchNorm1d | nn.BatchNorm2d:
    """Batch norm over (B, C, T) or (B, C, leads, T); one scale and shift per channel."""
    if dims == 1:
        return nn.BatchNorm1d(channels)
    if dims == 2:
        return nn.BatchNorm2d(channels)
    raise ValueError(f"dims must be 1 or 2, got {dims!r}")


def check_network_input(
    x: torch.Tensor, demographics: torch.Tensor, n_leads: int, n_side: int
) -> None:
    """Fail early, naming the shape that was wrong, unless x is (B, 1, leads, T) and demographics is
    (B, n_side): the age and sex features, then the lead presence where the network takes it."""
    if x.dim() != 4 or x.shape[1] != 1 or x.shape[2] != n_leads:
        raise ValueError(f"expected x of shape (B, 1, {n_leads}, T), got {tuple(x.shape)}")
    if demographics.shape != (x.shape[0], n_side):
        raise ValueError(
            f"expected demographics of shape ({x.shape[0]}, {n_side}), "
            f"got {tuple(demographics.shape)}"
        )


def lead_mask(demographics: torch.Tensor, n_demographics: int) -> torch.Tensor:
    """The lead presence that follows the age and sex features in the side input, as a mask of
    shape (B, 1, leads, 1) that multiplies (B, C, leads, T) maps: 1 for a present lead, 0 for an
    absent one."""
    return demographics[:, n_demographics:, None].unsqueeze(1)  # (B, leads) -> (B, 1, leads, 1)


class ConvBnRelu(nn.Sequential):
    """Convolution along time (grouped when ``groups`` > 1), then batch norm, then ReLU: the layers
    of the stem, and the inner layers of post-activation bottleneck blocks."""

    def __init__(
        self,
        dims: Dims,
        in_channels: int,
        out_channels: int,
        kernel_samples: int,
        stride_samples: int = 1,
        groups: int = 1,
    ) -> None:
        super().__init__(
            time_conv(dims, in_channels, out_channels, kernel_samples, stride_samples, groups),
            batch_norm(dims, out_channels),
            nn.ReLU(inplace=True),
        )


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation (Hu et al., 2018): one gate in (0, 1) per channel scales that channel.

    Squeeze: the mean of each channel over all its positions (time, and leads in 2-D). Given a
    lead mask (B, 1, leads, 1), the mean in 2-D is over the present leads alone, whose rows must be
    the only non-zero ones: an absent lead is not averaged in as a flat one.
    Excite: FC (C -> C/r) -> ReLU -> FC (C/r -> C) -> sigmoid.
    The gate depends only on the channel means, so in 2-D one gate scales a channel on every lead
    alike.
    """

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        # A layer narrower than r would get zero hidden units; keep one so the gate can still learn.
        hidden = max(1, channels // reduction)
        self.reduce = nn.Linear(channels, hidden)
        self.expand = nn.Linear(hidden, channels)

    def gate(self, x: torch.Tensor, lead_mask: torch.Tensor | None = None) -> torch.Tensor:
        """The per-channel gate, shape (B, C), for x of shape (B, C, ...)."""
        if lead_mask is None:
            means = x.flatten(2).mean(dim=2)  # (B, C, ...) -> (B, C, positions) -> (B, C)
        else:  # x (B, C, leads, T) is zero on the absent leads' rows
            positions = lead_mask.sum(dim=(2, 3)).clamp(min=1.0) * x.shape[3]  # (B, 1)
            means = x.sum(dim=(2, 3)) / positions  # (B, C, leads, T) -> (B, C)
        return torch.sigmoid(self.expand(torch.relu(self.reduce(means))))

    def forward(self, x: torch.Tensor, lead_mask: torch.Tensor | None = None) -> torch.Tensor:
        gate = self.gate(x, lead_mask)
        return x * gate.view(*gate.shape, *([1] * (x.dim() - 2)))  # (B, C) -> (B, C, 1[, 1])


class PreActivationBlock(nn.Module):
    """Pre-activation residual block (He et al., 2016): (BN -> ReLU -> conv) twice, plus a shortcut.

    The first convolution carries the stride (down-sampling along time only). Where the width or
    the length changes, the shortcut is a projection: a 1-sample convolution with the same stride,
    applied to the activated input as in He et al.; otherwise it is the identity and passes x
    untouched.
    """

    def __init__(
        self,
        dims: Dims,
        in_channels: int,
        out_channels: int,
        kernel_samples: int,
        stride_samples: int = 1,
    ) -> None:
        super().__init__()
        if kernel_samples % 2 == 0:
            # An even kernel with "same" padding grows T by one sample and the sum below would fail.
            raise ValueError(f"residual blocks need an odd kernel, got {kernel_samples} samples")
        self.norm1 = batch_norm(dims, in_channels)
        self.conv1 = time_conv(dims, in_channels, out_channels, kernel_samples, stride_samples)
        self.norm2 = batch_norm(dims, out_channels)
        self.conv2 = time_conv(dims, out_channels, out_channels, kernel_samples)
        self.projection: nn.Module | None = None
        if stride_samples != 1 or in_channels != out_channels:
            self.projection = time_conv(dims, in_channels, out_channels, 1, stride_samples)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # In place where autograd allows, the same values with fewer passes over memory: ReLU
        # overwrites the batch norm's output (its backward needs its input alone), and the sum
        # goes into the convolution's output (its backward needs the convolution's input alone).
        activated = torch.relu_(self.norm1(x))
        shortcut = x if self.projection is None else self.projection(activated)
        residual = self.conv1(activated)
        residual = self.conv2(torch.relu_(self.norm2(residual)))
        return residual.add_(shortcut)
