"""The databases (sources) of the challenge's records, told by the record name's prefix.

The 2020 challenge gathered its training records from hospitals in three countries and named each
record by its database: ``A0001`` is a CPSC record, ``HR00001`` a PTB-XL one. The prefix is the
letters before the first digit. Leave-one-source-out cross-validation holds out one database at a
time, as a hospital the model has never seen.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from seecgnet.errors import SeecgnetError

# Prefix -> database, in the order of the challenge's description of its data.
SOURCES: dict[str, str] = {
    "A": "CPSC",
    "Q": "CPSC-Extra",
    "I": "St Petersburg INCART",
    "S": "PTB",
    "HR": "PTB-XL",
    "E": "Georgia",
    "JS": "Chapman-Shaoxing",  # and Ningbo: the 2021 challenge named both JS
}

_PREFIX = re.compile(r"[A-Za-z]*")

# Records named in the message about records of unknown source.
_NAMES_SHOWN = 3


class UnknownSourceError(SeecgnetError, ValueError):
    """Records whose name's prefix names none of the challenge's databases."""


def source_prefix(name: str) -> str:
    """The letters a record's name begins with (``HR`` of ``HR00001``; empty for ``0001``)."""
    match = _PREFIX.match(name)
    return match.group() if match else ""


def source_label(prefix: str) -> str:
    """How a source is named in tables: ``CPSC (A)``."""
    return f"{SOURCES[prefix]} ({prefix})"


def record_sources(names: Sequence[str]) -> list[str]:
    """Each record's source prefix; UnknownSourceError names the records of an unknown prefix.

    A record of an unknown prefix is an error rather than a source of its own: a name's letters
    need not name a hospital (``patient12``), and a wrong source would mix hospitals in one fold.
    """
    prefixes = [source_prefix(name) for name in names]
    unknown: dict[str, list[str]] = {}
    for name, prefix in zip(names, prefixes, strict=True):
        if prefix not in SOURCES:
            unknown.setdefault(prefix, []).append(name)
    if unknown:
        parts = []
        for prefix, members in unknown.items():
            shown = ", ".join(members[:_NAMES_SHOWN]) + (
                ", ..." if len(members) > _NAMES_SHOWN else ""
            )
            parts.append(f"{len(members)} with prefix {prefix!r} ({shown})")
        known = ", ".join(f"{p} ({n})" for p, n in SOURCES.items())
        raise UnknownSourceError(
            f"records of no known source: {'; '.join(parts)}; the sources are told by the name's "
            f"prefix: {known}"
        )
    return prefixes
