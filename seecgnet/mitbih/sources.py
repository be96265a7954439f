"""Where a run's records are read: the MIT-BIH Arrhythmia Database's folder, and the folders of
other databases given for training (``--extra-training``), and what tells one copy of their files
from another.

A record of another database is named ``DATABASE/NAME``, DATABASE being its folder's name (e.g.
``svdb/800``), so that its name never meets one of MIT-BIH's (which hold no ``/``) and two
databases' records of the same number stay apart. Its records are those its RECORDS file lists,
else every NAME.hea that has a NAME.atr beside it, as for MIT-BIH.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from seecgnet.errors import SeecgnetError
from seecgnet.mitbih.beats import find_records

MITBIH = "MIT-BIH DS1"  # the name the reports give MIT-BIH's training records


class SourcesError(SeecgnetError, ValueError):
    """The extra databases cannot be told apart, or a work folder was made from other files."""


def database_of(record: str) -> str:
    """The database a record name belongs to: DATABASE of ``DATABASE/NAME``, else MIT-BIH."""
    return record.split("/")[0] if "/" in record else MITBIH


def extra_names(extra_dirs: Sequence[Path]) -> tuple[str, ...]:
    """The extra databases' names (their folders' names); two folders of one name are an error."""
    names = tuple(Path(d).resolve().name for d in extra_dirs)
    for name in names:
        if names.count(name) > 1:
            raise SourcesError(
                f"--extra-training: two databases in folders named {name!r}; their records "
                "would share names"
            )
    return names


def extra_records(extra_dirs: Sequence[Path]) -> dict[str, Path]:
    """Every record of the extra databases: ``DATABASE/NAME`` -> its path without extension."""
    paths = {}
    for name, folder in zip(extra_names(extra_dirs), extra_dirs, strict=True):
        for record in find_records(folder):
            paths[f"{name}/{record}"] = Path(folder) / record
    return paths


def source_sizes(data_dir: Path, records: list[str], paths: dict[str, Path]) -> dict:
    """Each record's header, signal and annotation file sizes in bytes (-1: absent): what tells one
    copy of the database from another whose records have the same names. ``paths``: where the
    records of other databases are (the rest are in ``data_dir``)."""
    sizes = {}
    for name in records:
        base = paths.get(name, data_dir / name)
        sizes[name] = [
            path.stat().st_size if path.exists() else -1
            for path in (base.with_name(base.name + suffix) for suffix in (".hea", ".dat", ".atr"))
        ]
    return sizes


def check_or_save_sources(
    data_dir: Path, records: list[str], workdir: Path, paths: dict[str, Path] | None = None
) -> None:
    """Save which files a new work folder is made from; an old one refuses other files, since its
    cached beats, split and networks came from the files it recorded."""
    path = workdir / "data_files.json"
    sizes = source_sizes(data_dir, records, paths or {})
    if path.exists():
        if json.loads(path.read_text()) != sizes:
            where = f"{data_dir} and the extra databases" if paths else f"{data_dir}"
            raise SourcesError(
                f"{path}: this work folder was made from other data files than "
                f"those in {where}: use a new folder"
            )
        return
    path.write_text(json.dumps(sizes, indent=1) + "\n")
