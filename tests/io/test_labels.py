"""Labels files: each record's SNOMED CT codes, for records whose format carries none; training
takes them in place of a record's own codes, and skips and counts a record with neither."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from seecgnet.challenge.classes import load_scored_classes
from seecgnet.data.dataset import ReadFailure, prepare_record
from seecgnet.data.signals import SignalSettings
from seecgnet.io.labels import LabelsFileError, read_labels
from seecgnet.io.synthetic import write_synthetic_record
from seecgnet.training.data_folder import open_records

CSV_RECORD = "# fs_hz: 500\nI,II\n" + "0.1,0.2\n" * 2000


def test_a_labels_file_gives_each_record_its_codes(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text('record,dx\nptb_1,"426783006,164889003"\nholter 2,164889003; 59118001\n\n')
    assert read_labels(path) == {
        "ptb_1": ("426783006", "164889003"),
        "holter 2": ("164889003", "59118001"),
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,dx\na,1\n", r"line 1 must be the header row 'record,dx'"),
        ("record,dx\na,\n", r"line 2: record 'a' has no code"),
        ("record,dx\na,AF\n", r"line 2: 'AF' is not a SNOMED CT code"),
        ("record,dx\na,1\na,2\n", r"line 3: record 'a' is named a second time"),
    ],
)
def test_a_bad_labels_file_is_one_line_naming_the_line(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "labels.csv"
    path.write_text(text)
    with pytest.raises(LabelsFileError, match=message):
        read_labels(path)


def test_training_takes_the_files_codes_and_counts_a_record_with_none(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_synthetic_record(data, "WFDB1", dx_codes=("426783006",))
    (data / "csv1.csv").write_text(CSV_RECORD)
    (data / "csv2.csv").write_text(CSV_RECORD)
    labels = {"csv1": ("164889003",), "WFDB1": ("59118001",)}
    failure = prepare_record(data / "csv2.csv", SignalSettings(), labels)
    assert isinstance(failure, ReadFailure) and "nor in the labels file" in failure.reason
    classes, settings = load_scored_classes(), SignalSettings()
    for cache_dir in (None, tmp_path / "cache"):
        store, failures = open_records(
            data, classes, settings, cache_dir=cache_dir, progress=False, labels=labels
        )
        assert store.names == ["WFDB1", "csv1"]
        assert [f.path.name for f in failures] == ["csv2.csv"]
        codes = np.array(classes.codes)
        coded = {name: set(codes[store.labels[i]]) for i, name in enumerate(store.names)}
        assert "164889003" in coded["csv1"]  # atrial fibrillation, from the labels file
        assert "426783006" not in coded["WFDB1"]  # the file's codes replace the header's
    # without the labels file, the cache of the same folder keeps the header's own codes
    store, _ = open_records(data, classes, settings, cache_dir=tmp_path / "cache", progress=False)
    assert store.names == ["WFDB1"]
