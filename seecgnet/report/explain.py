"""Where a record's diagnoses came from: the window that fired each class, and lead occlusion.

With the one-vote union a record's probability for a class is its largest window probability, so
one 10 s window *fired* the class: the window with the highest probability for it. Every kernel of
the network is shared across the leads, so a lead's part in that answer can be measured by taking
the lead away: its *occlusion drop* is the class's probability in the firing window minus the
probability with that lead set to 0 mV (what the network sees for an absent lead). A positive drop
means the lead spoke for the class; a negative one, against it.

For an ensemble the window probabilities are combined across members by the ensemble rule first;
for the mean rule the firing window is then the window whose mean is highest, which for members
that disagree on the window need not be every member's own firing window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seecgnet.data.dataset import prepare_signal
from seecgnet.data.limb_leads import complete_limb_leads
from seecgnet.data.signals import lead_presence, recorded_leads, sliding_windows, window_starts
from seecgnet.inference.prediction import Predictor
from seecgnet.io.records import STANDARD_LEADS, Record, Sex
from seecgnet.trained.decision import decide, decision_thresholds


@dataclass(frozen=True)
class Explanation:
    """A record's prediction with its windows and its occlusion drops.

    ``window_starts_s`` (windows,) are where the network's windows start, in seconds from the record's
    start, each ``window_s`` long (a record shorter than a window is one zero-padded window).
    ``window_probabilities`` is (windows, classes) after the ensemble rule; ``probabilities``,
    ``thresholds`` and ``labels`` (classes,) are the record's, exactly as the driver writes them.
    ``firing_window`` (classes,) indexes the window with each class's highest probability.
    ``lead_present`` (12,) tells which standard leads the record has. ``positive_classes`` lists the
    positive class indices from the most probable down, and ``occlusion_drop`` (12, positives) the
    drop for each lead and positive class, NaN for an absent lead.
    """

    window_starts_s: np.ndarray
    window_s: float
    window_probabilities: np.ndarray
    probabilities: np.ndarray
    thresholds: np.ndarray
    labels: np.ndarray
    firing_window: np.ndarray
    lead_present: np.ndarray
    positive_classes: tuple[int, ...]
    occlusion_drop: np.ndarray

    def firing_span_s(self, class_index: int, duration_s: float) -> tuple[float, float]:
        """Start and end, in seconds, of the window that fired a class (ending at the record's end)."""
        start = float(self.window_starts_s[self.firing_window[class_index]])
        return start, min(start + self.window_s, duration_s)


def explain_record(
    predictor: Predictor, record: Record, present: np.ndarray | None = None
) -> Explanation:
    """Predict a record as the driver does, and find each positive class's firing window and drops.

    ``present`` (12,) says which standard leads the record has; by default its lead names tell.
    (A record already put in the standard order has every lead by name: pass what the original had.)
    """
    settings = predictor.signal_settings
    signal = prepare_signal(record, settings)  # (12, samples) at settings.fs_hz
    recorded = lead_presence(record.lead_names) if present is None else present
    # what the network is told, as the driver tells it (a flat lead is absent, and limb leads
    # are computed where the settings say so); the page draws the recorded leads alone
    present = recorded & recorded_leads(signal)
    if settings.complete_limb_leads:
        signal, present = complete_limb_leads(signal, present)
    predictor.tell_lead_set(recorded, present)  # once per set: computed, absent
    windows = sliding_windows(signal, settings.window_samples, settings.stride_samples)
    starts = window_starts(signal.shape[1], settings.window_samples, settings.stride_samples)
    per_member = predictor.window_probabilities(windows, record.age, record.sex, present)
    probabilities = predictor.union_of_windows(per_member)  # as the driver's
    thresholds = decision_thresholds(probabilities, predictor.decision, present)
    labels = decide(probabilities, predictor.decision, present)
    window_probabilities = predictor.combine_members(per_member)  # (windows, classes)
    firing = window_probabilities.argmax(axis=0)
    positives = tuple(int(i) for i in np.argsort(-probabilities, kind="stable") if labels[i])
    drops = occlusion_drops(
        predictor, windows, window_probabilities, firing, positives, present, record.age, record.sex
    )
    return Explanation(
        window_starts_s=np.asarray(starts, dtype=np.float64) / settings.fs_hz,
        window_s=settings.window_s,
        window_probabilities=window_probabilities,
        probabilities=probabilities,
        thresholds=np.array(thresholds),
        labels=labels,
        firing_window=firing,
        lead_present=recorded,
        positive_classes=positives,
        occlusion_drop=drops,
    )


def occlusion_drops(
    predictor: Predictor,
    windows: np.ndarray,
    window_probabilities: np.ndarray,
    firing: np.ndarray,
    classes: tuple[int, ...],
    present: np.ndarray,
    age: float,
    sex: Sex,
) -> np.ndarray:
    """Drop of each class's probability in its firing window when each lead is zeroed.

    ``windows`` (windows, 12, samples) and ``window_probabilities`` (windows, classes) are the
    record's; returns (12, len(classes)), NaN for leads that are not ``present``. All the occluded
    windows go through the networks in one call.
    """
    drops = np.full((len(STANDARD_LEADS), len(classes)), np.nan)
    leads = np.flatnonzero(present)
    fired = sorted({int(firing[c]) for c in classes})
    if not fired or not len(leads):
        return drops
    occluded = np.repeat(windows[fired], len(leads), axis=0)  # (fired × leads, 12, samples)
    rows = np.arange(len(occluded))
    occluded[rows, np.tile(leads, len(fired)), :] = 0.0
    # an occluded lead is present and flat (0 mV), as the report says
    probabilities = predictor.combine_members(
        predictor.window_probabilities(occluded, age, sex, present)
    ).reshape(len(fired), len(leads), -1)  # (fired windows, leads, classes)
    for column, c in enumerate(classes):
        w = fired.index(int(firing[c]))
        drops[leads, column] = window_probabilities[firing[c], c] - probabilities[w, :, c]
    return drops
