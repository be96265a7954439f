"""SE-ECGNet (Chen et al., CinC 2020; Zhang, Zhao and Liu, 2020), read like the paper's figure.

    x (B, 1, 12, 5000) ── stem: (1, 50), (1, 15), (1, 15) convolutions, shared by all leads
                      ├── MultiScaleBranch, kernel 3 ─┐
                      └── MultiScaleBranch, kernel 5 ─┼── concat ── FC ── ReLU ── dropout ── FC
    demographics (B, 5) ──────────────────────────────┘                    -> logits (B, 24)

Each branch is a stack of pre-activation residual blocks, each followed by a squeeze-and-excitation
gate. Following Zhang et al., it first works in 2-D on the 12 × T image whose rows are the leads,
with (1, k) kernels shared by all leads, then folds the leads into channels and goes on in 1-D with
the same kernel size. It ends in global max and average pooling over time.

With ``lead_presence`` (:class:`NetworkSettings`) the side input carries, after age and sex, one
value per lead: 1 present, 0 absent (a reduced-lead recording). An absent lead's row is zero in x
and is set back to zero after every lead-shared layer (each stem layer, each 2-D residual block), so
that no later layer meets the constant a batch norm's shift would turn it into, and the 2-D
squeeze-and-excitation averages over the present leads only. Folded into channels, an absent lead's
channels are zeros, and the classifier reads the presence beside age and sex. Batch norm keeps its
ordinary statistics (absent rows count as zeros in a training batch, and running statistics hold
the same mixture), so in eval mode each present lead's maps are the same whatever other leads are
present.

The paper gives no widths or depths; ours are in ``NetworkSettings`` (:mod:`seecgnet.models.settings`),
sized so that training on a few hundred records takes minutes on a 2-core CPU
(``benchmarks/network_cost.py`` measures them).
"""

from __future__ import annotations

import torch
from torch import nn

from seecgnet.models.layers import (
    ConvBnRelu,
    Dims,
    PreActivationBlock,
    SqueezeExcite,
    batch_norm,
    check_network_input,
    lead_mask,
)
from seecgnet.models.settings import NetworkSettings, side_input_size


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

    def forward(self, x: torch.Tensor, lead_mask: torch.Tensor | None = None) -> torch.Tensor:
        for layer in self:
            x = layer(x) if lead_mask is None else layer(x) * lead_mask
        return x


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

    def forward(self, x: torch.Tensor, lead_mask: torch.Tensor | None = None) -> torch.Tensor:
        """``lead_mask`` (B, 1, leads, 1): 1 for present leads, whose rows alone may be non-zero."""
        for layer in self.across_leads:  # (B, C_stem, leads, T) -> (B, C2, leads, T2)
            if lead_mask is None:
                x = layer(x)
            elif isinstance(layer, SqueezeExcite):
                x = layer(x, lead_mask)
            else:
                x = layer(x) * lead_mask
        x = x.flatten(1, 2)  # fold leads into channels: (B, C2, leads, T2) -> (B, C2 · leads, T2)
        x = torch.relu_(self.final_norm(self.along_time(x)))  # -> (B, C1, T1)
        return torch.cat([x.amax(dim=2), x.mean(dim=2)], dim=1)  # (B, C1, T1) -> (B, 2 · C1)


def is_lead_shared(name: str) -> bool:
    """Whether ``name``, a key of SE-ECGNet's state dict, belongs to a lead-shared layer: the stem
    and each branch's 2-D blocks, whose (1, k) kernels read every lead alike and so can be trained
    on any number of leads (:mod:`seecgnet.mitbih.pretrain` trains them on MIT-BIH's two)."""
    parts = name.split(".")
    return parts[0] == "stem" or (parts[0] == "branches" and parts[2:3] == ["across_leads"])


class SEECGNet(nn.Module):
    """The whole network: stem, one ``MultiScaleBranch`` per kernel size, demographics, FC layers.

    ``forward(x, demographics)``: x of shape (B, 1, leads, T) in mV, demographics of shape
    (B, side_input_size(settings)): age and sex, then with ``lead_presence`` the presence of each
    lead; returns logits of shape (B, n_classes).
    """

    def __init__(self, settings: NetworkSettings) -> None:
        super().__init__()
        self.settings = settings
        self.stem = Stem(settings)
        self.branches = nn.ModuleList(
            MultiScaleBranch(settings, settings.stem_channels[-1], kernel)
            for kernel in settings.branch_kernel_samples
        )
        in_features = sum(b.out_features for b in self.branches) + side_input_size(settings)
        self.classifier = nn.Sequential(
            nn.Linear(in_features, settings.fc_hidden_units),
            nn.ReLU(inplace=True),
            nn.Dropout(settings.dropout),
            nn.Linear(settings.fc_hidden_units, settings.n_classes),
        )

    def forward(self, x: torch.Tensor, demographics: torch.Tensor) -> torch.Tensor:
        settings = self.settings
        check_network_input(x, demographics, settings.n_leads, side_input_size(settings))
        mask = lead_mask(demographics, settings.n_demographics) if settings.lead_presence else None
        if mask is not None:
            x = x * mask  # an absent lead reaches the network as nothing, whatever its row held
        features = self.stem(x, mask)  # (B, 1, leads, T) -> (B, C_stem, leads, T0)
        pooled = [branch(features, mask) for branch in self.branches]  # each (B, out_features)
        return self.classifier(torch.cat([*pooled, demographics], dim=1))  # -> (B, n_classes)
