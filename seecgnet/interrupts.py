"""Ctrl-C during long work: asked for once, it ends the run, wherever it lands.

Python raises KeyboardInterrupt wherever the main thread is when the signal comes. If that is a
finaliser (a data loader shutting its worker processes down at the end of an epoch) or a callback
Python runs around a fork, the exception is passed over, and the run would go on as if the key had
never been pressed. So the command line's handler (:mod:`seecgnet.cli`) also writes the request
down here, and the loops that do the long work (training batches, prediction batches) call
:func:`check` at every step: a request that was passed over ends the run at the next step.
"""

from __future__ import annotations

import threading

__all__ = ["check", "clear", "request", "requested"]

_requested = threading.Event()


def request() -> None:
    """Write down that the user asked to stop."""
    _requested.set()


def requested() -> bool:
    return _requested.is_set()


def clear() -> None:
    """Forget a request (once the run it ended is over)."""
    _requested.clear()


def check() -> None:
    """KeyboardInterrupt if the user asked to stop: a step of long work calls this."""
    if _requested.is_set():
        raise KeyboardInterrupt
