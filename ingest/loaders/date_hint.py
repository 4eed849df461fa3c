"""Find the first date a document states about itself, such as "5 February 2026"."""

from __future__ import annotations

import datetime as dt
import re

_MONTHS = {
    name: i
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_YEAR = r"(?P<year>(?:19|20)\d\d)"
_PATTERNS = (
    re.compile(r"\b(?P<day>[0-3]?\d)(?:st|nd|rd|th)?\s+" + _MONTH + r",?\s+" + _YEAR + r"\b", re.I),
    re.compile(r"\b" + _MONTH + r"\s+(?P<day>[0-3]?\d)(?:st|nd|rd|th)?,?\s+" + _YEAR + r"\b", re.I),
    re.compile(r"\b" + _YEAR + r"-(?P<mnum>[01]\d)-(?P<day>[0-3]\d)\b"),
    re.compile(r"\b" + _MONTH + r",?\s+" + _YEAR + r"\b", re.I),
)


def _to_date(m: re.Match[str]) -> dt.date | None:
    parts = m.groupdict()
    month = int(parts["mnum"]) if parts.get("mnum") else _MONTHS[parts["month"].lower()]
    day = int(parts["day"]) if parts.get("day") else 1
    try:
        return dt.date(int(parts["year"]), month, day)
    except ValueError:
        return None


def find_date(text: str) -> dt.date | None:
    """The earliest-placed date in `text` (day-month-year, month-day-year, ISO or month-year)."""
    best: tuple[int, dt.date] | None = None
    for pattern in _PATTERNS:
        for m in pattern.finditer(text):
            date = _to_date(m)
            if date is not None and (best is None or m.start() < best[0]):
                best = (m.start(), date)
            if date is not None:
                break
    return best[1] if best else None
