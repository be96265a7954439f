"""What can be checked of the Docker image without a Docker engine: the Dockerfile's own text."""

import re

from tests.paths import ROOT


def _instructions() -> list[tuple[str, str]]:
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    steps = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    return [(step.split(None, 1)[0].upper(), step.split(None, 1)[1]) for step in steps]


def test_the_base_image_is_a_build_argument_defaulting_to_a_pytorch_cuda_runtime_pinned_by_tag():
    steps = _instructions()
    assert steps[0][0] == "ARG"
    argument, _, image = steps[0][1].partition("=")
    assert argument == "BASE_IMAGE"
    assert steps[1] == ("FROM", "${BASE_IMAGE}")
    assert [op for op, _ in steps].count("FROM") == 1
    name, _, tag = image.partition(":")
    assert name == "pytorch/pytorch"
    assert re.fullmatch(r"\d+\.\d+\.\d+-cuda\d+\.\d+-cudnn\d+-runtime", tag), tag
    assert "latest" not in tag


def test_the_working_folder_is_physionet():
    assert ("WORKDIR", "/physionet") in _instructions()


def test_requirements_are_installed_before_the_source_is_copied():
    steps = _instructions()
    copy_requirements = steps.index(
        ("COPY", "requirements.txt requirements-formats.txt /physionet/")
    )
    install = next(
        i
        for i, (op, arg) in enumerate(steps)
        if op == "RUN" and "-r requirements.txt -r requirements-formats.txt" in arg
    )
    copy_source = steps.index(("COPY", ". /physionet"))
    assert copy_requirements < install < copy_source


def test_the_image_downloads_nothing_at_run_time():
    steps = _instructions()
    run_time = [arg for op, arg in steps if op in ("CMD", "ENTRYPOINT")]
    assert all("pip" not in arg and "http" not in arg for arg in run_time)


def test_dockerignore_keeps_history_caches_and_outputs_out():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".git", "tests", "**/__pycache__", ".pytest_cache", "out", "cache"} <= ignored
    # the model and the weights table must go into the image
    assert not ignored & {"model", "weights.csv", "model/"}
