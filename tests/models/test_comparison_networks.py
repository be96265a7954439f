"""ResNeXt and ResNeSt, the networks the SE-ECGNet paper compares with: shapes, gradients, the
grouped and split-attention blocks, and a cost like SE-ECGNet's."""

import math

import pytest
import torch
from torch import nn

from seecgnet.models.registry import build_network, count_multiply_adds, count_parameters
from seecgnet.models.resnest import ResNeSt1d, ResNeStBlock, SplitAttention
from seecgnet.models.resnext import ResNeXt1d, ResNeXtBlock
from seecgnet.models.settings import NetworkSettings, ResNeStSettings, ResNeXtSettings
from seecgnet.training.loss import hard_mining_bce

ALL_SETTINGS = [
    ResNeXtSettings(),
    ResNeXtSettings.small(),
    ResNeStSettings(),
    ResNeStSettings.small(),
]
IDS = ["resnext", "resnext-small", "resnest", "resnest-small"]


def window_batch(batch_size: int, settings, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(batch_size, 1, settings.n_leads, settings.window_samples, generator=generator)
    return x, torch.randn(batch_size, settings.n_demographics, generator=generator)


@pytest.mark.parametrize("settings", ALL_SETTINGS, ids=IDS)
def test_network_maps_windows_and_demographics_to_one_logit_per_class(settings):
    model = build_network(settings)
    assert model(*window_batch(2, settings)).shape == (2, 24)
    with torch.no_grad():
        assert model.eval()(*window_batch(1, settings)).shape == (1, 24)


def test_build_network_picks_resnext_and_resnest_from_the_settings_type():
    assert type(build_network(ResNeXtSettings.small())) is ResNeXt1d
    assert type(build_network(ResNeStSettings.small())) is ResNeSt1d


@pytest.mark.parametrize("settings", ALL_SETTINGS[1::2], ids=IDS[1::2])
def test_every_weight_of_every_block_gets_a_gradient(settings):
    torch.manual_seed(0)
    model = build_network(settings)
    x, demographics = window_batch(4, settings)
    targets = (torch.rand(4, settings.n_classes) < 0.3).float()
    hard_mining_bce(model(x, demographics), targets, torch.ones(settings.n_classes)).backward()
    assert len(model.blocks) == sum(settings.stage_blocks)
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None, name
        assert torch.isfinite(parameter.grad).all(), name
        assert parameter.grad.abs().sum() > 0, name


@pytest.mark.parametrize("settings", [ResNeXtSettings(), ResNeStSettings()], ids=IDS[::2])
def test_default_networks_cost_about_what_se_ecgnet_costs(settings):
    reference = build_network(NetworkSettings())
    reference_weights = count_parameters(reference)
    reference_mults = count_multiply_adds(reference, NetworkSettings())
    model = build_network(settings)
    assert 0.8 <= count_parameters(model) / reference_weights <= 1.25
    assert 0.8 <= count_multiply_adds(model, settings) / reference_mults <= 1.25


def test_resnext_blocks_convolve_cardinality_groups_apart():
    block = ResNeXtBlock(8, 16, width=8, cardinality=4, kernel_samples=5, stride_samples=2)
    grouped = block.grouped[0]
    assert grouped.groups == 4 and grouped.weight.shape == (8, 2, 5)
    # Changing the input of the grouped convolution's first group (channels 0-1) moves only the
    # outputs of that group (channels 0-1).
    x = torch.randn(1, 8, 40)
    perturbed = x.clone()
    perturbed[:, :2] += 1.0
    with torch.no_grad():
        changed = (grouped(perturbed) - grouped(x)).abs().amax(dim=(0, 2)) > 0
    assert changed.tolist() == [True, True] + [False] * 6


@pytest.mark.parametrize("block_type", ["resnext", "resnest"])
@pytest.mark.parametrize(("in_channels", "stride", "length"), [(8, 1, 41), (8, 2, 41), (16, 4, 37)])
def test_a_block_gives_ceil_length_over_stride_and_its_width(
    block_type, in_channels, stride, length
):
    if block_type == "resnext":
        block = ResNeXtBlock(
            in_channels, 16, width=8, cardinality=2, kernel_samples=7, stride_samples=stride
        )
    else:
        settings = ResNeStSettings.small(cardinality=2)
        block = ResNeStBlock(in_channels, 16, width=8, settings=settings, stride_samples=stride)
    out = block(torch.randn(2, in_channels, length))
    assert out.shape == (2, 16, math.ceil(length / stride))
    assert (out >= 0).all()  # post-activation blocks end in ReLU


def test_an_identity_block_adds_its_input_unchanged():
    block = ResNeXtBlock(16, 16, width=8, cardinality=4, kernel_samples=3).eval()
    assert isinstance(block.shortcut, nn.Identity)
    with torch.no_grad():
        block.expand[1].weight.zero_()  # the residual's last batch norm outputs zero
        block.expand[1].bias.zero_()
        x = torch.randn(2, 16, 30)
        torch.testing.assert_close(block(x), torch.relu(x))


@pytest.mark.parametrize(("radix", "cardinality"), [(2, 1), (4, 2)])
def test_split_attention_weights_of_each_channel_sum_to_one_over_the_splits(radix, cardinality):
    attention = SplitAttention(8, 8, 3, radix, cardinality, hidden_units=4)
    splits = torch.randn(3, radix, 8, 20)
    weights = attention.weights(splits)
    assert weights.shape == (3, radix, 8, 1)
    torch.testing.assert_close(weights.sum(dim=1), torch.ones(3, 8, 1))


def test_split_attention_is_the_weighted_sum_of_its_splits():
    attention = SplitAttention(4, 4, 3, radix=2, cardinality=1, hidden_units=2).eval()
    with torch.no_grad():
        attention.expand.weight.zero_()
        # logits: split 0 gets ln 3 more than split 1, so the weights are 3/4 and 1/4
        attention.expand.bias.copy_(torch.tensor([math.log(3)] * 4 + [0.0] * 4))
        x = torch.randn(2, 4, 25)
        splits = attention.splits(x).view(2, 2, 4, 25)
        torch.testing.assert_close(attention(x), 0.75 * splits[:, 0] + 0.25 * splits[:, 1])


def test_one_split_is_a_sigmoid_gate():
    attention = SplitAttention(4, 4, 3, radix=1, cardinality=1, hidden_units=2)
    weights = attention.weights(torch.randn(2, 1, 4, 10))
    assert ((weights > 0) & (weights < 1)).all()


@pytest.mark.parametrize(
    ("settings_type", "fields", "message"),
    [
        (ResNeXtSettings, {"stage_blocks": (1, 1)}, "same length"),
        (ResNeXtSettings, {"kernel_samples": 6}, "odd kernel"),
        (ResNeStSettings, {"stage_blocks": (1, 0, 1, 1)}, "needs a block"),
        (ResNeStSettings, {"radix": 0}, "radix"),
    ],
)
def test_settings_refuse_impossible_shapes(settings_type, fields, message):
    with pytest.raises(ValueError, match=message):
        settings_type(**fields)


def test_split_attention_refuses_channels_the_splits_do_not_divide():
    with pytest.raises(ValueError, match="do not split"):
        SplitAttention(6, 6, 3, radix=4, cardinality=1, hidden_units=2)
