"""The installable package: a wheel holds the package and its two tables, and works from anywhere.

``pip install .`` into a fresh virtual environment (with torch installed first) is checked by hand,
as docs/installing.md says; here the same wheel is built offline (``pip wheel --no-deps
--no-build-isolation``) from a copy of the checkout, installed into a folder of its own, and used
from another folder, where the checkout cannot be imported.
"""

from __future__ import annotations

import filecmp
import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from seecgnet.challenge.classes import DEFAULT_WEIGHTS_PATH, DIAGNOSIS_TABLE_PATH
from tests.paths import REFERENCE, ROOT

needs_setuptools = pytest.mark.skipif(
    importlib.util.find_spec("setuptools") is None, reason="setuptools is not installed"
)

USE_FROM_ELSEWHERE = """
import shutil, sys
from pathlib import Path
import numpy as np
import seecgnet
from seecgnet.challenge.classes import load_scored_classes, scored_diagnoses
from seecgnet.challenge.outputs import write_output
from seecgnet.challenge.scoring import evaluate_12ECG_score
from seecgnet.io.synthetic import write_synthetic_dataset

classes = load_scored_classes()
headers = write_synthetic_dataset("labels", 3, seed=1)
Path("outputs").mkdir()
for header in headers:
    labels = classes.encode(header.read_text().split("#Dx:")[1].split()[0].split(","))
    write_output(f"outputs/{header.stem}.csv", header.stem, classes.codes, labels, labels * 0.9)
print(seecgnet.__file__)
print(len(classes), len(scored_diagnoses()), evaluate_12ECG_score("labels", "outputs")[-1])
"""


def test_the_challenges_weights_csv_at_the_top_is_the_packages_own():
    # the challenge's layout (and the scorer's default) finds weights.csv beside the scripts
    top = ROOT / "weights.csv"
    assert top.is_symlink() and top.resolve() == DEFAULT_WEIGHTS_PATH.resolve()


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="no shared reference tables")
def test_the_packages_tables_are_the_challenges_published_ones():
    for path in (DEFAULT_WEIGHTS_PATH, DIAGNOSIS_TABLE_PATH):
        assert filecmp.cmp(path, REFERENCE / path.name, shallow=False), path.name


@needs_setuptools
def test_the_wheel_holds_the_package_and_its_tables_and_works_from_another_folder(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "requirements.txt", "requirements-formats.txt", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "seecgnet", source / "seecgnet", ignore=shutil.ignore_patterns("__pycache__")
    )
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    subprocess.run(
        [
            *pip,
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-w",
            "dist",
            "./source",
        ],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = (tmp_path / "dist").glob("seecgnet-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {str(p.relative_to(ROOT)) for p in (ROOT / "seecgnet").rglob("*.py")}
    assert modules <= names
    assert {"seecgnet/challenge/weights.csv", "seecgnet/challenge/dx_mapping_scored.csv"} <= names
    assert not {name for name in names if name.startswith(("tests/", "model/", "examples/"))}
    (metadata,) = [name for name in names if name.endswith(".dist-info/METADATA")]
    metadata_text = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "Provides-Extra: formats" in metadata_text
    assert 'Requires-Dist: pydicom>=3.0; extra == "formats"' in metadata_text

    subprocess.run(
        [*pip, "install", "--no-deps", "--no-index", "--target", "site", str(wheel)],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=300,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    environment = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    run = subprocess.run(
        [sys.executable, "-c", USE_FROM_ELSEWHERE],
        cwd=elsewhere,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    where, figures = run.stdout.splitlines()
    assert Path(where).is_relative_to(tmp_path / "site")
    n_classes, n_diagnoses, challenge = figures.split()
    assert (n_classes, n_diagnoses) == ("24", "27")
    assert float(challenge) == pytest.approx(1.0)  # every label found, no other class
