"""The model folder on disk: replaced atomically, and model.json is strict JSON."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
import torch

from seecgnet.challenge.classes import load_scored_classes
from seecgnet.data.signals import AgeStatistics
from seecgnet.destinations import DestinationError
from seecgnet.inference.loading import load_model
from seecgnet.models.registry import build_network
from seecgnet.models.settings import NetworkSettings
from seecgnet.trained.curves import CURVE_CSV, CURVE_PNG
from seecgnet.trained.folder import MODEL_FILE, ModelSummary, save_model
from seecgnet.trained.settings import Settings
from tests.files import snapshot

CLASSES = load_scored_classes()
TINY = Settings(network=NetworkSettings.small())


def save_tiny(folder: Path, seed: int, validation_score: float = 0.25) -> Path:
    """A model folder of one small untrained network whose weights depend on ``seed``."""
    torch.manual_seed(seed)
    state = build_network(TINY.network).state_dict()
    summary = ModelSummary(
        n_training_records=10, best_epochs=(3,), validation_challenge_metric=(validation_score,)
    )
    return save_model(folder, TINY, CLASSES, AgeStatistics(), [state], summary)


def first_weight(folder: Path) -> torch.Tensor:
    network = load_model(folder).predictor.networks[0]
    return next(iter(network.state_dict().values())).clone()


def reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def test_a_failed_swap_puts_the_old_model_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = save_tiny(tmp_path / "model", seed=0)
    old_weight = first_weight(folder)
    rename = Path.rename
    calls = 0

    def second_rename_fails(self: Path, target: str | Path) -> Path:
        nonlocal calls
        calls += 1
        if calls == 2:  # the staging folder into place, after the old one was moved aside
            raise OSError("disk gone")
        return rename(self, target)

    monkeypatch.setattr(Path, "rename", second_rename_fails)
    with pytest.raises(OSError, match="disk gone"):
        save_tiny(folder, seed=1)
    monkeypatch.undo()
    torch.testing.assert_close(first_weight(folder), old_weight)
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # no staging or retired folder left


def test_a_replaced_model_is_the_new_one_and_leaves_nothing_beside_it(tmp_path: Path) -> None:
    folder = save_tiny(tmp_path / "model", seed=0)
    old_weight = first_weight(folder)
    save_tiny(folder, seed=1)
    assert not torch.equal(first_weight(folder), old_weight)
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_a_mount_point_model_folder_is_replaced_in_place_keeping_other_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `docker run -v HOST:/model ... train_model.py DATA /model`: /model cannot be renamed
    folder = tmp_path / "model"
    folder.mkdir()  # an empty volume, as docker makes it
    real_ismount = os.path.ismount
    monkeypatch.setattr(os.path, "ismount", lambda path: Path(path) == folder or real_ismount(path))
    monkeypatch.setattr(Path, "rename", lambda self, target: pytest.fail("renamed a mount point"))
    save_tiny(folder, seed=0)
    (folder / "notes.txt").write_text("the user's own file")
    old_weight = first_weight(folder)
    save_tiny(folder, seed=1)
    assert (folder / "notes.txt").read_text() == "the user's own file"
    assert not torch.equal(first_weight(folder), old_weight)
    names = ["model.json", "notes.txt", "settings.json", "weights.pt"]
    assert sorted(p.name for p in folder.iterdir()) == names  # no staging folder left
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_a_mount_point_model_folder_keeps_no_curves_of_the_model_it_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    monkeypatch.setattr(os.path, "ismount", lambda path: Path(path) == folder)
    save_tiny(folder, seed=0)
    for name in (CURVE_CSV, CURVE_PNG):  # as a training run with histories leaves them
        (folder / name).write_text("the previous model's curve")
    save_tiny(folder, seed=1)  # saved without histories
    assert not (folder / CURVE_CSV).exists() and not (folder / CURVE_PNG).exists()


def test_a_nan_validation_score_is_written_as_null_and_read_back_as_nan(tmp_path: Path) -> None:
    # validation_fraction=0 leaves no validation records, so the best epoch's score is NaN
    folder = save_tiny(tmp_path / "model", seed=0, validation_score=float("nan"))
    text = (folder / MODEL_FILE).read_text()
    manifest = json.loads(text, parse_constant=reject_constant)
    assert manifest["validation_challenge_metric"] == [None]
    loaded = load_model(folder)
    (score,) = loaded.manifest["validation_challenge_metric"]
    assert math.isnan(score)


def test_a_model_folder_holding_other_files_is_updated_in_place_and_keeps_them(
    tmp_path: Path,
) -> None:
    # the bundled model/ holds a README.md beside the model's own files
    folder = save_tiny(tmp_path / "model", seed=0, validation_score=0.1)
    (folder / "README.md").write_bytes(b"# the model card\n")
    (folder / "weights_mine.pt").write_bytes(b"the user's own weights, not the model's")
    old_weight = first_weight(folder)
    save_tiny(folder, seed=1)
    assert not torch.equal(first_weight(folder), old_weight)
    assert (folder / "README.md").read_bytes() == b"# the model card\n"
    assert (folder / "weights_mine.pt").read_bytes() == b"the user's own weights, not the model's"
    assert sorted(p.name for p in folder.iterdir()) == [
        "README.md",
        "model.json",
        "settings.json",
        "weights.pt",
        "weights_mine.pt",
    ]
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # nothing hidden beside it


@pytest.mark.parametrize("kind", ["file", "folder of other files"])
def test_saving_over_anything_but_a_model_folder_is_refused_and_leaves_it_as_it_was(
    tmp_path: Path, kind: str
) -> None:
    target = tmp_path / "model"
    if kind == "file":
        target.write_bytes(b"the user's file")
    else:
        target.mkdir()
        (target / "notes.txt").write_bytes(b"the user's notes")
    before = snapshot(tmp_path)
    with pytest.raises(DestinationError, match="model"):
        save_tiny(target, seed=0)
    assert snapshot(tmp_path) == before


def test_a_model_folder_named_through_a_symbolic_link_is_updated_where_the_link_points(
    tmp_path: Path,
) -> None:
    target = save_tiny(tmp_path / "models" / "current", seed=0)
    (tmp_path / "model").symlink_to(target)
    old_weight = first_weight(target)
    save_tiny(tmp_path / "model", seed=1)
    assert (tmp_path / "model").is_symlink() and (tmp_path / "model").resolve() == target
    assert not torch.equal(first_weight(target), old_weight)
    assert sorted(p.name for p in target.iterdir()) == ["model.json", "settings.json", "weights.pt"]
