"""Round trips: 20 shared challenge records written by wfdb's own writer (wfdb.wrsamp) in WFDB
formats 16 and 212 and as CSV tables, then predicted by the driver beside the .mat records.

Bounds, per format: format 16 keeps the .mat's digital samples and gains, and the CSV table writes
each float32 sample with 9 significant digits (which float32 reads back exactly), so both give
byte-identical output files. Format 212 stores 12 bits: wfdb chooses each lead's gain to span its
range in 4,094 steps, so a sample moves by at most half a step (0.5 / gain mV, checked); the
probabilities then differ by at most 0.005 (0.0008 measured) and no label changes on these
records (see docs/formats.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import wfdb

from seecgnet.inference.driver import predict_folder
from seecgnet.io.formats.dispatch import read_record
from seecgnet.io.headers import parse_header
from seecgnet.io.records import read_val_matrix
from tests.paths import CINC2020, ROOT

N_RECORDS = 20
PROBABILITY_BOUND_212 = 0.005
pytestmark = pytest.mark.skipif(
    not CINC2020.is_dir(), reason="shared challenge records (../shared/data/cinc2020) absent"
)


def _shortest_records() -> list[Path]:
    """The shortest records of each source database (the letters of the name), taken in turn; none
    over 1 MB of .mat (40 s at 1000 Hz), to keep the test short."""
    by_source: dict[str, list[Path]] = {}
    for header in sorted(CINC2020.glob("*.hea")):
        if header.with_suffix(".mat").stat().st_size > 2**20:
            continue
        by_source.setdefault(header.stem.rstrip("0123456789"), []).append(header)
    queues = [
        sorted(headers, key=lambda h: (h.with_suffix(".mat").stat().st_size, h.name))
        for headers in by_source.values()
    ]
    chosen: list[Path] = []
    while len(chosen) < N_RECORDS and any(queues):
        chosen.extend(queue.pop(0) for queue in queues if queue)
    return chosen[:N_RECORDS]


def _write_copies(header_path: Path, root: Path) -> None:
    """The record as .mat (links), WFDB 16, WFDB 212 and CSV, each in its own folder of ``root``."""
    name = header_path.stem
    lines = header_path.read_text().splitlines()
    header = parse_header(lines, str(header_path), name)
    digital = np.asarray(read_val_matrix(header_path.with_suffix(".mat")), dtype=np.int64)
    comments = [line.lstrip("#").strip() for line in lines if line.startswith("#")]
    for suffix in (".hea", ".mat"):
        (root / "mat" / f"{name}{suffix}").symlink_to(header_path.with_suffix(suffix))
    common = {"fs": header.fs_hz, "units": ["mV"] * len(header.lead_names)}
    common |= {"sig_name": list(header.lead_names), "comments": comments}
    wfdb.wrsamp(
        name,
        d_signal=digital.T.copy(),
        fmt=["16"] * len(header.lead_names),
        adc_gain=list(header.gains),
        baseline=list(header.baselines),
        write_dir=str(root / "f16"),
        **common,
    )
    signal = read_record(header_path).signal
    wfdb.wrsamp(
        name,
        p_signal=signal.T.astype(np.float64),
        fmt=["212"] * len(header.lead_names),
        write_dir=str(root / "f212"),
        **common,
    )
    table = "\n".join(",".join(f"{value:.9g}" for value in row) for row in signal.T)
    (root / "csv" / f"{name}.csv").write_text(
        f"# fs_hz: {header.fs_hz:g}\n"
        + "".join(f"# {comment}\n" for comment in comments)
        + ",".join(header.lead_names)
        + "\n"
        + table
        + "\n"
    )


@pytest.fixture(scope="module")
def round_trips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("round_trips")
    for kind in ("mat", "f16", "f212", "csv"):
        (root / kind).mkdir()
    for header in _shortest_records():
        _write_copies(header, root)
    for kind in ("mat", "f16", "f212", "csv"):
        predict_folder(ROOT / "model", root / kind, root / f"out_{kind}", progress=False)
    return root


# The libraries' own writers (tests/io/formats/writers.py): EDF+ in uV and BDF in mV over each
# lead's range (16 and 24 bits), DICOM at 1 uV per step or more. The bound on the probabilities is
# that of format 212, whose steps are of the same order.
OTHER_WRITERS = ("edf", "bdf", "dicom")


@pytest.mark.parametrize("kind", OTHER_WRITERS)
def test_edf_bdf_and_dicom_copies_give_the_same_labels_and_near_probabilities(
    round_trips: Path, tmp_path: Path, kind: str
) -> None:
    pytest.importorskip("edfio" if kind != "dicom" else "pydicom")
    from tests.io.formats.writers import write_dicom, write_edf

    folder = tmp_path / kind
    folder.mkdir()
    for header_path in sorted((round_trips / "mat").glob("*.hea")):
        record = read_record(header_path)
        if kind == "dicom":
            write_dicom(record, folder / f"{record.name}.dcm")
        else:
            write_edf(record, folder / f"{record.name}.{kind}", bdf=kind == "bdf",
                      unit="uV" if kind == "edf" else "mV")  # fmt: skip
    predict_folder(ROOT / "model", folder, tmp_path / "out", progress=False)
    mat, copy = _outputs(round_trips / "out_mat"), _outputs(tmp_path / "out")
    assert sorted(copy) == sorted(mat) and len(mat) == N_RECORDS
    for name, lines in mat.items():
        assert copy[name][:3] == lines[:3], name  # the record, the classes, the labels
        ours = np.array(copy[name][3].split(","), dtype=float)
        theirs = np.array(lines[3].split(","), dtype=float)
        assert np.abs(ours - theirs).max() <= PROBABILITY_BOUND_212, name


def _outputs(folder: Path) -> dict[str, list[str]]:
    return {path.stem: path.read_text().splitlines() for path in sorted(folder.glob("*.csv"))}


@pytest.mark.parametrize("kind", ["f16", "csv"])
def test_lossless_copies_give_byte_identical_outputs(round_trips: Path, kind: str) -> None:
    mat, copy = _outputs(round_trips / "out_mat"), _outputs(round_trips / f"out_{kind}")
    assert len(mat) == N_RECORDS
    assert copy == mat


def test_format_212_moves_samples_by_half_a_step_and_probabilities_by_little(
    round_trips: Path,
) -> None:
    for header_path in sorted((round_trips / "f212").glob("*.hea")):
        name = header_path.stem
        original = read_record(round_trips / "mat" / f"{name}.hea")
        copy = read_record(header_path)
        gains = np.asarray(parse_header(header_path.read_text().splitlines(), name, name).gains)
        assert copy.dx_codes == original.dx_codes and copy.age == pytest.approx(
            original.age, nan_ok=True
        )
        error = np.abs(copy.signal - original.signal).max(axis=1)
        assert np.all(error <= 0.5 / gains + 1e-6), name
    mat, copy = _outputs(round_trips / "out_mat"), _outputs(round_trips / "out_f212")
    for name, lines in mat.items():
        assert copy[name][:3] == lines[:3], name  # the record, the classes, the labels
        ours = np.array(copy[name][3].split(","), dtype=float)
        theirs = np.array(lines[3].split(","), dtype=float)
        assert np.abs(ours - theirs).max() <= PROBABILITY_BOUND_212, name


def test_every_copy_keeps_the_labels_and_demographics(round_trips: Path) -> None:
    for header_path in sorted((round_trips / "mat").glob("*.hea")):
        original = read_record(header_path)
        for copy_path in (
            round_trips / "f16" / header_path.name,
            round_trips / "csv" / f"{header_path.stem}.csv",
        ):
            copy = read_record(copy_path)
            assert copy.dx_codes == original.dx_codes
            assert copy.sex == original.sex
            assert copy.age == original.age or (np.isnan(copy.age) and np.isnan(original.age))
            assert copy.signal.tobytes() == original.signal.tobytes()
