"""The 2021 challenge's interface in team_code.py (training_code, load_model, run_model), run by
the 2021 challenge's own test_model.py on records holding the 2021 lead sets.

The harness lives in ../shared/reference/official_2021_harness and is used from there, unchanged;
these tests skip where it is absent. It runs as a user would run it, in a subprocess with the
project on PYTHONPATH, through a wrapper that only counts the calls it makes to load_model.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from seecgnet.inference.driver import predict_folder
from seecgnet.io.reduced_leads import LEAD_SETS_2021, write_reduced_record
from seecgnet.io.synthetic import write_synthetic_dataset, write_synthetic_record
from seecgnet.models.settings import NetworkSettings
from seecgnet.trained.decision import DecisionSettings
from seecgnet.trained.settings import Settings, TrainSettings, any_leads, with_limb_leads
from team_code import load_12ECG_model, load_model, run_12ECG_classifier, run_model, training_code
from tests.paths import CINC2020, REFERENCE, ROOT

HARNESS = REFERENCE / "official_2021_harness"
pytestmark = pytest.mark.skipif(
    not (HARNESS / "test_model.py").is_file(),
    reason="the 2021 challenge's harness (../shared/reference/official_2021_harness) absent",
)

TINY = Settings(
    network=NetworkSettings.small(),
    training=TrainSettings(epochs=2, batch_size=4, learning_rate=1e-2),
)
# Real records of four sources, each cut down to one lead set (where ../shared is present).
REAL = {"A0001": "2", "E00002": "12", "HR00003": "3", "JS00001": "6", "Q0001": "4"}
MALFORMED = "BADGAIN"

# Runs test_model.py as `python test_model.py MODEL DATA OUTPUTS` does, after wrapping
# team_code.load_model to write down the leads of each call.
COUNTING_WRAPPER = """
import json, runpy, sys
import team_code
calls, load = [], team_code.load_model
def counting_load_model(model_directory, leads):
    calls.append(list(leads))
    return load(model_directory, leads)
team_code.load_model = counting_load_model
harness, calls_file, *arguments = sys.argv[1:]
sys.argv = [harness, *arguments]
try:
    runpy.run_path(harness, run_name="__main__")
finally:
    with open(calls_file, "w") as handle:
        json.dump(calls, handle)
"""


@dataclass(frozen=True)
class HarnessRun:
    stdout: str
    load_model_calls: list[tuple[str, ...]]
    outputs: Path


def run_harness(model: Path, data: Path, work: Path) -> HarnessRun:
    calls_file = work / "load_model_calls.json"
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(HARNESS)])}
    harness = [HARNESS / "test_model.py", calls_file, model, data, work / "outputs"]
    run = subprocess.run(
        [sys.executable, "-c", COUNTING_WRAPPER, *map(str, harness)],
        capture_output=True,
        text=True,
        cwd=work,
        env=environment,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    calls = [tuple(leads) for leads in json.loads(calls_file.read_text())]
    return HarnessRun(run.stdout, calls, work / "outputs")


def header_lead_set(header: Path) -> tuple[str, ...]:
    """The lead set the harness finds in a header: its leads in the standard order."""
    lines = header.read_text().splitlines()
    leads = [line.split()[-1] for line in lines[1 : 1 + int(lines[0].split()[1])]]
    return tuple(sorted(leads, key=LEAD_SETS_2021["12"].index))


@pytest.fixture(scope="module")
def records(tmp_path_factory) -> Path:
    """Records of every 2021 lead set (one with its two leads in the other order), a few real
    records where ../shared is present, and one whose header the package cannot read."""
    work = tmp_path_factory.mktemp("records")
    full = write_synthetic_dataset(work / "full", 10, seed=21)
    sets = [*LEAD_SETS_2021.values(), ("II", "I")]
    data = work / "data"
    for i, header in enumerate(full):
        write_reduced_record(header, sets[i % len(sets)], data)
    for name, lead_set in REAL.items():
        if (CINC2020 / f"{name}.hea").is_file():
            write_reduced_record(CINC2020 / f"{name}.hea", LEAD_SETS_2021[lead_set], data)
    bad = write_synthetic_record(data, MALFORMED, lead_order=("I", "II"), seed=3)
    bad.write_text(bad.read_text().replace("1000/mV", "abc/mV", 1))
    return data


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("training")
    write_synthetic_dataset(data, 12, seed=5)
    model = tmp_path_factory.mktemp("models") / "model"
    training_code(str(data), str(model), settings=TINY)
    return model


def test_training_code_by_default_reads_missing_limb_leads_as_computed(monkeypatch, tmp_path):
    trained = {}
    monkeypatch.setattr(
        "seecgnet.training.data_folder.train_folder",
        lambda data, model, settings: trained.update(settings=settings),
    )
    training_code(str(tmp_path / "data"), str(tmp_path / "model"))
    assert trained["settings"] == with_limb_leads(Settings())
    training_code(str(tmp_path / "data"), str(tmp_path / "model"), settings=TINY)
    assert trained["settings"] == TINY


@pytest.fixture(scope="module")
def tiny_any_leads_model(tmp_path_factory) -> Path:
    """A tiny one-network-for-any-leads model whose divisors were tuned per lead set."""
    data = tmp_path_factory.mktemp("training_any")
    write_synthetic_dataset(data, 12, seed=6)
    model = tmp_path_factory.mktemp("models_any") / "model"
    decision = DecisionSettings(rule="per_lead_set")
    training_code(str(data), str(model), settings=replace(any_leads(TINY), decision=decision))
    return model


@pytest.fixture(scope="module", params=["bundled", "tiny", "tiny_any_leads"])
def model(request) -> Path:
    if request.param == "bundled":
        return ROOT / "model"
    return request.getfixturevalue(f"{request.param}_model")


@pytest.fixture(scope="module")
def harness_run(model, records, tmp_path_factory) -> HarnessRun:
    return run_harness(model, records, tmp_path_factory.mktemp("harness"))


def test_the_harness_loads_the_model_once_per_lead_set(harness_run, records):
    headers = sorted(records.glob("*.hea"))
    expected = {header_lead_set(header) for header in headers}
    assert sorted(harness_run.load_model_calls) == sorted(expected)
    assert ("I", "II") in expected and len(expected) == 5  # II, I is read as the set I, II


def test_every_record_gets_what_the_driver_writes_for_it(harness_run, model, records, tmp_path):
    predict_folder(model, records, tmp_path / "driver", progress=False)
    names = sorted(header.stem for header in records.glob("*.hea"))
    assert sorted(path.stem for path in harness_run.outputs.iterdir()) == names
    for name in names:
        if name == MALFORMED:
            continue
        ours = (harness_run.outputs / f"{name}.csv").read_text().split("\n")
        driver = (tmp_path / "driver" / f"{name}.csv").read_text().split("\n")
        # the first line is the harness's: #, then the first word of the header
        assert ours[0] == f"#{(records / f'{name}.hea').read_text().split()[0]}"
        assert len(ours) == len(driver) == 5 and ours[4] == driver[4] == ""
        assert ours[1:3] == driver[1:3], name  # the classes and the 0/1 labels
        assert len(ours[1].split(",")) == 24
        # the driver runs records in batches of windows, run_model alone: float32 rounding apart
        np.testing.assert_allclose(
            np.array(ours[3].split(","), dtype=float),
            np.array(driver[3].split(","), dtype=float),
            rtol=1e-5,
            atol=1e-6,
            err_msg=name,
        )


def test_a_header_the_package_cannot_read_gets_empty_outputs(harness_run):
    assert (harness_run.outputs / f"{MALFORMED}.csv").read_text() == f"#{MALFORMED}\n\n\n\n"
    assert harness_run.stdout.count("... failed.") == 1
    assert harness_run.stdout.rstrip().endswith("Done.")


def test_run_model_gives_what_run_12ecg_classifier_gives(records):
    folder = str(ROOT / "model")
    model_2020 = load_12ECG_model(folder)
    models = {}
    for header in sorted(records.glob("*.hea")):
        if header.stem == MALFORMED:
            continue
        text = header.read_text()
        recording = scipy.io.loadmat(header.with_suffix(".mat"))["val"]
        leads = header_lead_set(header)
        model = models.setdefault(leads, load_model(folder, leads))
        classes, labels, probabilities = run_model(model, text, recording)
        labels_2020, probabilities_2020, classes_2020 = run_12ECG_classifier(
            recording, text.splitlines(), model_2020
        )
        assert classes == classes_2020 and all(isinstance(code, str) for code in classes)
        assert labels.dtype.kind == "i" and probabilities.dtype == np.float64
        np.testing.assert_array_equal(labels, labels_2020)
        np.testing.assert_array_equal(probabilities, probabilities_2020)


def test_a_model_loaded_for_a_lead_set_reads_only_those_leads(tmp_path):
    full = write_synthetic_record(tmp_path / "full", "FULL", heart_rate_bpm=52, seed=8)
    reduced = write_reduced_record(full, ("I", "II"), tmp_path / "two")
    two_leads = load_model(str(ROOT / "model"), ("ii", "I"))
    assert two_leads.leads == ("II", "I")

    def outputs(model, header):
        recording = scipy.io.loadmat(header.with_suffix(".mat"))["val"]
        return run_model(model, header.read_text(), recording)

    from_twelve = outputs(two_leads, full)
    from_two = outputs(two_leads, reduced)
    np.testing.assert_array_equal(from_twelve[2], from_two[2])
    all_twelve = outputs(load_model(str(ROOT / "model"), LEAD_SETS_2021["12"]), full)
    assert not np.array_equal(from_twelve[2], all_twelve[2])


def test_load_model_names_a_lead_it_does_not_know():
    with pytest.raises(ValueError, match=r"'ECG1' is not among the twelve standard leads"):
        load_model(str(ROOT / "model"), ("I", "ECG1"))
