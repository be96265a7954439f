"""The source database of a challenge record, told by its name's prefix."""

import pytest

from seecgnet.challenge.sources import (
    SOURCES,
    UnknownSourceError,
    record_sources,
    source_label,
    source_prefix,
)


@pytest.mark.parametrize(
    ("name", "prefix", "database"),
    [
        ("A0001", "A", "CPSC"),
        ("Q0123", "Q", "CPSC-Extra"),
        ("I0075", "I", "St Petersburg INCART"),
        ("S0001", "S", "PTB"),
        ("HR00001", "HR", "PTB-XL"),
        ("E00018", "E", "Georgia"),
        ("JS00001", "JS", "Chapman-Shaoxing"),
    ],
)
def test_the_prefix_names_the_database(name, prefix, database):
    assert source_prefix(name) == prefix
    assert SOURCES[prefix] == database
    assert source_label(prefix) == f"{database} ({prefix})"


def test_records_of_an_unknown_prefix_are_named_in_one_error():
    names = ["A0001", "B0001", "B0002", "B0003", "B0004", "0042", "HR00001"]
    with pytest.raises(UnknownSourceError) as caught:
        record_sources(names)
    message = str(caught.value)
    assert "4 with prefix 'B' (B0001, B0002, B0003, ...)" in message
    assert "1 with prefix '' (0042)" in message
    assert "A0001" not in message.split(";")[0] and "HR (PTB-XL)" in message
    assert record_sources(["JS00001", "S0001"]) == ["JS", "S"]
