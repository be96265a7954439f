"""One network for any lead subset: the lead-presence side input, and absent leads kept out."""

import dataclasses

import pytest
import torch

from seecgnet.models.layers import SqueezeExcite, lead_mask
from seecgnet.models.registry import build_network
from seecgnet.models.settings import (
    BaselineSettings,
    NetworkSettings,
    ResNeStSettings,
    ResNeXtSettings,
    side_input_size,
)

TWO_LEADS = torch.tensor([1.0, 1.0] + [0.0] * 10)  # I and II, as the 2021 two-lead set
SETTINGS = [
    NetworkSettings.small(),
    dataclasses.replace(BaselineSettings(), block_channels=(8, 8), block_stride_samples=(2, 2)),
    *(
        dataclasses.replace(
            s, stage_channels=(32, 64), stage_blocks=(1, 1), stage_stride_samples=(2, 2)
        )
        for s in (ResNeXtSettings(), ResNeStSettings())
    ),
]


def with_presence(settings):
    return dataclasses.replace(settings, lead_presence=True)


def inputs(settings, batch: int = 3, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Windows, and a side input of age and sex features then the two-lead presence."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, 1, settings.n_leads, settings.window_samples, generator=generator)
    demographics = torch.randn(batch, settings.n_demographics, generator=generator)
    presence = TWO_LEADS.expand(batch, -1)
    return x, torch.cat([demographics, presence], dim=1)


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: type(s).__name__)
def test_side_input_grows_by_one_value_per_lead_and_logits_keep_their_shape(settings):
    assert side_input_size(settings) == settings.n_demographics
    presence = with_presence(settings)
    assert side_input_size(presence) == settings.n_demographics + settings.n_leads
    x, side = inputs(presence)
    network = build_network(presence).eval()
    assert network(x, side).shape == (3, settings.n_classes)
    with pytest.raises(ValueError, match="demographics of shape"):
        network(x, side[:, : settings.n_demographics])  # the presence is required


@pytest.mark.parametrize("mode", ["eval", "train"])
@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: type(s).__name__)
def test_an_absent_leads_values_never_reach_the_output(settings, mode):
    settings = with_presence(settings)
    torch.manual_seed(0)
    network = build_network(settings)
    network.train(mode == "train")
    x, side = inputs(settings)
    changed = x.clone()
    changed[:, :, 2:] = 50.0 * torch.randn_like(changed[:, :, 2:])  # leads III to V6 are absent
    with torch.no_grad():
        torch.manual_seed(1)  # the same dropout draws
        before = network(x, side)
        torch.manual_seed(1)
        after = network(changed, side)
        torch.manual_seed(1)
        present_changed = x.clone()
        present_changed[:, :, 1] += 1.0  # lead II is present: it must count
        other = network(present_changed, side)
    torch.testing.assert_close(after, before, rtol=0, atol=1e-5)
    assert not torch.allclose(other, before, atol=1e-4)


def test_the_2d_squeeze_averages_over_the_present_leads_only():
    se = SqueezeExcite(8, reduction=2)
    x = torch.randn(2, 8, 12, 20)
    mask = lead_mask(torch.cat([torch.zeros(2, 5), TWO_LEADS.expand(2, -1)], dim=1), 5)
    masked = x * mask
    present_only = masked[:, :, :2]  # the two present leads alone, as a 2-lead image
    torch.testing.assert_close(se.gate(masked, mask), se.gate(present_only))


def test_a_network_without_presence_reads_absent_leads_as_flat_ones():
    # the earlier method, which old model folders keep: zeros are an input like any other
    settings = NetworkSettings.small()
    torch.manual_seed(0)
    network = build_network(settings).eval()
    x, side = inputs(settings)
    changed = x.clone()
    changed[:, :, 2:] = 0.0
    with torch.no_grad():
        assert not torch.allclose(network(x, side[:, :5]), network(changed, side[:, :5]))


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_absent_leads_fold_into_zero_channels_after_the_lead_shared_layers(mode):
    # batch norm's shift would turn a zero row into a constant; each lead-shared layer's output
    # is masked again, so the 1-D layers meet nothing from an absent lead
    settings = with_presence(NetworkSettings.small())
    torch.manual_seed(0)
    network = build_network(settings).train(mode == "train")
    folded = []
    for branch in network.branches:
        branch.along_time.register_forward_pre_hook(lambda _, args: folded.append(args[0]))
    x, side = inputs(settings)
    with torch.no_grad():
        network(x, side)
    for features in folded:  # (B, C2 · leads, T2), channel c2 · leads + lead
        per_lead = features.unflatten(1, (-1, settings.n_leads))  # (B, C2, leads, T2)
        assert per_lead[:, :, 2:].abs().max() == 0
        assert per_lead[:, :, :2].abs().max() > 0
