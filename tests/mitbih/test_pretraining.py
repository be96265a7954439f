"""Pre-training the lead-shared layers on MIT-BIH-like records, and loading them into SE-ECGNet."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

from seecgnet.mitbih import pretrain as command
from seecgnet.mitbih.lead_shared import (
    LeadSharedEncoder,
    Recording,
    pretrain,
    read_recording,
    tiled_windows,
    window_targets,
)
from seecgnet.mitbih.settings import PretrainSettings
from seecgnet.models.seecgnet import SEECGNet
from seecgnet.models.settings import NetworkSettings
from seecgnet.trained.settings import Settings
from seecgnet.training.pretrained import (
    PretrainedError,
    lead_shared_state,
    load_lead_shared,
    save_lead_shared,
)
from tests.mitbih.records import rhythm, write_record
from tests.paths import ROOT

SMALL = NetworkSettings.small()
MITDB = ROOT.parent / "shared" / "data" / "mitdb"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def records(tmp_path_factory) -> Path:
    """Three 24-second two-lead records at 360 Hz with N, A (class S) and V beats."""
    folder = tmp_path_factory.mktemp("mitdb")
    for k in range(3):
        times, symbols = rhythm(30, seed=k)
        write_record(folder, f"10{k}", times, symbols, duration_s=times[-1] + 1.0)
    return folder


def test_a_record_is_read_at_500_hz_with_its_beats_in_place(records):
    recording = read_recording(records / "100", 500)
    times, symbols = rhythm(30, seed=0)
    assert recording.signal.shape == (2, round((times[-1] + 1.0) * 500))
    assert recording.signal.dtype == np.float32
    np.testing.assert_array_equal(recording.beat_samples, np.round(np.array(times) * 500))
    # the QRS bump (1 mV on MLII, half on the other lead) sits where the annotation says
    first = recording.beat_samples[symbols.index("N")]
    assert recording.signal[0, first] == pytest.approx(1.0, abs=0.05)
    assert recording.signal[1, first] == pytest.approx(0.5, abs=0.03)
    assert [int(c) for c in recording.beat_classes] == ["NSVFQ".index("S" if s == "A" else s)
                                                         for s in symbols]  # fmt: skip


def test_window_targets_mark_the_classes_whose_beats_fall_inside():
    recording = Recording(
        "r", np.zeros((2, 100), np.float32), np.array([10, 30, 55]), np.array([0, 2, 1])
    )
    targets = window_targets(recording, np.array([0, 20, 40, 60]), 20)
    # [0, 20): N; [20, 40): V; [40, 60): S; [60, 80): nothing
    expected = [[1, 0, 0, 0, 0], [0, 0, 1, 0, 0], [0, 1, 0, 0, 0], [0, 0, 0, 0, 0]]
    np.testing.assert_array_equal(targets, expected)
    x, y = tiled_windows([recording], 20)
    assert x.shape == (5, 1, 2, 20) and y.shape == (5, 5)


def test_the_encoder_holds_exactly_se_ecgnets_lead_shared_layers():
    encoder = LeadSharedEncoder(SMALL)
    network = SEECGNet(SMALL)
    shared = lead_shared_state(network)
    assert set(lead_shared_state(encoder)) == set(shared)
    assert any(name.startswith("stem.") for name in shared)
    assert any(".across_leads." in name for name in shared)
    assert not any("along_time" in n or "classifier" in n or "final_norm" in n for n in shared)
    # it reads any number of leads
    assert encoder(torch.zeros(2, 1, 2, SMALL.window_samples)).shape == (2, 5)


def pretrained_file(records: Path, out: Path, network: NetworkSettings = SMALL) -> Path:
    recordings = [read_recording(records / f"10{k}", 500) for k in range(3)]
    settings = PretrainSettings(epochs=2, windows_per_record=4, batch_size=4, holdout_every=3)
    encoder, history = pretrain(recordings, network, settings, progress=False)
    assert [entry.epoch for entry in history] == [1, 2] and np.isfinite(history[-1].loss)
    save_lead_shared(encoder, out, {"history": [entry.to_plain() for entry in history]})
    return out


def test_pretrained_layers_land_in_the_network_and_change_its_outputs(records, tmp_path):
    path = pretrained_file(records, tmp_path / "shared.pt")
    before = digest(path)
    torch.manual_seed(0)
    network = SEECGNet(SMALL).eval()
    untouched = {k: v.clone() for k, v in network.state_dict().items()}
    x, side = torch.randn(2, 1, 12, SMALL.window_samples), torch.zeros(2, 5)
    random_outputs = network(x, side)
    assert load_lead_shared(network, path) == len(lead_shared_state(network))
    saved = torch.load(path, weights_only=True)["state"]
    for name, value in network.state_dict().items():
        if name in saved:
            torch.testing.assert_close(value, saved[name], rtol=0, atol=0)
        else:  # the 1-D blocks and the classifier keep their own weights
            torch.testing.assert_close(value, untouched[name], rtol=0, atol=0)
    assert not torch.allclose(network(x, side), random_outputs)
    assert digest(path) == before  # only read


def test_a_file_that_does_not_fit_is_refused_naming_it(records, tmp_path):
    path = pretrained_file(records, tmp_path / "small.pt")
    wider = SEECGNet(NetworkSettings.small(stem_channels=(4, 8)))
    kept = {k: v.clone() for k, v in wider.state_dict().items()}
    with pytest.raises(PretrainedError, match=r"small\.pt: stem\.1\.0\.weight has shape"):
        load_lead_shared(wider, path)
    assert all(torch.equal(v, kept[k]) for k, v in wider.state_dict().items())  # left as it was
    deeper = SEECGNet(NetworkSettings.small(block2d_channels=(4, 4), block2d_stride_samples=(2, 1)))
    with pytest.raises(PretrainedError, match=r"small\.pt: lacks branches\.0\.across_leads\.2"):
        load_lead_shared(deeper, path)
    other = tmp_path / "other.pt"
    torch.save({"weights": 1}, other)
    with pytest.raises(PretrainedError, match=r"other\.pt: not a pre-trained lead-shared"):
        load_lead_shared(SEECGNet(SMALL), other)
    text = tmp_path / "notes.txt"
    text.write_text("not weights\n")
    with pytest.raises(PretrainedError, match=r"notes\.txt: not a pre-trained weights file"):
        load_lead_shared(SEECGNet(SMALL), text)
    with pytest.raises(PretrainedError, match=r"absent\.pt: no such pre-trained file"):
        load_lead_shared(SEECGNet(SMALL), tmp_path / "absent.pt")


def test_the_command_writes_a_file_that_training_loads(records, tmp_path, capsys):
    settings = tmp_path / "tiny.json"
    Settings(network=SMALL).save(settings)
    out = tmp_path / "mitdb.pt"
    neighbour = tmp_path / "mitdb.pt.partial"  # a file of the user's with a temporary-looking name
    neighbour.write_bytes(b"the user's")
    before = sorted(tmp_path.iterdir())
    argv = [str(records), str(out), "--settings", str(settings), "--quiet", "--seed", "1"]
    argv += ["--epochs", "1", "--windows-per-record", "2", "--batch-size", "2"]
    argv += ["--learning-rate", "0.001", "--holdout-every", "3"]
    assert command.main(argv) == 0
    assert load_lead_shared(SEECGNet(SMALL), out) > 0
    assert neighbour.read_bytes() == b"the user's"
    assert sorted(tmp_path.iterdir()) == sorted([*before, out])  # OUT and nothing else
    with pytest.raises(SystemExit):
        command.main([str(records), str(tmp_path)])  # a folder is not an output file
    assert "is a folder" in capsys.readouterr().err


@pytest.mark.skipif(
    not (MITDB / "100.hea").exists(), reason="the shared MIT-BIH records are absent"
)
def test_a_real_mitbih_record_reads_at_500_hz():
    recording = read_recording(MITDB / "100", 500)
    assert recording.signal.shape == (2, -(-650000 * 500 // 360))  # ceil, as resample_poly
    assert len(recording.beat_samples) > 2000
    assert set(np.unique(recording.beat_classes)) <= {0, 1, 2, 3, 4}


def test_the_commands_usage_errors_are_one_line_and_a_value_error_keeps_its_traceback(
    tmp_path, capsys, monkeypatch
):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert command.main([str(empty), str(tmp_path / "out.pt"), "--quiet"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("pretrain: error: ") and "no records" in error and "\n" not in error

    def broken(*args, **kwargs):
        raise ValueError("a numpy bug")

    monkeypatch.setattr("seecgnet.mitbih.beats.find_records", broken)
    with pytest.raises(ValueError, match="a numpy bug"):
        command.main([str(empty), str(tmp_path / "out.pt"), "--quiet"])
