"""A routed model folder: each record goes to its route's members, the folder round trip, and a
lead set's model loading only the members it needs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import seecgnet.trained.folder as folder_module
from seecgnet.challenge.classes import load_scored_classes
from seecgnet.data.signals import AgeStatistics
from seecgnet.inference.driver import predict_folder
from seecgnet.inference.lead_set_model import load_lead_set_model
from seecgnet.inference.loading import describe, load_model
from seecgnet.inference.routed import RoutedPredictor
from seecgnet.io.records import read_record
from seecgnet.io.synthetic import write_synthetic_record
from seecgnet.models.registry import build_network
from seecgnet.models.settings import NetworkSettings
from seecgnet.trained.decision import DecisionRule, DecisionSettings
from seecgnet.trained.folder import MODEL_FILE, ModelFolderError, ModelSummary, save_model
from seecgnet.trained.routes import (
    OTHER,
    ROUTE_NAMES,
    is_routed,
    member_folder,
    read_routed_manifest,
    route_of_leads,
    save_routed_model,
)
from seecgnet.trained.settings import Settings, SettingsError, any_leads, with_limb_leads

CLASSES = load_scored_classes()
TINY = Settings(network=NetworkSettings.small())
# Each 2021 set alone to one member; every other set to the mean of both.
ROUTES = {
    "12": {"members": ["limb"]},
    "6": {"members": ["limb"]},
    "4": {"members": ["any"]},
    "3": {"members": ["any"]},
    "2": {"members": ["any"], "decision": {"rule": "fixed", "fixed_threshold": 0.3}},
    OTHER: {"members": ["limb", "any"]},
}


def save_member(folder: Path, settings: Settings, seed: int) -> Path:
    torch.manual_seed(seed)
    state = build_network(settings.network).state_dict()
    summary = ModelSummary(10, (1,), (0.25,))
    return save_model(folder, settings, CLASSES, AgeStatistics(60.0, 15.0), [state], summary)


@pytest.fixture(scope="module")
def routed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A routed folder of two small untrained members and copies of them as plain folders."""
    root = tmp_path_factory.mktemp("routed")
    made = {
        "limb": (with_limb_leads(TINY), 0),
        "any": (any_leads(TINY), 1),
    }
    members = {}
    for name, (settings, seed) in made.items():
        save_member(root / "plain" / name, settings, seed)  # the same weights, kept to compare
        members[name] = save_member(root / "staged" / name, settings, seed)
    return save_routed_model(root / "model", members, ROUTES, CLASSES)


def record_with(tmp_path: Path, leads: tuple[str, ...], name: str = "R1") -> Path:
    return write_synthetic_record(tmp_path, name, lead_order=leads, duration_s=12.0, seed=3)


def alone(folder: Path, header: Path) -> np.ndarray:
    return load_model(folder).predictor.predict_record(read_record(header)).probabilities


@pytest.mark.parametrize(
    ("leads", "members"),
    [
        (("I", "II"), ["any"]),
        (("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"), ["limb"]),
        (("I", "II", "III", "aVR", "aVL", "aVF"), ["limb"]),
        (("I", "V1"), ["limb", "any"]),  # no 2021 set: the other route, both members' mean
    ],
)
def test_a_record_goes_to_the_members_of_the_route_of_its_leads(
    routed: Path, tmp_path: Path, leads: tuple[str, ...], members: list[str]
) -> None:
    header = record_with(tmp_path, leads)
    prediction = load_model(routed).predictor.predict_record(read_record(header))
    plain = routed.parent / "plain"
    expected = np.mean([alone(plain / m, header) for m in members], axis=0)
    np.testing.assert_allclose(prediction.probabilities, expected, rtol=1e-6)
    other = {"limb", "any"} - set(members)
    for member in other:  # and not to the others, whose probabilities differ
        assert not np.allclose(prediction.probabilities, alone(plain / member, header))


def test_a_route_decides_by_its_own_rule(routed: Path, tmp_path: Path) -> None:
    prediction = load_model(routed).predictor.predict_record(
        read_record(record_with(tmp_path, ("I", "II")))
    )
    np.testing.assert_array_equal(prediction.labels, prediction.probabilities >= 0.3)


def test_a_lead_set_is_routed_whatever_its_order_and_a_larger_one_is_other() -> None:
    assert route_of_leads(("I", "II")) == "2"
    assert route_of_leads(("II", "I")) == "2"
    assert route_of_leads(("I", "II", "V1")) == OTHER


def test_the_driver_writes_each_record_as_its_route_predicts_it(
    routed: Path, tmp_path: Path
) -> None:
    headers = [
        record_with(tmp_path / "in", ("I", "II"), "TWO"),
        record_with(tmp_path / "in", ("I", "II", "III", "aVR", "aVL", "aVF"), "SIX"),
        record_with(tmp_path / "in", ("I", "V1"), "ODD"),
    ]
    predict_folder(routed, tmp_path / "in", tmp_path / "out", progress=False)
    loaded = load_model(routed)
    for header in headers:
        lines = (tmp_path / "out" / f"{header.stem}.csv").read_text().splitlines()
        written = np.array([float(v) for v in lines[3].split(",")])
        expected = loaded.predictor.predict_record(read_record(header)).probabilities
        np.testing.assert_allclose(written, expected, atol=1e-3)


def test_a_routed_folder_round_trips(routed: Path) -> None:
    assert is_routed(routed)
    manifest = read_routed_manifest(routed)
    assert set(manifest.table.routes) == set(ROUTE_NAMES)
    assert manifest.table.members == ("limb", "any")
    assert manifest.table.routes["2"].decision == DecisionSettings(
        rule=DecisionRule.FIXED, fixed_threshold=0.3
    )
    # a single member's route without a decision takes that member's own
    limb = Settings.load(member_folder(routed, "limb") / "settings.json").decision
    assert manifest.table.routes["12"].decision == limb
    # every member once, each an ordinary model folder
    assert sorted(p.name for p in (routed / "members").iterdir()) == ["any", "limb"]
    loaded = load_model(routed)
    assert isinstance(loaded.predictor, RoutedPredictor)
    assert "2: any, fixed" in describe(loaded)


def test_routes_naming_an_unknown_member_are_refused(tmp_path: Path) -> None:
    members = {"limb": save_member(tmp_path / "staged" / "limb", TINY, 0)}
    routes = {name: {"members": ["limb"]} for name in ROUTE_NAMES}
    routes["2"] = {"members": ["distilled"]}
    with pytest.raises(SettingsError, match="distilled"):
        save_routed_model(tmp_path / "model", members, routes, CLASSES)
    del routes["2"]
    with pytest.raises(SettingsError, match="missing"):
        save_routed_model(tmp_path / "model", members, routes, CLASSES)


def test_a_routed_folder_missing_a_member_is_a_model_folder_error(
    routed: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / MODEL_FILE).write_text((routed / MODEL_FILE).read_text())
    with pytest.raises(ModelFolderError, match="member 'limb'"):
        load_model(broken)


def test_a_lead_set_model_reads_only_its_routes_weight_files(
    routed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read = []
    original = folder_module._read_weights

    def counting(path: Path, network: torch.nn.Module) -> dict[str, torch.Tensor]:
        read.append(path.relative_to(routed).as_posix())
        return original(path, network)

    monkeypatch.setattr(folder_module, "_read_weights", counting)
    model = load_lead_set_model(routed, ["i", "ii"])
    assert read == ["members/any/weights.pt"]
    read.clear()
    load_lead_set_model(routed, ["I", "II", "III", "aVR", "aVL", "aVF"])
    assert read == ["members/limb/weights.pt"]
    read.clear()
    load_lead_set_model(routed, ["I", "V1"])
    assert sorted(read) == ["members/any/weights.pt", "members/limb/weights.pt"]
    monkeypatch.undo()
    # the set's route serves a record of the set, as the routed model does
    header = record_with(tmp_path, ("I", "II", "III", "aVR", "aVL", "aVF", "V1"))
    two = model.predict_record(read_record(header)).probabilities
    expected = alone(routed.parent / "plain" / "any", record_with(tmp_path, ("I", "II"), "R2"))
    np.testing.assert_allclose(two, expected, rtol=1e-6)


def test_a_format_1_folder_is_not_routed_and_loads_as_before(tmp_path: Path) -> None:
    folder = save_member(tmp_path / "plain", TINY, 0)
    assert not is_routed(folder)
    assert json.loads((folder / MODEL_FILE).read_text())["format"] == 1
    assert not isinstance(load_model(folder).predictor, RoutedPredictor)


def test_a_report_explains_the_member_of_the_records_route(routed: Path, tmp_path: Path) -> None:
    from seecgnet.inference.routed import MultiMemberRouteError
    from seecgnet.report.page import build_report

    loaded = load_model(routed)
    record = read_record(record_with(tmp_path, ("I", "II")))
    report = build_report(loaded, record)
    expected = loaded.predictor.predict_record(record)
    np.testing.assert_allclose(report.explanation.probabilities, expected.probabilities, rtol=1e-5)
    np.testing.assert_array_equal(report.explanation.labels, expected.labels)
    assert "0.3" in report.rule
    with pytest.raises(MultiMemberRouteError, match="mean of limb, any"):
        build_report(loaded, read_record(record_with(tmp_path, ("I", "V1"), "ODD")))
