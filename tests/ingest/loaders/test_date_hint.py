"""Dates a document states about itself."""

from __future__ import annotations

import datetime as dt

import pytest

from ingest.loaders.date_hint import find_date


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hepatitis B 5 February 2026", dt.date(2026, 2, 5)),
        ("Version 2.3 - September 2016", dt.date(2016, 9, 1)),
        ("Updated March 3, 2024 by OH", dt.date(2024, 3, 3)),
        ("Issued 2025-10-06.", dt.date(2025, 10, 6)),
        ("Review: 1st Jan 2027, then yearly", dt.date(2027, 1, 1)),
        ("No date here", None),
        ("31 February 2026 is not a date", dt.date(2026, 2, 1)),
    ],
)
def test_find_date(text: str, expected: dt.date | None) -> None:
    assert find_date(text) == expected


def test_first_date_wins() -> None:
    assert find_date("June 2012 ... revised 5 May 2020") == dt.date(2012, 6, 1)
