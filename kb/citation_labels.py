"""How a citation's place is named for people: its section path and its pages.

>>> section_label("HIV PEP after exposure", "HIV PEP after exposure > 4 When PEP is recommended")
'4 When PEP is recommended'
>>> pages_label(3, 4)
'pp. 3–4'
"""

from __future__ import annotations


def section_label(title: str, section: str) -> str:
    """The section path without a leading copy of the document title (its H1)."""
    parts = [p.strip() for p in (section or "").split(" > ") if p.strip()]
    while parts and parts[0].casefold() == (title or "").strip().casefold():
        parts = parts[1:]
    return " > ".join(parts)


def pages_label(start: int | None, end: int | None) -> str:
    if not start:
        return ""
    return f"p. {start}" if not end or end == start else f"pp. {start}–{end}"
