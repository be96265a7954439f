"""The ECG report: it draws any record the driver reads and says what the driver's outputs say."""

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from driver import main as driver_main
from seecgnet.challenge.classes import load_scored_classes, scored_diagnoses
from seecgnet.challenge.outputs import load_outputs
from seecgnet.data.signals import AgeStatistics, SignalSettings
from seecgnet.inference.driver import predict_records
from seecgnet.inference.loading import LoadedModel, load_model
from seecgnet.inference.prediction import Predictor
from seecgnet.io.records import STANDARD_LEADS, Record, Sex, read_record
from seecgnet.io.reduced_leads import LEAD_SETS_2021, write_reduced_records
from seecgnet.io.synthetic import Rhythm, write_synthetic_record
from seecgnet.models.registry import build_network
from seecgnet.models.settings import NetworkSettings
from seecgnet.report.__main__ import main as report_main
from seecgnet.report.diagnoses import (
    UNREAD,
    Agreement,
    class_names,
    diagnosis_rows,
    summary_line,
)
from seecgnet.report.explain import explain_record
from seecgnet.report.page import (
    ReportError,
    build_report,
    draw_report,
    firing_spans,
    save_report,
    title_line,
)
from seecgnet.trained.decision import DecisionSettings
from seecgnet.trained.ensemble import EnsembleRule
from seecgnet.trained.folder import ModelSummary, save_model
from seecgnet.trained.settings import Settings
from tests.paths import ROOT, SHARED

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """An untrained tiny network in a model folder: the report's path, not its quality, is tested."""
    torch.manual_seed(3)
    settings = Settings(network=NetworkSettings.small())
    network = build_network(settings.network).eval()
    folder = tmp_path_factory.mktemp("models") / "tiny"
    save_model(
        folder,
        settings,
        load_scored_classes(),
        AgeStatistics(),
        [network.state_dict()],
        ModelSummary(0, (1,), (math.nan,)),
    )
    return folder


def _check_report(loaded: LoadedModel, header: Path, tmp_path: Path) -> None:
    """The report's diagnoses are the driver's output file's, and its image is a non-empty PNG."""
    predict_records(loaded, [header], tmp_path / "outputs", progress=False)
    outputs = load_outputs([tmp_path / "outputs" / f"{header.stem}.csv"], loaded.classes)
    labels, probabilities = outputs.binary[0], outputs.scalar[0]
    report = build_report(loaded, read_record(header))
    np.testing.assert_array_equal(report.explanation.labels, labels)
    np.testing.assert_allclose(report.explanation.probabilities, probabilities, rtol=1e-6)
    listed = [row.name.code for row in report.rows if row.positive]
    assert sorted(listed) == sorted(loaded.classes.codes[i] for i in np.flatnonzero(labels))
    assert listed  # the max/5 rule always names at least one class
    out = save_report(report, tmp_path / "report.png")
    data = out.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 50_000


class LeadMeansNetwork(nn.Module):
    """A network cheap enough for 359 windows in a blink: a linear map of each lead's mean |mV|."""

    def __init__(self, n_classes: int) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.linear = nn.Linear(len(STANDARD_LEADS), n_classes)

    def forward(self, x: torch.Tensor, demographics: torch.Tensor) -> torch.Tensor:
        return self.linear(x[:, 0].abs().mean(dim=2) * 5.0)


def _cheap_model() -> LoadedModel:
    classes = load_scored_classes()
    settings = Settings()
    predictor = Predictor(
        [LeadMeansNetwork(len(classes))],
        classes,
        settings.signal,
        settings.decision,
        AgeStatistics(),
    )
    return LoadedModel(Path("cheap"), settings, classes, predictor, {})


@pytest.mark.parametrize("fs_hz", [257, 500, 1000])
def test_report_at_each_rate_lists_the_drivers_diagnoses(tiny_model, tmp_path, fs_hz):
    header = write_synthetic_record(
        tmp_path / "data", f"R{fs_hz}", fs_hz=fs_hz, duration_s=12.0, age=47, sex="Female"
    )
    _check_report(load_model(tiny_model), header, tmp_path)
    title = title_line(read_record(header))
    for part in (f"R{fs_hz}", "47 years", "female", f"{fs_hz} Hz", "12.0 s", "12 leads"):
        assert part in title


def test_report_of_a_thirty_minute_record_lists_the_drivers_diagnoses(tmp_path):
    header = write_synthetic_record(
        tmp_path / "data", "LONG", duration_s=1800.0, rhythm=Rhythm.ATRIAL_FIBRILLATION
    )
    loaded = _cheap_model()
    _check_report(loaded, header, tmp_path)
    report = build_report(loaded, read_record(header))
    assert len(report.explanation.window_starts_s) == 359
    assert report.explanation.window_starts_s[-1] == 1790.0


def test_report_of_a_record_with_missing_leads_marks_them_absent(tiny_model, tmp_path):
    leads = ("I", "II", "V1", "V2", "V5", "V6")
    header = write_synthetic_record(tmp_path / "data", "SIX", lead_order=leads, duration_s=6.0)
    _check_report(load_model(tiny_model), header, tmp_path)
    report = build_report(load_model(tiny_model), read_record(header))
    present = report.explanation.lead_present
    assert [STANDARD_LEADS[i] for i in np.flatnonzero(present)] == list(leads)
    drops = report.explanation.occlusion_drop
    assert np.isnan(drops[~present]).all() and np.isfinite(drops[present]).all()
    texts = [text.get_text() for axis in draw_report(report).axes for text in axis.texts]
    absent = sorted(text.split(":")[0] for text in texts if text.endswith("absent in this record"))
    assert absent == sorted(set(STANDARD_LEADS) - set(leads))


def test_driver_summary_prints_each_records_positives_by_abbreviation(tiny_model, tmp_path, capsys):
    data = tmp_path / "data"
    headers = [write_synthetic_record(data, f"S{k}", seed=k, fs_hz=257 + k) for k in range(3)]
    write_synthetic_record(data, "S9").with_suffix(".mat").unlink()  # unreadable: all negative
    assert driver_main([str(tiny_model), str(data), str(tmp_path / "out"), "--summary"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["S0", "S1", "S2", "S9"]
    # an unreadable record is told apart from one the model found no diagnosis in
    assert lines[-1] == f"S9: {UNREAD}"
    nothing = np.zeros(len(load_scored_classes()), dtype=bool)
    assert summary_line("S9", load_scored_classes(), nothing, nothing.astype(float)) == "S9: (none)"
    loaded = load_model(tiny_model)
    for header, line in zip(headers, lines[:-1], strict=True):
        report = build_report(loaded, read_record(header))
        assert line == f"{header.stem}: {', '.join(report.positive_abbreviations)}"


class OneLeadNetwork(nn.Module):
    """Logits that depend on lead V1 only: class c gets scale[c] × mean |V1| + bias[c]."""

    def __init__(self, n_classes: int) -> None:
        super().__init__()
        self.scale = torch.linspace(-2.0, 4.0, n_classes)
        self.bias = torch.linspace(-1.0, 0.5, n_classes)

    def forward(self, x: torch.Tensor, demographics: torch.Tensor) -> torch.Tensor:
        v1 = x[:, 0, STANDARD_LEADS.index("V1"), :].abs().mean(dim=1, keepdim=True)
        return v1 * self.scale + self.bias


def _one_lead_predictor() -> tuple[Predictor, OneLeadNetwork]:
    classes = load_scored_classes()
    network = OneLeadNetwork(len(classes))
    predictor = Predictor([network], classes, SignalSettings(), DecisionSettings(), AgeStatistics())
    return predictor, network


def _record(signal: np.ndarray, name: str = "X", lead_names=STANDARD_LEADS) -> Record:
    return Record(name, signal.astype(np.float32), lead_names, 500.0, 50.0, Sex.FEMALE, ())


def test_occlusion_on_a_one_lead_network_moves_only_that_lead():
    predictor, network = _one_lead_predictor()
    rng = np.random.default_rng(0)
    signal = rng.normal(0.0, 0.5, size=(12, 5000))
    explanation = explain_record(predictor, _record(signal))
    v1 = STANDARD_LEADS.index("V1")
    mean_abs_v1 = np.abs(signal[v1].astype(np.float32)).mean()
    for column, c in enumerate(explanation.positive_classes):
        with_v1 = torch.sigmoid(mean_abs_v1 * network.scale[c] + network.bias[c]).item()
        without = torch.sigmoid(network.bias[c]).item()
        drops = explanation.occlusion_drop[:, column]
        assert drops[v1] == pytest.approx(with_v1 - without, abs=1e-5)
        np.testing.assert_allclose(drops[np.arange(12) != v1], 0.0, atol=1e-6)
    # classes whose scale is positive lose probability without V1; the others gain it
    assert explanation.positive_classes
    assert all(
        (network.scale[c] > 0) == (explanation.occlusion_drop[v1, k] > 0)
        for k, c in enumerate(explanation.positive_classes)
    )


@pytest.mark.parametrize("rule", [EnsembleRule.MEAN, EnsembleRule.UNION])
def test_an_ensembles_explanation_keeps_the_drivers_probabilities(rule):
    classes = load_scored_classes()
    first, second = OneLeadNetwork(len(classes)), OneLeadNetwork(len(classes))
    second.scale = second.scale.flip(0)
    predictor = Predictor(
        [first, second], classes, SignalSettings(), DecisionSettings(), AgeStatistics(), rule
    )
    signal = np.random.default_rng(2).normal(0.0, 0.4, size=(12, 500 * 23))
    signal[STANDARD_LEADS.index("V1"), 500 * 3 : 500 * 6] *= 4.0
    record = _record(signal)
    explanation = explain_record(predictor, record)
    driver = predictor.predict_record(record)
    np.testing.assert_array_equal(explanation.probabilities, driver.probabilities)
    np.testing.assert_array_equal(explanation.labels, driver.labels)
    assert explanation.window_probabilities.shape == (4, len(classes))  # 0, 5, 10, 13 s


def test_the_firing_window_is_the_one_that_holds_the_deciding_beats():
    predictor, _ = _one_lead_predictor()
    signal = np.zeros((12, 60 * 500))
    signal[STANDARD_LEADS.index("V1"), 41 * 500 : 43 * 500] = 3.0  # 2 s of large V1 at 41-43 s
    explanation = explain_record(predictor, _record(signal))
    top = explanation.positive_classes[0]
    start, end = explanation.firing_span_s(top, 60.0)
    assert start <= 41.0 and end >= 43.0 and end - start == 10.0
    report_spans_start = explanation.window_starts_s[explanation.firing_window[top]]
    assert report_spans_start == start


def test_a_missing_lead_has_no_occlusion_drop_and_others_are_measured():
    predictor, _ = _one_lead_predictor()
    leads = tuple(lead for lead in STANDARD_LEADS if lead != "V1")
    signal = np.random.default_rng(1).normal(0.0, 0.5, size=(11, 5000))
    explanation = explain_record(predictor, _record(signal, lead_names=leads))
    v1 = STANDARD_LEADS.index("V1")
    assert not explanation.lead_present[v1]
    assert np.isnan(explanation.occlusion_drop[v1]).all()
    others = np.delete(explanation.occlusion_drop, v1, axis=0)
    np.testing.assert_allclose(others, 0.0, atol=1e-6)  # it reads V1 only, which is absent


def test_diagnoses_are_named_and_marked_against_the_reference():
    classes = load_scored_classes()
    names = class_names(classes)
    af, nsr, lbbb = (classes.index_of(code) for code in ("164889003", "426783006", "164909002"))
    probabilities = np.full(len(classes), 0.01)
    probabilities[[af, nsr, lbbb]] = (0.9, 0.5, 0.1)
    labels = probabilities >= 0.4
    rows = diagnosis_rows(
        classes, probabilities, probabilities * 0 + 0.4, labels, ("164909002", "426783006", "999")
    )
    by_code = {row.name.code: row for row in rows}
    assert by_code["164889003"].agreement is Agreement.EXTRA
    assert by_code["426783006"].agreement is Agreement.AGREE
    assert by_code["164909002"].agreement is Agreement.MISSED
    assert [row.name.abbreviation for row in rows[:3]] == ["AF", "NSR", "LBBB"]
    assert names[classes.index_of("59118001")].abbreviation == "CRBBB/RBBB"
    assert names[af].name == "Atrial fibrillation"


def test_names_are_the_diagnosis_tables_as_a_clinician_writes_them():
    names = {n.code: n for n in class_names(load_scored_classes())}
    assert names["270492004"].name == "1st degree AV block"
    assert names["164917005"].name == "Q wave abnormal"  # the table's "qwave abnormal"
    assert names["251146004"].name == "Low QRS voltages"
    assert names["59931005"].name == "T wave inversion"
    assert names["713427006"].abbreviation == "CRBBB/RBBB"  # an equivalent pair, both codes
    table = scored_diagnoses()
    for code, name in names.items():
        first = name.name.split(" / ")[0]  # an equivalent pair is named by both codes
        assert first.lower().replace("q wave", "qwave") == table[code].name


def test_report_writes_pdf_and_html_and_refuses_other_kinds(tiny_model, tmp_path):
    header = write_synthetic_record(tmp_path, "H1", dx_codes=("164889003", "10370003"))
    report = build_report(load_model(tiny_model), read_record(header))
    assert save_report(report, tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")
    page = save_report(report, tmp_path / "r.html").read_text()
    assert "data:image/png;base64," in page and "Atrial fibrillation" in page
    assert page.count("<tr") == len(report.rows) + 1
    with pytest.raises(ReportError, match=r"r\.svg"):
        save_report(report, tmp_path / "r.svg")
    assert firing_spans(report)  # every record has at least one positive under max/5


def test_report_command_writes_the_named_file_and_explains_itself(tiny_model, tmp_path, capsys):
    header = write_synthetic_record(tmp_path, "CLI1")
    out = tmp_path / "page.png"
    assert report_main([str(tiny_model), str(header), "--out", str(out)]) == 0
    assert out.read_bytes().startswith(PNG_MAGIC)
    assert report_main([str(tiny_model), str(tmp_path / "NOPE")]) == 2
    assert "NOPE" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        report_main(["--help"])
    assert exit_info.value.code == 0
    assert "25 mm/s, 10 mm/mV" in " ".join(capsys.readouterr().out.split())


FORMATS_WFDB = SHARED / "data" / "formats" / "wfdb"


@pytest.mark.skipif(not FORMATS_WFDB.is_dir(), reason="shared format files absent")
def test_report_draws_a_dat_record_and_a_csv_table_named_by_their_files(
    tiny_model, tmp_path, monkeypatch
):
    """PTB's s0010_re (WFDB format 16, lower-case leads) and a CSV table are drawn like any record;
    the default report file takes the record's name, not the CSV file's extension."""
    monkeypatch.chdir(tmp_path)
    assert report_main([str(tiny_model), str(FORMATS_WFDB / "s0010_re.hea")]) == 0
    assert Path("s0010_re_report.png").read_bytes().startswith(PNG_MAGIC)
    record = read_record(write_synthetic_record(tmp_path / "src", "TAB1"))
    rows = "\n".join(",".join(f"{v:.9g}" for v in row) for row in record.signal.T)
    (tmp_path / "TAB1.txt").write_text(f"# fs_hz: 500\n{','.join(STANDARD_LEADS)}\n{rows}\n")
    assert report_main([str(tiny_model), "TAB1.txt"]) == 0
    assert Path("TAB1_report.png").read_bytes().startswith(PNG_MAGIC)


def test_report_of_a_record_with_missing_leads_tells_them_once_truly(tiny_model, tmp_path, caplog):
    import logging

    header = write_synthetic_record(
        tmp_path / "data", "TWO", lead_order=("I", "II"), duration_s=6.0
    )
    loaded = load_model(tiny_model)
    with caplog.at_level(logging.WARNING):
        build_report(loaded, read_record(header))
        build_report(loaded, read_record(header))  # the same set again: told once
    told = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert not loaded.predictor.signal_settings.complete_limb_leads  # nothing computed here
    assert told == [
        "records of leads I, II: III, aVR, aVL, aVF, V1, V2, V3, V4, V5, V6 absent "
        "(zeros for the network)"
    ]


def test_a_routed_models_page_names_the_route_and_network_that_read_the_record(tmp_path):
    # the bundled model is routed: a 12-lead record is read by `limb`, its 2-lead copy by `any`
    loaded = load_model(ROOT / "model")
    header = ROOT / "examples" / "SYN00001.hea"
    (two,) = write_reduced_records([header], LEAD_SETS_2021["2"], tmp_path)
    twelve_page = build_report(loaded, read_record(header))
    two_page = build_report(loaded, read_record(two))
    assert twelve_page.model_name.endswith("its route for 12 leads: limb)")
    assert two_page.model_name.endswith("its route for 2 leads: any)")
    assert twelve_page.rule != two_page.rule  # max/5 against the any network's divisor for 2 leads
