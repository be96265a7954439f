"""Cross-validation of a routed model (--routed) on a handful of synthetic records, and the rule that
chooses each lead set's route from several runs' figures."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from seecgnet.challenge.classes import load_scored_classes
from seecgnet.challenge.metrics import challenge_metric
from seecgnet.challenge.outputs import load_outputs
from seecgnet.challenge.scoring import load_labels
from seecgnet.crossval.__main__ import main
from seecgnet.crossval.routed import (
    ROUTES_FILE,
    candidate_root,
    choose_routes,
    member_root,
    routed_figures,
    routed_markdown,
    routes_of_choice,
)
from seecgnet.crossval.routed import (
    main as choose_main,
)
from seecgnet.io.records import find_records
from seecgnet.io.synthetic import write_synthetic_dataset
from seecgnet.models.settings import NetworkSettings
from seecgnet.trained.routes import OTHER, is_routed, read_routed_manifest
from seecgnet.trained.settings import Settings, TrainSettings

TINY = Settings(network=NetworkSettings.small(), training=TrainSettings(epochs=1, batch_size=4))
CLASSES = load_scored_classes()


@pytest.fixture(scope="module")
def routed_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cv_routed")
    write_synthetic_dataset(root / "data", 12, seed=5)
    TINY.save(root / "tiny.json")
    args = [str(root / "data"), str(root / "work"), "--folds", "2", "--quiet", "--no-cache"]
    args += ["--settings", str(root / "tiny.json"), "--lead-sets", "12", "2", "--routed"]
    assert main(args) == 0
    return root


def read_rows(work: Path) -> list[dict[str, str]]:
    with (work / ROUTES_FILE).open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
def test_every_fold_trains_every_member_and_scores_each_candidate_per_lead_set(
    routed_run: Path,
) -> None:
    work = routed_run / "work"
    for fold in ("fold_1", "fold_2"):
        for member in ("limb", "any"):
            assert (member_root(work, member) / fold / "model" / "model.json").is_file()
        model = candidate_root(work, "routed") / fold / "model"
        assert is_routed(model)
        assert read_routed_manifest(model).table.routes["12"].members == ("limb",)
    rows = read_rows(work)
    assert {(r["lead_set"], r["candidate"]) for r in rows} == {
        (s, c) for s in ("12", "2") for c in ("limb", "any", "mean", "routed")
    }
    assert {r["split"] for r in rows} == {"stratified"}


@pytest.mark.slow
def test_the_routed_figures_are_those_of_the_files_its_routes_wrote(routed_run: Path) -> None:
    work = routed_run / "work"
    headers = {p.stem: p for p in find_records(routed_run / "data")}
    folds = list(csv.DictReader((work / "folds.csv").open()))
    names = [row["record"] for row in folds]
    labels = load_labels([headers[n] for n in names], CLASSES)
    by_name = {row["record"]: row["fold"] for row in folds}
    rows = {(r["lead_set"], r["candidate"]): r for r in read_rows(work)}
    for lead_set, folder in (("12", "outputs"), ("2", "outputs_2_leads")):
        paths = [
            candidate_root(work, "routed") / f"fold_{by_name[n]}" / folder / f"{n}.csv"
            for n in names
        ]
        decided = load_outputs(paths, CLASSES).binary
        expected = challenge_metric(labels, decided, CLASSES)
        assert float(rows[(lead_set, "routed")]["pooled"]) == pytest.approx(expected, abs=1e-4)
    # with 12 leads the routed model is its 12-lead route's member: the same files' labels
    limb = load_outputs(
        [member_root(work, "limb") / f"fold_{by_name[n]}" / "outputs" / f"{n}.csv" for n in names],
        CLASSES,
    ).binary
    routed = load_outputs(
        [
            candidate_root(work, "routed") / f"fold_{by_name[n]}" / "outputs" / f"{n}.csv"
            for n in names
        ],
        CLASSES,
    ).binary
    np.testing.assert_array_equal(routed, limb)


@pytest.mark.slow
def test_a_run_again_with_other_routes_rebuilds_only_the_routed_candidate(
    routed_run: Path, caplog: pytest.LogCaptureFixture
) -> None:
    work = routed_run / "work"
    routes = {name: {"members": ["any"]} for name in ("12", "6", "4", "3", "2", OTHER)}
    (routed_run / "any.json").write_text(json.dumps(routes))
    args = [str(routed_run / "data"), str(work), "--folds", "2", "--quiet", "--no-cache"]
    args += ["--settings", str(routed_run / "tiny.json"), "--lead-sets", "12", "2", "--routed"]
    mean_model = candidate_root(work, "mean") / "fold_1" / "model" / "model.json"
    before = mean_model.stat().st_mtime_ns
    with caplog.at_level("INFO"):
        assert main([*args, "--routes", str(routed_run / "any.json")]) == 0
    assert "skipping" in caplog.text and "training on" not in caplog.text
    assert mean_model.stat().st_mtime_ns == before  # the mean's routes did not change
    rows = {(r["lead_set"], r["candidate"]): r for r in read_rows(work)}
    for lead_set in ("12", "2"):
        assert rows[(lead_set, "routed")]["pooled"] == rows[(lead_set, "any")]["pooled"]


def figure_rows(split: str, seed: int, figures: dict[tuple[str, str], float]) -> list[dict]:
    key = "pooled" if split == "stratified" else "fold_mean"
    return [
        {"split": split, "seed": str(seed), "lead_set": s, "candidate": c, key: str(v),
         "pooled" if key == "fold_mean" else "fold_mean": "nan"}
        for (s, c), v in figures.items()
    ]  # fmt: skip


def test_each_lead_set_takes_the_candidate_best_on_the_average_of_both_splits() -> None:
    # 12 leads: limb best on both splits. 2 leads: the mean as good as any stratified and better
    # on unseen sources, best on the average. Two seeds of each split.
    strat = {("12", "limb"): 0.38, ("12", "any"): 0.34, ("12", "mean"): 0.36,
             ("2", "limb"): 0.20, ("2", "any"): 0.33, ("2", "mean"): 0.33,
             ("12", "routed"): 0.99}  # fmt: skip
    loso = {("12", "limb"): 0.18, ("12", "any"): 0.11, ("12", "mean"): 0.15,
            ("2", "limb"): 0.105, ("2", "any"): 0.09, ("2", "mean"): 0.10,
            ("12", "routed"): 0.99}  # fmt: skip
    rows = figure_rows("stratified", 0, strat) + figure_rows("source", 0, loso)
    shifted = {k: v + 0.01 for k, v in strat.items()}
    rows += figure_rows("stratified", 1, shifted) + figure_rows("source", 1, loso)
    choice = choose_routes(rows)
    assert choice.chosen == {"12": "limb", "2": "mean", OTHER: "mean"}
    assert choice.table["2"]["any"] == pytest.approx((0.335, 0.09, (0.335 + 0.09) / 2))
    assert "routed" not in choice.table["12"]  # the routed model is no candidate of itself
    routes = routes_of_choice(choice, ["limb", "any"])
    assert routes["12"] == {"members": ["limb"]} and routes["2"] == {"members": ["limb", "any"]}


def test_a_choice_without_both_splits_is_refused(tmp_path: Path, capsys) -> None:
    (tmp_path / ROUTES_FILE).write_text(
        "split,seed,lead_set,candidate,pooled,fold_mean,folds\nstratified,0,12,limb,0.3,0.3,\n"
    )
    assert choose_main([str(tmp_path)]) == 2
    assert "both splits" in capsys.readouterr().err


def test_the_chosen_routes_print_as_a_routes_file(tmp_path: Path, capsys) -> None:
    lines = ["split,seed,lead_set,candidate,pooled,fold_mean,folds"]
    for split in ("stratified", "source"):
        for lead_set in ("12", "6", "4", "3", "2"):
            lines += [f"{split},0,{lead_set},limb,0.3,0.2,", f"{split},0,{lead_set},any,0.2,0.1,"]
    (tmp_path / ROUTES_FILE).write_text("\n".join(lines) + "\n")
    assert choose_main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    routes = json.loads(out[out.index("{") :])
    assert set(routes) == {"12", "6", "4", "3", "2", OTHER}
    assert all(route == {"members": ["limb"]} for route in routes.values())


def test_the_routed_model_figures_set_each_lead_set_beside_12_leads_and_the_shipped_recipe(
    tmp_path: Path, capsys
) -> None:
    strat = {
        ("12", "limb"): 0.38,
        ("12", "routed"): 0.38,
        ("2", "limb"): 0.2,
        ("2", "routed"): 0.34,
    }
    loso = {
        ("12", "limb"): 0.18,
        ("12", "routed"): 0.18,
        ("2", "limb"): 0.10,
        ("2", "routed"): 0.12,
    }
    rows = figure_rows("stratified", 0, strat) + figure_rows("source", 0, loso)
    rows += figure_rows("stratified", 1, {k: v + 0.02 for k, v in strat.items()})
    rows += figure_rows("source", 1, loso)
    figures = {f.lead_set: f for f in routed_figures(rows, "limb")}
    assert figures["2"].stratified == pytest.approx((0.34, 0.36))
    assert figures["2"].ratio_to(figures["12"]) == pytest.approx(0.35 / 0.39)
    assert figures["2"].source_change == pytest.approx(0.02)
    table = routed_markdown(list(figures.values()), "limb")
    assert "| 2 | 0.350 ± 0.014 (0.340 / 0.360) | 0.90 |" in table
    assert routed_figures([r for r in rows if r["candidate"] != "routed"], "limb") == []
    # The command prints it when the runs hold the routed candidate.
    for split, seed in (("stratified", 0), ("source", 0)):
        work = tmp_path / f"{split}_{seed}"
        work.mkdir()
        mine = [r for r in rows if (r["split"], r["seed"]) == (split, str(seed))]
        with (work / ROUTES_FILE).open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(mine[0]))
            writer.writeheader()
            writer.writerows(mine)
    assert choose_main([str(tmp_path / "stratified_0"), str(tmp_path / "source_0")]) == 0
    assert "+0.020 |" in capsys.readouterr().out
