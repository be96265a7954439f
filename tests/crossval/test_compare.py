"""The architectures side by side: the paired bootstrap of the challenge metric's difference."""

import numpy as np
import pytest

from seecgnet.challenge.classes import load_scored_classes
from seecgnet.challenge.metrics import challenge_metric
from seecgnet.crossval.compare import paired_bootstrap
from seecgnet.crossval.results import MethodResult

CLASSES = load_scored_classes()


def result(name: str, labels: np.ndarray, binary: np.ndarray) -> MethodResult:
    return MethodResult(name, [], None, {}, {}, pooled_labels=labels, pooled_binary=binary)


@pytest.fixture(scope="module")
def labels() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.random((60, len(CLASSES.codes))) < 0.15


def test_the_same_outputs_differ_by_nothing_in_every_resample(labels):
    outputs = np.roll(labels, 1, axis=0)
    first, same = paired_bootstrap(
        [result("a", labels, outputs), result("b", labels, outputs.copy())], CLASSES, resamples=50
    )
    assert first is None
    assert (same.observed, same.low, same.high, same.share_above_zero) == (0.0, 0.0, 0.0, 0.0)


def test_the_right_answers_beat_wrong_ones_in_every_resample(labels):
    wrong = np.roll(labels, 1, axis=0)
    _, right = paired_bootstrap(
        [result("wrong", labels, wrong), result("right", labels, labels)], CLASSES, resamples=200
    )
    expected = challenge_metric(labels, labels, CLASSES) - challenge_metric(labels, wrong, CLASSES)
    assert right.observed == pytest.approx(expected)
    assert 0 < right.low < right.observed < right.high
    assert right.share_above_zero == 1.0
    assert str(right).startswith(f"+{right.observed:.3f} [+")


def test_a_half_right_answer_lies_between_and_its_interval_narrows_with_more_records(labels):
    wrong = np.roll(labels, 1, axis=0)
    half = np.where(np.arange(len(labels))[:, None] % 2 == 0, labels, wrong)
    widths = []
    for n in (30, 60):
        _, d = paired_bootstrap(
            [result("wrong", labels[:n], wrong[:n]), result("half", labels[:n], half[:n])],
            CLASSES,
            resamples=300,
        )
        widths.append(d.high - d.low)
    assert widths[1] < widths[0]


def test_results_of_other_records_are_refused(labels):
    with pytest.raises(ValueError, match="labels, alike"):
        paired_bootstrap(
            [result("a", labels, labels), result("b", labels[::-1], labels)], CLASSES, resamples=5
        )
