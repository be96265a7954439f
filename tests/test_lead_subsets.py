"""One network for any lead subset, end to end: the recipe trains with the lead presence, and the
driver and one record at a time tell it the leads each header lists, by name."""

import dataclasses

import numpy as np
import pytest

from seecgnet.challenge.classes import load_scored_classes
from seecgnet.challenge.outputs import load_outputs
from seecgnet.data.dataset import prepare_signal
from seecgnet.data.signals import lead_presence
from seecgnet.inference.driver import predict_records
from seecgnet.inference.loading import load_model
from seecgnet.io.records import read_record
from seecgnet.io.reduced_leads import LEAD_SETS_2021, write_reduced_records
from seecgnet.io.synthetic import write_synthetic_dataset
from seecgnet.models.settings import NetworkSettings
from seecgnet.trained.settings import Settings, TrainSettings, any_leads
from seecgnet.training.data_folder import train_folder

CLASSES = load_scored_classes()
# --any-leads (the presence input, lead subsets in half of the windows, limb leads computed from
# two) with a tiny network
RECIPE = any_leads(
    Settings(
        network=NetworkSettings.small(),
        training=TrainSettings(epochs=1, batch_size=4, learning_rate=1e-2),
    )
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lead_subsets")
    write_synthetic_dataset(folder / "data", 12, seed=5)
    train_folder(folder / "data", folder / "model", RECIPE, progress=False)
    return folder


def test_one_epoch_with_any_leads_writes_a_model_that_takes_the_lead_presence(trained):
    assert RECIPE.signal.lead_draw.subset_probability > 0
    loaded = load_model(trained / "model")
    assert loaded.settings == RECIPE
    assert loaded.predictor.lead_presence


@pytest.mark.parametrize("lead_set", ["6", "2"])
def test_the_driver_and_one_record_at_a_time_tell_the_network_the_leads_the_header_lists(
    trained, lead_set, tmp_path
):
    loaded = load_model(trained / "model")
    headers = sorted((trained / "data").glob("*.hea"))[:4]
    reduced = write_reduced_records(headers, LEAD_SETS_2021[lead_set], tmp_path / "records")
    predict_records(loaded, reduced, tmp_path / "out", progress=False)
    written = load_outputs([tmp_path / "out" / f"{h.stem}.csv" for h in reduced], CLASSES)
    listed = lead_presence(LEAD_SETS_2021[lead_set])
    for row, header in enumerate(reduced):
        record = read_record(header)
        alone = loaded.predictor.predict_record(record).probabilities
        np.testing.assert_allclose(written.scalar[row], alone, rtol=0, atol=1e-5)
        signal = prepare_signal(record, loaded.settings.signal)
        told = loaded.predictor.record_probabilities(signal, record.age, record.sex, listed)
        np.testing.assert_allclose(alone, told, rtol=0, atol=1e-6)
        # told that every lead is there, the network would read the absent ones as flat leads
        flat = loaded.predictor.record_probabilities(
            signal, record.age, record.sex, np.ones(12, bool)
        )
        assert not np.allclose(alone, flat, atol=1e-6)


def test_a_listed_lead_recorded_flat_is_absent_as_in_training(trained):
    """Training reads prepared records, which keep no lead names: a lead of 0 mV throughout is
    absent there, and the driver tells the network the same of a listed lead recorded flat."""
    loaded = load_model(trained / "model")
    record = read_record(sorted((trained / "data").glob("*.hea"))[0])
    flat_v6 = dataclasses.replace(record, signal=record.signal.copy())
    flat_v6.signal[11] = 0.0  # V6 listed in the header, recorded flat
    signal = prepare_signal(flat_v6, loaded.settings.signal)
    by_name = loaded.predictor.predict_record(flat_v6).probabilities
    without_v6 = np.ones(12, bool)
    without_v6[11] = False
    told_absent = loaded.predictor.record_probabilities(signal, record.age, record.sex, without_v6)
    np.testing.assert_allclose(by_name, told_absent, rtol=0, atol=1e-6)
    told_present = loaded.predictor.record_probabilities(
        signal, record.age, record.sex, np.ones(12, bool)
    )
    assert not np.allclose(by_name, told_present, atol=1e-6)  # the presence input tells them apart
    # as a prepared record of a store is read (no names: the all-zero lead is absent)
    store_like = loaded.predictor.record_probabilities(signal, record.age, record.sex)
    np.testing.assert_allclose(by_name, store_like, rtol=0, atol=1e-6)


@pytest.fixture(scope="module")
def trained_without_limb_leads(trained):
    signal = dataclasses.replace(RECIPE.signal, complete_limb_leads=False)
    train_folder(
        trained / "data",
        trained / "no_limb_model",
        dataclasses.replace(RECIPE, signal=signal),
        progress=False,
    )
    return trained / "no_limb_model"


def test_with_limb_leads_computed_the_driver_reads_2_leads_as_their_6_lead_version(
    trained, trained_without_limb_leads, tmp_path
):
    assert RECIPE.signal.complete_limb_leads  # --any-leads computes them
    headers = sorted((trained / "data").glob("*.hea"))[:4]
    reduced_sets = {
        s: write_reduced_records(headers, LEAD_SETS_2021[s], tmp_path / s) for s in ("6", "2")
    }
    answers = {}
    for folder in (trained / "model", trained_without_limb_leads):
        loaded = load_model(folder)
        for lead_set, reduced in reduced_sets.items():
            out = tmp_path / f"{folder.name}_{lead_set}"
            predict_records(loaded, reduced, out, progress=False)
            written = load_outputs([out / f"{h.stem}.csv" for h in reduced], CLASSES).scalar
            alone = [loaded.predictor.predict_record(read_record(h)).probabilities for h in reduced]
            np.testing.assert_allclose(written, alone, rtol=0, atol=1e-5)
            answers[folder.name, lead_set] = written
    # the computed limb leads differ from the stored ones by the stored values' rounding at most
    np.testing.assert_allclose(answers["model", "2"], answers["model", "6"], atol=2e-3)
    assert not np.allclose(answers["no_limb_model", "2"], answers["no_limb_model", "6"], atol=2e-3)
