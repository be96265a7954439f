"""Cross-validation on a handful of synthetic records with a tiny network."""

import csv
import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from seecgnet.challenge.classes import load_scored_classes
from seecgnet.challenge.metrics import SUMMARY_NAMES, challenge_metric, compute_scores
from seecgnet.challenge.outputs import load_outputs
from seecgnet.challenge.scoring import load_labels
from seecgnet.cli import default_cache_dir
from seecgnet.crossval.__main__ import main
from seecgnet.crossval.folds import CrossValError
from seecgnet.crossval.results import FoldOutcome, decide_by_rule, score_method
from seecgnet.io.synthetic import write_synthetic_dataset
from seecgnet.models.settings import NetworkSettings, ResNeStSettings, ResNeXtSettings
from seecgnet.trained.decision import DecisionSettings, per_sample_threshold
from seecgnet.trained.settings import Settings, TrainSettings

TINY = Settings(network=NetworkSettings.small(), training=TrainSettings(epochs=1, batch_size=4))


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("cv")
    write_synthetic_dataset(root / "data", 15, seed=3)
    TINY.save(root / "tiny.json")
    args = [str(root / "data"), str(root / "work"), "--folds", "3", "--quiet"]
    args += ["--settings", str(root / "tiny.json"), "--epochs", "1", "--batch-size", "4"]
    assert main([*args, "--baseline", "--members", "2"]) == 0
    return root, args, default_cache_dir()


def test_a_module_fixture_caches_records_in_the_tests_folder_not_the_users_home(
    finished_run, tmp_path_factory
):
    _, _, cache = finished_run  # where the fixture's run put its record cache
    assert cache.is_relative_to(tmp_path_factory.getbasetemp())
    assert any(cache.iterdir())
    assert Path.home().is_relative_to(tmp_path_factory.getbasetemp())


def test_every_record_is_predicted_in_exactly_one_validation_fold(finished_run):
    root, _, _ = finished_run
    work = root / "work"
    records = sorted(p.stem for p in (root / "data").glob("*.hea"))
    for method_root in (work, work / "baseline"):
        predicted = sorted(
            p.stem for k in (1, 2, 3) for p in (method_root / f"fold_{k}" / "outputs").iterdir()
        )
        assert predicted == records
    with (work / "folds.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(r["record"] for r in rows) == records
    for k in (1, 2, 3):
        in_fold = sorted(r["record"] for r in rows if r["fold"] == str(k))
        assert in_fold == sorted(p.stem for p in (work / f"fold_{k}" / "outputs").iterdir())


def test_a_run_writes_tables_and_a_figure_for_each_method_and_rule(finished_run):
    root, _, _ = finished_run
    work = root / "work"
    table = (work / "results.md").read_text()
    for text in (
        "SE-ECGNet",
        "plain 1-D ResNet",
        "per-sample max/5",
        "fixed 0.5",
        "per-class",
        "pooled",
        "their union",
        "SE-ECGNet, mean of 2",
    ):
        assert text in table
    with (work / "results.csv").open() as handle:
        rows = [row for row in csv.reader(handle) if row]
    pooled = [row for row in rows if row[:2] == ["SE-ECGNet", "pooled"]]
    assert len(pooled) == 1
    assert (work / "crossval.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # each method's per-fold training curves, from each fold's model folder
    for method_root in (work, work / "baseline"):
        assert (method_root / "training_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (method_root / "fold_3" / "model" / "training_curve.csv").is_file()
    # a fold's member models are real model folders with tuned thresholds beside them
    inner = np.load(work / "fold_1" / "member_2" / "inner_validation.npz")
    assert inner["thresholds"].shape == (24,)


def out_of_fold(finished_run) -> tuple[Path, dict[str, int], list[str], np.ndarray]:
    """The finished run's work folder, each record's fold, the record names in order, and their
    labels as the scorer reads them from the headers."""
    root, _, _ = finished_run
    with (root / "work" / "folds.csv").open() as handle:
        fold_of = {row["record"]: int(row["fold"]) for row in csv.DictReader(handle)}
    names = sorted(fold_of)
    labels = load_labels([root / "data" / f"{name}.hea" for name in names], load_scored_classes())
    return root / "work", fold_of, names, labels


def test_the_tables_hold_the_out_of_fold_scores_of_the_files_written(finished_run):
    """Every challenge metric of results.csv, computed again from the folds' files: the labels of
    the headers, each record's output file in its own fold, each fold's inner thresholds."""
    work, fold_of, names, labels = out_of_fold(finished_run)
    classes = load_scored_classes()

    def written(member: str) -> tuple[np.ndarray, np.ndarray]:
        paths = [work / f"fold_{fold_of[n]}" / member / "outputs" / f"{n}.csv" for n in names]
        outputs = load_outputs(paths, classes)
        return outputs.binary, outputs.scalar

    binary, scalar = written("")
    _, second = written("member_2")
    thresholds = np.stack(
        [np.load(work / f"fold_{fold_of[n]}" / "inner_validation.npz")["thresholds"] for n in names]
    )
    pooled = compute_scores(labels, scalar, binary, classes).summary()
    expected = {("pooled", name): value for name, value in zip(SUMMARY_NAMES, pooled, strict=True)}
    for fold in (1, 2, 3):
        in_fold = np.array([fold_of[name] == fold for name in names])
        scores = compute_scores(
            labels[in_fold], scalar[in_fold], binary[in_fold], classes
        ).summary()
        expected |= {(f"fold {fold}", n): v for n, v in zip(SUMMARY_NAMES, scores, strict=True)}
    expected |= {
        ("per_sample", "pooled"): challenge_metric(
            labels, per_sample_threshold(scalar, 5.0), classes
        ),
        ("fixed", "pooled"): challenge_metric(labels, scalar >= 0.5, classes),
        ("per_class", "pooled"): challenge_metric(labels, scalar >= thresholds, classes),
        ("ensemble mean", None): challenge_metric(
            labels, per_sample_threshold((scalar + second) / 2, 5.0), classes
        ),
        ("ensemble union", None): challenge_metric(
            labels, per_sample_threshold(np.maximum(scalar, second), 5.0), classes
        ),
    }
    with (work / "results.csv").open() as handle:
        rows = [row for row in csv.reader(handle) if row and row[0] == "SE-ECGNet"]
    table = {row[1]: row[2:] for row in rows}
    header = ["method", "rows", *SUMMARY_NAMES]
    for (row, column), value in expected.items():
        cell = (
            table[row][-1] if column in (None, "pooled") else table[row][header.index(column) - 2]
        )
        assert float(cell) == pytest.approx(value, abs=5e-5), (row, column)


def test_running_again_skips_complete_folds_and_keeps_their_outputs(finished_run, caplog):
    root, args, _ = finished_run
    output = root / "work" / "fold_2" / "outputs"
    before = {p.name: p.stat().st_mtime_ns for p in output.iterdir()}
    with caplog.at_level(logging.INFO, logger="seecgnet.crossval"):
        assert main([*args, "--baseline", "--members", "2"]) == 0
    assert sum("skipping" in r.message for r in caplog.records) == 6
    assert {p.name: p.stat().st_mtime_ns for p in output.iterdir()} == before


def test_an_incomplete_fold_is_redone(finished_run, caplog):
    root, args, _ = finished_run
    (root / "work" / "fold_3" / "done.json").unlink()
    with caplog.at_level(logging.INFO, logger="seecgnet.crossval"):
        assert main([*args, "--baseline", "--members", "2"]) == 0
    skipped = [r.message for r in caplog.records if "skipping" in r.message]
    assert len(skipped) == 5 and not any("work/fold_3 " in m for m in skipped)
    assert (root / "work" / "fold_3" / "done.json").exists()


def test_the_lead_set_rows_of_an_ensemble_hold_the_mean_of_its_networks_reduced_outputs(
    finished_run,
):
    """The lead-set table's "mean of 2" rows, computed again from every network's files: each
    fold's two networks' probabilities for the records cut down to the lead set, averaged, and
    labelled by the paper's rule."""
    work, fold_of, names, labels = out_of_fold(finished_run)
    classes = load_scored_classes()
    with (work / "results.csv").open() as handle:
        rows = [row for row in csv.reader(handle) if len(row) > 2]
    for lead_set in ("6", "2"):
        members = [
            load_outputs(
                [
                    work / f"fold_{fold_of[n]}" / member / f"outputs_{lead_set}_leads" / f"{n}.csv"
                    for n in names
                ],
                classes,
            ).scalar
            for member in ("", "member_2")
        ]
        assert not np.allclose(members[0], members[1])  # two networks, two answers
        expected = challenge_metric(
            labels, per_sample_threshold((members[0] + members[1]) / 2, 5.0), classes
        )
        row = next(r for r in rows if r[:2] == ["SE-ECGNet, mean of 2", lead_set])
        assert float(row[-1]) == pytest.approx(expected, abs=5e-5)
        assert any(r[:2] == ["SE-ECGNet", lead_set] for r in rows)  # the first network's row


def test_a_work_folder_of_another_data_set_is_refused(finished_run, tmp_path, capsys):
    _, args, _ = finished_run
    write_synthetic_dataset(tmp_path / "other", 6, seed=9)
    other = [str(tmp_path / "other"), *args[1:]]
    assert main(other) == 2
    assert "folds.csv lists other records" in capsys.readouterr().err
    assert issubclass(CrossValError, ValueError)


def test_the_fixed_rule_uses_the_settings_threshold():
    probabilities = np.array([[[0.1, 0.3, 0.45, 0.6]]])  # (members, records, classes)
    outcome = FoldOutcome(
        1, ("A",), np.zeros((1, 4), bool), probabilities, np.zeros((1, 4), bool), np.full(4, 0.5)
    )
    settings = Settings(decision=DecisionSettings(fixed_threshold=0.3))
    labels = decide_by_rule(outcome, "fixed", settings)
    np.testing.assert_array_equal(labels, [[False, True, True, True]])


def test_a_lead_sets_ensemble_is_scored_on_the_mean_of_the_networks_not_the_first_alone():
    classes = load_scored_classes()
    rng = np.random.default_rng(4)
    outcomes, pooled = [], {"mean": [], "first": []}
    for fold in (1, 2):
        labels = rng.random((30, len(classes))) < 0.2
        reduced = rng.random((3, 30, len(classes)))  # three networks' 2-lead probabilities
        outcomes.append(
            FoldOutcome(
                fold,
                tuple(f"R{fold}{i}" for i in range(30)),
                labels,
                rng.random((3, 30, len(classes))),
                labels,
                np.full(len(classes), 0.5),
                lead_set_binary={"2": reduced[0] > 0.5},
                lead_set_probabilities={"2": reduced},
            )
        )
        pooled["mean"].append(per_sample_threshold(reduced.mean(axis=0), 5.0))
        pooled["first"].append(per_sample_threshold(reduced[0], 5.0))
    result = score_method("SE-ECGNet", outcomes, Settings(), classes)
    labels = np.concatenate([o.labels for o in outcomes])
    mean, first = (challenge_metric(labels, np.concatenate(pooled[k]), classes) for k in pooled)
    assert mean != pytest.approx(first, abs=1e-3)
    assert result.members == 3
    assert result.lead_set_ensemble["2"][1] == pytest.approx(mean, abs=1e-12)


@pytest.mark.parametrize(
    ("records", "options", "message"),
    [
        (5, ["--folds", "2"], "5 readable records in 2 folds leave 2 record(s)"),
        (15, ["--folds", "3", "--validation-fraction", "0"], "validation fraction must be above 0"),
    ],
)
def test_data_too_few_for_the_folds_is_refused_before_anything_is_written(
    tmp_path, capsys, records, options, message
):
    write_synthetic_dataset(tmp_path / "data", records, seed=5)
    work = tmp_path / "work"
    assert main([str(tmp_path / "data"), str(work), *options, "--no-cache", "--quiet"]) == 2
    error = capsys.readouterr().err
    assert message in error
    assert not work.exists()


def test_the_architectures_are_compared_side_by_side_with_their_cost_and_seconds(finished_run):
    root, _, _ = finished_run
    work = root / "work"
    table = (work / "results.md").read_text()
    assert table.startswith("Architectures compared on the same 3 folds")
    with (work / "architectures.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["method"] for r in rows] == ["SE-ECGNet", "plain 1-D ResNet"]
    assert int(rows[1]["weights"]) == 145_552  # the default baseline's
    for row, method_root in zip(rows, (work, work / "baseline"), strict=True):
        done = [
            json.loads((method_root / f"fold_{k}" / "done.json").read_text()) for k in (1, 2, 3)
        ]
        assert [d["architecture"] for d in done] == [
            "seecgnet" if method_root == work else "baseline"
        ] * 3
        assert float(row["seconds"]) == pytest.approx(sum(d["seconds"] for d in done), abs=1.5)
        assert all(d["seconds"] > 0 for d in done)


@pytest.fixture(scope="module")
def comparison_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("cv_architectures")
    write_synthetic_dataset(root / "data", 15, seed=3)
    Settings(
        architecture="resnext",
        network=ResNeXtSettings.small(),
        training=TrainSettings(epochs=1, batch_size=4),
    ).save(root / "tiny_resnext.json")
    args = [str(root / "data"), str(root / "work"), "--folds", "3", "--quiet"]
    args += ["--settings", str(root / "tiny_resnext.json"), "--architectures", "resnext,resnest"]
    assert main(args) == 0
    return root, args


def test_several_architectures_run_through_the_same_folds_each_in_its_own_folder(comparison_run):
    root, _ = comparison_run
    work = root / "work"
    assert not (work / "fold_1").exists()  # SE-ECGNet was not asked for
    with (work / "folds.csv").open() as handle:
        folds = {r["record"]: r["fold"] for r in csv.DictReader(handle)}
    for name in ("resnext", "resnest"):
        for k in (1, 2, 3):
            outputs = sorted(p.stem for p in (work / name / f"fold_{k}" / "outputs").iterdir())
            assert outputs == sorted(r for r, f in folds.items() if f == str(k))
        settings = Settings.load(work / name / "fold_1" / "model" / "settings.json")
        assert settings.architecture == name
    # the settings file sets its own architecture's network; the other takes its defaults
    assert Settings.load(work / "resnext" / "fold_2" / "model" / "settings.json").network == (
        ResNeXtSettings.small()
    )
    assert Settings.load(work / "resnest" / "fold_2" / "model" / "settings.json").network == (
        ResNeStSettings()
    )
    table = (work / "results.md").read_text()
    assert "| ResNeXt | 3,856 |" in table and "| ResNeSt | 789,360 |" in table


def test_a_second_run_of_several_architectures_skips_every_complete_fold(comparison_run, caplog):
    _, args = comparison_run
    with caplog.at_level(logging.INFO, logger="seecgnet.crossval"):
        assert main(args) == 0
    assert sum("skipping" in r.message for r in caplog.records) == 6


def test_a_complete_fold_of_another_architecture_is_refused(comparison_run, tmp_path, capsys):
    root, args = comparison_run
    work = tmp_path / "work"
    shutil.copytree(root / "work", work)
    done = work / "resnest" / "fold_2" / "done.json"
    done.write_text(json.dumps({**json.loads(done.read_text()), "architecture": "baseline"}))
    assert main([args[0], str(work), *args[2:]]) == 2
    assert "holds a baseline fold, not resnest: use a new work folder" in capsys.readouterr().err


def test_a_fold_done_before_done_files_named_the_architecture_is_read_from_its_model(
    comparison_run, tmp_path, caplog
):
    root, args = comparison_run
    work = tmp_path / "work"
    shutil.copytree(root / "work", work)
    for done in work.glob("*/fold_*/done.json"):
        old = json.loads(done.read_text())
        done.write_text(json.dumps({k: old[k] for k in ("fold", "records", "members")}))
    with caplog.at_level(logging.INFO, logger="seecgnet.crossval"):
        assert main([args[0], str(work), *args[2:]]) == 0
    assert sum("skipping" in r.message for r in caplog.records) == 6
    assert "| ResNeXt | 3,856 | 1.8 M |" in (work / "results.md").read_text()


@pytest.mark.parametrize(
    "options",
    [
        ["--architectures", "resnext,densenet"],
        ["--architectures", "resnext", "--architecture", "resnest"],
    ],
)
def test_unknown_or_doubled_architecture_options_are_usage_errors(tmp_path, options, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([str(tmp_path / "data"), str(tmp_path / "work"), *options])
    assert exit_.value.code == 2
    assert "architecture" in capsys.readouterr().err
    assert not (tmp_path / "work").exists()


def test_records_labelled_by_a_labels_file_are_scored_by_its_codes(tmp_path):
    from seecgnet.io.records import read_record

    headers = write_synthetic_dataset(tmp_path / "data", 10, seed=5)
    codes = {h.stem: read_record(h).dx_codes for h in headers}
    rows = [f'{name},"{",".join(dx)}"' for name, dx in codes.items()]
    (tmp_path / "labels.csv").write_text("record,dx\n" + "\n".join(rows) + "\n")
    for header in headers:  # no #Dx left: the labels file alone says what each record holds
        lines = header.read_text().splitlines()
        header.write_text("\n".join(line for line in lines if not line.startswith("#Dx")) + "\n")
    TINY.save(tmp_path / "tiny.json")
    work = tmp_path / "work"
    args = [str(tmp_path / "data"), str(work), "--folds", "2", "--quiet", "--no-cache"]
    args += ["--settings", str(tmp_path / "tiny.json"), "--labels", str(tmp_path / "labels.csv")]
    assert main(args) == 0
    classes = load_scored_classes()
    names = sorted(codes)
    folds = sorted(work.glob("fold_*"))
    outputs = {
        path.stem: path for fold in folds for path in (fold / "outputs").glob("*.csv")
    }  # a single network's outputs, one folder per fold
    assert sorted(outputs) == names
    binary = load_outputs([outputs[n] for n in names], classes).binary
    truth = classes.encode_many(codes[n] for n in names)
    with (work / "results.csv").open() as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    pooled = next(row for row in rows if row[:2] == ["SE-ECGNet", "pooled"])
    expected = challenge_metric(truth, binary, classes)
    assert float(pooled[header.index("Challenge metric")]) == pytest.approx(expected, abs=5e-5)
