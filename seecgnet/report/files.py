"""The files a report is written to, and how a report file is told from any other file.

Every report carries :data:`REPORT_MARK`: as the PNG's ``Software`` text, the PDF's ``Creator`` and
the HTML page's ``generator``. ``python -m seecgnet.report --out FILE`` replaces an existing FILE
only when it carries the mark (:data:`REPORT_FILE`, the rule of :mod:`seecgnet.destinations`). No
torch or matplotlib here: the command checks its output before loading either.
"""

from __future__ import annotations

from pathlib import Path

from seecgnet.destinations import OwnOutput

FORMATS = (".png", ".pdf", ".html")
REPORT_MARK = "seecgnet.report"

# How each format starts, and the mark as the report's writer leaves it in that format.
_MARKS = (
    (b"\x89PNG\r\n\x1a\n", b"tEXtSoftware\x00" + REPORT_MARK.encode()),
    (b"%PDF-", b"/Creator (" + REPORT_MARK.encode() + b")"),
    (b"<!DOCTYPE html>", b'<meta name="generator" content="' + REPORT_MARK.encode() + b'">'),
)
# Larger than any report page (a few hundred kB); a larger file is no report.
_LARGEST_REPORT_BYTES = 64 * 2**20


def is_report_file(path: Path) -> bool:
    """Whether ``path`` is a report this command wrote: a PNG, PDF or HTML file with the mark."""
    try:
        if path.stat().st_size > _LARGEST_REPORT_BYTES:
            return False
        content = path.read_bytes()
    except OSError:
        return False
    return any(content.startswith(start) and mark in content for start, mark in _MARKS)


REPORT_FILE = OwnOutput(
    "report file", is_report_file, f"a PNG, PDF or HTML page marked {REPORT_MARK}"
)
