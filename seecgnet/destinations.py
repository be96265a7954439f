"""Where the commands write, checked before any work starts, so that nothing a user owns is lost.

Every command writes into paths its user named: a model folder, an output folder, a work folder,
a report or scores file. Each is checked before anything is read or written:

- it is not the data the command reads, and for the folders that are replaced or filled with many
  files (model and work folders) it neither holds that data nor lies inside it;
- where it exists, it is what the command writes there: an empty folder, or a folder the same
  command made (a model folder has ``model.json``, a cross-validation work folder ``folds.csv``),
  never a file or a folder of other files, which replacing or filling would lose or bury;
- a file is created where none is, and replaced only where the file there is recognisably the
  command's own earlier output of the same kind (:class:`OwnOutput`: a scores file by its first
  line, a pre-trained layers file by its contents, a report or a synthetic record by the mark the
  command left in it); :func:`check_output_file` is the rule for one file the user named, and
  :func:`check_output_files` for the files a command writes into a folder;
- it is never one of seecgnet's own files: nothing inside the package folder, nor the checkout's
  top-level scripts and tables (:func:`check_not_package`).

A refused path is a :class:`DestinationError`, whose message names the path and the problem in one
line; the scripts print it and exit with 2. No torch here: the checks run before torch is loaded.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from seecgnet.errors import SeecgnetError

PACKAGE_FOLDER = Path(__file__).resolve().parent
# A checkout (the package folder's parent holds pyproject.toml) also owns its top-level files: the
# challenge's scripts, its weights table, and what builds and describes the package.
_CHECKOUT_FILES = (
    "train_model.py", "driver.py", "team_code.py", "evaluate_12ECG_score.py", "weights.csv",
    "pyproject.toml", "requirements.txt", "requirements-dev.txt", "README.md", "Dockerfile",
)  # fmt: skip


class DestinationError(SeecgnetError, ValueError):
    """A path a command would write to is unsafe or unusable; the message names it and why."""


@dataclass(frozen=True)
class OwnOutput:
    """A kind of file a command writes, and how its earlier output of that kind is recognised.

    ``role`` names the file in messages ("scores file"); ``is_own(path)`` tells whether an
    existing file is the command's own earlier output, which it may replace; ``mark`` says in words
    how that is told, for the message that refuses any other file ("whose first line is ...").
    """

    role: str
    is_own: Callable[[Path], bool]
    mark: str


def _is_package_file(path: Path) -> bool:
    resolved = path.resolve()
    if resolved.is_relative_to(PACKAGE_FOLDER):
        return True
    checkout = PACKAGE_FOLDER.parent
    if not (checkout / "pyproject.toml").is_file() or resolved.parent != checkout:
        return False
    return resolved.name in _CHECKOUT_FILES


def check_not_package(path: str | Path, role: str) -> None:
    """Refuse a ``path`` inside the installed seecgnet package, or one of the checkout's
    top-level files (its scripts, weights.csv, README.md): the package's own files are never an
    output, whatever their kind."""
    if _is_package_file(Path(path)):
        raise DestinationError(
            f"{path}: the {role} would be one of seecgnet's own files; name a path outside the "
            "package and its scripts"
        )


class InputPathError(SeecgnetError, ValueError):
    """A path a command reads is missing or of the wrong kind; the message names it."""


def check_input_folder(path: str | Path, role: str) -> None:
    """A folder a command reads: it exists and is a folder. Entry points check their input folders
    with this before torch loads, so that a wrong path is told at once."""
    path = Path(path)
    if not path.exists():
        raise InputPathError(f"{path}: no such {role}")
    if not path.is_dir():
        raise InputPathError(f"{path}: is a file, not a {role}")


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
    check_not_package(path, role)
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
    check_not_package(path, role)
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


def check_output_file(path: str | Path, kind: OwnOutput, reads: Iterable[str | Path] = ()) -> None:
    """The rule for a file a command writes where its user said: a new file may be created, an
    existing one replaced only when ``kind`` recognises it as the command's own earlier output.

    Also refused: a folder, one of the files the command ``reads`` (or a path inside a folder it
    reads), a package file, and a path that cannot be created.
    """
    path, reads = Path(path), list(reads)
    for read in reads:
        if Path(read).is_dir():
            check_apart(path, kind.role, read, "input folder")
    check_file_destination(path, kind.role, reads)
    _check_own(path, kind)


def check_output_files(
    folder: str | Path,
    names: Iterable[str],
    kind: OwnOutput,
    role: str = "output folder",
    reads: Iterable[str | Path] = (),
) -> None:
    """The rule for the files ``names`` a command writes into ``folder`` (made if missing): the
    folder is a folder (or creatable), apart from every folder it ``reads`` and outside the
    package, and each of ``names`` there is new or the command's own earlier output."""
    check_folder_destination(folder, role)
    for read in reads:
        check_apart(folder, role, read, "input folder" if Path(read).is_dir() else "input")
    for name in names:
        path = Path(folder) / name
        if path.is_dir():
            raise DestinationError(f"{path}: the {kind.role} would replace a folder of that name")
        _check_own(path, kind, "name another folder")


def _check_own(path: Path, kind: OwnOutput, instead: str = "name a new file") -> None:
    if (path.exists() or path.is_symlink()) and (path.is_symlink() or not kind.is_own(path)):
        raise DestinationError(
            f"{path}: exists and is not this command's own {kind.role} ({kind.mark}), so it is "
            f"left as it is; {instead}, or move this file away"
        )


def first_line_is(path: Path, accepted: Callable[[bytes], bool], limit: int = 65536) -> bool:
    """Whether the file's first line (its end of line stripped) is one ``accepted`` takes."""
    try:
        with path.open("rb") as handle:
            return accepted(handle.readline(limit).rstrip(b"\r\n"))
    except OSError:
        return False


def torch_file_holds(path: Path, text: str) -> bool:
    """Whether ``path`` is a file written by ``torch.save`` (a zip archive holding ``data.pkl``)
    whose pickled object holds the string ``text``; read without torch."""
    try:
        with zipfile.ZipFile(path) as archive:
            pickles = [name for name in archive.namelist() if name.endswith("/data.pkl")]
            return len(pickles) == 1 and text.encode() in archive.read(pickles[0])
    except (OSError, zipfile.BadZipFile, ValueError):
        return False


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
