"""The committed model in model/: it loads, predicts the same answer twice, and scores as recorded.

The expected labels and scores below were recorded from model/ when it was trained (see
model/README.md), by running this repository's driver and scorer on six shared records, one from
each source database (all 12-lead records: the `limb` network's route). The model saw these
records in training, so the figures check stability, not quality. Retraining model/ means
recording them again.
"""

import dataclasses
import shutil

import numpy as np
import pytest

from seecgnet.challenge.scoring import evaluate_12ECG_score
from seecgnet.inference.driver import predict_records
from seecgnet.inference.loading import load_model
from seecgnet.io.records import read_record
from seecgnet.io.reduced_leads import LEAD_SETS_2021, write_reduced_records
from seecgnet.models.registry import count_parameters
from seecgnet.trained.routes import is_routed, member_folder, read_routed_manifest
from seecgnet.trained.settings import Settings, with_limb_leads
from seecgnet.training.routed import DEFAULT_ROUTES, reduced_lead_recipe
from tests.paths import ROOT

MODEL = ROOT / "model"
SHARED = ROOT.parent / "shared" / "data" / "cinc2020"

EXPECTED_LABELS = {
    "A0001": ["713427006"],
    "E00002": ["426783006"],
    "HR00003": ["270492004", "426177001", "426783006"],
    "JS00001": ["164889003", "713427006", "284470004", "164934002"],
    "Q0001": ["427084000"],
    "S0001": [
        *("270492004", "164890007", "251146004", "164917005"),
        *("426783006", "427084000", "59931005"),
    ],
}
EXPECTED_AUROC = 0.9714285714285714
EXPECTED_F_MEASURE = 0.5277777777777778
EXPECTED_CHALLENGE_METRIC = 0.8279162956366872

needs_shared = pytest.mark.skipif(
    not SHARED.is_dir(), reason="the shared challenge records are absent"
)


def test_the_committed_model_routes_12_leads_to_the_limb_network_and_fewer_to_the_any_one():
    # a routed folder (train_model.py --routed): the default settings but for the file of MIT-BIH
    # pre-trained lead-shared layers both networks started from; `limb` computes missing limb
    # leads (the recipe shipped before), `any` reads any lead subset; the routes are the default
    # ones, chosen by cross-validation (model/README.md)
    assert is_routed(MODEL)
    table = read_routed_manifest(MODEL).table
    assert {name: route.members for name, route in table.routes.items()} == {
        name: tuple(route["members"]) for name, route in DEFAULT_ROUTES.items()
    }
    assert table.routes["12"].members == ("limb",) and table.routes["2"].members == ("any",)
    pretrained = dataclasses.replace(Settings().training, pretrained="mitdb_layers.pt")
    base = dataclasses.replace(Settings(), training=pretrained)
    expected = {"limb": with_limb_leads(base), "any": reduced_lead_recipe(base)}
    for name, parameters in (("limb", 731_020), ("any", 731_788)):
        member = load_model(member_folder(MODEL, name))
        tuned = dataclasses.replace(member.settings.decision, lead_set_divisors=None)
        assert dataclasses.replace(member.settings, decision=tuned) == expected[name], name
        assert len(member.predictor.networks) == 1
        assert count_parameters(member.predictor.networks[0]) == parameters
        assert member.manifest["n_training_records"] == 295
    assert not load_model(member_folder(MODEL, "limb")).predictor.lead_presence
    assert load_model(member_folder(MODEL, "any")).predictor.lead_presence
    size = sum(p.stat().st_size for p in MODEL.rglob("*") if p.is_file())
    assert size < 50 * 2**20


@needs_shared
def test_the_committed_model_gives_the_same_answer_twice():
    loaded = load_model(MODEL)
    for name in EXPECTED_LABELS:
        record = read_record(SHARED / f"{name}.hea")
        first = loaded.predictor.predict_record(record)
        second = loaded.predictor.predict_record(record)
        np.testing.assert_array_equal(first.probabilities, second.probabilities)
        np.testing.assert_array_equal(first.labels, second.labels)


@needs_shared
def test_the_committed_model_labels_and_scores_shared_records_as_recorded(tmp_path):
    loaded = load_model(MODEL)
    headers = [SHARED / f"{name}.hea" for name in EXPECTED_LABELS]
    predict_records(loaded, headers, tmp_path / "out", progress=False)
    (tmp_path / "labels").mkdir()
    for header in headers:
        shutil.copy(header, tmp_path / "labels")
    for name, codes in EXPECTED_LABELS.items():
        lines = (tmp_path / "out" / f"{name}.csv").read_text().splitlines()
        predicted = [
            c for c, v in zip(lines[1].split(","), lines[2].split(","), strict=True) if v == "1"
        ]
        assert predicted == codes, name
    scores = evaluate_12ECG_score(str(tmp_path / "labels"), str(tmp_path / "out"))
    assert scores[1] == pytest.approx(EXPECTED_AUROC, abs=1e-6)
    assert scores[6] == pytest.approx(EXPECTED_F_MEASURE, abs=1e-9)
    assert scores[-1] == pytest.approx(EXPECTED_CHALLENGE_METRIC, abs=1e-9)


@needs_shared
def test_the_committed_model_reads_leads_i_and_ii_as_all_six_limb_leads(tmp_path):
    # its 2- and 6-lead routes' network computes the limb leads a record lacks from two of them: a
    # 2-lead copy of a record gets the 6-lead copy's answer (up to the stored values' rounding),
    # not a flat-lead reading
    loaded = load_model(MODEL)
    headers = [SHARED / f"{name}.hea" for name in EXPECTED_LABELS]
    answers = {}
    for lead_set in ("6", "2"):
        reduced = write_reduced_records(headers, LEAD_SETS_2021[lead_set], tmp_path / lead_set)
        answers[lead_set] = np.stack(
            [loaded.predictor.predict_record(read_record(h)).probabilities for h in reduced]
        )
    np.testing.assert_allclose(answers["2"], answers["6"], atol=2e-3)
    # both go to the `any` network; without the limb leads computed it reads them otherwise
    member = loaded.predictor.members["any"]
    member.signal_settings = dataclasses.replace(member.signal_settings, complete_limb_leads=False)
    as_flat = [loaded.predictor.predict_record(read_record(h)).probabilities for h in reduced]
    assert not np.allclose(as_flat, answers["2"], atol=2e-3)
