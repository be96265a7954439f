"""The README stays a door (short, its links good) and the pages in docs/ hold what it leaves out."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.paths import ROOT

README = ROOT / "README.md"
PAGES = sorted((ROOT / "docs").glob("*.md"))
MAX_README_LINES = 350
# A Markdown link or image whose target is a path in this repository (not a web address or anchor).
LINK = re.compile(r"\]\((?!https?:|mailto:|#)([^)\s]+)\)")


def missing_links(page: Path) -> list[str]:
    """The relative link targets of a Markdown page that name no file (anchors left aside)."""
    targets = [m.group(1).split("#")[0] for m in LINK.finditer(page.read_text())]
    return [t for t in targets if t and not (page.parent / t).exists()]


def test_the_readme_is_read_in_ten_minutes():
    assert len(README.read_text().splitlines()) <= MAX_README_LINES


@pytest.mark.parametrize("page", [README, *PAGES], ids=lambda p: p.name)
def test_every_relative_link_of_a_page_names_a_file_that_exists(page):
    assert missing_links(page) == []


def test_the_link_check_finds_a_broken_link(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "method.md").write_text("# the method\n")
    page = tmp_path / "page.md"
    page.write_text(
        "see [the method](docs/method.md#loss), [a lost page](docs/no_such_page.md), "
        "[a site](https://example.org) and [below](#figures)\n"
    )
    assert missing_links(page) == ["docs/no_such_page.md"]


def test_every_docs_page_is_listed_in_the_readme():
    readme = README.read_text()
    assert [p.name for p in PAGES if f"docs/{p.name}" not in readme] == []


def test_the_readmes_test_command_is_the_one_ci_finds():
    # .ci/run takes the first line of this shape from README.md and runs it word for word
    shape = re.compile(r"^python3 -m venv \.venv && .* -m pytest", re.M)
    assert len(shape.findall(README.read_text())) == 1
    assert (
        "grep -m 1 -E '^python3 -m venv \\.venv && .* -m pytest' README.md"
        in (ROOT / ".ci" / "run").read_text()
    )
