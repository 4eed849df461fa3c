"""Tables as text a reader can quote: one line per row, each value beside its column header.

    >>> print(table_text([["Source status", "Percutaneous injury", "Mucous membrane"],
    ...                   ["HIV positive, viral load detectable", "Recommended", "Recommended"]]))
    Source status | Percutaneous injury | Mucous membrane
    HIV positive, viral load detectable: Percutaneous injury: Recommended; Mucous membrane: Recommended

The header line stays (it says what the table is about, for search); every data row carries its
headers, so a chunk that holds only some rows, or a quote of one row, still reads as a fact.
The app shows such lines as a table again (`kb.tables.parse_row`).
"""

from __future__ import annotations


def table_text(rows: list[list[str]], caption: str | None = None) -> str:
    rows = [[" ".join(c.split()) for c in r] for r in rows if any(c.strip() for c in r)]
    if not rows:
        return caption or ""
    header, body = rows[0], rows[1:]
    lines = [caption] if caption else []
    lines.append(" | ".join(header))
    if len(header) < 2 or not body:
        lines += [" | ".join(r) for r in body]
        return "\n".join(lines)
    for r in body:
        label, values = r[0], r[1:]
        pairs = [f"{h}: {v}" for h, v in zip(header[1:], values, strict=False) if v]
        if not label:
            lines.append("; ".join(pairs))
        else:
            lines.append(f"{label}: " + "; ".join(pairs) if pairs else label)
    return "\n".join(lines)
