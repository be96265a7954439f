"""Class weights and the hard-mining BCE, against values worked by hand."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from seecgnet.trained.settings import LossSettings
from seecgnet.training.loss import class_weights, hard_mining_bce, hard_sample_count

RAW = LossSettings(normalise_to_mean_one=False)


def test_class_weight_is_one_over_log_count_with_rare_classes_counted_as_three():
    # Counts 2 and 0 are raised to min_count = 3:
    # 1/ln 100 = 0.217147, 1/ln 10 = 0.434294, 1/ln 3 = 0.910239.
    weights = class_weights(np.array([100, 10, 2, 0]), RAW)
    assert weights.dtype == torch.float32
    np.testing.assert_allclose(weights, [0.217147, 0.434294, 0.910239, 0.910239], atol=1e-6)


def test_normalised_class_weights_have_mean_one_and_keep_their_ratios():
    # Mean of the raw weights above: 2.471924 / 4 = 0.617980; each raw weight divided by it.
    weights = class_weights(np.array([100, 10, 2, 0]))
    np.testing.assert_allclose(weights, [0.351382, 0.702765, 1.472927, 1.472927], atol=1e-6)
    assert weights.mean().item() == pytest.approx(1.0)


def test_equal_counts_give_unit_weights():
    np.testing.assert_allclose(class_weights(np.array([50, 50, 50])), [1.0, 1.0, 1.0])


def test_class_weights_refuse_negative_counts():
    with pytest.raises(ValueError, match="counts >= 0"):
        class_weights(np.array([5, -1]))


def test_loss_settings_refuse_a_fraction_outside_zero_one_and_a_min_count_below_two():
    with pytest.raises(ValueError, match="hard_fraction"):
        LossSettings(hard_fraction=0.0)
    with pytest.raises(ValueError, match="min_count"):
        LossSettings(min_count=1)


@pytest.mark.parametrize(
    ("batch_size", "fraction", "kept"),
    [(10, 0.7, 7), (3, 0.7, 3), (1, 0.7, 1), (30, 0.1, 3), (4, 0.01, 1), (8, 1.0, 8)],
)
def test_hard_sample_count_is_the_ceiling_of_the_fraction_and_at_least_one(
    batch_size, fraction, kept
):
    assert hard_sample_count(batch_size, fraction) == kept


def ten_samples_with_losses_log_2_to_log_11():
    """Ten samples in a scrambled order; class 0 has logit ln(i) and target 0, so its BCE is
    ln(1 + i) for i = 1..10; class 1 has logit 0, so its BCE is ln 2 whatever the target."""
    order = torch.tensor([3, 9, 1, 6, 10, 2, 8, 5, 7, 4], dtype=torch.float64)
    logits = torch.stack([order.log(), torch.zeros(10, dtype=torch.float64)], dim=1)
    targets = torch.stack([torch.zeros(10), torch.arange(10) % 2], dim=1).double()
    return order, logits, targets


def test_hard_mining_averages_exactly_the_seven_largest_of_ten_sample_losses():
    _, logits, targets = ten_samples_with_losses_log_2_to_log_11()
    weights = torch.tensor([3.0, 0.5])
    # Per sample: (3 ln(1 + i) + 0.5 ln 2) / 2. The 7 largest are i = 4..10, and
    # ln 5 + ln 6 + ... + ln 11 = ln(1663200), so the loss is (3 ln(1663200) / 7 + 0.5 ln 2) / 2.
    expected = (3 * math.log(1663200) / 7 + 0.5 * math.log(2)) / 2  # 3.242770
    loss = hard_mining_bce(logits, targets, weights, hard_fraction=0.7)
    assert loss.item() == pytest.approx(expected, rel=1e-12)
    assert loss.item() == pytest.approx(3.242770, abs=1e-6)


def test_fraction_one_is_the_plain_class_weighted_bce_mean():
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(6, 4, generator=generator)
    targets = (torch.rand(6, 4, generator=generator) < 0.5).float()
    weights = torch.tensor([0.5, 1.0, 1.5, 1.0])
    expected = F.binary_cross_entropy_with_logits(logits, targets, weight=weights)
    loss = hard_mining_bce(logits, targets, weights, hard_fraction=1.0)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)


def test_only_the_kept_hard_samples_receive_gradient():
    order, logits, targets = ten_samples_with_losses_log_2_to_log_11()
    logits.requires_grad_(True)
    hard_mining_bce(logits, targets, torch.ones(2), hard_fraction=0.7).backward()
    row_has_gradient = logits.grad.abs().sum(dim=1) > 0
    # The three easiest samples are i = 1, 2, 3 (losses ln 2, ln 3, ln 4).
    assert row_has_gradient.tolist() == (order > 3).tolist()


def test_hard_mining_names_mismatched_shapes():
    with pytest.raises(ValueError, match="class_weights must have shape"):
        hard_mining_bce(torch.zeros(2, 3), torch.zeros(2, 3), torch.ones(4))
    with pytest.raises(ValueError, match="logits and targets"):
        hard_mining_bce(torch.zeros(2, 3), torch.zeros(2, 4), torch.ones(3))
