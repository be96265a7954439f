"""Leave-one-source-out cross-validation and the scores per lead set, on synthetic records named
like three of the challenge's databases, with a tiny network."""

import csv
import logging
from types import SimpleNamespace

import numpy as np
import pytest

from seecgnet.challenge.classes import load_scored_classes
from seecgnet.challenge.outputs import load_outputs
from seecgnet.crossval.__main__ import main
from seecgnet.crossval.folds import BY_SOURCE, SPLIT_FILE, CrossValError, assign_folds
from seecgnet.crossval.tables import mean_and_sd
from seecgnet.io.synthetic import write_synthetic_dataset
from seecgnet.models.settings import NetworkSettings
from seecgnet.trained.settings import Settings, TrainSettings

TINY = Settings(network=NetworkSettings.small(), training=TrainSettings(epochs=1, batch_size=4))
# in the challenge's order of its databases, which is the order of the folds
SOURCES = {"A": ("CPSC (A)", 6), "HR": ("PTB-XL (HR)", 5), "E": ("Georgia (E)", 4)}
LEAD_SETS = ("12", "6", "4", "3", "2")


@pytest.fixture(scope="module")
def source_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("loso")
    for k, (prefix, (_, n)) in enumerate(SOURCES.items()):
        write_synthetic_dataset(root / "data", n, seed=10 + k, name_prefix=prefix)
    TINY.save(root / "tiny.json")
    args = [str(root / "data"), str(root / "work"), "--split", "source", "--quiet", "--no-cache"]
    args += ["--settings", str(root / "tiny.json")]
    assert main(args) == 0
    return root, args


def _csv_section(path, first_cell):
    """The rows of results.csv's section whose header row begins with ``first_cell``s."""
    with path.open() as handle:
        rows = list(csv.reader(handle))
    start = next(i for i, row in enumerate(rows) if row[:2] == first_cell)
    end = next((i for i in range(start, len(rows)) if not rows[i]), len(rows))
    return rows[start], rows[start + 1 : end]


def test_each_source_is_held_out_in_its_own_fold(source_run):
    root, _ = source_run
    with (root / "work" / "folds.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    for k, prefix in enumerate(SOURCES, start=1):
        in_fold = sorted(r["record"] for r in rows if r["fold"] == str(k))
        assert in_fold and all(name.startswith(prefix) for name in in_fold)
        assert {r["source"] for r in rows if r["fold"] == str(k)} == {prefix}
        outputs = sorted(p.stem for p in (root / "work" / f"fold_{k}" / "outputs").iterdir())
        assert outputs == in_fold
    assert (root / "work" / SPLIT_FILE).read_text().strip() == '{"split": "source"}'


def test_the_tables_score_each_held_out_source_and_their_mean(source_run):
    root, _ = source_run
    table = (root / "work" / "results.md").read_text()
    labels = [label for label, _ in SOURCES.values()]
    assert f"| method | decision rule | {' | '.join(labels)} | pooled |" in table
    assert f"| method | leads | {' | '.join(labels)} | mean | sd | pooled |" in table
    header, rows = _csv_section(root / "work" / "results.csv", ["method", "leads"])
    assert header == ["method", "leads", *labels, "mean", "sd", "pooled"]
    assert [row[1] for row in rows] == list(LEAD_SETS)
    for row in rows:
        per_source = [float(v) for v in row[2:5]]
        assert float(row[5]) == pytest.approx(np.mean(per_source), abs=1e-4)
    _, main_rows = _csv_section(root / "work" / "results.csv", ["method", "rows"])
    pooled = next(row for row in main_rows if row[1] == "pooled")
    assert rows[0][-1] == pooled[-1]  # 12 leads: the files the fold wrote, as the main table


def test_every_lead_set_predicts_every_held_out_record_from_its_reduced_copy(source_run):
    root, _ = source_run
    classes = load_scored_classes()
    changed = 0
    for k in range(1, len(SOURCES) + 1):
        fold = root / "work" / f"fold_{k}"
        names = sorted(p.name for p in (fold / "outputs").iterdir())
        full = load_outputs([fold / "outputs" / name for name in names], classes).scalar
        for lead_set in LEAD_SETS[1:]:
            folder = fold / f"outputs_{lead_set}_leads"
            assert sorted(p.name for p in folder.iterdir()) == names
            reduced = load_outputs([folder / name for name in names], classes).scalar
            changed += not np.array_equal(reduced, full)
        assert not any(p.name.startswith(".partial") for p in fold.iterdir())
    assert changed == len(SOURCES) * (len(LEAD_SETS) - 1)  # never the 12-lead answers again


def test_a_lead_set_cut_off_is_redone_alone_with_one_log_line_for_its_missing_leads(
    source_run, caplog
):
    root, args = source_run
    folder = root / "work" / "fold_3" / "outputs_2_leads"
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()
    with caplog.at_level(logging.INFO):
        assert main(args) == 0
    messages = [r.getMessage() for r in caplog.records]
    assert sum("skipping" in m for m in messages) == len(SOURCES)  # nothing trained again
    missing = [m for m in messages if "records lack" in m]
    assert missing == [
        "4 of 4 records lack leads III, aVR, aVL, aVF, V1, V2, V3, V4, V5, V6, read as zeros: "
        "E00001, E00002, E00003, E00004"
    ]
    assert not any("has no lead" in m for m in messages)
    assert len(list(folder.iterdir())) == 4


def test_a_work_folder_of_the_source_split_refuses_stratified_folds(source_run, capsys):
    _, args = source_run
    stratified = [a for a in args if a not in ("--split", "source")]
    assert main([*stratified, "--folds", "3"]) == 2
    assert "made with --split source, not --split stratified" in capsys.readouterr().err
    with pytest.raises(SystemExit) as caught:
        main([*args, "--folds", "3"])
    assert caught.value.code == 2
    assert "--folds does not apply with --split source" in capsys.readouterr().err


def test_a_stratified_work_folder_refuses_the_source_split_even_one_made_before_split_files(
    tmp_path,
):
    names = [f"{prefix}{i:04d}" for prefix in ("A", "E") for i in range(6)]
    store = SimpleNamespace(names=names, labels=np.eye(3, dtype=bool)[np.arange(12) % 3])
    folds = assign_folds(store, 3, 0, tmp_path, 0.2)
    assert folds.labels == ("fold 1", "fold 2", "fold 3")
    for _ in range(2):
        with pytest.raises(CrossValError, match="made with --split stratified, not --split source"):
            assign_folds(store, None, 0, tmp_path, 0.2, BY_SOURCE)
        (tmp_path / SPLIT_FILE).unlink(missing_ok=True)  # as a work folder of earlier versions
    by_source = assign_folds(store, None, 0, tmp_path / "new", 0.2, BY_SOURCE)
    assert by_source.labels == ("CPSC (A)", "Georgia (E)")
    np.testing.assert_array_equal(by_source.fold_of, [0] * 6 + [1] * 6)


def test_a_fold_without_a_challenge_metric_is_left_out_of_the_mean_not_made_zero():
    mean, sd = mean_and_sd(np.array([0.2, np.nan, 0.4]))
    assert (mean, sd) == (pytest.approx(0.3), pytest.approx(np.std([0.2, 0.4], ddof=1)))
    assert np.isnan(mean_and_sd(np.array([np.nan, np.nan]))[0])
