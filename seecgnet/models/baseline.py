"""A plain 1-D ResNet to compare SE-ECGNet against.

It keeps what the two share (pre-activation residual blocks, the demographics beside the pooled
features, the same input and output) and drops what SE-ECGNet adds: no squeeze-and-excitation, one
kernel size instead of two branches, and the 12 leads enter as channels from the first layer on.
"""

from __future__ import annotations

import torch
from torch import nn

from seecgnet.models.layers import (
    ConvBnRelu,
    PreActivationBlock,
    batch_norm,
    check_network_input,
    lead_mask,
)
from seecgnet.models.settings import BaselineSettings, side_input_size


class PlainResNet1d(nn.Module):
    """Leads as channels -> stem conv -> residual blocks -> global average pool -> FC.

    ``forward(x, demographics)``: x of shape (B, 1, leads, T) in mV, demographics of shape
    (B, side_input_size(settings)); returns logits of shape (B, n_classes). With ``lead_presence``
    the presence values join age and sex before the classifier; an absent lead is a zero row of x.
    """

    def __init__(self, settings: BaselineSettings) -> None:
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
        for channels, stride in zip(
            settings.block_channels, settings.block_stride_samples, strict=True
        ):
            blocks.append(
                PreActivationBlock(1, in_channels, channels, settings.block_kernel_samples, stride)
            )
            in_channels = channels
        self.blocks = nn.Sequential(*blocks)
        # Pre-activation blocks hand over an un-normalised sum; normalise it once before pooling.
        self.final_norm = batch_norm(1, in_channels)
        self.classifier = nn.Sequential(
            nn.Dropout(settings.dropout),
            nn.Linear(in_channels + side_input_size(settings), settings.n_classes),
        )

    def forward(self, x: torch.Tensor, demographics: torch.Tensor) -> torch.Tensor:
        check_network_input(x, demographics, self.settings.n_leads, side_input_size(self.settings))
        if self.settings.lead_presence:  # an absent lead reaches the network as nothing
            x = x * lead_mask(demographics, self.settings.n_demographics)
        x = x.squeeze(1)  # (B, 1, leads, T) -> (B, leads, T)
        x = self.blocks(self.stem(x))  # (B, leads, T) -> (B, C, T'), T' = T / (product of strides)
        pooled = torch.relu(self.final_norm(x)).mean(dim=2)  # (B, C, T') -> (B, C)
        return self.classifier(torch.cat([pooled, demographics], dim=1))
