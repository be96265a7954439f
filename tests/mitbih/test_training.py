"""The beat classifier's loss, class weights, epoch sampling and subject-adversarial head."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seecgnet.mitbih.adversary import GradientReversal, SubjectAdversary
from seecgnet.mitbih.beat_loss import (
    MIN_CLASS_BEATS,
    BeatTrainingError,
    LossParts,
    RRScaler,
    _rebased_batch,
    _training_rr,
    beat_class_weights,
    beat_loss,
    epoch_order,
)
from seecgnet.mitbih.beats import Beats, read_beats
from seecgnet.mitbih.network import beat_settings_for
from seecgnet.mitbih.rebasing import s_templates
from seecgnet.mitbih.rhythm import rr_feature_names
from seecgnet.mitbih.rhythm_expert import RhythmExpert, fit_rhythm_expert
from seecgnet.mitbih.settings import BeatSettings, BeatTrainSettings
from seecgnet.mitbih.training import predict_logits
from seecgnet.models.registry import build_network
from seecgnet.trained.settings import SettingsError
from tests.mitbih.records import rhythm, write_record

COUNTS = np.array([40_000, 900, 3_600, 400, 8])


def test_sqrt_weights_follow_the_counts_with_rare_classes_raised_to_the_floor():
    weights = beat_class_weights(COUNTS, "sqrt").numpy()
    np.testing.assert_allclose(weights[1] / weights[0], np.sqrt(40_000 / 900), rtol=1e-5)
    np.testing.assert_allclose(
        weights[4] / weights[0], np.sqrt(40_000 / MIN_CLASS_BEATS), rtol=1e-5
    )
    np.testing.assert_allclose(weights.mean(), 1.0, rtol=1e-6)
    inverse = beat_class_weights(COUNTS, "inverse").numpy()
    np.testing.assert_allclose(inverse[1] / inverse[0], 40_000 / 900, rtol=1e-5)
    np.testing.assert_allclose(beat_class_weights(COUNTS, "none").numpy(), 1.0)
    log_weights = beat_class_weights(COUNTS, "log").numpy()
    np.testing.assert_allclose(log_weights[1] / log_weights[0], np.log(40_000) / np.log(900))


def test_sampling_draws_the_classes_in_the_asked_proportions():
    labels = np.repeat(np.arange(3), [9_000, 900, 100])
    fit = np.arange(len(labels))
    rng = np.random.default_rng(0)
    balanced = BeatTrainSettings(sampling_power=1.0, epoch_beats=30_000)
    drawn = np.bincount(labels[epoch_order(fit, labels, balanced, rng)], minlength=3)
    np.testing.assert_allclose(drawn / drawn.sum(), 1 / 3, atol=0.02)
    half = BeatTrainSettings(sampling_power=0.5, epoch_beats=30_000)
    drawn = np.bincount(labels[epoch_order(fit, labels, half, rng)], minlength=3)
    expected = np.sqrt([9_000, 900, 100]) / np.sqrt([9_000, 900, 100]).sum()
    np.testing.assert_allclose(drawn / drawn.sum(), expected, atol=0.02)
    plain = epoch_order(fit, labels, BeatTrainSettings(), rng)
    np.testing.assert_array_equal(np.sort(plain), fit)  # every beat once


def test_focal_loss_spares_the_beats_already_right():
    logits = torch.tensor([[4.0, 0.0], [0.0, 0.5]])
    targets = torch.tensor([0, 0])
    weights = torch.ones(2)
    plain = [beat_loss(logits[k : k + 1], targets[k : k + 1], weights, 1.0) for k in range(2)]
    focal = [beat_loss(logits[k : k + 1], targets[k : k + 1], weights, 1.0, 2.0) for k in range(2)]
    assert focal[0] < 0.001 * plain[0]  # p = 0.98: (1 - p)^2 = 0.0003
    assert focal[1] > 0.3 * plain[1]  # p = 0.38: (1 - p)^2 = 0.39
    assert beat_loss(logits, targets, weights, 1.0) == pytest.approx(
        torch.nn.functional.cross_entropy(logits, targets).item()
    )


def test_settings_refuse_unknown_weighting_and_negative_strengths():
    with pytest.raises(SettingsError, match="class_weighting"):
        BeatTrainSettings(class_weighting="cubic")
    with pytest.raises(SettingsError, match="adversary_weight"):
        BeatTrainSettings(adversary_weight=-1.0)


def test_gradient_reversal_is_identity_forward_and_flips_the_gradient_back():
    x = torch.randn(3, 4, requires_grad=True)
    y = GradientReversal.apply(x, 0.5)
    torch.testing.assert_close(y, x)
    y.sum().backward()
    torch.testing.assert_close(x.grad, torch.full((3, 4), -0.5))


@pytest.mark.parametrize("architecture", ["seecgnet", "baseline"])
def test_record_head_reads_the_pooled_features_and_pushes_them_against_itself(architecture):
    torch.manual_seed(0)
    beat = BeatSettings()
    network = build_network(beat_settings_for(architecture, beat))
    model = SubjectAdversary(network, n_records=7).eval()  # no dropout: the same logits twice
    x, rr = torch.randn(5, 1, beat.n_rows, beat.window_samples), torch.randn(5, 8)
    logits, record_logits = model(x, rr)
    assert logits.shape == (5, 5) and record_logits.shape == (5, 7)
    torch.testing.assert_close(logits, network(x, rr))  # the head changes no beat logit

    def stem_gradient(record_loss) -> torch.Tensor:
        model.zero_grad()
        record_loss().sum().backward()
        return next(network.stem.parameters()).grad.clone()

    def through_the_reversal(scale: float):
        model.reversal_scale = scale
        return lambda: model(x, rr)[1]

    def plain():  # the same head on the same features, without the reversal
        network(x, rr)
        return model.head(model._features)

    torch.testing.assert_close(
        stem_gradient(through_the_reversal(2.0)), -2.0 * stem_gradient(plain)
    )
    assert model.head[0].weight.grad.abs().sum() > 0


def test_the_rhythm_expert_learns_timing_alone_and_is_frozen():
    rng = np.random.default_rng(0)
    labels = rng.choice(2, size=600, p=[0.8, 0.2])
    premature = np.where(labels == 1, 0.6, 1.0) + rng.normal(0, 0.05, 600)
    rr = torch.tensor(np.stack([premature, rng.normal(0, 1, 600)], axis=1), dtype=torch.float32)
    torch.manual_seed(5)
    before = torch.rand(3)
    torch.manual_seed(5)
    expert = fit_rhythm_expert(rr, torch.from_numpy(labels), torch.ones(2), 2, seed=0)
    torch.testing.assert_close(torch.rand(3), before)  # the caller's random state is untouched
    accuracy = (expert(rr).argmax(dim=1).numpy() == labels).mean()
    assert accuracy > 0.98
    assert not any(p.requires_grad for p in expert.parameters()) and not expert.training


def test_predictions_add_the_experts_logits_to_the_networks(tmp_path):
    times, symbols = rhythm(40, seed=0)
    write_record(tmp_path, "r", times, symbols, duration_s=times[-1] + 1.0)
    beats = read_beats(tmp_path, ["r"], BeatSettings(), progress=False)
    network = build_network(beat_settings_for("seecgnet", BeatSettings()))
    scaler = RRScaler.fit(beats.rr)
    indices = np.arange(len(beats))
    expert = fit_rhythm_expert(
        scaler(beats.rr), torch.from_numpy(beats.labels), torch.ones(5), 5, 0
    )
    plain = predict_logits(network, beats, indices, scaler)
    joined = predict_logits(network, beats, indices, scaler, expert)
    np.testing.assert_allclose(joined - plain, expert(scaler(beats.rr)).numpy(), atol=1e-5)


def test_s_by_timing_leaves_s_against_n_to_the_expert():
    expert = RhythmExpert(2, 5, s_by_timing=True)
    rr = torch.randn(4, 2)
    network_logits = torch.randn(4, 5)
    joined = expert.join(network_logits, rr)
    own = expert(rr)
    torch.testing.assert_close(joined[:, 1] - joined[:, 0], own[:, 1] - own[:, 0])
    torch.testing.assert_close(joined[:, 2:], network_logits[:, 2:] + own[:, 2:])
    free = RhythmExpert(2, 5)
    free.load_state_dict(expert.state_dict())
    torch.testing.assert_close(free.join(network_logits, rr), network_logits + own)
    with pytest.raises(SettingsError, match="rhythm expert"):
        BeatTrainSettings(s_by_timing=True)


def test_rebasing_in_training_moves_only_the_references_of_a_copy():
    names = rr_feature_names((60.0,), absolute=True)
    rr = np.ones((400, len(names)), dtype=np.float32)
    before, rng = rr.copy(), np.random.default_rng(0)
    moved, factors = _training_rr(rr, names, 0.5, rng)
    np.testing.assert_array_equal(rr, before)  # the beats' own features are untouched
    kept = [names.index(n) for n in ("pre_rr_s", "post_rr_s", "post_over_pre")]
    assert (moved[:, kept] == 1.0).all()
    ratio = moved[:, names.index("pre_over_median_60s")]
    assert 0.4 < (ratio > 1.0).mean() < 0.6 and ratio.max() <= 1 / 0.6 + 1e-5
    np.testing.assert_allclose(ratio, 1 / factors, rtol=1e-6)
    assert _training_rr(rr, names, 0.0, rng)[0] is rr
    with pytest.raises(BeatTrainingError, match="names"):
        _training_rr(rr, (), 0.5, rng)


def test_the_expert_weight_scales_what_the_expert_adds():
    expert = RhythmExpert(2, 5)
    rr, network_logits = torch.randn(4, 2), torch.randn(4, 5)
    expert.weight = 0.25
    torch.testing.assert_close(expert.join(network_logits, rr), network_logits + 0.25 * expert(rr))
    with pytest.raises(SettingsError, match="expert_weight"):
        BeatTrainSettings(expert_weight=-1.0)


def test_template_rebasing_makes_the_rows_against_the_records_s_beats():
    rng = np.random.default_rng(0)
    n, t = 200, 6
    labels = np.where(np.arange(n) % 4 == 0, 1, 0)  # 50 S beats in each of two records
    record_index = np.repeat([0, 1], n // 2)
    labels[record_index == 1] = 0  # record 1: none
    windows = rng.normal(size=(n, 4, t)).astype(np.float32)
    names = rr_feature_names((60.0,), absolute=False)
    beats = Beats(("a", "b"), windows, np.ones((n, len(names)), np.float32), labels, record_index)
    fit = np.arange(n)
    templates = s_templates(windows, labels, record_index, fit, 1, 2)
    np.testing.assert_allclose(templates[0], np.median(windows[labels == 1, :2], axis=0))
    assert np.isnan(templates[1]).all()
    parts = LossParts(None, torch.ones(5), np.zeros(2, np.int64), None, names, templates)
    config = BeatTrainSettings(rebase_share=1.0)
    images, rr = _rebased_batch(beats, fit, parts, config, np.random.default_rng(1))
    np.testing.assert_allclose(images[:100, 2:], windows[:100, :2] - templates[0], rtol=1e-6)
    np.testing.assert_array_equal(images[100:], windows[100:])  # no S template: rows kept
    np.testing.assert_array_equal(images[:, :2], windows[:, :2])
    assert (rr[:, names.index("pre_over_record")] > 1.0).all()
    np.testing.assert_array_equal(beats.labels, labels)  # labels and stored beats untouched
    assert (beats.rr == 1.0).all()
    with pytest.raises(SettingsError, match="rebase_share"):
        BeatTrainSettings(rebase_template=True)
    with pytest.raises(SettingsError, match="rebase_share"):
        BeatTrainSettings(rebase_runs=True)


def test_rebased_s_training_beats_can_be_given_runs():
    names = rr_feature_names((60.0,), absolute=False)
    rr = np.full((400, len(names)), 0.8, dtype=np.float32)
    rr[:, names.index("post_over_pre")] = 1.5
    is_s = np.arange(400) % 2 == 0
    moved, factors = _training_rr(rr, names, 0.5, np.random.default_rng(0), is_s)
    post_over_pre = moved[:, names.index("post_over_pre")]
    assert (post_over_pre[is_s & (factors < 1)] == 1.0).all()
    assert (post_over_pre[~(is_s & (factors < 1))] == 1.5).all()
