"""Time the challenge scorer on N synthetic recordings (by default as many as the 2020 training set).

Writes N label headers (12-lead headers whose ``#Dx`` line holds 1-3 random scored or unscored codes)
and two sets of N output files (random probabilities, written by ``write_output``) into a temporary
folder: *uniform* files that all list the scored classes in the same order, and *mixed* files whose
class order differs from file to file (a random permutation each; a third also list unscored codes,
a third list the second code of each equivalent pair as a column of its own). It prints the seconds
spent reading the files, computing the metrics, and in the whole ``evaluate_12ECG_score`` call for
both sets (the best of ``--repeat`` runs of each), and the mixed/uniform ratio of the whole call.

    python benchmarks/scorer.py [--n 43101] [--seed 0] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from seecgnet.challenge.classes import ScoredClasses, load_scored_classes
from seecgnet.challenge.metrics import compute_scores
from seecgnet.challenge.outputs import load_outputs, write_output
from seecgnet.challenge.scoring import evaluate_12ECG_score, find_recording_files, load_labels

# Diagnoses the challenge does not score, and the second codes of the equivalent pairs.
OTHER_CODES = (
    "164865005",
    "55930002",
    "429622005",
    "251180001",
    "164884008",
    "59118001",
    "63593006",
)
LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")


UNSCORED_CODES = OTHER_CODES[:4]


def mixed_class_list(classes: ScoredClasses, rng: np.random.Generator) -> list[str]:
    """A class list as another tool might write it: the scored codes in a random order, with the
    unscored codes or the equivalent pairs' second codes mixed in for two files in three."""
    listed = list(classes.codes)
    kind = rng.integers(3)
    if kind == 1:
        listed += UNSCORED_CODES
    elif kind == 2:
        listed += [second for _, second in classes.equivalents]
    return [listed[i] for i in rng.permutation(len(listed))]


def write_recordings(
    folder: Path, count: int, classes: ScoredClasses, rng: np.random.Generator
) -> None:
    """Write ``count`` headers to ``folder/labels``, uniform output files to ``folder/uniform``
    and mixed ones to ``folder/mixed``."""
    labels, uniform, mixed = folder / "labels", folder / "uniform", folder / "mixed"
    for made in (labels, uniform, mixed):
        made.mkdir()
    codes = np.array(classes.codes + OTHER_CODES)
    for i in range(count):
        name = f"B{i:06d}"
        dx = ",".join(rng.choice(codes, size=rng.integers(1, 4), replace=False))
        signals = "".join(f"{name}.mat 16+24 1000/mV 16 0 0 0 0 {lead}\n" for lead in LEADS)
        (labels / f"{name}.hea").write_text(
            f"{name} 12 500 5000\n{signals}#Age: 60\n#Sex: Female\n#Dx: {dx}\n"
            "#Rx: Unknown\n#Hx: Unknown\n#Sx: Unknown\n"
        )
        probabilities = rng.random(len(classes))
        write_output(
            uniform / f"{name}.csv", name, classes.codes, probabilities > 0.5, probabilities
        )
        listed = mixed_class_list(classes, rng)
        values = rng.random(len(listed))
        write_output(mixed / f"{name}.csv", name, listed, values > 0.5, values)


def best_seconds(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def time_scorer(labels: Path, outputs_dir: Path, classes: ScoredClasses, repeat: int) -> float:
    """Print the seconds of parsing, metrics and the whole call on one outputs folder; return the
    whole call's."""

    def parse() -> tuple[np.ndarray, ...]:
        files = find_recording_files(labels, outputs_dir)
        outputs = load_outputs(files.output_paths, classes)
        return load_labels(files.header_paths, classes), outputs.scalar, outputs.binary

    arrays = parse()
    parse_s = best_seconds(parse, repeat)
    metrics_s = best_seconds(lambda: compute_scores(*arrays, classes), repeat)
    total_s = best_seconds(lambda: evaluate_12ECG_score(labels, outputs_dir, classes), repeat)
    print(f"{outputs_dir.name} class order ({len(arrays[0])} recordings)")
    print(f"  parse files   {parse_s:8.3f} s")
    print(f"  metrics       {metrics_s:8.3f} s")
    print(f"  total         {total_s:8.3f} s  (evaluate_12ECG_score)")
    return total_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=43101, help="number of recordings")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each timing (best kept)")
    args = parser.parse_args()

    classes = load_scored_classes()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        write_recordings(folder, args.n, classes, np.random.default_rng(args.seed))
        print(f"wrote {args.n} recordings in {time.perf_counter() - start:.1f} s")

        totals = {
            kind: time_scorer(folder / "labels", folder / kind, classes, args.repeat)
            for kind in ("uniform", "mixed")
        }
    print(f"mixed / uniform, whole call: {totals['mixed'] / totals['uniform']:.2f}x")


if __name__ == "__main__":
    main()
