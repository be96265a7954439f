"""The RR-interval features of a beat: how early or late it comes, against its own patient's rhythm.

A premature supraventricular beat has a normal QRS; what tells it apart is its timing, a short RR
interval before it and a longer one after, *for this patient*: 0.6 s is premature at 60 beats per
minute and normal at 100. So beside the intervals in seconds, each beat gets its intervals divided
by reference intervals of the same record:

- the mean of the ten intervals ending at the beat (``local``), which follows the rhythm closely
  but is itself shortened by a run of premature beats;
- the median of the intervals within ``rr_windows_s`` seconds centred on the beat (one and five
  minutes by default), which a run of a few premature beats hardly moves; with ``quantile`` q
  above 0.5, their q-quantile instead, the patient's slower intervals: a premature beat is short
  against those whatever share of the beats is premature, where a median is set by the premature
  beats themselves once they are most of the rhythm (the columns keep their ``median`` names);
- the mean of the whole record's intervals.

With ``irregularity``, each window also gives the median change from one interval to the next
over the window's reference (the median, or the q-quantile): near 0 in a steady rhythm with a
few premature beats, large in atrial fibrillation, where every beat is "premature" against the
median and none is supraventricular ectopic (its beats are N).

Without ``absolute`` the first four (the intervals in seconds) are left out, so that the network
cannot tell one training patient from another by their heart rate alone. With
``rr_sequence_beats`` = k > 0, the k intervals before the beat's own pair and the k after it,
each over the first of those references, are added: the rhythm around the beat (a bigeminy, a run)
as the network can otherwise only guess it. Only the annotated R peaks are used, never the labels.
"""

from __future__ import annotations

import numpy as np

# the intervals in seconds, then their ratios: the features every setting starts with
ABSOLUTE_RR_FEATURES = ("pre_rr_s", "post_rr_s", "local_rr_s", "record_rr_s")
BASE_RR_FEATURES = (
    *ABSOLUTE_RR_FEATURES,
    "pre_over_local",
    "post_over_pre",
    "pre_over_record",
    "post_over_record",
)
# how many preceding RR intervals the local mean RR averages
LOCAL_RR_BEATS = 10


def rr_feature_names(
    windows_s: tuple[float, ...] = (),
    sequence_beats: int = 0,
    absolute: bool = True,
    irregularity: bool = False,
) -> tuple[str, ...]:
    """The names of the RR features, in the order ``rr_features`` returns them."""
    names = list(BASE_RR_FEATURES[0 if absolute else len(ABSOLUTE_RR_FEATURES) :])
    for window in windows_s:
        names += [f"pre_over_median_{window:g}s", f"post_over_median_{window:g}s"]
        if irregularity:
            names.append(f"irregularity_{window:g}s")
    for k in range(sequence_beats, 0, -1):
        names.append(f"rr_before_minus_{k}")
    for k in range(1, sequence_beats + 1):
        names.append(f"rr_after_plus_{k}")
    return tuple(names)


def centred_medians(
    times_s: np.ndarray,
    intervals_s: np.ndarray,
    window_s: float,
    values: np.ndarray | None = None,
    quantile: float = 0.5,
) -> np.ndarray:
    """For each time in ``times_s``, the median (or the ``quantile``) over the intervals that end
    within ``window_s`` centred on it (at least the interval nearest to it) of the intervals, or of
    ``values`` (one per interval); shape of ``times_s``."""
    values = intervals_s if values is None else values
    ends = np.cumsum(intervals_s)  # time of each interval's end, from the first R peak
    first = np.searchsorted(ends, times_s - window_s / 2, side="left")
    last = np.searchsorted(ends, times_s + window_s / 2, side="right")
    last = np.maximum(last, np.minimum(first + 1, len(ends)))
    first = np.minimum(first, last - 1)
    if quantile == 0.5:  # np.median itself, so that the default is bit for bit the median
        return np.array([np.median(values[a:b]) for a, b in zip(first, last, strict=True)])
    return np.array([np.quantile(values[a:b], quantile) for a, b in zip(first, last, strict=True)])


def rr_features(
    r_peaks_s: np.ndarray,
    windows_s: tuple[float, ...] = (),
    sequence_beats: int = 0,
    absolute: bool = True,
    irregularity: bool = False,
    quantile: float = 0.5,
) -> np.ndarray:
    """RR features of every beat but the first and last, shape (n - 2, len(rr_feature_names(...))).

    ``r_peaks_s``: R-peak times of all beats of one record, in s, increasing. ``quantile``: the
    quantile of each window's intervals that is its reference (0.5: the median).
    """
    peaks = np.asarray(r_peaks_s, dtype=np.float64)
    intervals = np.diff(peaks)
    if len(intervals) < 2 or (intervals <= 0).any():
        raise ValueError("need at least 3 strictly increasing R-peak times")
    pre, post = intervals[:-1], intervals[1:]
    sums = np.concatenate([[0.0], np.cumsum(intervals)])
    ends = np.arange(1, len(intervals))  # interval index just after each kept beat
    starts = np.maximum(0, ends - LOCAL_RR_BEATS)
    local = (sums[ends] - sums[starts]) / (ends - starts)
    record = np.full_like(pre, intervals.mean())
    columns = [pre, post, local, record] if absolute else []
    columns += [pre / local, post / pre, pre / record, post / record]
    references, changes = [], np.abs(np.diff(intervals, prepend=intervals[0]))
    for window in windows_s:
        times = peaks[1:-1] - peaks[0]
        median = centred_medians(times, intervals, window, quantile=quantile)
        references.append(median)
        columns += [pre / median, post / median]
        if irregularity:  # the changes' own median, over the window's reference
            columns.append(centred_medians(times, intervals, window, changes) / median)
    reference = references[0] if references else local
    for k in range(sequence_beats, 0, -1):  # interval k before the pre interval
        columns.append(intervals[np.maximum(ends - 1 - k, 0)] / reference)
    for k in range(1, sequence_beats + 1):  # interval k after the post interval
        columns.append(intervals[np.minimum(ends + k, len(intervals) - 1)] / reference)
    return np.stack(columns, axis=1).astype(np.float32)
