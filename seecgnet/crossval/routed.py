"""Cross-validation of a routed model (``python -m seecgnet.crossval DATA WORKDIR --routed``): the
routed model scored out of fold exactly as ``train_model.py --routed`` ships it, and beside it
each candidate for each lead set's route.

Each fold trains every member (as its own method, ``member_NAME/fold_K/``, through the same folds
and with the same seed), then builds from the fold's members two routed model folders: the routed
model itself (the run's routes) and the mean of all members on every route; the held-out records
of every lead set go through each of them by the driver's path, each record routed by its leads.
Work folder layout, beside the members' folds::

    member_limb/fold_K/ ..., member_any/fold_K/ ...   each member's fold (see run.py)
    candidate_routed/fold_K/model/, outputs*/           the routed model and its outputs
    candidate_routed/fold_K/routes.json                 the routes it was built with
    candidate_mean/fold_K/model/, outputs*/             every route the mean of all members
    routes.csv                                          every candidate's figures per lead set

``routes.csv`` holds, for each lead set and candidate (each member alone, ``mean``, ``routed``),
the challenge metric of all out-of-fold records pooled and the mean over folds (a fold whose labels
leave the metric undefined left out). :func:`choose_routes` reads several runs' files and chooses
each lead set's route by the rule fixed before looking (see its docstring).
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from seecgnet.challenge.classes import ScoredClasses
from seecgnet.challenge.metrics import ChallengeMetric, challenge_metric
from seecgnet.challenge.outputs import load_outputs
from seecgnet.crossval.folds import CrossValError, FoldPlan
from seecgnet.crossval.lead_sets import lead_set_outputs, predict_lead_sets
from seecgnet.io.reduced_leads import LEAD_SETS_2021
from seecgnet.trained.routes import OTHER, ROUTE_NAMES, save_routed_model

log = logging.getLogger(__name__)

ROUTES_FILE = "routes.csv"
# In a candidate's fold folder: the routes its model was built with, as given.
ROUTES_GIVEN = "routes.json"
MEAN = "mean"
ROUTED = "routed"
COLUMNS = ("split", "seed", "lead_set", "candidate", "pooled", "fold_mean", "folds")


def member_root(workdir: Path, member: str) -> Path:
    """Where a member's folds go in a routed run's work folder."""
    return workdir / f"member_{member}"


def candidate_root(workdir: Path, candidate: str) -> Path:
    return workdir / f"candidate_{candidate}"


def mean_routes(members: Sequence[str]) -> dict[str, Any]:
    """Every route the mean of all members, under the paper's max/5 rule."""
    return {name: {"members": list(members)} for name in ROUTE_NAMES}


def build_fold_candidates(
    workdir: Path,
    fold: int,
    members: Sequence[str],
    routes: Mapping[str, Any],
    classes: ScoredClasses,
) -> dict[str, Path]:
    """The fold's routed model folders (each candidate's ``fold_K``), built from copies of the
    members' fold models unless already there with the same routes; a candidate built with other
    routes (a run again with another routes file) is built and predicted again, which trains
    nothing."""
    built = {}
    for candidate, table in ((ROUTED, routes), (MEAN, mean_routes(members))):
        fold_dir = candidate_root(workdir, candidate) / f"fold_{fold}"
        given = json.dumps(table, sort_keys=True)
        if (fold_dir / ROUTES_GIVEN).is_file() and (fold_dir / ROUTES_GIVEN).read_text() != given:
            log.info("%s was built with other routes: building it again", fold_dir)
            shutil.rmtree(fold_dir)
        if not (fold_dir / "model" / "model.json").is_file():
            staging = fold_dir / ".members"
            shutil.rmtree(staging, ignore_errors=True)
            copies = {}
            for member in members:
                copies[member] = staging / member
                shutil.copytree(
                    member_root(workdir, member) / f"fold_{fold}" / "model", copies[member]
                )
            save_routed_model(fold_dir / "model", copies, table, classes, "routes")
            shutil.rmtree(staging, ignore_errors=True)
            (fold_dir / ROUTES_GIVEN).write_text(given)
        built[candidate] = fold_dir
    return built


def run_candidates(
    workdir: Path,
    plan: FoldPlan,
    names: Sequence[str],
    headers: Mapping[str, Path],
    members: Sequence[str],
    routes: Mapping[str, Any],
    classes: ScoredClasses,
    lead_sets: Sequence[str],
    workers: int,
    progress: bool,
) -> None:
    """Build every fold's candidates and predict its held-out records with each lead set."""
    for fold in range(plan.n_folds):
        held_out = [headers[names[i]] for i in np.flatnonzero(plan.fold_of == fold)]
        for fold_dir in build_fold_candidates(workdir, fold + 1, members, routes, classes).values():
            predict_lead_sets(fold_dir, held_out, lead_sets, workers, progress)


@dataclass(frozen=True)
class CandidateScore:
    """One candidate's out-of-fold challenge metric with one lead set."""

    lead_set: str
    candidate: str
    pooled: float
    per_fold: tuple[float, ...]

    @property
    def fold_mean(self) -> float:
        finite = [v for v in self.per_fold if np.isfinite(v)]
        return float(np.mean(finite)) if finite else float("nan")


def score_candidates(
    workdir: Path,
    plan: FoldPlan,
    names: Sequence[str],
    truth: np.ndarray,
    members: Sequence[str],
    classes: ScoredClasses,
    lead_sets: Sequence[str],
) -> list[CandidateScore]:
    """Every candidate's figures for each lead set, from the output files of every fold; ``truth``
    (records, classes) the records' labels as training read them, in the order of ``names``."""
    roots = {m: member_root(workdir, m) for m in members}
    roots |= {c: candidate_root(workdir, c) for c in (MEAN, ROUTED)}
    folds = [[names[i] for i in np.flatnonzero(plan.fold_of == k)] for k in range(plan.n_folds)]
    labels = [truth[plan.fold_of == k] for k in range(plan.n_folds)]
    scores = []
    for lead_set in lead_sets:
        for candidate, root in roots.items():
            decided = [
                load_outputs(
                    [lead_set_outputs(root / f"fold_{k + 1}", lead_set) / f"{n}.csv" for n in fold],
                    classes,
                ).binary
                for k, fold in enumerate(folds)
            ]
            per_fold = tuple(_metric(y, d, classes) for y, d in zip(labels, decided, strict=True))
            pooled = challenge_metric(np.concatenate(labels), np.concatenate(decided), classes)
            scores.append(CandidateScore(lead_set, candidate, float(pooled), per_fold))
    return scores


def _metric(labels: np.ndarray, decided: np.ndarray, classes: ScoredClasses) -> float:
    metric = ChallengeMetric(labels, classes)
    return metric(decided) if metric.defined else float("nan")


def write_routes_csv(scores: Sequence[CandidateScore], split: str, seed: int, path: Path) -> None:
    """The run's figures, one row per lead set and candidate."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for s in scores:
            folds = ";".join(f"{v:.4f}" for v in s.per_fold)
            writer.writerow(
                (
                    split,
                    seed,
                    s.lead_set,
                    s.candidate,
                    f"{s.pooled:.4f}",
                    f"{s.fold_mean:.4f}",
                    folds,
                )
            )


@dataclass(frozen=True)
class RouteChoice:
    """Each lead set's candidates' averaged figures and the candidate chosen."""

    table: dict[
        str, dict[str, tuple[float, float, float]]
    ]  # set -> candidate -> (strat, loso, avg)
    chosen: dict[str, str]


def choose_routes(rows: Sequence[Mapping[str, str]]) -> RouteChoice:
    """Each lead set's route, by the rule fixed before looking: the candidate (a member alone, or
    the mean of all members; not the routed model itself) with the best average of its stratified
    pooled metric (mean over the stratified runs, e.g. seeds) and its leave-one-source-out mean
    over sources (mean over the source runs). The ``other`` route takes the candidate best on
    average over the reduced sets. ``rows`` are routes.csv rows of one or more runs, which must
    hold both splits."""
    table: dict[str, dict[str, tuple[float, float, float]]] = {}
    sets = [s for s in LEAD_SETS_2021 if any(r["lead_set"] == s for r in rows)]
    candidates = list(dict.fromkeys(r["candidate"] for r in rows if r["candidate"] != ROUTED))
    for lead_set in sets:
        table[lead_set] = {}
        for candidate in candidates:
            mine = [r for r in rows if r["lead_set"] == lead_set and r["candidate"] == candidate]
            strat = [float(r["pooled"]) for r in mine if r["split"] == "stratified"]
            loso = [float(r["fold_mean"]) for r in mine if r["split"] == "source"]
            if not strat or not loso:
                raise ValueError(f"lead set {lead_set}, {candidate}: runs of both splits needed")
            s, o = float(np.mean(strat)), float(np.mean(loso))
            table[lead_set][candidate] = (s, o, (s + o) / 2)
    chosen = {s: max(by, key=lambda c: by[c][2]) for s, by in table.items()}
    reduced = [s for s in sets if s != "12"] or sets
    chosen[OTHER] = max(candidates, key=lambda c: np.mean([table[s][c][2] for s in reduced]))
    return RouteChoice(table, chosen)


def routes_of_choice(choice: RouteChoice, members: Sequence[str]) -> dict[str, Any]:
    """The chosen routes as a routes file holds them (``--routes``)."""
    return {
        name: {"members": list(members) if c == MEAN else [c]} for name, c in choice.chosen.items()
    }


def read_runs(workdirs: Sequence[str | Path]) -> list[dict[str, str]]:
    """The rows of several runs' routes.csv files."""
    rows = []
    for workdir in workdirs:
        path = Path(workdir) / ROUTES_FILE
        try:
            with path.open(newline="") as handle:
                rows.extend(csv.DictReader(handle))
        except OSError as error:
            raise CrossValError(f"{path}: cannot read it ({error.strerror})") from error
    return rows


def choice_markdown(choice: RouteChoice) -> str:
    """The per-lead-set table: each candidate's stratified, leave-one-source-out and averaged
    figure, the chosen one in bold."""
    lines = [
        "| lead set | candidate | stratified pooled | leave-one-source-out mean | average |",
        "|---|---|---|---|---|",
    ]
    for lead_set, by in choice.table.items():
        for candidate, (strat, loso, average) in by.items():
            mark = "**" if choice.chosen[lead_set] == candidate else ""
            lines.append(
                f"| {lead_set} | {mark}{candidate}{mark} | {strat:.3f} | {loso:.3f} | "
                f"{mark}{average:.3f}{mark} |"
            )
    return "\n".join(lines) + f"\n\nother subsets: {choice.chosen[OTHER]}\n"


@dataclass(frozen=True)
class RoutedFigures:
    """One lead set's figures of the routed model, over the runs, beside the reference member's
    (the shipped recipe before routing): stratified pooled and leave-one-source-out means."""

    lead_set: str
    stratified: tuple[float, ...]  # pooled metric, one per stratified run
    source: tuple[float, ...]  # mean over sources, one per source run
    reference_source: tuple[float, ...]  # the reference member's, the same runs

    def ratio_to(self, twelve: RoutedFigures) -> float:
        """The stratified mean over that of all 12 leads."""
        return float(np.mean(self.stratified) / np.mean(twelve.stratified))

    @property
    def source_change(self) -> float:
        """The leave-one-source-out mean less the reference member's."""
        return float(np.mean(self.source) - np.mean(self.reference_source))


def routed_figures(rows: Sequence[Mapping[str, str]], reference: str) -> list[RoutedFigures]:
    """The routed model's figures per lead set, from the routes.csv rows of runs made with the
    routes to report (``--routes``); empty when the rows hold no routed candidate."""

    def values(lead_set: str, candidate: str, split: str, column: str) -> tuple[float, ...]:
        mine = sorted(
            (int(r["seed"]), float(r[column]))
            for r in rows
            if (r["lead_set"], r["candidate"], r["split"]) == (lead_set, candidate, split)
        )
        return tuple(value for _, value in mine)

    sets = [s for s in LEAD_SETS_2021 if any(r["lead_set"] == s for r in rows)]
    figures = []
    for lead_set in sets:
        strat = values(lead_set, ROUTED, "stratified", "pooled")
        source = values(lead_set, ROUTED, "source", "fold_mean")
        if strat and source:
            ref = values(lead_set, reference, "source", "fold_mean")
            figures.append(RoutedFigures(lead_set, strat, source, ref))
    return figures


def routed_markdown(figures: Sequence[RoutedFigures], reference: str) -> str:
    """The routed model's table: per lead set its stratified figure (mean ± sd, each run), its
    ratio to 12 leads, and its leave-one-source-out mean beside the reference member's."""
    twelve = next((f for f in figures if f.lead_set == "12"), None)
    lines = [
        f"| lead set | routed, stratified pooled | ÷ 12 leads | routed, leave-one-source-out "
        f"| {reference} alone, leave-one-source-out | change |",
        "|---|---|---|---|---|---|",
    ]
    for f in figures:
        ratio = f"{f.ratio_to(twelve):.2f}" if twelve else "–"
        lines.append(
            f"| {f.lead_set} | {_spread(f.stratified)} | {ratio} | {_spread(f.source)} | "
            f"{_spread(f.reference_source)} | {f.source_change:+.3f} |"
        )
    return "\n".join(lines) + "\n"


def _spread(values: Sequence[float]) -> str:
    """Mean ± sd and each value, e.g. ``0.292 ± 0.024 (0.311 / 0.300 / 0.265)``."""
    if not values:
        return "–"
    each = " / ".join(f"{v:.3f}" for v in values)
    sd = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return f"{np.mean(values):.3f} ± {sd:.3f} ({each})"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m seecgnet.crossval.routed",
        description="Choose each lead set's route from the routes.csv of several --routed "
        "cross-validation runs (stratified and leave-one-source-out, a few seeds each): prints "
        "the per-lead-set table, the routed model's own figures as the runs scored it (with "
        "the routes they were given), and the chosen routes as a routes file for --routes.",
    )
    parser.add_argument("workdirs", nargs="+", help="work folders of --routed runs")
    parser.add_argument(
        "--members",
        default="limb,any",
        help="the members; the first is the recipe shipped before routing, whose "
        "leave-one-source-out figures the routed model's are set beside (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    try:
        rows = read_runs(args.workdirs)
        choice = choose_routes(rows)
    except (CrossValError, ValueError, KeyError) as error:
        print(f"crossval.routed: error: {error}", file=sys.stderr)
        return 2
    print(choice_markdown(choice))
    members = args.members.split(",")
    figures = routed_figures(rows, members[0])
    if figures:
        print("The routed model as the runs scored it (their --routes):\n")
        print(routed_markdown(figures, members[0]))
    print(json.dumps(routes_of_choice(choice, members), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
