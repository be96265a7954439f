"""Every option of every command, run end to end on tiny synthetic data: nothing advertised is broken.

Each command's runs are listed below; a last test checks that together they use every option and
every choice that the command's parser offers (and so its --help, the README and docs/), so that a
new option without a run here fails the suite.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import driver
import evaluate_12ECG_score
import train_model
from seecgnet.challenge.classes import load_scored_classes
from seecgnet.challenge.outputs import load_outputs
from seecgnet.crossval import __main__ as crossval
from seecgnet.data.dataset import load_store
from seecgnet.data.folds import validation_split
from seecgnet.inference.loading import load_model
from seecgnet.inference.prediction import lead_set_probabilities
from seecgnet.io.records import read_record
from seecgnet.io.reduced_leads import keep_leads
from seecgnet.io.synthetic import write_synthetic_dataset
from seecgnet.mitbih import __main__ as mitbih
from seecgnet.mitbih import pretrain
from seecgnet.mitbih.splits import DS1, DS2
from seecgnet.models.seecgnet import SEECGNet
from seecgnet.models.settings import NetworkSettings
from seecgnet.report import __main__ as report
from seecgnet.trained.routes import member_folder, read_routed_manifest
from seecgnet.trained.settings import Settings, TrainSettings
from seecgnet.trained.tuning import tune_class_thresholds, tune_lead_set_divisors
from seecgnet.training import optimisation
from seecgnet.training.pretrained import save_lead_shared
from tests.mitbih.records import rhythm, write_record
from tests.paths import ROOT

CLASSES = load_scored_classes()
TINY = Settings(network=NetworkSettings.small(), training=TrainSettings(epochs=1, batch_size=4))
COMMON = ["--settings", "tiny.json", "--epochs", "1", "--batch-size", "4", "--quiet"]

# train_model.py: every decision rule and architecture, an ensemble of each kind, both caches
TRAINING_RUNS = {
    "per_class": ["--decision", "per_class", "--no-cache"],  # docs/training.md's own example
    "per_class_ensemble": [
        *("--decision", "per_class", "--folds", "2", "--ensemble", "union"),
        *("--architecture", "baseline", "--workers", "1", "--validation-fraction", "0.3"),
        *("--learning-rate", "0.01", "--seed", "3", "--device", "cpu", "--no-cache"),
    ],
    "fixed_ensemble": [
        *("--decision", "fixed", "--folds", "2", "--ensemble", "mean"),
        *("--architecture", "seecgnet", "--cache-dir", "cache"),
    ],
    "resnext": [
        *("--decision", "per_sample", "--architecture", "resnext", "--no-cache"),
        *("--precision", "bf16"),
    ],
    "resnest": [
        *("--decision", "fixed", "--architecture", "resnest", "--no-cache"),
        *("--labels", "labels.csv"),  # each record's own #Dx codes, in a labels file
        *("--precision", "float32"),
    ],
    "any_leads": ["--decision", "per_lead_set", "--any-leads", "--no-cache"],
    "per_lead_set_ensemble": [
        *("--decision", "per_lead_set", "--folds", "2", "--ensemble", "mean"),
        *("--limb-leads", "--validation-fraction", "0.3", "--seed", "3", "--no-cache"),
    ],
    "pretrained": [
        *("--decision", "per_sample", "--pretrained", "shared.pt", "--limb-leads", "--no-cache"),
    ],
}
# train_model.py --routed, with the default routes and with a routes file (routes.json, below)
ROUTED_RUNS = {
    "routed": ["--routed", "--pretrained", "shared.pt", "--no-cache"],
    "routed_file": ["--routed", "--routes", "routes.json", "--no-cache"],
}
# every 2021 set and every other set to the limb-leads network alone, 2 leads to the mean
ROUTES_FILE = {
    **{name: {"members": ["limb"]} for name in ("12", "6", "4", "3", "other")},
    "2": {"members": ["limb", "any"], "decision": {"rule": "fixed", "fixed_threshold": 0.4}},
}
# run once cut off after its first epoch, then with --resume
RESUMED_RUN = ["--decision", "per_sample", "--epochs", "2", "--cache-dir", "cache"]
DRIVER_RUNS = [
    ["--device", "cpu", "--workers", "0", "--quiet", "--strict", "--summary"],
    ["--device", "auto", "--workers", "2", "--quiet"],
]
CROSSVAL_RUNS = {
    "per_class": [
        *("--folds", "2", "--baseline", "--members", "2", "--decision", "per_class"),
        *("--architecture", "seecgnet", "--cache-dir", "cache", "--workers", "0"),
        *("--device", "cpu", "--seed", "1", "--learning-rate", "0.01"),
        *("--validation-fraction", "0.25"),
    ],
    "fixed": [
        *("--folds", "2", "--decision", "fixed", "--architecture", "baseline", "--no-cache"),
        *("--precision", "bf16"),
    ],
    "per_sample": [
        *("--folds", "2", "--decision", "per_sample", "--architecture", "resnext"),
        *("--precision", "float32"),
    ],
    "resnest": [
        *("--folds", "2", "--architecture", "resnest", "--no-cache", "--labels", "labels.csv"),
    ],
    "architectures": [
        *("--folds", "2", "--architectures", "seecgnet,baseline", "--no-cache"),
        *("--pretrained", "shared.pt"),  # SE-ECGNet's alone: the baseline has no lead-shared layers
    ],
    "sources": [
        *("--split", "source", "--lead-sets", "12", "6", "4", "3", "2", "--no-cache"),
        "--any-leads",
    ],
    "stratified": [
        *("--split", "stratified", "--folds", "2", "--lead-sets", "12", "2"),
        *("--pretrained", "shared.pt", "--limb-leads", "--decision", "per_lead_set"),
        *("--members", "2"),
    ],
    "routed": [
        *("--folds", "2", "--lead-sets", "12", "2", "--routed", "--routes", "routes.json"),
        "--no-cache",
    ],
}
# the data each cross-validation run reads: the source split needs records named by their source
CROSSVAL_DATA = {"sources": "sources"}
# the networks each cross-validation run puts through its folds: name in the tables, folder
CROSSVAL_METHODS = {
    "per_class": [("SE-ECGNet", "."), ("plain 1-D ResNet", "baseline")],
    "fixed": [("plain 1-D ResNet", "baseline")],
    "per_sample": [("ResNeXt", "resnext")],
    "resnest": [("ResNeSt", "resnest")],
    "architectures": [("SE-ECGNet", "."), ("plain 1-D ResNet", "baseline")],
    "sources": [("SE-ECGNet", ".")],
    "stratified": [("SE-ECGNet", ".")],
    "routed": [("SE-ECGNet limb", "member_limb"), ("SE-ECGNet any", "member_any")],
}
EVALUATE_OPTIONS = ["--weights", str(ROOT / "weights.csv")]
REPORT_OPTIONS = ["--device", "cpu"]
REPORT_FORMATS = {".png": b"\x89PNG\r\n\x1a\n", ".pdf": b"%PDF", ".html": b"<!DOCTYPE html>"}
MITBIH_COMMON = ["--epochs", "1", "--quiet", "--threads", "1", "--settings", "knobs.json"]
# python -m seecgnet.mitbih.pretrain: every option once
PRETRAIN_RUNS = [
    *("--settings", "tiny.json", "--epochs", "1", "--windows-per-record", "2"),
    *("--batch-size", "8", "--learning-rate", "0.001", "--holdout-every", "4", "--seed", "1"),
    "--quiet",
]
# each protocol with its own defaults, then every option away from them; the inter-patient
# protocol's defaults (the rhythm expert, RR windows, sampling) are those of docs/mitbih.md's command
MITBIH_RUNS = {
    "intra": ["--protocol", "intra", "--baseline", "--seed", "2"],
    "inter": ["--protocol", "inter", "--folds", "2"],
    "ds1": ["--protocol", "ds1", "--seeds", "2"],
    "ds1_log_weights": ["--protocol", "ds1"],
    # a second database (written by the test at 128 Hz) beside DS1, each DS2 record adapted
    "patient_specific": [
        *("--protocol", "patient-specific", "--folds", "2", "--extra-training", "extra"),
        *("--labelled-minutes", "0.1"),
    ],
}
# each run's settings file (knobs.json): every knob away from the protocol's defaults, and back
MITBIH_SETTINGS = {
    "intra": {
        "training": {
            "batch_size": 32,
            "learning_rate": 0.005,
            "hard_fraction": 0.7,
            "amplitude_jitter": 0.1,
            "class_weighting": "sqrt",
            "focal_gamma": 1,
        },
        "beats": {"neighbour_rows": True, "rr_sequence_beats": 1},
        "selection": {"tuned_classes": ["S", "V"]},
    },
    "inter": {
        "training": {
            "batch_size": 32,
            "class_weighting": "inverse",
            "adversary_weight": 0.1,
            "s_by_timing": True,
            "epoch_beats": 96,
        },
        "selection": {"tuned_classes": ["N", "F", "Q"]},
    },
    "ds1": {
        "training": {
            "batch_size": 32,
            "class_weighting": "none",
            "rhythm_expert": False,
            "s_by_timing": False,
            "sampling_power": 0,
            "epoch_beats": 0,
            "rebase_share": 0,
            "rebase_template": False,
            "rebase_runs": False,
        },
        "beats": {
            "rr_windows_s": [60],
            "rr_absolute": True,
            "rr_irregularity": False,
            "neighbour_rows": False,
            "rr_quantile": 0.75,
        },
        "selection": {"rebased": False, "rebased_runs": False},
    },
    "patient_specific": {
        "training": {"batch_size": 32, "epoch_beats": 96},
        "adaptation": {
            "steps": 3,
            "learning_rate": 0.01,
            "training_beats": 40,
            "training_weight": 0.2,
        },
    },
    "ds1_log_weights": {
        "training": {
            "batch_size": 32,
            "class_weighting": "log",
            "rhythm_expert": True,
            "sampling_power": 1,
            "epoch_beats": 64,
            "rebase_share": 0.5,
            "rebase_template": True,
            "expert_weight": 0.5,
            "rebase_runs": True,
        },
        "beats": {"rr_windows_s": [], "rr_absolute": False, "rr_irregularity": True},
        "selection": {"rebased": True, "rebased_runs": True},
    },
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("options")
    write_synthetic_dataset(root / "data", 10, seed=5)
    # two hospitals for the source split: records named as CPSC's and as Georgia's
    write_synthetic_dataset(root / "sources", 6, seed=6, name_prefix="A")
    write_synthetic_dataset(root / "sources", 6, seed=7, name_prefix="E")
    TINY.save(root / "tiny.json")
    (root / "routes.json").write_text(json.dumps(ROUTES_FILE))
    # --labels: the records' own codes, so that the runs learn what they would from the headers
    rows = [
        f'{h.stem},"{",".join(read_record(h).dx_codes)}"' for h in (root / "data").glob("*.hea")
    ]
    (root / "labels.csv").write_text("record,dx\n" + "\n".join(rows) + "\n")
    # lead-shared layers for --pretrained, of the tiny network's size
    save_lead_shared(SEECGNet(TINY.network), root / "shared.pt", {"made": "by the test"})
    return root


@pytest.fixture
def here(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(folder)
    return folder


def drive_and_score(model: Path, name: str, options: list[str]) -> np.ndarray:
    """Run the driver on the data with ``options`` and score its outputs; the outputs' binary
    labels and probabilities as written (records × classes)."""
    out = Path(f"out_{name}")
    assert driver.main([str(model), "data", str(out), *options]) == 0
    headers = sorted(Path("data").glob("*.hea"))
    outputs = load_outputs([out / f"{h.stem}.csv" for h in headers], CLASSES)
    scores = [f"scores_{name}.csv", f"class_scores_{name}.csv"]
    assert evaluate_12ECG_score.main(["data", str(out), *scores, *EVALUATE_OPTIONS]) == 0
    assert Path(scores[0]).read_text().startswith("AUROC,AUPRC,Accuracy")
    assert Path(scores[1]).read_text().startswith("Classes,")
    return outputs


def thresholds_of(model: Path, probabilities: np.ndarray) -> np.ndarray:
    """The thresholds the model's rule holds each probability against."""
    decision = load_model(model).settings.decision
    if decision.rule.value == "fixed":
        return np.full_like(probabilities, decision.fixed_threshold)
    if decision.rule.value == "per_class":
        return np.broadcast_to(np.array(decision.class_thresholds), probabilities.shape)
    divisor = 5
    if decision.rule.value == "per_lead_set":  # the synthetic records hold all 12 leads
        divisor = decision.lead_set_divisors["12"]
    return np.broadcast_to(probabilities.max(axis=1, keepdims=True) / divisor, probabilities.shape)


@pytest.mark.parametrize("name", list(TRAINING_RUNS))
def test_every_training_option_trains_a_model_the_driver_runs(here, name):
    options = TRAINING_RUNS[name]
    assert train_model.main(["data", f"model_{name}", *COMMON, *options]) == 0
    model = here / f"model_{name}"
    manifest = json.loads((model / "model.json").read_text())
    settings = load_model(model).settings
    folds = int(options[options.index("--folds") + 1]) if "--folds" in options else 1
    assert len(manifest["weights"]) == folds
    if "--ensemble" in options:
        assert manifest["ensemble"] == options[options.index("--ensemble") + 1]
    rule = options[options.index("--decision") + 1]
    assert settings.decision.rule.value == rule
    architecture = "seecgnet"
    if "--architecture" in options:
        architecture = options[options.index("--architecture") + 1]
    assert settings.architecture == architecture
    assert settings.network.lead_presence == ("--any-leads" in options)
    limb_leads = "--any-leads" in options or "--limb-leads" in options
    assert settings.signal.complete_limb_leads == limb_leads
    assert settings.training.pretrained == ("shared.pt" if "--pretrained" in options else "")
    precision = options[options.index("--precision") + 1] if "--precision" in options else "float32"
    assert settings.training.precision == precision
    for k, driver_options in enumerate(DRIVER_RUNS):
        outputs = drive_and_score(model, f"{name}_{k}", driver_options)
        # the labels written are the model's rule applied to the probabilities written
        limits = thresholds_of(model, outputs.scalar)
        assert np.array_equal(outputs.binary, outputs.scalar >= limits)


def ensemble_and_tuning_records(here: Path, run: str):
    """The model of training run ``run`` (trained here if no test has yet), its store of the data,
    and the records every fold of that ensemble was kept from (its --validation-fraction 0.3 and
    --seed 3), on which its rule was tuned."""
    model = here / f"model_{run}"
    if not model.exists():
        assert train_model.main(["data", model.name, *COMMON, *TRAINING_RUNS[run]]) == 0
    loaded = load_model(model)
    store, _ = load_store("data", CLASSES, loaded.settings.signal)
    _, tuning = validation_split(store.labels, 0.3, seed=3)
    return loaded, store, tuning


def test_an_ensembles_per_class_thresholds_are_tuned_on_the_ensembles_own_probabilities(here):
    loaded, store, tuning = ensemble_and_tuning_records(here, "per_class_ensemble")
    probabilities = loaded.predictor.store_probabilities(store, tuning)
    expected = tune_class_thresholds(store.labels[tuning], probabilities, CLASSES)
    np.testing.assert_array_equal(loaded.settings.decision.class_thresholds, expected)


def test_an_ensembles_lead_set_divisors_are_tuned_on_the_ensembles_own_probabilities(here):
    loaded, store, tuning = ensemble_and_tuning_records(here, "per_lead_set_ensemble")
    by_set = lead_set_probabilities(loaded.predictor, store, tuning)
    expected = tune_lead_set_divisors(store.labels[tuning], by_set, CLASSES)
    assert loaded.settings.decision.lead_set_divisors == expected
    assert set(expected) == {"12", "6", "4", "3", "2"}
    # the driver holds a 2-lead copy of a record against the 6-lead set's divisor
    record = read_record(Path("data") / "SYN00001.hea")
    prediction = loaded.predictor.predict_record(keep_leads(record, ("I", "II")))
    p = prediction.probabilities
    np.testing.assert_array_equal(prediction.labels, p >= p.max() / expected["6"])


def test_a_run_cut_off_after_an_epoch_resumes_with_resume(here, monkeypatch, caplog):
    real = optimisation.save_checkpoint

    def save_then_stop(*args, **kwargs):
        real(*args, **kwargs)
        raise KeyboardInterrupt  # Ctrl-C just after the first epoch's checkpoint

    monkeypatch.setattr(optimisation, "save_checkpoint", save_then_stop)
    argv = ["data", "model_resumed", *COMMON, *RESUMED_RUN]
    assert train_model.main(argv) == 130
    assert (here / ".model_resumed.checkpoint" / "member_1" / "checkpoint.pt").exists()
    assert not (here / "model_resumed").exists()
    monkeypatch.setattr(optimisation, "save_checkpoint", real)
    with caplog.at_level("INFO", logger="seecgnet.training.loop"):
        assert train_model.main([*argv, "--resume"]) == 0
    assert any("after epoch 1" in r.getMessage() for r in caplog.records)
    logged = [r.getMessage() for r in caplog.records]
    logged = [message for message in logged if "validation challenge metric" in message]
    assert [m.split(":")[0] for m in logged] == ["epoch 2/2"]  # epoch 1 was not done again
    assert not (here / ".model_resumed.checkpoint").exists()
    outputs = drive_and_score(here / "model_resumed", "resumed", DRIVER_RUNS[0])
    assert np.array_equal(
        outputs.binary, outputs.scalar >= thresholds_of(here / "model_resumed", outputs.scalar)
    )


@pytest.mark.parametrize("name", list(ROUTED_RUNS))
def test_a_routed_training_writes_a_routed_folder_the_driver_runs(here, name):
    options = ROUTED_RUNS[name]
    assert train_model.main(["data", f"model_{name}", *COMMON, *options]) == 0
    table = read_routed_manifest(here / f"model_{name}").table
    expected = ("limb",) if "routes.json" in options else ("any",)
    assert table.routes["3"].members == expected
    limb = load_model(member_folder(here / f"model_{name}", "limb")).settings
    assert limb.training.pretrained == ("shared.pt" if "--pretrained" in options else "")
    outputs = drive_and_score(here / f"model_{name}", name, DRIVER_RUNS[0])
    assert outputs.binary.shape == (10, len(CLASSES.codes))


@pytest.mark.parametrize("name", list(CROSSVAL_RUNS))
def test_cross_validation_runs_every_option_and_rule(here, name):
    work = here / f"crossval_{name}"
    options = CROSSVAL_RUNS[name]
    data = CROSSVAL_DATA.get(name, "data")
    assert crossval.main([data, str(work), *COMMON, *options]) == 0
    table = (work / "results.md").read_text()
    methods = []
    for method_name, folder in CROSSVAL_METHODS[name]:
        assert f"**{method_name}**" in table
        methods.append(work / folder)
    if "--routed" in options:
        assert (work / "routes.csv").read_text().count("routed") == 2  # 12 and 2 leads
        return
    if "--members" in options:
        assert "their mean" in table and "their union" in table
    if "--split" in options and options[options.index("--split") + 1] == "source":
        assert "CPSC (A)" in table and "Georgia (E)" in table
    if "--lead-sets" in options:
        assert "Challenge metric by lead set" in table
        fewer = [s for s in ("6", "4", "3", "2") if s in options]
        for lead_set in fewer:
            written = list((work / "fold_1" / f"outputs_{lead_set}_leads").glob("*.csv"))
            assert len(written) == len(list((work / "fold_1" / "outputs").glob("*.csv")))
    for method in methods:
        for fold in (1, 2):
            model = method / f"fold_{fold}" / "model"
            outputs = sorted((method / f"fold_{fold}" / "outputs").glob("*.csv"))
            read = load_outputs(outputs, CLASSES)
            assert np.array_equal(read.binary, read.scalar >= thresholds_of(model, read.scalar))
            assert load_model(model).predictor.lead_presence == ("--any-leads" in options)
            limb_leads = "--any-leads" in options or "--limb-leads" in options
            assert load_model(model).settings.signal.complete_limb_leads == limb_leads
            pretrained = load_model(model).settings.training.pretrained
            takes = "--pretrained" in options and method == work / "."
            assert pretrained == ("shared.pt" if takes else "")
            inner = np.load(method / f"fold_{fold}" / "inner_validation.npz")
            if "per_class" in options:
                tuned = inner["thresholds"]
                assert load_model(model).settings.decision.class_thresholds == tuple(tuned)
            if "per_lead_set" in options:
                by_set = {s: inner[f"lead_set_{s}"] for s in ("12", "6", "4", "3", "2")}
                tuned = tune_lead_set_divisors(inner["labels"], by_set, CLASSES)
                assert load_model(model).settings.decision.lead_set_divisors == tuned
                # what a lead set's outputs were decided with: the divisor tuned for it
                two = sorted((method / f"fold_{fold}" / "outputs_2_leads").glob("*.csv"))
                read = load_outputs(two, CLASSES)
                limit = read.scalar.max(axis=1, keepdims=True) / tuned["6"]  # limb leads computed
                assert np.array_equal(read.binary, read.scalar >= limit)


@pytest.mark.parametrize("suffix", list(REPORT_FORMATS))
def test_the_report_writes_each_format(here, suffix):
    model = here / "model_per_class"
    if not model.exists():
        assert train_model.main(["data", model.name, *COMMON, *TRAINING_RUNS["per_class"]]) == 0
    out = here / f"report{suffix}"
    assert report.main([str(model), "data/SYN00001.hea", "--out", str(out), *REPORT_OPTIONS]) == 0
    assert out.read_bytes().startswith(REPORT_FORMATS[suffix])


@pytest.fixture(scope="module")
def mitdb(tmp_path_factory) -> Path:
    """Both protocols' records (DS1 and DS2), 16 beats each: N, premature A and wide V beats."""
    folder = tmp_path_factory.mktemp("mitdb")
    for k, name in enumerate([*DS1, *DS2]):
        times, symbols = rhythm(16, seed=k)
        write_record(folder, name, times, symbols, duration_s=times[-1] + 1.0)
    return folder


@pytest.mark.parametrize("protocol", list(MITBIH_RUNS))
def test_the_mitbih_benchmark_runs_each_protocol_with_every_option(
    mitdb, tmp_path, monkeypatch, protocol
):
    monkeypatch.chdir(tmp_path)
    Path("knobs.json").write_text(json.dumps(MITBIH_SETTINGS[protocol]))
    if "--extra-training" in MITBIH_RUNS[protocol]:
        Path("extra").mkdir()
        for k in range(4):
            times, symbols = rhythm(16, seed=50 + k)
            write_record(Path("extra"), f"e{k}", times, symbols, times[-1] + 1.0, (),
                         ("ECG1", "ECG2"), fs_hz=128)  # fmt: skip
    work = tmp_path / "work"
    argv = [str(mitdb), str(work), *MITBIH_COMMON, *MITBIH_RUNS[protocol]]
    assert mitbih.main(argv) == 0
    seeds = "--seeds" in argv
    run = work / "seed_0" if seeds else work
    settings = json.loads((run / "settings.json").read_text())
    assert settings["protocol"] == argv[argv.index("--protocol") + 1]
    assert "weighted F1" in (run / "results.md").read_text()
    if seeds:
        assert "2 seeds" in (work / "seeds.md").read_text()
        assert (work / "seed_1" / "results.md").exists()


def test_mitbih_pretraining_writes_layers_that_train_model_starts_from(mitdb, here):
    assert pretrain.main([str(mitdb), "mitdb.pt", *PRETRAIN_RUNS]) == 0
    kept = Path("mitdb.pt").read_bytes()
    argv = ["data", "model_mitdb", *COMMON, "--pretrained", "mitdb.pt", "--no-cache"]
    assert train_model.main(argv) == 0
    assert load_model(here / "model_mitdb").settings.training.pretrained == "mitdb.pt"
    assert Path("mitdb.pt").read_bytes() == kept  # read, never written


def _options_used(runs: list[list[str]]) -> set[str]:
    """Each option of the runs, and each "--option value" pair (for options with choices; an
    option that takes several values pairs with each of them)."""
    used = set()
    for argv in runs:
        option = None
        for token in argv:
            if token.startswith("--"):
                option = token
                used.add(token)
            elif option is not None:
                used.add(f"{option} {token}")
    return used


COMMANDS = {
    "train_model.py": (
        train_model.build_parser,
        [[*COMMON, *run] for run in [*TRAINING_RUNS.values(), *ROUTED_RUNS.values()]]
        + [[*RESUMED_RUN, "--resume"]],
    ),
    "driver.py": (driver.build_parser, DRIVER_RUNS),
    "evaluate_12ECG_score.py": (evaluate_12ECG_score.build_parser, [EVALUATE_OPTIONS]),
    "python -m seecgnet.crossval": (
        crossval.build_parser,
        [[*COMMON, *run] for run in CROSSVAL_RUNS.values()],
    ),
    "python -m seecgnet.report": (report.build_parser, [["--out", *REPORT_OPTIONS]]),
    "python -m seecgnet.mitbih.pretrain": (pretrain.build_parser, [PRETRAIN_RUNS]),
    "python -m seecgnet.mitbih": (
        mitbih.build_parser,
        [[*MITBIH_COMMON, *run] for run in MITBIH_RUNS.values()],
    ),
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_the_runs_above_use_every_option_and_choice_each_command_offers(command):
    build, runs = COMMANDS[command]
    used = _options_used(runs)
    offered = set()
    for action in build()._actions:
        options = [o for o in action.option_strings if o.startswith("--") and o != "--help"]
        for option in options:
            offered.add(option)
            offered.update(f"{option} {choice}" for choice in action.choices or ())
    assert offered - used == set()


# The settings that were the MIT-BIH command's options before they moved into its settings file:
# the runs above still set each of them, and every choice of those that have choices.
FORMER_MITBIH_OPTIONS = {
    "training": (
        "batch_size", "learning_rate", "hard_fraction", "amplitude_jitter", "class_weighting",
        "sampling_power", "epoch_beats", "focal_gamma", "adversary_weight", "rhythm_expert",
        "s_by_timing", "expert_weight", "rebase_share", "rebase_template", "rebase_runs",
    ),
    "beats": (
        "rr_windows_s", "rr_quantile", "rr_sequence_beats", "rr_absolute", "rr_irregularity",
        "neighbour_rows",
    ),
    "selection": ("rebased", "rebased_runs", "tuned_classes"),
}  # fmt: skip


def test_the_mitbih_runs_set_every_former_option_and_choice_in_their_settings_files():
    from seecgnet.mitbih.settings import AAMI_CLASSES, CLASS_WEIGHTINGS

    runs = MITBIH_SETTINGS.values()
    for part, keys in FORMER_MITBIH_OPTIONS.items():
        set_keys = {key for run in runs for key in run.get(part, {})}
        assert set(keys) - set_keys == set(), part
    weightings = {run["training"].get("class_weighting") for run in runs}
    assert set(CLASS_WEIGHTINGS) <= weightings
    tuned = {c for run in runs for c in run.get("selection", {}).get("tuned_classes", ())}
    assert tuned == set(AAMI_CLASSES)
