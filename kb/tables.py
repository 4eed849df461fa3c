"""Read table rows back from chunk text, so a quoted row can be shown as a table again.

Loaders write a table as its header line ("A | B | C") and one line per row, each value beside
its header ("x: B: v; C: w"; see ingest/loaders/tables.py).

>>> rows_as_table("HIV negative: Percutaneous injury: Not recommended; Mucous membrane: Not recommended")
(['', 'Percutaneous injury', 'Mucous membrane'], [['HIV negative', 'Not recommended', 'Not recommended']])
"""

from __future__ import annotations

import re

_PAIR = re.compile(r"^(?P<label>[^:;|]{1,200}): (?P<rest>[^:;|]{1,120}: .+)$")


def parse_row(line: str) -> tuple[str, list[tuple[str, str]]] | None:
    """(row label, [(header, value)]) for a table row line, or None for ordinary text."""
    m = _PAIR.match(line.strip())
    if not m:
        return None
    pairs = []
    for part in m.group("rest").split("; "):
        if ": " not in part:
            return None
        h, v = part.split(": ", 1)
        pairs.append((h.strip(), v.strip()))
    return m.group("label").strip(), pairs


def rows_as_table(text: str) -> tuple[list[str], list[list[str]]] | None:
    """Header and rows when every non-empty line of `text` is a table row (a header line may lead)."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    first = [c.strip() for c in lines[0].split(" | ")] if lines and " | " in lines[0] else None
    parsed = [parse_row(ln) for ln in (lines[1:] if first else lines)]
    if not parsed or any(p is None for p in parsed):
        return None
    headers = [h for h, _ in parsed[0][1]]
    if any([h for h, _ in p[1]] != headers for p in parsed):
        return None
    header = first if first and len(first) == len(headers) + 1 else ["", *headers]
    return header, [[label, *(v for _, v in pairs)] for label, pairs in parsed]
