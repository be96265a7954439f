"""The report page: title, the ECG on paper, the diagnoses, and the lead × class occlusion map.

:func:`build_report` runs the model (see :mod:`seecgnet.report.explain`); :func:`draw_report` lays
the page out in millimetres so that the ECG keeps its 25 mm/s and 10 mm/mV when printed at 100 %;
:func:`save_report` writes PNG, PDF or HTML (the PNG embedded, the diagnoses as an HTML table).
"""

from __future__ import annotations

import base64
import html
import io
import math
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from seecgnet.data.signals import lead_presence
from seecgnet.errors import SeecgnetError
from seecgnet.inference.loading import LoadedModel
from seecgnet.inference.routed import RoutedPredictor
from seecgnet.io.records import STANDARD_LEADS, Record, Sex, to_standard_leads
from seecgnet.report.diagnoses import (
    Agreement,
    ClassName,
    DiagnosisRow,
    class_names,
    diagnosis_rows,
    unscored_codes,
)
from seecgnet.report.ecg_paper import (
    CALIBRATION_MM,
    SHOWN_S,
    Span,
    draw_overview,
    draw_twelve_leads,
    paper_size_mm,
    rhythm_lead,
)
from seecgnet.report.explain import Explanation, explain_record
from seecgnet.report.files import FORMATS, REPORT_MARK
from seecgnet.trained.decision import decision_for
from seecgnet.trained.routes import OTHER

MM_PER_INCH = 25.4
PNG_DPI = 130
_SPAN_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")
_AGREEMENT_COLOURS = {
    Agreement.AGREE: "#1a7f37",
    Agreement.MISSED: "#c2410c",
    Agreement.EXTRA: "#1d4ed8",
    Agreement.NONE: "black",
}
_TABLE_ROW_MM = 4.0
_LEFT_MM, _RIGHT_MM, _TOP_MM, _GAP_MM = 16.0, 6.0, 21.0, 14.0
_OVERVIEW_MM = 24.0
_HEATMAP_MM = 86.0


class ReportError(SeecgnetError, ValueError):
    """A report cannot be written (an output name of an unknown kind, say)."""


@dataclass(frozen=True)
class Report:
    """What a report page shows about one record; ``names`` are in the classes' order.

    ``signal_mv`` is the record's signal in the standard lead order (absent leads zero), (12,
    samples) at the record's own rate.
    """

    record: Record
    signal_mv: np.ndarray
    explanation: Explanation
    names: list[ClassName]
    rows: list[DiagnosisRow]
    unscored: list[str]
    model_name: str
    rule: str

    @property
    def positive_abbreviations(self) -> list[str]:
        """The positive classes by abbreviation, the most probable first."""
        return [self.names[c].abbreviation for c in self.explanation.positive_classes]


def build_report(loaded: LoadedModel, record: Record) -> Report:
    """Run the model on a record and gather what the page shows."""
    # the missing leads are told by the predictor, with those it computes from the others
    standard = to_standard_leads(record, warn_missing=False)
    predictor = loaded.predictor
    served = ""
    if isinstance(predictor, RoutedPredictor):  # the member of the record's route
        route = predictor.route_name(record)
        which = "other lead sets" if route == OTHER else f"{route} leads"
        served = f", its route for {which}: {', '.join(predictor.table.routes[route].members)}"
        predictor = predictor.route_predictor(record, route)
    explanation = explain_record(predictor, standard, lead_presence(record.lead_names))
    rows = diagnosis_rows(
        loaded.classes,
        explanation.probabilities,
        explanation.thresholds,
        explanation.labels,
        record.dx_codes,
    )
    members = len(predictor.networks)
    return Report(
        record=record,
        signal_mv=standard.signal,
        explanation=explanation,
        names=class_names(loaded.classes),
        rows=rows,
        unscored=unscored_codes(loaded.classes, record.dx_codes),
        model_name=f"{loaded.settings.architecture} ({members} network{'s' * (members > 1)}, "
        f"model folder '{loaded.folder.name}'{served})",
        rule=decision_for(predictor.decision).describe(),
    )


def title_line(record: Record) -> str:
    """Name, age, sex, sampling rate and duration, as the page's title says them."""
    age = "age unknown" if not math.isfinite(record.age) else f"{record.age:g} years"
    sex = {Sex.MALE: "male", Sex.FEMALE: "female"}.get(record.sex, "sex unknown")
    return (
        f"{record.name}  ·  {age}  ·  {sex}  ·  {record.fs_hz:g} Hz  ·  {record.duration_s:.1f} s"
        f"  ·  {int(record.n_leads)} leads"
    )


def firing_spans(report: Report) -> list[Span]:
    """One span per window that fired a positive class, labelled with the classes it fired."""
    explanation = report.explanation
    fired: dict[int, list[int]] = {}
    for c in explanation.positive_classes:  # the most probable first
        fired.setdefault(int(explanation.firing_window[c]), []).append(c)
    spans = []
    for k, classes in enumerate(fired.values()):
        start, end = explanation.firing_span_s(classes[0], report.record.duration_s)
        label = ", ".join(report.names[c].abbreviation for c in classes)
        spans.append(Span(label, start, end, _SPAN_COLOURS[k % len(_SPAN_COLOURS)]))
    return spans


def shown_start_s(report: Report) -> float:
    """Where the 10 s on paper start: the window that fired the most probable positive class."""
    positives = report.explanation.positive_classes
    if not positives:
        return 0.0
    return report.explanation.firing_span_s(positives[0], report.record.duration_s)[0]


def draw_report(report: Report) -> Figure:
    """The whole page as a matplotlib figure, sized in mm (the ECG at true scale)."""
    record = report.record
    paper_w, paper_h = paper_size_mm()
    long_record = record.duration_s > SHOWN_S + 1e-9
    table_h = (len(report.rows) + 2) * _TABLE_ROW_MM
    width = _LEFT_MM + paper_w + _RIGHT_MM
    rhythm = rhythm_lead(report.explanation.lead_present)
    overview = long_record and rhythm is not None
    height = _TOP_MM + paper_h + _GAP_MM + (_OVERVIEW_MM + _GAP_MM) * overview + table_h + 8
    figure = Figure(figsize=(width / MM_PER_INCH, height / MM_PER_INCH))

    def box(left: float, top: float, w: float, h: float) -> Axes:
        return figure.add_axes((left / width, 1 - (top + h) / height, w / width, h / height))

    figure.text(_LEFT_MM / width, 1 - 7 / height, title_line(record), fontsize=12, weight="bold")
    reference = ", ".join(record.dx_codes) if record.dx_codes else "none"
    figure.text(
        _LEFT_MM / width,
        1 - 12.5 / height,
        f"Model: {report.model_name}; {report.rule}.   Header #Dx: {reference}",
        fontsize=7,
        color="0.25",
    )

    signal = report.signal_mv
    start = shown_start_s(report)
    spans = firing_spans(report)
    ecg = box(_LEFT_MM, _TOP_MM, paper_w, paper_h)
    draw_twelve_leads(ecg, signal, record.fs_hz, report.explanation.lead_present, start, spans)
    ecg.set_title(
        f"{start:g}–{min(start + SHOWN_S, record.duration_s):g} s"
        + (" (the window that fired the most probable diagnosis)" if long_record else ""),
        fontsize=7,
        loc="left",
    )
    top = _TOP_MM + paper_h + _GAP_MM
    if overview:
        strip = box(_LEFT_MM + CALIBRATION_MM, top, paper_w - CALIBRATION_MM, _OVERVIEW_MM)
        draw_overview(strip, signal[rhythm], record.fs_hz, STANDARD_LEADS[rhythm], spans)
        top += _OVERVIEW_MM + _GAP_MM
    table_w = paper_w - _HEATMAP_MM - 8
    _draw_table(box(_LEFT_MM, top - 4, table_w, table_h), report)
    _draw_occlusion(box(_LEFT_MM + table_w + 20, top, _HEATMAP_MM - 22, table_h - 16), report)
    return figure


def _draw_table(axis: Axes, report: Report) -> None:
    """The diagnoses: positives first, with probability, threshold and the reference's verdict."""
    axis.set_axis_off()
    n = len(report.rows) + 1
    axis.set_xlim(0, 1)
    axis.set_ylim(n, 0)
    columns = (0.0, 0.12, 0.66, 0.75, 0.86)
    headings = ("abbr.", "diagnosis", "p", "threshold", "reference")
    has_reference = any(row.agreement is not Agreement.NONE for row in report.rows)
    for x, heading in zip(columns, headings[: 5 if has_reference else 4], strict=False):
        axis.text(x, 0.5, heading, fontsize=7, weight="bold", va="center")
    axis.axhline(1.0, color="0.3", linewidth=0.6)
    for i, row in enumerate(report.rows, start=1):
        weight = "bold" if row.positive else "normal"
        colour = "black" if row.positive or row.agreement is Agreement.MISSED else "0.45"
        cells = (
            row.name.abbreviation,
            row.name.name,
            f"{row.probability:.3f}",
            f"{row.threshold:.3f}",
        )
        for x, cell in zip(columns, cells, strict=False):
            axis.text(x, i + 0.5, cell, fontsize=6.3, weight=weight, color=colour, va="center")
        if row.agreement is not Agreement.NONE:
            axis.text(
                columns[4],
                i + 0.5,
                row.agreement.value,
                fontsize=6.3,
                weight="bold",
                color=_AGREEMENT_COLOURS[row.agreement],
                va="center",
            )
        if row.positive and (i == len(report.rows) or not report.rows[i].positive):
            axis.axhline(i + 1.0, color="0.6", linewidth=0.5)
    if report.unscored:
        axis.text(
            0.0,
            n + 0.4,
            f"#Dx codes the challenge does not score: {', '.join(report.unscored)}",
            fontsize=5.5,
            color="0.35",
            va="top",
        )


def _draw_occlusion(axis: Axes, report: Report) -> None:
    """Lead × positive class: the probability drop when the lead is zeroed in the firing window."""
    explanation = report.explanation
    drops = explanation.occlusion_drop  # (12, positives), NaN for absent leads
    labels = report.positive_abbreviations
    axis.set_title("Lead importance: drop in p\nwith the lead zeroed", fontsize=7, loc="left")
    if not labels:
        axis.set_axis_off()
        axis.text(0, 0.5, "no positive class", fontsize=7)
        return
    finite = drops[np.isfinite(drops)]
    limit = max(0.05, float(np.abs(finite).max()) if finite.size else 0.05)
    colours = matplotlib.colormaps["RdBu_r"].with_extremes(bad="0.85")
    image = axis.imshow(
        np.ma.masked_invalid(drops), cmap=colours, vmin=-limit, vmax=limit, aspect="auto"
    )
    axis.set_xticks(range(len(labels)), labels, rotation=90, fontsize=6)
    axis.set_yticks(range(len(STANDARD_LEADS)), STANDARD_LEADS, fontsize=6)
    axis.tick_params(length=1.5, pad=1)
    small = 4.5 if len(labels) > 6 else 5.5
    for lead in range(len(STANDARD_LEADS)):
        for column in range(len(labels)):
            value = drops[lead, column]
            text = "absent" if not np.isfinite(value) else f"{value:.2f}"
            strong = np.isfinite(value) and abs(value) > 0.6 * limit
            axis.text(
                column,
                lead,
                text,
                ha="center",
                va="center",
                fontsize=small,
                color="white" if strong else "black",
            )
    bar = axis.figure.colorbar(image, ax=axis, fraction=0.08, pad=0.03)
    bar.ax.tick_params(labelsize=5.5, length=1.5)
    bar.set_label("p(window) − p(window, lead at 0 mV)", fontsize=5.5)


def save_report(report: Report, path: str | Path) -> Path:
    """Write the page as PNG, PDF or HTML (by the file's suffix); return the path."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ReportError(f"{path}: the report is written as {', '.join(FORMATS)}, not {suffix!r}")
    figure = draw_report(report)
    if suffix == ".html":
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=PNG_DPI)
        path.write_text(report_html(report, buffer.getvalue()), encoding="utf-8")
    else:
        key = "Creator" if suffix == ".pdf" else "Software"
        figure.savefig(path, dpi=PNG_DPI, metadata={key: REPORT_MARK})
    return path


def report_html(report: Report, png: bytes) -> str:
    """A self-contained HTML page: the title, the page as an embedded PNG, the diagnoses table."""
    escape = html.escape
    rows = "\n".join(
        f"<tr{' class=pos' if row.positive else ''}><td>{escape(row.name.abbreviation)}</td>"
        f"<td>{escape(row.name.name)}</td><td>{escape(row.name.code)}</td>"
        f"<td>{row.probability:.3f}</td><td>{row.threshold:.3f}</td>"
        f"<td>{'positive' if row.positive else ''}</td><td>{row.agreement.value}</td></tr>"
        for row in report.rows
    )
    image = base64.b64encode(png).decode("ascii")
    title = escape(title_line(report.record))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="generator" content="{REPORT_MARK}">
<title>{title}</title>
<style>body{{font-family:sans-serif}} table{{border-collapse:collapse}}
td,th{{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left}} .pos{{font-weight:bold}}
img{{max-width:100%}}</style></head><body>
<h1>{title}</h1>
<p>Model: {escape(report.model_name)}; {escape(report.rule)}.</p>
<img alt="12-lead ECG report of {escape(report.record.name)}" src="data:image/png;base64,{image}">
<table><thead><tr><th>abbr.</th><th>diagnosis</th><th>SNOMED CT</th><th>p</th><th>threshold</th>
<th>model</th><th>reference</th></tr></thead><tbody>
{rows}
</tbody></table>
</body></html>
"""
