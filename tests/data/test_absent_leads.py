"""Records read for training that lack leads are told once per set of absent leads, truly."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest

from seecgnet.challenge.classes import load_scored_classes
from seecgnet.data.dataset import load_store
from seecgnet.data.signals import SignalSettings
from seecgnet.io.reduced_leads import write_reduced_records
from seecgnet.io.synthetic import write_synthetic_dataset


@pytest.fixture(scope="module")
def mixed_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three records of leads I and II, two of I, II and V1, one of all twelve."""
    root = tmp_path_factory.mktemp("absent")
    headers = write_synthetic_dataset(root / "full", 6, seed=3)
    data = root / "data"
    write_reduced_records(headers[:3], ["I", "II"], data)
    write_reduced_records(headers[3:5], ["I", "II", "V1"], data)
    write_reduced_records(headers[5:], ["I", "II", "III", "aVR", "aVL", "aVF",
                                        "V1", "V2", "V3", "V4", "V5", "V6"], data)  # fmt: skip
    return data


def _warnings(caplog: pytest.LogCaptureFixture, folder: Path, complete: bool) -> list[str]:
    settings = dataclasses.replace(SignalSettings(), complete_limb_leads=complete)
    with caplog.at_level(logging.WARNING):
        store, failures = load_store(folder, load_scored_classes(), settings)
    assert len(store) == 6 and not failures
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_each_set_of_absent_leads_is_told_once_with_its_count(
    mixed_folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    told = _warnings(caplog, mixed_folder, complete=False)
    assert told == [
        "2 record(s) lack leads III, aVR, aVL, aVF, V2, V3, V4, V5, V6: "
        "III, aVR, aVL, aVF, V2, V3, V4, V5, V6 absent (zeros for the network)",
        "3 record(s) lack leads III, aVR, aVL, aVF, V1, V2, V3, V4, V5, V6: "
        "III, aVR, aVL, aVF, V1, V2, V3, V4, V5, V6 absent (zeros for the network)",
    ]


def test_limb_leads_computed_in_training_are_not_called_zeros(
    mixed_folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    told = _warnings(caplog, mixed_folder, complete=True)
    assert len(told) == 2
    assert told[1] == (
        "3 record(s) lack leads III, aVR, aVL, aVF, V1, V2, V3, V4, V5, V6: III, aVR, aVL, aVF "
        "computed from the others in training; V1, V2, V3, V4, V5, V6 absent (zeros for the network)"
    )
    assert not any("filled with zeros" in line for line in told)


def test_building_the_record_cache_tells_the_same_lines_once(
    mixed_folder: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from seecgnet.data.cache.build import open_cache

    expected = _warnings(caplog, mixed_folder, complete=False)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        open_cache(mixed_folder, tmp_path, load_scored_classes(), SignalSettings(), progress=False)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == expected
