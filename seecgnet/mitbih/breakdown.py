"""The parts of a run's beats that its report gives apart from the whole: each training database's
out-of-fold validation beats (MIT-BIH's DS1 and every ``--extra-training`` database; under the
patient-specific protocol also those after minute N), and record 232's test beats, and the test
beats without them.

Record 232 holds about three quarters of DS2's S beats, most of them in runs at the timing of other
patients' N beats, so DS2's S figures are largely its figures; its S sensitivity and DS2's S F1
without it say how a method does on the other patients.
"""

from __future__ import annotations

import numpy as np

from seecgnet.mitbih.beats import Beats
from seecgnet.mitbih.scores import BeatScores, score_beats
from seecgnet.mitbih.sources import MITBIH, database_of

RECORD_232 = "232"
Parts = tuple[tuple[str, BeatScores], ...]


def database_parts(
    beats: Beats,
    validation: np.ndarray,
    predicted: np.ndarray,
    part: str = "validation",
    alone: bool = False,
) -> Parts:
    """(f"{part}: DATABASE", scores) for each database of the ``validation`` beats (predicted
    ``predicted``), MIT-BIH first; none where they hold MIT-BIH's records alone, unless
    ``alone``."""
    of_beat = np.array([database_of(name) for name in beats.records])[
        beats.record_index[validation]
    ]
    names = sorted(set(of_beat.tolist()), key=lambda name: (name != MITBIH, name))
    if not names or (names == [MITBIH] and not alone):
        return ()
    return tuple(
        (f"{part}: {name}", score_beats(beats.labels[validation][mine], predicted[mine]))
        for name in names
        for mine in [of_beat == name]
    )


def record_232_parts(
    beats: Beats, test: np.ndarray, predicted: np.ndarray, part: str = "test"
) -> Parts:
    """(part, scores) of record 232's ``test`` beats and of the others, where the test holds
    some of 232's beats (none otherwise)."""
    if RECORD_232 not in beats.records or not len(test):
        return ()
    mine = beats.record_index[test] == beats.records.index(RECORD_232)
    if not mine.any():
        return ()
    labels = beats.labels[test]
    return (
        (f"{part}: record 232", score_beats(labels[mine], predicted[mine])),
        (f"{part} without record 232", score_beats(labels[~mine], predicted[~mine])),
    )
