"""Prediction batched across records: the same probabilities as one record at a time, in order."""

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from seecgnet.challenge.classes import load_scored_classes
from seecgnet.challenge.outputs import load_outputs
from seecgnet.data.dataset import load_store
from seecgnet.data.signals import AgeStatistics, SignalSettings
from seecgnet.inference.driver import predict_records
from seecgnet.inference.loading import load_model
from seecgnet.inference.prediction import (
    EnsembleRule,
    NetworkInput,
    Predictor,
    lead_set_probabilities,
)
from seecgnet.io.records import Sex, find_records, read_record
from seecgnet.io.reduced_leads import LEAD_SETS_2021, keep_leads
from seecgnet.models.registry import build_network
from seecgnet.models.settings import NetworkSettings
from seecgnet.trained.decision import DecisionSettings
from tests.paths import ROOT

SHARED = ROOT.parent / "shared" / "data" / "cinc2020"
CLASSES = load_scored_classes()
SIGNAL = SignalSettings()
SECONDS = SIGNAL.fs_hz


class LeadMeans(nn.Module):
    """A stand-in network whose logits are plain functions of the window: the mean of each lead,
    the largest sample and the age feature, tiled to one logit per class."""

    def __init__(self, scale: float = 1.0) -> None:
        super().__init__()
        self.scale = scale
        self.batch_sizes: list[int] = []

    def forward(self, x: torch.Tensor, demographics: torch.Tensor) -> torch.Tensor:
        self.batch_sizes.append(x.shape[0])
        features = torch.cat(
            [x.mean(dim=3)[:, 0], x.amax(dim=(1, 2, 3))[:, None], demographics[:, :1]], dim=1
        )  # (B, 12 + 1 + 1)
        return self.scale * torch.cat([features, features[:, :10]], dim=1)  # (B, 24)


def predictor(networks: list[nn.Module], windows_per_batch: int = 4, **options) -> Predictor:
    return Predictor(
        networks,
        CLASSES,
        SIGNAL,
        DecisionSettings(),
        AgeStatistics(),
        windows_per_batch=windows_per_batch,
        **options,
    )


def signals(seconds: list[float], seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(12, round(s * SECONDS))).astype(np.float32) for s in seconds]


LENGTHS_S = [10.0, 6.0, 37.3, 10.0, 80.0, 12.5, 10.0]  # 1, 1, 7, 1, 15, 2, 1 windows


def test_batched_records_get_their_one_at_a_time_probabilities_in_input_order():
    model = predictor([LeadMeans()])
    items = [
        (i, model.network_input(signal, 40.0 + i, Sex.FEMALE))
        for i, signal in enumerate(signals(LENGTHS_S))
    ]
    outcomes = list(model.predict_stream(items))
    assert [o.tag for o in outcomes] == list(range(len(LENGTHS_S)))
    for (_, prepared), outcome in zip(items, outcomes, strict=True):
        alone = model.record_probabilities(prepared.signal, 40.0 + outcome.tag, Sex.FEMALE)
        np.testing.assert_allclose(outcome.probabilities, alone, rtol=0, atol=1e-6)


def test_batches_have_the_full_shape_and_only_the_last_is_padded_to_a_power_of_two():
    network = LeadMeans()
    model = predictor([network], windows_per_batch=8)
    items = [(i, model.network_input(s, 50.0, Sex.MALE)) for i, s in enumerate(signals(LENGTHS_S))]
    list(model.predict_stream(items))
    # 28 windows: three full batches of 8, then 4 windows in a batch of 4
    assert network.batch_sizes == [8, 8, 8, 4]
    network.batch_sizes.clear()
    list(model.predict_stream(items[:2] + items[3:4]))  # 3 windows, padded to 4
    assert network.batch_sizes == [4]


def test_records_without_input_pass_through_in_their_place():
    model = predictor([LeadMeans()])
    prepared = [model.network_input(s, 60.0, Sex.UNKNOWN) for s in signals([10.0, 30.0])]
    items = [("a", prepared[0]), ("unreadable", None), ("b", prepared[1]), ("last", None)]
    outcomes = list(model.predict_stream(items))
    assert [o.tag for o in outcomes] == ["a", "unreadable", "b", "last"]
    assert outcomes[1].probabilities is None and outcomes[1].network_error is None
    assert outcomes[0].probabilities.shape == (len(CLASSES),)


def test_a_batch_that_fails_in_the_network_fails_only_the_records_in_it():
    class FailsSecondBatch(LeadMeans):
        def forward(self, x: torch.Tensor, demographics: torch.Tensor) -> torch.Tensor:
            if len(self.batch_sizes) == 1:
                self.batch_sizes.append(x.shape[0])
                raise RuntimeError("out of memory")
            return super().forward(x, demographics)

    model = predictor([FailsSecondBatch()], windows_per_batch=2)
    # windows per record: 1, 1 | 1, 3 (the second batch holds record 2 and the first of record 3)
    items = [
        (i, model.network_input(s, 50.0, Sex.MALE)) for i, s in enumerate(signals([8, 9, 10, 20]))
    ]
    outcomes = list(model.predict_stream(items))
    assert [o.probabilities is not None for o in outcomes] == [True, True, False, False]
    assert all(isinstance(o.network_error, RuntimeError) for o in outcomes[2:])


@pytest.mark.parametrize("rule", [EnsembleRule.MEAN, EnsembleRule.UNION])
def test_ensembles_combine_members_alike_batched_and_alone(rule):
    model = predictor([LeadMeans(1.0), LeadMeans(-2.0)], ensemble=rule)
    items = [(i, model.network_input(s, 30.0, Sex.MALE)) for i, s in enumerate(signals([25, 10]))]
    for (_, prepared), outcome in zip(items, model.predict_stream(items), strict=True):
        alone = model.record_probabilities(prepared.signal, 30.0, Sex.MALE)
        np.testing.assert_allclose(outcome.probabilities, alone, rtol=0, atol=1e-6)


@pytest.mark.parametrize("lengths_s", [LENGTHS_S, LENGTHS_S[:-1]])  # 28 windows, and 27: the
def test_a_real_network_gives_the_same_probabilities_in_batches_as_alone(lengths_s):  # last padded
    torch.manual_seed(0)
    network = build_network(NetworkSettings.small())
    model = predictor([network], windows_per_batch=8)
    items = [
        (i, model.network_input(s, 70.0, Sex.FEMALE)) for i, s in enumerate(signals(lengths_s))
    ]
    for (_, prepared), outcome in zip(items, model.predict_stream(items), strict=True):
        alone = model.record_probabilities(prepared.signal, 70.0, Sex.FEMALE)
        np.testing.assert_allclose(outcome.probabilities, alone, rtol=0, atol=1e-5)


@pytest.mark.slow  # 295 records through the full network twice: 30 s on our shared 2-core machine
@pytest.mark.skipif(not SHARED.is_dir(), reason="the shared challenge records are absent")
def test_the_driver_and_one_record_at_a_time_agree_on_every_shared_record(tmp_path):
    loaded = load_model(ROOT / "model")
    headers = find_records(SHARED)
    summary = predict_records(loaded, headers, tmp_path / "out", progress=False, workers=2)
    assert summary.n_failed == 0 and summary.n_records == len(headers) == 295
    written = load_outputs([tmp_path / "out" / f"{h.stem}.csv" for h in headers], CLASSES)
    for row, header in enumerate(headers):
        # the bundled model is routed: each record alone goes through its route too
        alone = loaded.predictor.predict_record(read_record(header)).probabilities
        np.testing.assert_allclose(
            written.scalar[row], alone, rtol=0, atol=1e-5, err_msg=header.name
        )


def test_network_input_holds_the_signal_and_the_demographic_features():
    model = predictor([LeadMeans()])
    signal = signals([10.0])[0]
    prepared = model.network_input(signal, float("nan"), Sex.MALE)
    assert isinstance(prepared, NetworkInput) and prepared.signal is signal
    np.testing.assert_array_equal(prepared.demographics, [0, 1, 1, 0, 0])


@pytest.mark.parametrize("computed", [False, True], ids=["as recorded", "limb leads computed"])
def test_a_stores_records_cut_to_a_lead_set_read_as_records_holding_only_those_leads(computed):
    """What the per_lead_set rule is tuned on (store records cut down in memory) is what the
    driver reads from a reduced-lead record, and each lead set's probabilities are their own."""
    signal_settings = dataclasses.replace(SIGNAL, complete_limb_leads=computed)
    store, _ = load_store(ROOT / "examples", CLASSES, signal_settings)
    model = Predictor([LeadMeans()], CLASSES, signal_settings, DecisionSettings(), AgeStatistics())
    indices = list(range(len(store)))
    by_set = lead_set_probabilities(model, store, indices)
    assert list(by_set) == list(LEAD_SETS_2021)
    np.testing.assert_array_equal(by_set["12"], model.store_probabilities(store, indices))
    for name, leads in LEAD_SETS_2021.items():
        for i in indices:
            record = read_record(ROOT / "examples" / f"{store.names[i]}.hea")
            alone = model.predict_record(keep_leads(record, leads)).probabilities
            np.testing.assert_allclose(by_set[name][i], alone, rtol=0, atol=1e-5, err_msg=name)
    assert not np.allclose(by_set["2"], by_set["12"])
    assert np.allclose(by_set["2"], by_set["6"], atol=1e-4) == computed
