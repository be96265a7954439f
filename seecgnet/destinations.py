"""Where the commands write, checked before any work starts, so that nothing a user owns is lost.

Every command writes into paths its user named: a model folder, an output folder, a work folder,
a report or scores file. Each is checked before anything is read or written:

- it is not the data the command reads, and for the folders that are replaced or filled with many
  files (model and work folders) it neither holds that data nor lies inside it;
- where it exists, it is what the command writes there: an empty folder, or a folder the same
  command made (a model folder has ``model.json``, a cross-validation work folder ``folds.csv``),
  never a file or a folder of other files, which replacing or filling would lose or bury.

A refused path is a :class:`DestinationError`, whose message names the path and the problem in one
line; the scripts print it and exit with 2. No torch here: the checks run before torch is loaded.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from seecgnet.errors import SeecgnetError


class DestinationError(SeecgnetError, ValueError):
    """A path a command would write to is unsafe or unusable; the message names it and why."""


def os_error_text(error: OSError) -> str:
    """An OSError as words, without errno numbers: "PATH: no such file or directory"."""
    reason = (error.strerror or str(error)).rstrip(".")
    reason = reason[:1].lower() + reason[1:]
    return f"{error.filename}: {reason}" if error.filename else reason


def check_apart(output: str | Path, role: str, source: str | Path, source_role: str) -> None:
    """Refuse an ``output`` that is ``source``, holds it, or lies inside it.

    ``role`` and ``source_role`` name the two in the message ("model folder", "data folder").
    Both are compared as absolute paths with symbolic links followed.
    """
    out, src = Path(output).resolve(), Path(source).resolve()
    if out == src:
        raise DestinationError(f"{output}: the {role} cannot be the {source_role} itself")
    if src.is_relative_to(out):
        raise DestinationError(f"{output}: the {role} would hold the {source_role} {source}")
    if out.is_relative_to(src):
        raise DestinationError(f"{output}: the {role} cannot lie inside the {source_role} {source}")


def check_not_the_current_folder(path: str | Path, role: str) -> None:
    """Refuse a folder that would be replaced while it is the current folder or holds it."""
    if Path.cwd().resolve().is_relative_to(Path(path).resolve()):
        raise DestinationError(
            f"{path}: the {role} cannot be the current folder or hold it, since it is replaced "
            f"as a whole; name a new folder for it (e.g. ./model)"
        )


def check_folder_destination(path: str | Path, role: str) -> None:
    """Refuse a ``path`` that is a file, or whose nearest existing parent is not a writable folder."""
    path = Path(path)
    if path.exists() or path.is_symlink():
        if not path.is_dir():
            raise DestinationError(f"{path}: the {role} is a file, not a folder")
        if not os.access(path, os.W_OK | os.X_OK):
            raise DestinationError(f"{path}: the {role} is not writable (permission denied)")
        return
    parent = path.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise DestinationError(f"{path}: cannot create the {role}: {parent} is a file")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise DestinationError(f"{path}: cannot create the {role} in {parent} (permission denied)")


def check_work_folder(path: str | Path, role: str, marker: str) -> None:
    """A folder that a command fills and reuses: absent, empty, or holding its ``marker`` file."""
    check_folder_destination(path, role)
    path = Path(path)
    if path.is_dir() and not (path / marker).exists() and any(path.iterdir()):
        raise DestinationError(
            f"{path}: the {role} holds other files and no {marker}, so it is not a {role} of "
            "this command; name a new or empty folder"
        )


def check_file_destination(path: str | Path, role: str, reads: Iterable[str | Path] = ()) -> None:
    """A file the user named as an output: not a folder, not one of the files the command ``reads``,
    and creatable."""
    path = Path(path)
    if path.is_dir():
        raise DestinationError(f"{path}: the {role} is a folder, not a file")
    if path.exists():
        resolved = path.resolve()
        if any(resolved == Path(read).resolve() for read in reads):
            raise DestinationError(f"{path}: the {role} is one of the files this command reads")
        if not os.access(path, os.W_OK):
            raise DestinationError(f"{path}: the {role} is not writable (permission denied)")
        return
    check_folder_destination(path.absolute().parent, "folder for the " + role)


def remove_own_files(folder: Path, patterns: Iterable[str]) -> list[Path]:
    """Delete the files of ``folder`` (and of its subfolders) that match ``patterns``, then every
    folder left empty, ``folder`` included; what else is there stays, and is returned."""
    if not folder.is_dir():
        return []
    for pattern in patterns:
        for path in folder.glob(pattern):
            if path.is_file() and not path.is_symlink():
                path.unlink()
    for sub in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if sub.is_dir() and not sub.is_symlink() and not any(sub.iterdir()):
            sub.rmdir()
    left = list(folder.rglob("*"))
    if not left:
        folder.rmdir()
    return left
