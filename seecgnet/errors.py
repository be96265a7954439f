"""The base of the package's expected errors.

An expected error is one the user can fix: a wrong argument, a missing or damaged file, a path that
would lose files, a device the machine lacks. Each part of the package names its own kinds under
:class:`SeecgnetError` (``RecordError``, ``ModelFolderError``, ...), each also keeping the built-in
class it has always been (mostly ``ValueError``), so that code catching that still does. Entry points
print a ``SeecgnetError`` as one line and exit 2; any other exception is a bug and keeps its
traceback.

Below every layer (-1 in tests/test_layout.py's LAYERS), so that every part of the package, the
bottom layer's ``io`` and ``challenge`` included, may import it; it imports nothing.
"""


class SeecgnetError(Exception):
    """An error the user can fix; its message names the file or value and the problem."""
