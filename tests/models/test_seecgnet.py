"""SE-ECGNet and the baseline: shapes, the lead-wise 2-D stage, the cost counters and a tiny fit."""

import dataclasses

import pytest
import torch
from torch import nn

from seecgnet.models.baseline import PlainResNet1d
from seecgnet.models.layers import SqueezeExcite
from seecgnet.models.registry import build_network, count_multiply_adds, count_parameters
from seecgnet.models.seecgnet import SEECGNet
from seecgnet.models.settings import BaselineSettings, NetworkSettings
from seecgnet.training.loss import hard_mining_bce

ALL_SETTINGS = [NetworkSettings(), NetworkSettings.small(), BaselineSettings()]


def window_batch(batch_size: int, settings, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(batch_size, 1, settings.n_leads, settings.window_samples, generator=generator)
    return x, torch.randn(batch_size, settings.n_demographics, generator=generator)


@pytest.mark.parametrize("settings", ALL_SETTINGS, ids=lambda s: type(s).__name__)
def test_network_maps_windows_and_demographics_to_one_logit_per_class(settings):
    model = build_network(settings)
    assert model(*window_batch(2, settings)).shape == (2, 24)


@pytest.mark.parametrize("settings", ALL_SETTINGS, ids=lambda s: type(s).__name__)
def test_network_takes_a_single_window_in_eval_mode(settings):
    model = build_network(settings).eval()
    with torch.no_grad():
        assert model(*window_batch(1, settings)).shape == (1, 24)


@pytest.mark.parametrize("settings", [NetworkSettings(), NetworkSettings.small()])
def test_each_branch_gives_the_features_the_classifier_expects(settings):
    model = SEECGNet(settings)
    x, _ = window_batch(2, settings)
    features = model.stem(x)
    for branch in model.branches:
        assert branch(features).shape == (2, branch.out_features)
    # Max and average pooling of the last 1-D width, per branch, then the demographics.
    expected = 2 * settings.block1d_channels[-1] * len(settings.branch_kernel_samples) + 5
    assert model.classifier[0].in_features == expected


def test_default_branches_use_kernels_three_and_five():
    model = SEECGNet(NetworkSettings())
    kernels = [
        {m.kernel_size[-1] for m in branch.modules() if isinstance(m, nn.Conv1d | nn.Conv2d)}
        for branch in model.branches
    ]
    assert kernels == [{1, 3}, {1, 5}]  # 1 is the projection shortcuts


def test_no_2d_convolution_spans_more_than_one_lead_or_strides_across_leads():
    conv2d = [m for m in SEECGNet(NetworkSettings()).modules() if isinstance(m, nn.Conv2d)]
    assert conv2d
    assert all(m.kernel_size[0] == 1 and m.stride[0] == 1 for m in conv2d)


def test_perturbing_one_lead_changes_only_that_leads_rows_before_the_fold():
    model = SEECGNet(NetworkSettings()).eval()
    # The SE gates pool over all leads by design (one gate per channel). Pinning every gate to a
    # constant, by zeroing its last FC weights, leaves the convolutions to show what they mix.
    with torch.no_grad():
        for se in model.modules():
            if isinstance(se, SqueezeExcite):
                se.expand.weight.zero_()
    x, _ = window_batch(1, NetworkSettings())
    perturbed = x.clone()
    perturbed[:, :, 3, 2000:2100] += 1.0
    with torch.no_grad():
        for branch in model.branches:
            before = branch.across_leads(model.stem(x))  # (1, C, 12, T)
            after = branch.across_leads(model.stem(perturbed))
            changed_leads = (after - before).abs().amax(dim=(0, 1, 3)) > 0
            assert changed_leads.tolist() == [lead == 3 for lead in range(12)]


def test_network_names_a_wrongly_shaped_input():
    model = SEECGNet(NetworkSettings.small())
    with pytest.raises(ValueError, match=r"\(B, 1, 12, T\)"):
        model(torch.zeros(2, 12, 5000), torch.zeros(2, 5))
    with pytest.raises(ValueError, match="demographics"):
        model(torch.zeros(2, 1, 12, 5000), torch.zeros(2, 4))


def test_settings_refuse_widths_and_strides_of_different_lengths():
    with pytest.raises(ValueError, match="block1d_channels"):
        NetworkSettings(block1d_channels=(64, 64, 64))
    with pytest.raises(ValueError, match="block_channels"):
        BaselineSettings(block_stride_samples=(2,))


def test_build_network_picks_the_architecture_from_the_settings_type():
    assert isinstance(build_network(NetworkSettings.small()), SEECGNet)
    assert isinstance(build_network(BaselineSettings()), PlainResNet1d)


class OneLayer(nn.Module):
    """Applies one layer to the window (leads as channels) or to the demographics."""

    def __init__(self, layer: nn.Module, on_demographics: bool = False) -> None:
        super().__init__()
        self.layer = layer
        self.on_demographics = on_demographics

    def forward(self, x: torch.Tensor, demographics: torch.Tensor) -> torch.Tensor:
        return self.layer(demographics if self.on_demographics else x.squeeze(1))


SHORT = BaselineSettings(window_samples=100)


def test_multiply_adds_of_a_conv1d_are_outputs_times_inputs_per_output():
    # 12 -> 8 channels, kernel 5, stride 2, padding 2 on 100 samples: 50 outputs per channel,
    # each summing 12 × 5 products: 8 × 50 × 12 × 5 = 24,000.
    conv = nn.Conv1d(12, 8, kernel_size=5, stride=2, padding=2)
    assert count_multiply_adds(OneLayer(conv), SHORT) == 24_000


def test_multiply_adds_of_a_1_by_k_conv2d_count_every_lead():
    # 1 -> 4 channels, kernel (1, 7), stride (1, 2) on 12 × 100: 4 × 12 × 50 outputs × 7 = 16,800.
    conv = nn.Conv2d(1, 4, kernel_size=(1, 7), stride=(1, 2), padding=(0, 3))
    assert count_multiply_adds(OneLayer(nn.Sequential(nn.Unflatten(1, (1, 12)), conv)), SHORT) == (
        16_800
    )


def test_multiply_adds_and_parameters_of_a_linear_layer():
    linear = nn.Linear(5, 3)  # 5 × 3 products; 15 weights + 3 biases
    assert count_multiply_adds(OneLayer(linear, on_demographics=True), SHORT) == 15
    assert count_parameters(linear) == 18


def test_default_network_costs_30_to_100_million_multiply_adds_per_window():
    settings = NetworkSettings()
    model = SEECGNet(settings).train()
    assert 30e6 <= count_multiply_adds(model, settings) <= 100e6
    assert model.training  # the counter puts the model back in the mode it found it in


def test_tiny_network_overfits_eight_windows_with_fixed_labels():
    torch.manual_seed(0)
    settings = dataclasses.replace(NetworkSettings.small(), dropout=0.0)
    model = SEECGNet(settings)
    x, demographics = window_batch(8, settings, seed=1)
    targets = (torch.rand(8, settings.n_classes) < 0.3).float()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(50):
        optimizer.zero_grad()
        loss = hard_mining_bce(model(x, demographics), targets, torch.ones(settings.n_classes))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] / 10
