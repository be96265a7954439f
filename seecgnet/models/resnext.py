"""A 1-D ResNeXt (Xie et al., "Aggregated residual transformations for deep neural networks",
CVPR 2017), one of the two networks the SE-ECGNet paper compares itself with.

    x (B, 1, 12, 5000) ── leads as channels ── stem conv ── stages of bottleneck blocks ──
        global average pool ── concat demographics (B, 5) ── dropout ── FC -> logits (B, 24)

A ResNeXt block is a post-activation bottleneck (1-sample convolution, grouped convolution along
time, 1-sample convolution, each with batch norm) whose middle convolution splits its channels into
``cardinality`` groups convolved apart: many narrow paths aggregated, instead of one wide one. As
in the baseline the 12 leads enter as channels; the stem and head are the baseline's, so that the
blocks are what differs. The widths and depths are ours (:class:`ResNeXtSettings`), sized like
SE-ECGNet's cost; the paper's image stem (7 × 7 convolution, max pooling) is replaced by one
convolution along time.
"""

from __future__ import annotations

import torch
from torch import nn

from seecgnet.models.layers import ConvBnRelu, batch_norm, check_network_input, lead_mask, time_conv
from seecgnet.models.settings import ResNeStSettings, ResNeXtSettings, side_input_size


class Projection(nn.Sequential):
    """The shortcut where a block changes width or length: a strided 1-sample convolution and
    batch norm (He et al.'s option B)."""

    def __init__(self, in_channels: int, out_channels: int, stride_samples: int) -> None:
        super().__init__(
            time_conv(1, in_channels, out_channels, 1, stride_samples),
            batch_norm(1, out_channels),
        )


class ResNeXtBlock(nn.Module):
    """1-sample conv -> grouped k-sample conv (carrying the stride) -> 1-sample conv, batch norm
    after each and ReLU after the first two; the shortcut added, then ReLU.

    ``forward`` maps (B, in_channels, T) to (B, out_channels, ceil(T / stride)).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        width: int,
        cardinality: int,
        kernel_samples: int,
        stride_samples: int = 1,
    ) -> None:
        super().__init__()
        self.reduce = ConvBnRelu(1, in_channels, width, 1)
        self.grouped = ConvBnRelu(1, width, width, kernel_samples, stride_samples, cardinality)
        self.expand = nn.Sequential(
            time_conv(1, width, out_channels, 1), batch_norm(1, out_channels)
        )
        self.shortcut: nn.Module = nn.Identity()
        if stride_samples != 1 or in_channels != out_channels:
            self.shortcut = Projection(in_channels, out_channels, stride_samples)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = self.expand(self.grouped(self.reduce(x)))
        return torch.relu(self.shortcut(x) + residual)


class ResNeXt1d(nn.Module):
    """Leads as channels -> stem conv -> stages of bottleneck blocks -> global average pool -> FC.

    ``forward(x, demographics)``: x of shape (B, 1, leads, T) in mV, demographics of shape
    (B, side_input_size(settings)); returns logits of shape (B, n_classes). With ``lead_presence``
    the presence values join age and sex before the classifier; an absent lead is a zero row of x.
    :class:`ResNeSt1d` shares this skeleton and replaces the block (:meth:`make_block`).
    """

    def __init__(self, settings: ResNeXtSettings | ResNeStSettings) -> None:
        super().__init__()
        self.settings = settings
        self.stem = ConvBnRelu(
            1,
            settings.n_leads,
            settings.stem_channels,
            settings.stem_kernel_samples,
            settings.stem_stride_samples,
        )
        blocks = []
        in_channels = settings.stem_channels
        for stage, (channels, n_blocks, stride) in enumerate(
            zip(
                settings.stage_channels,
                settings.stage_blocks,
                settings.stage_stride_samples,
                strict=True,
            )
        ):
            width = settings.cardinality * settings.bottleneck_width * 2**stage
            for block in range(n_blocks):
                blocks.append(
                    self.make_block(in_channels, channels, width, stride if block == 0 else 1)
                )
                in_channels = channels
        self.blocks = nn.Sequential(*blocks)
        self.classifier = nn.Sequential(
            nn.Dropout(settings.dropout),
            nn.Linear(in_channels + side_input_size(settings), settings.n_classes),
        )

    def make_block(
        self, in_channels: int, out_channels: int, width: int, stride_samples: int
    ) -> nn.Module:
        """One block of a stage; the first of each stage carries the stage's stride."""
        s = self.settings
        return ResNeXtBlock(
            in_channels, out_channels, width, s.cardinality, s.kernel_samples, stride_samples
        )

    def forward(self, x: torch.Tensor, demographics: torch.Tensor) -> torch.Tensor:
        check_network_input(x, demographics, self.settings.n_leads, side_input_size(self.settings))
        if self.settings.lead_presence:  # an absent lead reaches the network as nothing
            x = x * lead_mask(demographics, self.settings.n_demographics)
        x = x.squeeze(1)  # (B, 1, leads, T) -> (B, leads, T)
        x = self.blocks(self.stem(x))  # (B, leads, T) -> (B, C, T'), T' = T / (product of strides)
        pooled = x.mean(dim=2)  # (B, C, T') -> (B, C); post-activation blocks end in ReLU already
        return self.classifier(torch.cat([pooled, demographics], dim=1))
