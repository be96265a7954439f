"""The building blocks: the squeeze-and-excitation gate and the pre-activation residual block."""

import math

import pytest
import torch
from torch import nn

from seecgnet.models.layers import PreActivationBlock, SqueezeExcite, time_conv


def fixed_gate_se() -> SqueezeExcite:
    """4 channels whose gates are sigmoid(0, ln 3, -ln 3, ln 9) = (1/2, 3/4, 1/4, 9/10) whatever
    the input: both FC weights are zero, so only the second FC's biases reach the sigmoid."""
    se = SqueezeExcite(channels=4, reduction=2)
    with torch.no_grad():
        for layer in (se.reduce, se.expand):
            layer.weight.zero_()
            layer.bias.zero_()
        se.expand.bias.copy_(torch.tensor([0.0, math.log(3), -math.log(3), math.log(9)]))
    return se


@pytest.mark.parametrize("shape", [(2, 4, 30), (2, 4, 12, 30)])
def test_se_scales_each_channel_by_its_gate(shape):
    x = torch.randn(shape)
    expected_gate = torch.tensor([0.5, 0.75, 0.25, 0.9]).view(1, 4, *([1] * (len(shape) - 2)))
    torch.testing.assert_close(fixed_gate_se()(x), x * expected_gate)


def test_se_gate_follows_the_channel_mean_through_both_fc_layers():
    # Hidden unit h = relu(mean of channel 0); gates = (sigmoid(h), sigmoid(-h)).
    se = SqueezeExcite(channels=2, reduction=2)
    with torch.no_grad():
        se.reduce.weight.copy_(torch.tensor([[1.0, 0.0]]))
        se.reduce.bias.zero_()
        se.expand.weight.copy_(torch.tensor([[1.0], [-1.0]]))
        se.expand.bias.zero_()
    ln3 = math.log(3)
    # Channel 0 has mean ln 3, so the gates are (3/4, 1/4); channel 1's values do not matter.
    x = torch.tensor([[[ln3 - 1, ln3 + 1], [5.0, -7.0]]])
    torch.testing.assert_close(se.gate(x), torch.tensor([[0.75, 0.25]]))
    # A negative mean is cut by the ReLU: both gates are sigmoid(0) = 1/2.
    torch.testing.assert_close(se.gate(-x), torch.tensor([[0.5, 0.5]]))


def test_se_gate_is_inside_zero_one_and_depends_only_on_the_channel_means():
    torch.manual_seed(0)
    se = SqueezeExcite(channels=32, reduction=16)
    x = 3 * torch.randn(4, 32, 12, 50)
    # Shuffle positions within each channel and add a zero-mean wiggle: the means stay the same.
    shuffled = x.flatten(2)[:, :, torch.randperm(12 * 50)].view_as(x)
    wiggle = torch.randn_like(x)
    same_means = shuffled + wiggle - wiggle.mean(dim=(2, 3), keepdim=True)
    gate = se.gate(x)
    assert ((gate > 0) & (gate < 1)).all()
    torch.testing.assert_close(se.gate(same_means), gate)


def test_se_keeps_one_hidden_unit_when_channels_are_fewer_than_the_reduction():
    assert SqueezeExcite(channels=4, reduction=16).reduce.out_features == 1


def test_block_with_same_width_and_no_stride_has_an_identity_shortcut():
    block = PreActivationBlock(1, 8, 8, kernel_samples=3)
    assert block.projection is None
    with torch.no_grad():
        block.conv2.weight.zero_()  # silence the residual branch: only the shortcut remains
    x = torch.randn(2, 8, 40)
    torch.testing.assert_close(block(x), x)


@pytest.mark.parametrize(
    ("dims", "in_shape", "out_channels", "stride", "out_shape"),
    [
        (1, (2, 8, 101), 16, 2, (2, 16, 51)),
        (1, (2, 8, 101), 16, 1, (2, 16, 101)),
        (1, (2, 8, 101), 8, 2, (2, 8, 51)),
        (2, (2, 4, 12, 101), 8, 2, (2, 8, 12, 51)),
    ],
)
def test_block_projects_the_shortcut_when_width_or_length_changes(
    dims, in_shape, out_channels, stride, out_shape
):
    block = PreActivationBlock(
        dims, in_shape[1], out_channels, kernel_samples=5, stride_samples=stride
    )
    assert block.projection is not None
    assert block.projection.kernel_size[-1] == 1
    assert block.projection.stride[-1] == stride
    assert block(torch.randn(in_shape)).shape == out_shape


def test_block_refuses_an_even_kernel():
    with pytest.raises(ValueError, match="odd kernel"):
        PreActivationBlock(1, 4, 4, kernel_samples=4)


def test_2d_time_conv_has_a_one_lead_kernel_and_strides_along_time_only():
    conv = time_conv(2, 1, 8, kernel_samples=50, stride_samples=5)
    assert isinstance(conv, nn.Conv2d)
    assert conv.kernel_size == (1, 50)
    assert conv.stride == (1, 5)
    assert conv(torch.randn(1, 1, 12, 5000)).shape == (1, 8, 12, 1000)


@pytest.mark.parametrize(
    ("kernel", "stride", "samples", "expected"),
    [
        (15, 1, 5000, 5000),  # odd k: ceil(T / s)
        (15, 2, 5001, 2501),
        (50, 1, 5000, 4999),  # even k: ceil((T - 1) / s)
        (50, 5, 5000, 1000),
        (50, 5, 5001, 1000),  # one short of ceil(5001 / 5)
    ],
)
def test_time_conv_output_length_is_ceil_t_over_s_for_odd_kernels_and_one_less_for_even(
    kernel, stride, samples, expected
):
    conv = time_conv(1, 1, 1, kernel_samples=kernel, stride_samples=stride)
    assert conv(torch.zeros(1, 1, samples)).shape[-1] == expected
