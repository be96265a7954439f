"""The six limb leads from any two: exact for leads that obey Einthoven's and Goldberger's
relations, the recorded leads kept, and nothing computed from fewer than two; in training windows
as at prediction."""

import itertools
from pathlib import Path

import numpy as np
import pytest

from seecgnet.challenge.classes import load_scored_classes
from seecgnet.data.dataset import TrainingWindows, load_store, prepare_leads
from seecgnet.data.limb_leads import LIMB_LEADS, complete_limb_leads
from seecgnet.data.signals import (
    N_DEMOGRAPHICS,
    AgeStatistics,
    LeadDrawSettings,
    SignalSettings,
    lead_presence,
)
from seecgnet.io.records import STANDARD_LEADS, read_record, to_standard_leads
from seecgnet.io.reduced_leads import LEAD_SETS_2021, write_reduced_records
from seecgnet.io.synthetic import write_synthetic_record

CINC2020 = Path(__file__).resolve().parents[3] / "shared" / "data" / "cinc2020"
LIMB = [STANDARD_LEADS.index(lead) for lead in LIMB_LEADS]


def twelve_leads(seed: int = 0, n: int = 300) -> np.ndarray:
    """A (12, n) signal whose limb leads obey the relations, as an electrocardiograph's do."""
    rng = np.random.default_rng(seed)
    one, two = rng.normal(size=(2, n))
    signal = rng.normal(size=(12, n)).astype(np.float32)
    signal[:6] = [one, two, two - one, -(one + two) / 2, one - two / 2, two - one / 2]
    return signal


@pytest.mark.parametrize("pair", list(itertools.combinations(range(6), 2)))
def test_any_two_limb_leads_give_the_other_four_exactly(pair):
    full = twelve_leads()
    present = np.ones(12, bool)
    present[[i for i in range(6) if i not in pair]] = False
    given = np.where(present[:, None], full, 0.0).astype(np.float32)
    completed, now_present = complete_limb_leads(given, present)
    assert now_present.all()
    np.testing.assert_allclose(completed, full, rtol=0, atol=1e-5)
    assert completed.dtype == np.float32
    assert not given[~present].any()  # the input is left as it was


def test_the_recorded_leads_are_kept_and_the_missing_ones_fit_all_of_them():
    full = twelve_leads(1)
    noisy = full + np.random.default_rng(2).normal(0, 0.01, full.shape).astype(np.float32)
    present = lead_presence(["I", "II", "III", "V1", "V2", "V3", "V4", "V5", "V6"])
    completed, _ = complete_limb_leads(np.where(present[:, None], noisy, 0), present)
    np.testing.assert_array_equal(completed[present], noisy[present])
    np.testing.assert_allclose(completed[3:6], full[3:6], atol=0.03)


@pytest.mark.parametrize("leads", [["I", "V1", "V2"], ["aVF"], [], list(STANDARD_LEADS)])
def test_nothing_is_computed_from_fewer_than_two_limb_leads_or_when_none_is_missing(leads):
    present = lead_presence(leads)
    signal = np.where(present[:, None], twelve_leads(3), 0).astype(np.float32)
    completed, now_present = complete_limb_leads(signal, present)
    np.testing.assert_array_equal(completed, signal)
    np.testing.assert_array_equal(now_present, present)


def test_a_2_lead_record_is_read_as_its_6_lead_version_when_the_settings_say_so(tmp_path):
    header = write_synthetic_record(tmp_path / "full", "A0001", seed=4)
    reduced = {
        n: read_record(write_reduced_records([header], LEAD_SETS_2021[n], tmp_path / n)[0])
        for n in ("6", "2")
    }
    on = SignalSettings(complete_limb_leads=True)
    six, six_present = prepare_leads(reduced["6"], on)
    two, two_present = prepare_leads(reduced["2"], on)
    np.testing.assert_array_equal(two_present, six_present)
    # the stored leads are whole multiples of the gain, so a computed lead may differ by a step
    np.testing.assert_allclose(two, six, rtol=0, atol=0.01)
    off, off_present = prepare_leads(reduced["2"], SignalSettings())
    assert off_present.sum() == 2 and not off[2:6].any()


def test_training_windows_cut_to_i_and_ii_hold_all_six_limb_leads(tmp_path):
    write_synthetic_record(tmp_path, "A0001", seed=6)
    store = load_store(tmp_path, load_scored_classes(), SignalSettings())[0]
    draw = LeadDrawSettings(subset_probability=1.0, random_share=0.0)
    # without the added noise, which is drawn per lead, the recorded limb leads obey the relations
    signal = SignalSettings(lead_draw=draw, complete_limb_leads=True, noise_probability=0.0)
    windows = TrainingWindows(store, [0], signal, AgeStatistics(), 0, lead_presence=True)
    seen = set()
    for epoch in range(12):
        windows.set_epoch(epoch)
        window, side, _ = windows[0]
        present = side[N_DEMOGRAPHICS:].numpy().astype(bool)
        assert present[:6].all()  # every 2021 reduced set holds two limb leads or more
        assert (window[0, ~present] == 0).all()
        limb = window[0, :6].numpy()
        np.testing.assert_allclose(limb[2], limb[1] - limb[0], atol=0.02)  # III = II - I
        seen.add(int(present.sum()))
    assert seen == {6, 7}  # 6 and 2 leads (six limb leads), 4 and 3 (six limb leads and V2)


@pytest.mark.skipif(
    not CINC2020.is_dir(), reason="the challenge records are not beside the project"
)
def test_on_real_records_the_computed_limb_leads_match_the_recorded_ones():
    for header in sorted(CINC2020.glob("*.hea"))[::30]:
        signal = to_standard_leads(read_record(header)).signal.astype(np.float32)
        present = lead_presence(["I", "II", *STANDARD_LEADS[6:]])
        completed, _ = complete_limb_leads(np.where(present[:, None], signal, 0), present)
        scale = max(float(np.abs(signal[LIMB]).max()), 0.1)
        assert np.abs(completed[2:6] - signal[2:6]).max() < 0.01 * scale, header.name
