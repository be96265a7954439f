"""Predicting never imports the training code: the driver, team_code's prediction functions and
the report each run in a fresh interpreter on the bundled model and examples/, and afterwards no
``seecgnet.training`` module has been imported (the scorer's imports are checked in
tests/test_layout.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.paths import ROOT

# Each runs in a fresh interpreter from the project's root and prints what it did (RESULT) and the
# training modules it imported.
PRINT = (
    "import json, sys; print(json.dumps([RESULT, "
    "sorted(m for m in sys.modules if m.startswith('seecgnet.training'))]))"
)

DRIVER = """
import pathlib
import driver
status = driver.main(["model", "examples", OUT, "--quiet", "--workers", "0", "--device", "cpu"])
RESULT = [status, len(list(pathlib.Path(OUT).glob("*.csv")))]
"""

TEAM_CODE = """
import scipy.io
import team_code
header = open("examples/SYN00001.hea").read()
recording = scipy.io.loadmat("examples/SYN00001.mat")["val"]
model = team_code.load_12ECG_model("model")
labels, probabilities, codes = team_code.run_12ECG_classifier(recording, header.splitlines(), model)
two = team_code.load_model("model", ["I", "II"])
codes_2021, labels, probabilities = team_code.run_model(two, header, recording)
RESULT = [len(codes), len(codes_2021)]
"""

REPORT = """
import pathlib
from seecgnet.report.__main__ import main
status = main(["model", "examples/SYN00001.hea", "--out", OUT + "/SYN00001.html"])
RESULT = [status, (pathlib.Path(OUT) / "SYN00001.html").is_file()]
"""


def _run(code: str, out: str) -> tuple[list, list[str]]:
    script = code.replace("OUT", repr(out)) + PRINT
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == 0, done.stderr
    result, training = json.loads(done.stdout.strip().splitlines()[-1])
    return result, training


@pytest.mark.parametrize(
    ("code", "expected"),
    [(DRIVER, [0, 6]), (TEAM_CODE, [24, 24]), (REPORT, [0, True])],
    ids=["driver", "team_code", "report"],
)
def test_predicting_imports_no_training_module(code, expected, tmp_path):
    result, training = _run(code, str(tmp_path))
    assert result == expected
    assert training == []


def test_the_check_sees_a_training_module_that_was_imported(tmp_path):
    _, training = _run("import seecgnet.training.ship\nRESULT = 0\n", str(tmp_path))
    assert "seecgnet.training.ship" in training
