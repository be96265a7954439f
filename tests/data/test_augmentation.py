"""Training augmentations beyond the paper's: lead subsets for one network of any leads, and the
imprint of other recorders."""

import dataclasses

import numpy as np
import pytest
import torch

from seecgnet.challenge.classes import load_scored_classes
from seecgnet.data.augmentation import (
    draw_lead_subset,
    recorder_effects,
    stretched_length,
    to_length,
)
from seecgnet.data.dataset import TrainingWindows, load_store
from seecgnet.data.signals import (
    N_DEMOGRAPHICS,
    AgeStatistics,
    LeadDrawSettings,
    RecorderSettings,
    SignalSettings,
    lead_presence,
)
from seecgnet.io.reduced_leads import LEAD_SETS_2021
from seecgnet.io.synthetic import write_synthetic_record

REDUCED = {tuple(lead_presence(LEAD_SETS_2021[s])) for s in ("6", "4", "3", "2")}


def draws(settings: LeadDrawSettings, n: int = 400) -> list[np.ndarray | None]:
    rng = np.random.default_rng(0)
    return [draw_lead_subset(settings, rng) for _ in range(n)]


def test_no_subset_is_drawn_at_probability_zero_and_the_generator_is_left_alone():
    rng = np.random.default_rng(0)
    assert draw_lead_subset(LeadDrawSettings(), rng) is None
    assert rng.random() == np.random.default_rng(0).random()  # nothing was drawn


def test_subsets_are_the_2021_sets_or_random_ones_in_the_set_shares():
    drawn = draws(LeadDrawSettings(subset_probability=0.5, random_share=0.5))
    subsets = [d for d in drawn if d is not None]
    assert 0.4 < len(subsets) / len(drawn) < 0.6  # all 12 leads in about half of the windows
    of_2021 = [d for d in subsets if tuple(d) in REDUCED]
    assert 0.35 < len(of_2021) / len(subsets) < 0.7  # a random subset may match a 2021 set
    assert {tuple(d) for d in of_2021} == REDUCED  # each of the four sets comes up
    assert all(1 <= d.sum() <= 11 for d in subsets)
    only_2021 = draws(LeadDrawSettings(subset_probability=1.0, random_share=0.0))
    assert all(tuple(d) in REDUCED for d in only_2021)


def test_lead_presence_goes_by_name_without_case_and_in_standard_order():
    present = lead_presence(["ii", "I", "V2"])
    assert present.tolist() == [True, True] + [False] * 5 + [True] + [False] * 4


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("records")
    write_synthetic_record(folder, "A0001", seed=1)
    write_synthetic_record(folder, "A0002", lead_order=("I", "II", "V1"), seed=2)  # 3 leads
    return load_store(folder, load_scored_classes(), SignalSettings())[0]


def test_training_windows_tell_the_network_which_leads_are_present(store):
    signal = SignalSettings(lead_draw=LeadDrawSettings(subset_probability=1.0))
    windows = TrainingWindows(store, [0, 1], signal, AgeStatistics(), 0, lead_presence=True)
    three_leads = lead_presence(["I", "II", "V1"])
    for epoch in range(6):
        windows.set_epoch(epoch)
        for item, recorded in ((0, np.ones(12, bool)), (1, three_leads)):
            window, side, _ = windows[item]
            present = side[N_DEMOGRAPHICS:].numpy().astype(bool)
            assert side.shape == (N_DEMOGRAPHICS + 12,)
            assert not (present & ~recorded).any()  # a lead the record lacks is never present
            assert present.sum() < recorded.sum() or item == 1  # a subset of 12 is drawn
            assert (window[0, ~present] == 0).all()  # an absent lead's row is zeros
            assert (window[0, present] != 0).any(dim=1).all()


def test_without_the_presence_input_the_windows_keep_their_side_input_and_leads(store):
    windows = TrainingWindows(store, [0], SignalSettings(), AgeStatistics(), 0)
    window, side, _ = windows[0]
    assert side.shape == (N_DEMOGRAPHICS,)
    assert (window[0] != 0).any(dim=1).all()


def test_each_recorder_effect_changes_the_window_and_none_at_probability_zero():
    rng = np.random.default_rng(0)
    window = rng.normal(size=(12, 5000)).astype(np.float32)
    settings = SignalSettings()
    assert recorder_effects(window, settings, rng) is window
    for name in ("gain", "wander", "powerline", "emg", "band"):
        recorder = RecorderSettings(**{f"{name}_probability": 1.0})
        changed = recorder_effects(window, dataclasses.replace(settings, recorder=recorder), rng)
        assert changed.shape == window.shape and changed.dtype == np.float32
        assert not np.allclose(changed, window), name


def test_a_stretched_window_is_cut_longer_or_shorter_and_brought_back_to_length():
    settings = SignalSettings(recorder=RecorderSettings(stretch_probability=1.0))
    rng = np.random.default_rng(0)
    lengths = [stretched_length(settings, rng) for _ in range(100)]
    assert 4500 <= min(lengths) < 5000 < max(lengths) <= 5500
    ramp = np.tile(np.linspace(0.0, 1.0, 5500, dtype=np.float32), (12, 1))
    squeezed = to_length(ramp, 5000)
    assert squeezed.shape == (12, 5000)
    np.testing.assert_allclose(squeezed[:, [0, -1]], [[0.0, 1.0]] * 12, atol=1e-6)


def test_paired_windows_hold_the_whole_window_and_a_subset_of_the_same_one(store):
    signal = SignalSettings()  # subset_probability 0: a pair still always draws a subset
    paired = TrainingWindows(store, [0], signal, AgeStatistics(), 0, True, paired=True)
    single = TrainingWindows(store, [0], signal, AgeStatistics(), 0, lead_presence=True)
    for epoch in range(4):
        paired.set_epoch(epoch)
        single.set_epoch(epoch)
        whole, whole_side, cut, cut_side, targets = paired[0]
        window, side, labels = single[0]
        assert torch.equal(whole, window) and torch.equal(whole_side, side)  # the same draws
        assert torch.equal(targets, labels)
        present = cut_side[N_DEMOGRAPHICS:].numpy().astype(bool)
        assert 0 < present.sum() < 12
        assert torch.equal(cut[0, present], whole[0, present])  # the same window, cut down
        assert (cut[0, ~present] == 0).all()
