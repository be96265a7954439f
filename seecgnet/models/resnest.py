"""A 1-D ResNeSt (Zhang et al., "ResNeSt: Split-attention networks", 2020), one of the two
networks the SE-ECGNet paper compares itself with.

It is the ResNeXt skeleton of :mod:`seecgnet.models.resnext` (leads as channels, stem, stages,
average pool, demographics, FC) with the split-attention block in place of the grouped one. A
split-attention convolution computes ``radix`` feature maps (splits) of the same channels, each from
its own slice of the input, and mixes them with weights that sum to one over the splits and depend
on the whole window: squeeze-and-excitation's channel gate, generalised from "how much of this
channel" to "which split of this channel". Down-sampling is ResNeSt-50's: an average pool after
the split-attention convolution (its "avd"), and an average pool before the shortcut's projection.
"""

from __future__ import annotations

import torch
from torch import nn

from seecgnet.models.layers import ConvBnRelu, batch_norm, time_conv
from seecgnet.models.resnext import ResNeXt1d
from seecgnet.models.settings import ResNeStSettings


class SplitAttention(nn.Module):
    """Split-attention convolution: ``radix`` splits of ``channels`` channels in ``cardinality``
    groups, weighted per channel by a softmax over the splits (a sigmoid gate with one split).

    ``forward`` maps (B, in_channels, T) to (B, channels, T).
    """

    def __init__(
        self,
        in_channels: int,
        channels: int,
        kernel_samples: int,
        radix: int,
        cardinality: int,
        hidden_units: int,
    ) -> None:
        super().__init__()
        if channels % cardinality or in_channels % (radix * cardinality):
            raise ValueError(
                f"{in_channels} -> {channels} channels do not split into {radix} splits of "
                f"{cardinality} groups"
            )
        self.radix, self.cardinality, self.channels = radix, cardinality, channels
        # every (split, group) pair convolves its own slice of the input
        self.splits = ConvBnRelu(
            1, in_channels, channels * radix, kernel_samples, groups=radix * cardinality
        )
        # the attention's two layers act on (B, C, 1) so that they can be grouped by cardinality
        self.reduce = nn.Sequential(
            nn.Conv1d(channels, hidden_units, 1, groups=cardinality),
            batch_norm(1, hidden_units),
            nn.ReLU(inplace=True),
        )
        self.expand = nn.Conv1d(hidden_units, channels * radix, 1, groups=cardinality)

    def weights(self, splits: torch.Tensor) -> torch.Tensor:
        """Each split's weight per channel, (B, radix, C, 1), for splits of shape (B, radix, C, T)."""
        batch = splits.shape[0]
        means = splits.sum(dim=1).mean(dim=2, keepdim=True)  # (B, radix, C, T) -> (B, C, 1)
        logits = self.expand(self.reduce(means))  # (B, C, 1) -> (B, cardinality · radix · C/g, 1)
        logits = logits.view(batch, self.cardinality, self.radix, -1)  # (B, g, radix, C/g)
        # the splits of each channel sum to one; a single split is a gate, as in SE
        gates = torch.softmax(logits, dim=2) if self.radix > 1 else torch.sigmoid(logits)
        gates = gates.transpose(1, 2)  # (B, g, radix, C/g) -> (B, radix, g, C/g)
        return gates.reshape(batch, self.radix, self.channels, 1)  # -> (B, radix, C, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        splits = self.splits(x)  # (B, in, T) -> (B, radix · C, T)
        splits = splits.view(splits.shape[0], self.radix, self.channels, -1)  # (B, radix, C, T)
        return (splits * self.weights(splits)).sum(dim=1)  # -> (B, C, T)


class ResNeStBlock(nn.Module):
    """1-sample conv -> split-attention conv -> average pool (the stride) -> 1-sample conv, with
    batch norm; the shortcut (average pool, then projection, where the shape changes) added, then
    ReLU.

    ``forward`` maps (B, in_channels, T) to (B, out_channels, ceil(T / stride)).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        width: int,
        settings: ResNeStSettings,
        stride_samples: int = 1,
    ) -> None:
        super().__init__()
        s = settings
        hidden = max(width * s.radix // s.attention_reduction, s.attention_min_units)
        self.reduce = ConvBnRelu(1, in_channels, width, 1)
        self.attention = SplitAttention(
            width, width, s.kernel_samples, s.radix, s.cardinality, hidden
        )
        self.pool: nn.Module = nn.Identity()
        if stride_samples != 1:
            self.pool = nn.AvgPool1d(3, stride_samples, padding=1)
        self.expand = nn.Sequential(
            time_conv(1, width, out_channels, 1), batch_norm(1, out_channels)
        )
        self.shortcut: nn.Module = nn.Identity()
        if stride_samples != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.AvgPool1d(
                    stride_samples, stride_samples, ceil_mode=True, count_include_pad=False
                ),
                time_conv(1, in_channels, out_channels, 1),
                batch_norm(1, out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = self.expand(self.pool(self.attention(self.reduce(x))))
        return torch.relu(self.shortcut(x) + residual)


class ResNeSt1d(ResNeXt1d):
    """ResNeXt's skeleton with split-attention blocks.

    ``forward(x, demographics)``: x of shape (B, 1, leads, T) in mV, demographics of shape
    (B, side_input_size(settings)); returns logits of shape (B, n_classes). With ``lead_presence``
    the presence values join age and sex before the classifier; an absent lead is a zero row of x.
    """

    settings: ResNeStSettings

    def make_block(
        self, in_channels: int, out_channels: int, width: int, stride_samples: int
    ) -> nn.Module:
        return ResNeStBlock(in_channels, out_channels, width, self.settings, stride_samples)
