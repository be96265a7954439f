"""Folders as the tests compare them: every file's bytes, so that "left as it was" is exact."""

from __future__ import annotations

from pathlib import Path


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` (``root`` itself when it is a file), relative to ``root``, with its
    bytes, or None for a folder; hidden files included."""
    if root.is_file():
        return {".": root.read_bytes()}
    return {
        str(path.relative_to(root)): None if path.is_dir() else path.read_bytes()
        for path in sorted(root.rglob("*"))
    }
