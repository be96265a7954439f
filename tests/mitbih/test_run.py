"""The benchmark command end to end on tiny synthetic records, and training's resumption."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from seecgnet.mitbih import training
from seecgnet.mitbih.__main__ import main, parse_args, settings_from_args
from seecgnet.mitbih.beats import read_beats
from seecgnet.mitbih.network import beat_settings_for
from seecgnet.mitbih.run import BenchmarkSettings
from seecgnet.mitbih.scores import score_beats
from seecgnet.mitbih.seeds import seed_ensemble
from seecgnet.mitbih.settings import BeatSettings, BeatTrainSettings, SelectionSettings
from seecgnet.mitbih.settings_file import PARTS
from seecgnet.mitbih.splits import DS1, DS2, intra_patient_split
from seecgnet.mitbih.training import train_beat_model
from tests.mitbih.records import rhythm, write_record

# two epochs of one pass over the training beats each (the inter-patient default draws 15,000),
# in batches of 16 beats
TINY_TRAINING = {"batch_size": 16, "epoch_beats": 0}


def tiny(folder: Path, name: str = "tiny.json", **parts: dict) -> list[str]:
    """The options of a tiny run, its settings file (``folder``/``name``) holding TINY_TRAINING
    and ``parts``."""
    parts["training"] = TINY_TRAINING | parts.get("training", {})
    path = folder / name
    path.write_text(json.dumps(parts))
    return ["--epochs", "2", "--quiet", "--threads", "1", "--settings", str(path)]


@pytest.fixture
def tiny_run(tmp_path) -> list[str]:
    return tiny(tmp_path)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """Three records of 60 beats each: N, premature A and wide V beats."""
    folder = tmp_path_factory.mktemp("mitdb")
    for k, name in enumerate(["r1", "r2", "r3"]):
        times, symbols = rhythm(60, seed=k)
        write_record(folder, name, times, symbols, duration_s=times[-1] + 1.0)
    return folder


def test_intra_run_writes_settings_results_and_figure(data_dir, tmp_path, tiny_run):
    workdir = tmp_path / "run"
    assert main([str(data_dir), str(workdir), "--protocol", "intra", "--baseline", *tiny_run]) == 0
    settings = json.loads((workdir / "settings.json").read_text())
    assert settings["protocol"] == "intra" and settings["training"]["epochs"] == 2
    assert set(settings["networks"]) == {"seecgnet", "baseline"}
    with (workdir / "results.csv").open() as handle:
        rows = [row for row in csv.reader(handle) if row]
    methods = {row[1] for row in rows[1:] if row[0] == "intra"}
    assert methods == {"SE-ECGNet", "plain 1-D ResNet"}
    assert not any(row[2] == "rebased validation" for row in rows)  # no folds, no re-based copy
    assert "weighted F1" in (workdir / "results.md").read_text()
    assert (workdir / "confusion.png").stat().st_size > 1000
    for architecture in ("seecgnet", "baseline"):
        assert (workdir / architecture / "done.json").exists()
        assert not (workdir / architecture / "checkpoint.pt").exists()


def test_a_finished_run_is_not_trained_again(data_dir, tmp_path, monkeypatch, tiny_run):
    workdir = tmp_path / "run"
    assert main([str(data_dir), str(workdir), "--protocol", "intra", *tiny_run]) == 0
    first = (workdir / "results.md").read_text()

    def refuse(*args, **kwargs):
        raise AssertionError("a finished network was trained again")

    monkeypatch.setattr("seecgnet.mitbih.run.train_beat_model", refuse)
    assert main([str(data_dir), str(workdir), "--protocol", "intra", *tiny_run]) == 0
    assert (workdir / "results.md").read_text() == first


def test_a_work_folder_refuses_other_settings(data_dir, tmp_path, capsys, tiny_run):
    workdir = tmp_path / "run"
    assert main([str(data_dir), str(workdir), "--protocol", "intra", *tiny_run]) == 0
    changed = [*tiny_run, "--seed", "5"]
    assert main([str(data_dir), str(workdir), "--protocol", "intra", *changed]) == 2
    assert "other settings" in capsys.readouterr().err


def test_training_cut_off_resumes_after_its_last_epoch(data_dir, tmp_path, monkeypatch):
    beats = read_beats(data_dir, ["r1", "r2", "r3"], BeatSettings(), progress=False)
    split = intra_patient_split(beats, 0.2, 0.2, seed=0)
    network_settings = beat_settings_for("seecgnet", BeatSettings())
    config = BeatTrainSettings(epochs=2, batch_size=16)
    real_epoch = training._train_epoch

    def stop_in_second_epoch(*args, **kwargs):
        if args[-2] == 2:  # the epoch number
            raise KeyboardInterrupt
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(training, "_train_epoch", stop_in_second_epoch)
    with pytest.raises(KeyboardInterrupt):
        train_beat_model(beats, split.train, split.validation, network_settings, config, tmp_path)
    saved = torch.load(tmp_path / training.CHECKPOINT_NAME, weights_only=False)
    assert saved["state"]["epochs_done"] == 1

    monkeypatch.setattr(training, "_train_epoch", real_epoch)
    resumed = train_beat_model(
        beats, split.train, split.validation, network_settings, config, tmp_path, progress=False
    )
    assert [entry.epoch for entry in resumed.history] == [1, 2]
    assert resumed.history[0].to_plain() == saved["state"]["history"][0]
    assert np.isfinite(resumed.history[1].loss)
    # the same weights as a run never cut off: the checkpoint restored the optimiser, the
    # schedule and the random state
    whole = train_beat_model(
        beats, split.train, split.validation, network_settings, config, tmp_path / "whole", False
    )
    for name, value in whole.network.state_dict().items():
        assert torch.equal(value, resumed.network.state_dict()[name]), name
    assert [e.loss for e in whole.history] == [e.loss for e in resumed.history]


def test_help_names_the_four_protocols_and_the_extra_databases(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["--help"])
    assert stopped.value.code == 0
    text = capsys.readouterr().out
    assert "--protocol {intra,inter,ds1,patient-specific}" in text and "--baseline" in text
    assert "--extra-training DIR" in text and "--labelled-minutes N" in text


def test_a_missing_data_folder_is_named_in_the_error(tmp_path, capsys, tiny_run):
    missing = tmp_path / "nowhere"
    assert main([str(missing), str(tmp_path / "run"), "--protocol", "intra", *tiny_run]) == 2
    assert str(missing) in capsys.readouterr().err


def test_amplitude_jitter_scales_each_lead_with_its_template_row(data_dir, tmp_path):
    workdir = tmp_path / "run"
    jittered = tiny(tmp_path, training={"amplitude_jitter": 0.2, "hard_fraction": 0.7})
    assert main([str(data_dir), str(workdir), "--protocol", "intra", *jittered]) == 0
    assert (
        json.loads((workdir / "settings.json").read_text())["training"]["amplitude_jitter"] == 0.2
    )
    assert (workdir / "seecgnet" / "done.json").exists()


def test_settings_out_of_range_are_a_usage_error(data_dir, tmp_path, capsys, tiny_run):
    run = [str(data_dir), str(tmp_path / "run"), "--protocol", "intra"]
    assert main([*run, *tiny(tmp_path, "zero.json", training={"hard_fraction": 0})]) == 2
    assert "zero.json: training: hard_fraction must be in (0, 1]" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stopped:  # argparse's own usage error
        main([*run, *tiny_run, "--epochs", "0"])
    assert stopped.value.code == 2
    assert "--epochs: must be at least 1, got 0" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_a_work_folder_refuses_another_copy_of_the_database(data_dir, tmp_path, capsys, tiny_run):
    workdir = tmp_path / "run"
    assert main([str(data_dir), str(workdir), "--protocol", "intra", *tiny_run]) == 0
    other = tmp_path / "other"
    other.mkdir()
    for k, name in enumerate(["r1", "r2", "r3"]):  # the same names, other beats
        times, symbols = rhythm(70, seed=10 + k)
        write_record(other, name, times, symbols, duration_s=times[-1] + 1.0)
    assert main([str(other), str(workdir), "--protocol", "intra", *tiny_run]) == 2
    assert "other data files" in capsys.readouterr().err


@pytest.fixture(scope="module")
def de_chazal_dir(tmp_path_factory) -> Path:
    """The 44 records of DS1 and DS2 by name, 40 synthetic beats each."""
    folder = tmp_path_factory.mktemp("de_chazal")
    for k, name in enumerate([*DS1, *DS2]):
        times, symbols = rhythm(40, seed=100 + k)
        write_record(folder, name, times, symbols, duration_s=times[-1] + 1.0)
    return folder


def test_ds1_protocol_trains_one_model_per_fold_and_chooses_on_all_of_ds1(
    de_chazal_dir, tmp_path, monkeypatch
):
    monkeypatch.setattr("seecgnet.mitbih.rebasing.REBASE_MIN_S_BEATS", 3)  # a few S beats each
    workdir = tmp_path / "run"
    options = tiny(tmp_path, beats={"rr_windows_s": [10], "rr_sequence_beats": 1})
    run = [str(de_chazal_dir), str(workdir), "--protocol", "ds1", *options, "--folds", "3"]
    assert main(run) == 0
    done = json.loads((workdir / "seecgnet" / "done.json").read_text())
    assert done["best_epoch"] in (1, 2) and len(done["offsets"]) == 5
    assert [row["epoch"] for row in done["selection"]] == [1, 2] and len(done["history"]) == 3
    for k in (1, 2, 3):
        fold = workdir / "seecgnet" / f"fold_{k}"
        assert (fold / "model.pt").exists()
        assert not (fold / "checkpoint.pt").exists() and not (fold / "epochs").exists()
    predictions = np.load(workdir / "seecgnet" / "predictions.npz")
    assert len(predictions["test"]) == 0
    # every DS1 beat predicted once, by the model of the folds that did not hold its record
    assert len(predictions["validation"]) == len(np.load(workdir / "beats" / "labels.npy"))
    assert "DS1 out-of-fold validation beats" in (workdir / "results.md").read_text()
    # the re-based copy: the held-out records with S beats, predicted after every epoch
    positions = predictions["rebased_positions"]
    labels = np.load(workdir / "beats" / "labels.npy")[np.load(workdir / "split.npz")["validation"]]
    assert 0 < len(positions) == len(predictions["rebased"]) and (labels[positions] == 1).any()
    assert all("rebased" in row for row in done["selection"])
    with (workdir / "results.csv").open() as handle:
        assert any(row[2:3] == ["rebased validation"] for row in csv.reader(handle))
    assert "re-based to their S rhythm" in (workdir / "results.md").read_text()
    assert json.loads((workdir / "data_files.json").read_text()).keys() == set(DS1)


def test_inter_protocol_tests_ds2_with_the_folds_models_averaged(de_chazal_dir, tmp_path):
    workdir = tmp_path / "run"
    extras = {"adversary_weight": 0.5, "sampling_power": 0.5, "rhythm_expert": True}
    options = tiny(tmp_path, training=extras)
    run = [str(de_chazal_dir), str(workdir), "--protocol", "inter", *options, "--folds", "2"]
    assert main(run) == 0
    saved = torch.load(workdir / "seecgnet" / "fold_1" / "model.pt", weights_only=False)
    assert set(saved["expert"]) == {f"layers.{k}.{p}" for k in (0, 2) for p in ("weight", "bias")}
    predictions = np.load(workdir / "seecgnet" / "predictions.npz")
    labels = np.load(workdir / "beats" / "labels.npy")
    split = np.load(workdir / "split.npz")
    assert len(predictions["test"]) == len(split["test"]) > 0
    assert predictions["test_log_p"].shape == (len(split["test"]), 5)
    np.testing.assert_allclose(np.exp(predictions["test_log_p"]).sum(axis=1), 1.0, rtol=1e-4)
    assert (
        len(predictions["validation"])
        == len(split["train"])
        == (labels.shape[0] - len(split["test"]))
    )
    assert "inter-patient protocol (test beats)" in (workdir / "results.md").read_text()


def test_seeds_are_run_in_their_folders_and_summarised_with_their_ensemble(
    de_chazal_dir, tmp_path, tiny_run
):
    workdir = tmp_path / "run"
    run = [str(de_chazal_dir), str(workdir), "--protocol", "ds1", *tiny_run, "--folds", "2"]
    assert main([*run, "--seeds", "2", "--seed", "3"]) == 0
    assert (workdir / "seed_3" / "seecgnet" / "done.json").exists()
    for seed in (3, 4):
        settings = json.loads((workdir / f"seed_{seed}" / "settings.json").read_text())
        assert settings["training"]["seed"] == settings["split"]["seed"] == seed
    text = (workdir / "seeds.md").read_text()
    assert "2 seeds (3, 4)" in text and "SE-ECGNet, ensemble of the 2 seeds" in text
    with (workdir / "seeds.csv").open() as handle:
        rows = {row[0]: row[1:] for row in csv.reader(handle)}
    values = [float(v) for v in rows["SE-ECGNet: S F1"]]
    assert values[2] <= values[0] <= values[3]  # lowest <= mean <= highest


def test_an_ensemble_of_one_seed_twice_scores_as_that_seed(de_chazal_dir, tmp_path, tiny_run):
    workdir = tmp_path / "run"
    run = [str(de_chazal_dir), str(workdir), "--protocol", "ds1", *tiny_run, "--folds", "2"]
    assert main(run) == 0
    settings = settings_from_args(parse_args(run))
    ensemble = seed_ensemble(settings, [workdir, workdir], "seecgnet")
    labels = np.load(workdir / "beats" / "labels.npy")
    split = np.load(workdir / "split.npz")
    single = np.load(workdir / "seecgnet" / "predictions.npz")["validation"]
    np.testing.assert_array_equal(
        ensemble.confusion, score_beats(labels[split["validation"]], single).confusion
    )


def test_the_seed_ensemble_averages_the_seeds_probabilities(tmp_path):
    # four DS1 beats (N, S, N, S) validated and two test beats, by two seeds that disagree
    def seed_folder(name: str, validation: list[int], validation_p, test_p) -> Path:
        folder = tmp_path / name
        (folder / "beats").mkdir(parents=True)
        (folder / "seecgnet").mkdir()
        np.save(folder / "beats" / "labels.npy", np.array([0, 1, 0, 1, 0, 1]))
        np.savez(folder / "split.npz", train=np.arange(4), validation=validation, test=[4, 5])
        full = np.full((len(validation), 5), 1e-6)
        full[:, :2] = validation_p
        test = np.full((2, 5), 1e-6)
        test[:, :2] = test_p
        np.savez(
            folder / "seecgnet" / "predictions.npz",
            validation_log_p=np.log(full),
            test_log_p=np.log(test),
        )
        return folder

    sure = [[0.9, 0.1], [0.1, 0.9]]
    first = seed_folder("a", [0, 1, 2, 3], sure * 2, [[0.9, 0.1], [0.6, 0.4]])
    # the second seed's folds order the DS1 beats otherwise
    second = seed_folder("b", [2, 3, 0, 1], sure * 2, [[0.4, 0.6], [0.1, 0.9]])
    settings = BenchmarkSettings(protocol="inter", selection=SelectionSettings(tuned_classes=()))
    scores = seed_ensemble(settings, [first, second], "seecgnet")
    # beat 4 (N): 0.65 against 0.35, called N as the first seed did; beat 5 (S): 0.35 against
    # 0.65, called S as the second seed did
    np.testing.assert_array_equal(scores.confusion[:2, :2], [[1, 0], [0, 1]])


def test_each_protocol_has_its_own_defaults_and_a_settings_file_and_options_override_them(
    tmp_path,
):
    intra = settings_from_args(parse_args(["d", "w", "--protocol", "intra"]))
    assert intra.training == BeatTrainSettings() and intra.beats == BeatSettings()
    inter = settings_from_args(parse_args(["d", "w", "--protocol", "inter"]))
    assert settings_from_args(parse_args(["d", "w", "--protocol", "ds1"])).beats == inter.beats
    assert (inter.training.epochs, inter.training.epoch_beats) == (4, 15_000)
    assert inter.training.sampling_power == 0.5 and inter.training.rhythm_expert
    assert inter.beats.rr_windows_s == (60.0, 300.0) and inter.beats.rr_irregularity
    assert not inter.beats.rr_absolute
    assert (inter.training.rebase_share, inter.training.rebase_template) == (0.5, True)
    assert (intra.training.rebase_share, intra.training.rebase_template) == (0.0, False)
    assert not inter.selection.rebased and not inter.selection.rebased_runs
    assert inter.selection.tuned_classes == ("S",) and inter.split.folds == 4

    def with_file(protocol: str, content: dict, *options: str) -> BenchmarkSettings:
        path = tmp_path / "settings.json"
        path.write_text(json.dumps(content))
        argv = ["d", "w", "--protocol", protocol, "--settings", str(path), *options]
        return settings_from_args(parse_args(argv))

    rebased = with_file("ds1", {"selection": {"rebased": True}})
    assert rebased.selection.rebased and rebased.selection.tuned_classes == ("S",)
    assert rebased.training == inter.training  # the rest keeps the protocol's defaults
    # a file that gives the defaults resolves to the same settings, so its work folder is the same
    same = with_file(
        "inter", {"training": {"rebase_share": 0.5}, "beats": {"rr_windows_s": [60, 300]}}
    )
    assert same.to_json() == inter.to_json()  # whole numbers read as the numbers they are
    given = {
        "training": {"epochs": 9, "rhythm_expert": False},
        "beats": {"rr_windows_s": [], "rr_absolute": True},
        "split": {"folds": 3},
    }
    changed = with_file("inter", given, "--epochs", "7", "--seed", "5")
    assert (changed.training.epochs, changed.training.rhythm_expert) == (7, False)
    assert changed.beats.rr_windows_s == () and changed.beats.rr_absolute
    assert changed.split.folds == 3 and changed.split.seed == 5
    assert with_file("inter", given, "--folds", "2").split.folds == 2
    assert inter.beats.rr_quantile == 0.5
    slow = with_file("ds1", {"beats": {"rr_quantile": 0.9}})
    assert slow.beats.rr_quantile == 0.9 and slow.beats.rr_windows_s == (60.0, 300.0)
    assert changed.training.sampling_power == 0.5 and changed.training.seed == 5


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ("[1, 2]", "expected a JSON object"),
        ("{", "not valid JSON"),
        ('{"trainng": {}}', "unknown part 'trainng'"),
        ('{"training": {"rebase_shar": 0.5}}', "training: unknown key 'rebase_shar'"),
        ('{"training": {"rhythm_expert": "yes"}}', "training: rhythm_expert: expected true or"),
        ('{"training": {"epochs": 2.5}}', "training: epochs: expected a whole number"),
        ('{"beats": {"rr_windows_s": 60}}', "beats: rr_windows_s: expected a list of numbers"),
        ('{"training": {"rebase_share": 2}}', "training: rebase_share must be within [0, 1]"),
        ('{"split": {"seed": 3}}', "split: seed: the seed is --seed's"),
        ('{"split": {"folds": 1}}', "split: folds must be at least 2"),
        ('{"selection": {"tuned_classes": ["X"]}}', "selection: scored (at least one) and tuned"),
        ('{"beats": {"template_rows": false}}', "rebase_template needs the template rows"),
    ],
)
def test_a_bad_settings_file_is_one_line_naming_the_file_and_key(
    data_dir, tmp_path, capsys, content, named
):
    path = tmp_path / "knobs.json"
    path.write_text(content)
    argv = [str(data_dir), str(tmp_path / "run"), "--protocol", "inter", "--settings", str(path)]
    assert main(argv) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("mitbih: error: ") and "\n" not in error
    assert named in error
    if "template rows" not in named:  # told before torch loads, the work folder untouched
        assert str(path) in error
        assert not (tmp_path / "run").exists()


def test_a_missing_settings_file_is_named(data_dir, tmp_path, capsys):
    missing = tmp_path / "none.json"
    argv = [str(data_dir), str(tmp_path / "run"), "--protocol", "intra", "--settings", str(missing)]
    assert main(argv) == 2
    assert f"cannot read {missing}" in capsys.readouterr().err


def test_help_lists_every_key_of_the_settings_file_with_its_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    for part, cls in PARTS.items():
        for field in dataclasses.fields(cls):
            if field.name != "seed":
                assert f"{part}.{field.name}:" in text, field.name
    assert "training.rebase_share: share of training beats" in text
    assert "(default: 0.0 intra-patient, 0.5 inter-patient and ds1)" in text


def test_a_value_error_inside_the_command_is_a_bug_with_its_traceback(
    data_dir, tmp_path, monkeypatch
):
    def broken(*args, **kwargs):
        raise ValueError("a numpy bug")

    monkeypatch.setattr("seecgnet.mitbih.run.run_benchmark", broken)
    with pytest.raises(ValueError, match="a numpy bug"):
        main([str(data_dir), str(tmp_path / "run"), "--protocol", "intra", "--quiet"])


def test_seeds_cut_off_resume_in_their_work_folder(de_chazal_dir, tmp_path, monkeypatch, tiny_run):
    workdir = tmp_path / "run"
    run = [str(de_chazal_dir), str(workdir), "--protocol", "ds1", *tiny_run, "--folds", "2"]
    real = training.train_beat_model
    calls = []

    def cut_off_in_the_second_seed(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:  # seed 0's two folds are done
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr("seecgnet.mitbih.run.train_beat_model", cut_off_in_the_second_seed)
    assert main([*run, "--seeds", "2"]) == 130
    assert json.loads((workdir / "seeds.json").read_text())["seeds"] == [0, 1]
    assert not (workdir / "seeds.md").exists()
    monkeypatch.setattr("seecgnet.mitbih.run.train_beat_model", real)
    assert main([*run, "--seeds", "2"]) == 0
    assert "2 seeds (0, 1)" in (workdir / "seeds.md").read_text()
