"""A 12-lead ECG drawn as on paper: 25 mm/s, 10 mm/mV, the 1 mm and 5 mm grid.

The axes these functions draw on use millimetres of paper as data units (x from the left edge of the
traces, y from the bottom), and the report sizes them so that a millimetre of data is a millimetre
of the saved page. The standard layout: three rows of four 2.5 s columns (I, aVR, V1, V4 / II, aVL,
V2, V5 / III, aVF, V3, V6), each column at its own time, then a 10 s rhythm strip of lead II; a
1 mV, 200 ms calibration pulse starts every row. A lead the record does not have is written as
absent, never drawn as a flat line. Samples that are not finite are left as gaps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection

from seecgnet.io.records import STANDARD_LEADS

MM_PER_S = 25.0
MM_PER_MV = 10.0
SHOWN_S = 10.0  # the span of the 3 × 4 layout and the rhythm strip
COLUMN_S = 2.5
ROW_MM = 30.0
CALIBRATION_MM = 10.0  # room left of the traces for the calibration pulse
LAYOUT: tuple[tuple[str, ...], ...] = (
    ("I", "aVR", "V1", "V4"),
    ("II", "aVL", "V2", "V5"),
    ("III", "aVF", "V3", "V6"),
)
RHYTHM_LEAD = "II"
# A trace is clipped where it would run more than this far into the next rows.
_CLIP_MV = 2.5 * ROW_MM / MM_PER_MV
_MINOR_GRID = "#f4c6c6"
_MAJOR_GRID = "#e59191"


@dataclass(frozen=True)
class Span:
    """A labelled stretch of the record, in seconds, shaded in ``colour``."""

    label: str
    start_s: float
    end_s: float
    colour: str


def paper_size_mm() -> tuple[float, float]:
    """Width and height, in mm, of the 3 × 4 layout with its rhythm strip and calibration pulses."""
    return CALIBRATION_MM + SHOWN_S * MM_PER_S, (len(LAYOUT) + 1) * ROW_MM


def draw_grid(axis: Axes, width_mm: float, height_mm: float, left_mm: float = 0.0) -> None:
    """The paper's grid: thin lines every 1 mm (0.04 s, 0.1 mV), thick ones every 5 mm."""
    for step, colour, width in ((1, _MINOR_GRID, 0.25), (5, _MAJOR_GRID, 0.5)):
        xs = np.arange(np.ceil(left_mm / step) * step, width_mm + 1e-9, step)
        ys = np.arange(0.0, height_mm + 1e-9, step)
        lines = [((x, 0.0), (x, height_mm)) for x in xs]
        lines += [((left_mm, y), (width_mm, y)) for y in ys]
        axis.add_collection(LineCollection(lines, colors=colour, linewidths=width, zorder=0))
    axis.set_xlim(left_mm, width_mm)
    axis.set_ylim(0.0, height_mm)
    axis.set_aspect("equal")


def _calibration_pulse(axis: Axes, baseline_mm: float) -> None:
    x = np.array([-9.0, -8.0, -8.0, -3.0, -3.0, -2.0])
    y = baseline_mm + np.array([0.0, 0.0, 1.0, 1.0, 0.0, 0.0]) * MM_PER_MV
    axis.plot(x, y, color="black", linewidth=0.6)


def _trace(
    axis: Axes,
    lead_mv: np.ndarray,
    fs_hz: float,
    start_s: float,
    end_s: float,
    origin_s: float,
    baseline_mm: float,
) -> None:
    """Samples from start_s to end_s of one lead, at x = (t - origin_s) × 25 mm/s."""
    first = max(0, int(np.ceil(start_s * fs_hz - 1e-9)))
    stop = min(lead_mv.size, int(np.floor(end_s * fs_hz + 1e-9)) + 1)
    if stop - first < 2:
        return
    t_s = np.arange(first, stop) / fs_hz
    values = np.clip(lead_mv[first:stop], -_CLIP_MV, _CLIP_MV)  # NaN stays NaN: a gap
    axis.plot(
        (t_s - origin_s) * MM_PER_S,
        baseline_mm + values * MM_PER_MV,
        color="black",
        linewidth=0.55,
        solid_joinstyle="round",
    )


def _absent(axis: Axes, lead: str, x_mm: float, baseline_mm: float) -> None:
    axis.text(
        x_mm,
        baseline_mm,
        f"{lead}: absent in this record",
        ha="center",
        va="center",
        fontsize=6.5,
        style="italic",
        color="0.35",
    )


def rhythm_lead(present: np.ndarray) -> int | None:
    """The row of the rhythm strip's lead: II, else the first lead present, else None."""
    if present[STANDARD_LEADS.index(RHYTHM_LEAD)]:
        return STANDARD_LEADS.index(RHYTHM_LEAD)
    return int(np.flatnonzero(present)[0]) if present.any() else None


def draw_twelve_leads(
    axis: Axes,
    signal_mv: np.ndarray,
    fs_hz: float,
    present: np.ndarray,
    start_s: float,
    spans: Sequence[Span],
) -> None:
    """The 3 × 4 layout and the rhythm strip of 10 s from ``start_s``, on one axes in mm.

    ``signal_mv`` is (12, samples) in the standard lead order at the record's rate ``fs_hz``;
    ``present`` (12,) marks the leads the record has. The rhythm strip is lead II, or the first lead
    present when II is absent; ``spans`` are shaded on it where they overlap the 10 s.
    """
    width_mm, height_mm = paper_size_mm()
    draw_grid(axis, width_mm - CALIBRATION_MM, height_mm, left_mm=-CALIBRATION_MM)
    row_of = {lead: i for i, lead in enumerate(STANDARD_LEADS)}
    duration_s = signal_mv.shape[1] / fs_hz
    for r, leads in enumerate(LAYOUT):
        baseline = height_mm - (r + 0.5) * ROW_MM
        _calibration_pulse(axis, baseline)
        for c, lead in enumerate(leads):
            column_start = start_s + c * COLUMN_S
            x0 = c * COLUMN_S * MM_PER_S
            if c:
                axis.plot([x0, x0], [baseline - 3, baseline + 3], color="black", linewidth=0.8)
            axis.text(x0 + 1.5, baseline + 0.36 * ROW_MM, lead, fontsize=7.5, weight="bold")
            if not present[row_of[lead]]:
                _absent(axis, lead, x0 + COLUMN_S * MM_PER_S / 2, baseline)
                continue
            end = min(column_start + COLUMN_S, duration_s)
            _trace(axis, signal_mv[row_of[lead]], fs_hz, column_start, end, start_s, baseline)

    baseline = 0.5 * ROW_MM
    _calibration_pulse(axis, baseline)
    rhythm = rhythm_lead(present)
    if rhythm is None:
        _absent(axis, "every lead", SHOWN_S * MM_PER_S / 2, baseline)
    else:
        name = STANDARD_LEADS[rhythm]
        label = "rhythm strip" if name == RHYTHM_LEAD else f"rhythm strip; {RHYTHM_LEAD} absent"
        axis.text(1.5, baseline + 0.36 * ROW_MM, f"{name} ({label})", fontsize=7.5, weight="bold")
        end_s = min(start_s + SHOWN_S, duration_s)
        _trace(axis, signal_mv[rhythm], fs_hz, start_s, end_s, start_s, baseline)
    _shade(axis, spans, start_s, start_s + SHOWN_S, 0.0, ROW_MM, MM_PER_S, True, 2.6)
    _paper_axes(axis, start_s, height_mm)


def _shade(
    axis: Axes,
    spans: Sequence[Span],
    view_start_s: float,
    view_end_s: float,
    bottom: float,
    top: float,
    x_per_s: float,
    lanes_at_bottom: bool = False,
    lane_mm: float = 0.0,
) -> None:
    """Shade each span over [bottom, top] and label it in a lane (lanes cycle by three).

    The lanes run down from the top, or up from the bottom with ``lanes_at_bottom``.
    """
    lane_height = lane_mm if lane_mm else 0.11 * (top - bottom)
    for k, span in enumerate(spans):
        start, end = max(span.start_s, view_start_s), min(span.end_s, view_end_s)
        if end <= start:
            continue
        x0, x1 = (start - view_start_s) * x_per_s, (end - view_start_s) * x_per_s
        # at least 0.8 % of the width, so that 10 s of a 30-minute record can be seen
        x1 = max(x1, x0 + 0.008 * (view_end_s - view_start_s) * x_per_s)
        axis.fill_between([x0, x1], bottom, top, color=span.colour, alpha=0.07, linewidth=0)
        lane_top = (
            bottom + (k % 3 + 1) * lane_height if lanes_at_bottom else top - (k % 3) * lane_height
        )
        axis.fill_between(
            [x0, x1],
            lane_top - lane_height * 0.9,
            lane_top,
            color=span.colour,
            alpha=0.55,
            linewidth=0,
        )
        axis.text(
            x0 + 0.004 * (view_end_s - view_start_s) * x_per_s,
            lane_top - lane_height * 0.45,
            span.label,
            fontsize=5.5,
            va="center",
            color="black",
            clip_on=True,
        )


def _paper_axes(axis: Axes, start_s: float, height_mm: float) -> None:
    """Seconds along the bottom (every 1 s) and mV at each row (0 and ±1 mV)."""
    ticks = np.arange(0.0, SHOWN_S + 1e-9, 1.0)
    axis.set_xticks(ticks * MM_PER_S, [f"{start_s + t:g}" for t in ticks], fontsize=6)
    axis.set_xlabel("time (s)   ·   25 mm/s, 10 mm/mV, 1 mm = 0.04 s × 0.1 mV", fontsize=7)
    y_ticks, y_labels = [], []
    for r in range(len(LAYOUT) + 1):
        baseline = height_mm - (r + 0.5) * ROW_MM
        y_ticks += [baseline - MM_PER_MV, baseline, baseline + MM_PER_MV]
        y_labels += ["−1", "0", "+1"]
    axis.set_yticks(y_ticks, y_labels, fontsize=5)
    axis.set_ylabel("mV", fontsize=7)
    axis.tick_params(length=1.5, pad=1)
    for side in axis.spines.values():
        side.set_linewidth(0.5)


def draw_overview(
    axis: Axes, lead_mv: np.ndarray, fs_hz: float, lead: str, spans: Sequence[Span]
) -> None:
    """A whole record's lead, squeezed to the axes' width, with every span shaded and labelled.

    Long records are drawn as the range (lowest to highest sample) of each of ~2,000 stretches.
    """
    duration_s = lead_mv.size / fs_hz
    bins = min(lead_mv.size, 2000)
    edges = np.linspace(0, lead_mv.size, bins + 1).astype(int)
    clipped = np.clip(lead_mv, -_CLIP_MV, _CLIP_MV)
    # fmin and fmax pass over NaN samples; a stretch of NaN alone stays NaN, a gap
    low = np.fmin.reduceat(clipped, edges[:-1])
    high = np.fmax.reduceat(clipped, edges[:-1])
    t_s = (edges[:-1] + edges[1:]) / 2 / fs_hz
    axis.fill_between(t_s, low, high, color="0.15", linewidth=0.3, step="mid")
    limit = max(1.5, float(np.nanmax(np.abs(np.r_[low, high, 0.0]))))
    axis.set_ylim(-limit, limit * 1.9)
    axis.set_xlim(0.0, duration_s)
    _shade(axis, spans, 0.0, duration_s, -limit, limit * 1.9, 1.0)
    axis.set_xlabel("time (s)", fontsize=7)
    axis.set_ylabel("mV", fontsize=7)
    axis.tick_params(labelsize=6, length=1.5, pad=1)
    axis.set_title(
        f"Whole record, lead {lead}, squeezed ({duration_s:.0f} s); the 10 s windows that fired "
        "the positive classes are shaded",
        fontsize=7,
        loc="left",
    )
