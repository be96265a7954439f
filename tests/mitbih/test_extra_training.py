"""Other databases' records in training (--extra-training) and the patient-specific protocol, on
tiny synthetic records."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from seecgnet.mitbih import adaptation
from seecgnet.mitbih.__main__ import main
from seecgnet.mitbih.adaptation import labelled_and_tested
from seecgnet.mitbih.beats import Beats, read_beats
from seecgnet.mitbih.result_files import MethodResult
from seecgnet.mitbih.scores import score_beats
from seecgnet.mitbih.seeds import breakdown_summary
from seecgnet.mitbih.settings import BeatSettings
from seecgnet.mitbih.sources import MITBIH, SourcesError, database_of, extra_records
from seecgnet.mitbih.splits import DS1, DS2, inter_patient_split
from tests.mitbih.records import rhythm, write_record
from tests.mitbih.test_run import tiny
from tests.mitbih.test_splits import fake_beats


def write_database(folder: Path, names: list[str], seed: int, fs_hz: int = 128) -> Path:
    """Records of N, premature A and wide V beats at ``fs_hz``, leads named ECG1 and ECG2."""
    folder.mkdir(parents=True, exist_ok=True)
    for k, name in enumerate(names):
        times, symbols = rhythm(40, seed=seed + k)
        write_record(folder, name, times, symbols, times[-1] + 1.0, (), ("ECG1", "ECG2"), fs_hz)
    return folder


def test_extra_records_are_named_by_their_database_and_never_meet_mitbih_names(tmp_path):
    svdb = write_database(tmp_path / "svdb", ["800", "801"], seed=0)
    other = write_database(tmp_path / "other", ["800"], seed=5)
    paths = extra_records([svdb, other])
    assert paths == {
        "svdb/800": svdb / "800",
        "svdb/801": svdb / "801",
        "other/800": other / "800",
    }
    beats = read_beats(tmp_path, list(paths), BeatSettings(), progress=False, paths=paths)
    assert beats.records == ("svdb/800", "svdb/801", "other/800")
    assert set(np.unique(beats.record_index)) == {0, 1, 2}
    assert [database_of(name) for name in ("svdb/800", "100")] == ["svdb", MITBIH]
    (tmp_path / "again").mkdir()
    again = write_database(tmp_path / "again" / "svdb", ["800"], seed=9)
    with pytest.raises(SourcesError, match="two databases in folders named 'svdb'"):
        extra_records([svdb, again])


def test_a_128_hz_record_gives_the_beats_of_the_same_record_at_360_hz(tmp_path):
    # beats on a grid of 1/8 s, so that both rates sample every R peak exactly; beats three times
    # the usual width, so that 128 Hz holds their whole band
    times = [round(0.5 + 0.75 * k - 0.25 * (k % 5 == 3), 3) for k in range(40)]
    symbols = ["A" if k % 5 == 3 else "V" if k % 7 == 4 else "N" for k in range(40)]
    for fs_hz in (360, 128):
        write_record(tmp_path, f"r{fs_hz}", times, symbols, times[-1] + 1.0, (), ("ECG1", "ECG2"),
                     fs_hz, width=3.0)  # fmt: skip
    settings = BeatSettings()
    fast, slow = (read_beats(tmp_path, [f"r{fs}"], settings, False) for fs in (360, 128))
    np.testing.assert_array_equal(fast.labels, slow.labels)
    np.testing.assert_array_equal(fast.time_s, slow.time_s)
    np.testing.assert_allclose(fast.rr, slow.rr, rtol=1e-6)
    assert np.abs(fast.windows).max() > 0.5
    np.testing.assert_allclose(slow.windows, fast.windows, atol=0.03)
    # unnamed leads keep their order: ECG1 (written as half of ECG2) takes MLII's row
    raw = read_beats(tmp_path, ["r128"], BeatSettings(normalise_amplitude=False), False)
    heights = np.ptp(raw.windows[:, :2], axis=2).mean(axis=0)
    assert heights[1] == pytest.approx(2 * heights[0], rel=0.05)


def test_folds_hold_both_databases_and_ds2_never_trains_or_chooses():
    extra = [f"svdb/{800 + k}" for k in range(12)]
    beats = fake_beats([*DS1, *DS2, *extra], 60, seed=3)
    split = inter_patient_split(beats, 3, seed=4)
    alone = inter_patient_split(fake_beats([*DS1, *DS2], 60, seed=3), 3, seed=4)
    ds2 = np.flatnonzero(np.isin(beats.record_index, [beats.records.index(n) for n in DS2]))
    np.testing.assert_array_equal(np.sort(split.test), ds2)
    for fold, fold_alone in zip(split.folds, alone.folds, strict=True):
        names = {beats.records[k] for k in np.unique(beats.record_index[fold])}
        assert names & set(DS1) and names & set(extra)
        # DS1's part of each fold is the fold of a run without the extra database
        np.testing.assert_array_equal(
            np.sort(fold[np.isin(fold, alone.train)]), np.sort(fold_alone)
        )
    for fit, validation in split.members():
        assert not np.isin(fit, ds2).any() and not np.isin(validation, ds2).any()
    assert sorted(np.concatenate(split.folds).tolist()) == sorted(split.train.tolist())
    assert not np.isin(split.train, ds2).any()


def test_the_labelled_beats_come_before_minute_n_and_the_tested_after():
    times = np.array([10.0, 299.0, 300.0, 301.0, 5.0, 400.0])
    beats = Beats(("a", "b"), np.zeros((6, 2, 4)), np.zeros((6, 1)), np.zeros(6, np.int64),
                  np.array([0, 0, 0, 0, 1, 1]), times)  # fmt: skip
    labelled, tested = labelled_and_tested(beats, np.arange(6), minutes=5)
    assert labelled.tolist() == [0, 1, 4] and tested.tolist() == [2, 3, 5]


@pytest.fixture(scope="module")
def databases(tmp_path_factory) -> tuple[Path, Path]:
    """DS1 and DS2 by name at 360 Hz, and a 128 Hz database of six records."""
    root = tmp_path_factory.mktemp("databases")
    mitdb = root / "mitdb"
    mitdb.mkdir()
    for k, name in enumerate([*DS1, *DS2]):
        times, symbols = rhythm(40, seed=100 + k)
        write_record(mitdb, name, times, symbols, duration_s=times[-1] + 1.0)
    return mitdb, write_database(root / "svdbx", [str(800 + k) for k in range(6)], seed=300)


def test_patient_specific_run_adapts_on_the_first_minutes_and_scores_both_on_the_rest(
    databases, tmp_path, monkeypatch, capsys
):
    mitdb, svdbx = databases
    given = []
    real = adaptation.adapt_classifier

    def spy(member, patient, training, settings, seed):
        given.append(patient[2].numpy().copy())
        return real(member, patient, training, settings, seed)

    monkeypatch.setattr(adaptation, "adapt_classifier", spy)
    workdir = tmp_path / "run"
    options = tiny(tmp_path, adaptation={"steps": 5, "training_beats": 50})
    tiny(tmp_path, "inter.json")  # the same without the adaptation's part, for the inter run
    run = [str(mitdb), str(workdir), "--protocol", "patient-specific", *options, "--folds", "2",
           "--extra-training", str(svdbx), "--labelled-minutes", "0.25"]  # fmt: skip
    assert main(run) == 0
    settings = json.loads((workdir / "settings.json").read_text())
    assert settings["extra_training"] == ["svdbx"]
    assert settings["adaptation"]["labelled_minutes"] == 0.25
    sizes = json.loads((workdir / "data_files.json").read_text())
    assert {name for name in sizes if "/" in name} == {f"svdbx/{800 + k}" for k in range(6)}
    assert all(-1 not in value for value in sizes.values())
    cached = json.loads((workdir / "beats" / "beats.json").read_text())["records"]
    assert cached[-6:] == [f"svdbx/{800 + k}" for k in range(6)]

    split = np.load(workdir / "split.npz")
    predictions = np.load(workdir / "seecgnet" / "predictions.npz")
    times = np.load(workdir / "beats" / "time_s.npy")
    labels = np.load(workdir / "beats" / "labels.npy")
    labelled, tested = predictions["labelled"], predictions["tested"]
    assert (times[labelled] < 15).all() and (times[tested] >= 15).all()
    assert sorted([*labelled, *tested]) == sorted(split["test"].tolist()) and len(labelled)
    # each DS2 record adapted on its own labelled beats alone, by both models (2 x 22), and each
    # held-out training record (22 of DS1, 6 of svdbx) on its own by its fold's model
    assert len(given) == 2 * 22 + 28
    held_out = split["validation"]
    first_minutes = held_out[times[held_out] < 15]
    expected = [*np.tile(labels[labelled], 2), *labels[first_minutes]]
    assert sorted(np.concatenate(given)) == sorted(expected)
    positions = predictions["validation_tested"]
    assert (times[held_out[positions]] >= 15).all()
    assert len(positions) == (times[held_out] >= 15).sum() == len(predictions["validation_adapted"])

    with (workdir / "results.csv").open() as handle:
        rows = [row for row in csv.reader(handle) if row]
    tested_rows = {(r[1], r[3]): int(r[4]) for r in rows if r[2] == "test" and len(r[3]) == 1}
    inter = "SE-ECGNet, inter-patient model, after minute 0.25"
    adapted = "SE-ECGNet, adapted to each patient, after minute 0.25"
    whole = "SE-ECGNet, inter-patient model, all beats"
    assert sum(tested_rows[(whole, name)] for name in "NSVFQ") == len(split["test"])
    for name in ("N", "S", "V"):  # both scored on the same beats: the tested ones
        assert tested_rows[(inter, name)] == tested_rows[(adapted, name)]
    assert sum(tested_rows[(inter, name)] for name in "NSVFQ") == len(tested)
    after = {(r[1], r[2], r[3]): int(r[4]) for r in rows
             if r[2].startswith("validation after") and len(r[3]) == 1}  # fmt: skip
    for part in (
        "validation after minute 0.25: svdbx",
        "validation after minute 0.25: MIT-BIH DS1",
    ):
        for name in ("N", "S", "V"):  # and the held-out beats after minute N alike
            assert after[(inter, part, name)] == after[(adapted, part, name)]
    parts = {r[2] for r in rows}
    assert {"validation: MIT-BIH DS1", "validation: svdbx"} <= parts
    assert {"tested: record 232", "tested without record 232"} <= parts
    assert {
        "validation after minute 0.25: MIT-BIH DS1",
        "validation after minute 0.25: svdbx",
    } <= parts
    text = (workdir / "results.md").read_text()
    assert "validation: svdbx" in text and "tested: record 232" in text

    capsys.readouterr()
    without = [arg for arg in run if arg not in ("--extra-training", str(svdbx))]
    assert main(without) == 2
    assert "other settings (extra_training)" in capsys.readouterr().err

    # the inter-patient protocol with the same settings and seed trains the same models: the
    # first row is its figure
    inter_run = [arg for arg in run if arg not in ("--labelled-minutes", "0.25")]
    inter_run[inter_run.index("patient-specific")] = "inter"
    inter_run[1] = str(tmp_path / "inter")
    monkeypatch.setattr(adaptation, "adapt_classifier", real)
    assert main([*inter_run, "--settings", str(tmp_path / "inter.json")]) == 0
    alone = np.load(tmp_path / "inter" / "seecgnet" / "predictions.npz")
    np.testing.assert_array_equal(alone["test"], predictions["test"])
    np.testing.assert_array_equal(alone["test_log_p"], predictions["test_log_p"])


@pytest.mark.parametrize(
    ("protocol", "option", "named"),
    [
        ("intra", ["--extra-training", "."], "--extra-training: the intra-patient protocol"),
        ("inter", ["--labelled-minutes", "5"], "--labelled-minutes serves --protocol patient"),
    ],
)
def test_options_a_protocol_has_no_use_for_are_one_line_errors(
    tmp_path, capsys, protocol, option, named
):
    argv = [str(tmp_path), str(tmp_path / "run"), "--protocol", protocol, *option]
    assert main(argv) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("mitbih: error: ") and "\n" not in error and named in error
    assert not (tmp_path / "run").exists()


def test_the_seeds_summary_gives_each_part_of_the_breakdown_over_the_seeds(tmp_path):
    def result(seed: int, s_found: int) -> MethodResult:
        # record 232's five S beats, ``s_found`` of them called S; the rest of DS2 all right
        part = score_beats(np.array([1] * 5 + [0] * 5), np.array([1] * s_found + [0] * 10)[:10])
        whole = score_beats(np.array([0, 1, 2]), np.array([0, 1, 2]))
        return MethodResult("SE-ECGNet", whole, whole, 1, 0.0, 1, 1.0, seed,
                            breakdown=(("test: record 232", part),))  # fmt: skip

    rows, lines = breakdown_summary({0: [result(0, 1)], 1: [result(1, 3)]}, [0, 1])
    figures = {row[0]: [float(v) for v in row[1:]] for row in rows}
    # S Se 0.2 and 0.6: mean 0.4, sd 0.2, lowest 0.2, highest 0.6
    assert figures["SE-ECGNet, test: record 232: S Se"] == pytest.approx([0.4, 0.2, 0.2, 0.6])
    assert any("| SE-ECGNet | test: record 232 | 0.400 ± 0.200 |" in line for line in lines)
