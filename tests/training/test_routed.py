"""Training a routed model folder (train_model.py --routed): each member trained as a model of its
recipe would be, the folder written with the routes, and the challenges' functions routing records."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from seecgnet.io.records import read_record
from seecgnet.io.synthetic import write_synthetic_dataset, write_synthetic_record
from seecgnet.models.settings import NetworkSettings
from seecgnet.trained.decision import DecisionRule
from seecgnet.trained.folder import MODEL_FILE
from seecgnet.trained.routes import is_routed, member_folder, read_routed_manifest
from seecgnet.trained.settings import Settings, SettingsError, TrainSettings, any_leads
from seecgnet.training.routed import DEFAULT_ROUTES, load_routes, train_routed_folder
from team_code import load_12ECG_model, load_model, run_12ECG_classifier, run_model
from tests.paths import ROOT

TINY = Settings(
    network=NetworkSettings.small(),
    training=TrainSettings(epochs=1, batch_size=4, learning_rate=1e-2, device="cpu"),
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("routed_training")
    write_synthetic_dataset(root / "data", 12, seed=2)
    report = train_routed_folder(
        root / "data", root / "model", TINY, DEFAULT_ROUTES, progress=False
    )
    assert report.n_records == 12 and len(report.best_epochs) == 2  # one network per member
    return root / "model"


def test_a_routed_training_writes_every_member_with_its_recipe(trained: Path) -> None:
    assert is_routed(trained)
    table = read_routed_manifest(trained).table
    assert table.routes["12"].members == ("limb",)
    assert table.routes["2"].members == ("any",)
    reduced = Settings.load(member_folder(trained, "any") / "settings.json")
    assert reduced.network == any_leads(TINY).network
    assert reduced.decision.rule is DecisionRule.PER_LEAD_SET and reduced.decision.lead_set_divisors
    limb = Settings.load(member_folder(trained, "limb") / "settings.json")
    assert limb.signal.complete_limb_leads and not limb.network.lead_presence
    # no staging or checkpoint folder is left beside the model
    assert sorted(p.name for p in trained.parent.iterdir()) == ["data", "model"]


def test_team_code_routes_records_of_both_challenges(trained: Path, tmp_path: Path) -> None:
    header = write_synthetic_record(tmp_path, "TWO", lead_order=("I", "II"), seed=4)
    record = read_record(header)
    expected = load_model(str(trained), ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2",
                                         "V3", "V4", "V5", "V6"])  # fmt: skip
    two = load_model(str(trained), ["I", "II"])
    codes, labels, probabilities = run_model(two, header.read_text(), read_record_matrix(header))
    routed = load_12ECG_model(str(trained))
    direct = routed.predictor.predict_record(record)
    np.testing.assert_allclose(probabilities, direct.probabilities, rtol=1e-6)
    np.testing.assert_array_equal(labels, direct.labels.astype(int))
    header_lines = header.read_text().splitlines()
    labels_2020, probabilities_2020, _ = run_12ECG_classifier(
        read_record_matrix(header), header_lines, routed
    )
    np.testing.assert_allclose(probabilities_2020, direct.probabilities, rtol=1e-6)
    np.testing.assert_array_equal(labels_2020, labels)
    assert codes == list(expected.classes)


def read_record_matrix(header: Path) -> np.ndarray:
    import scipy.io

    return scipy.io.loadmat(header.with_suffix(".mat"))["val"]


def test_routes_naming_a_member_not_trained_are_refused_before_training(tmp_path: Path) -> None:
    routes = dict(DEFAULT_ROUTES, **{"2": {"members": ["distilled"]}})
    (tmp_path / "routes.json").write_text(json.dumps(routes))
    with pytest.raises(SettingsError, match="distilled"):
        load_routes(tmp_path / "routes.json")


def test_train_model_refuses_routes_without_routed(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "train_model.py", "data", str(tmp_path / "m"), "--routes", "r.json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert run.returncode == 2 and "--routes goes with --routed" in run.stderr
    assert not (tmp_path / "m" / MODEL_FILE).exists()


def test_an_unfinished_routed_run_is_continued_only_with_resume(tmp_path: Path) -> None:
    from seecgnet.training.checkpoint import CHECKPOINT_NAME, CheckpointError, checkpoint_folder

    write_synthetic_dataset(tmp_path / "data", 4, seed=2)
    model = tmp_path / "model"
    with pytest.raises(CheckpointError, match="nothing to resume"):
        train_routed_folder(tmp_path / "data", model, TINY, DEFAULT_ROUTES, resume=True)
    member = checkpoint_folder(model) / "member_any_1"  # a routed run's second member, cut off
    member.mkdir(parents=True)
    (member / CHECKPOINT_NAME).write_bytes(b"cut off")
    with pytest.raises(CheckpointError, match="holds an unfinished run: add --resume"):
        train_routed_folder(tmp_path / "data", model, TINY, DEFAULT_ROUTES)
    assert (member / CHECKPOINT_NAME).read_bytes() == b"cut off" and not model.exists()


def test_a_routed_training_reads_the_codes_of_a_labels_file(tmp_path: Path) -> None:
    from seecgnet.io.labels import read_labels

    headers = write_synthetic_dataset(tmp_path / "data", 6, seed=2)
    rows = [f'{h.stem},"{",".join(read_record(h).dx_codes)}"' for h in headers[:4]]
    (tmp_path / "labels.csv").write_text("record,dx\n" + "\n".join(rows) + "\n")
    for header in headers:  # the records' own codes gone: only the labels file gives them
        lines = header.read_text().splitlines()
        header.write_text("\n".join(line for line in lines if not line.startswith("#Dx")) + "\n")
    labels = read_labels(tmp_path / "labels.csv")
    report = train_routed_folder(
        tmp_path / "data", tmp_path / "model", TINY, DEFAULT_ROUTES, progress=False, labels=labels
    )
    assert (report.n_records, report.n_skipped) == (4, 2)
