"""The base of the package's expected errors.

An expected error is one the user can fix: a wrong argument, a missing or damaged file, a path that
would lose files, a device the machine lacks. Each part of the package names its own kinds under
:class:`SeecgnetError` (``RecordError``, ``ModelFolderError``, ...), each also keeping the built-in
class it has always been (mostly ``ValueError``), so that code catching that still does. Entry points
print a ``SeecgnetError`` as one line and exit 2; any other exception is a bug and keeps its
traceback.

Below every layer (-1 in tests/test_layout.py's LAYERS), so that every part of the package, the
bottom layer's ``io`` and ``challenge`` included, may import it; it imports nothing of the
package.
"""

import sys

EXIT_USAGE = 2  # the exit status of an expected error: wrong arguments, an unusable file


class SeecgnetError(Exception):
    """An error the user can fix; its message names the file or value and the problem."""


def os_error_text(error: OSError) -> str:
    """An OSError as words, without errno numbers: "PATH: no such file or directory"."""
    reason = (error.strerror or str(error)).rstrip(".")
    reason = reason[:1].lower() + reason[1:]
    return f"{error.filename}: {reason}" if error.filename else reason


def exit_with_error(prog: str, error: Exception) -> int:
    """Print an expected error as the command's one line on standard error, ``PROG: error: ...``
    (an OSError that is not the package's own in words, without errno numbers), and return the
    exit status it ends with, :data:`EXIT_USAGE`."""
    own = isinstance(error, SeecgnetError) or not isinstance(error, OSError)
    print(f"{prog}: error: {error if own else os_error_text(error)}", file=sys.stderr)
    return EXIT_USAGE
