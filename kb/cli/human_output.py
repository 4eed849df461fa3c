"""What the CLI prints for people (not `--json`): an answer with its sources, the document list.

Output goes through a rich Console so tables line up; width follows the terminal
(or $COLUMNS), so snapshot tests set COLUMNS.
"""

from __future__ import annotations

import textwrap

from rich.console import Console
from rich.table import Table
from rich.text import Text

from kb.citation_labels import pages_label, section_label
from kb.records import Answer, Document


def console() -> Console:
    return Console(highlight=False, soft_wrap=False)


def _wrap(text: str, width: int, indent: str = "") -> str:
    return textwrap.fill(" ".join(text.split()), width=max(40, width), initial_indent=indent,
                         subsequent_indent=indent, break_on_hyphens=False)


def print_answer(answer: Answer, out: Console | None = None) -> None:
    """The answer, then a numbered list of sources (section, pages, dates), then the warnings."""
    out = out or console()
    width = min(out.width, 100)
    if answer.question:
        out.print(Text(f"Q: {answer.question}", style="bold"))
        out.print()
    out.print(Text(_wrap(answer.answer, width)))
    if answer.citations:
        out.print()
        out.print(Text("Sources", style="bold underline"))
        for c in answer.citations:
            out.print(Text(f"[{c.n}] {c.title}", style="bold"))
            where = [section_label(c.title, c.section), pages_label(c.page_start, c.page_end)]
            dates = [f"published {c.published.isoformat()}" if c.published else "undated"]
            if c.review_due:
                dates.append(f"review due {c.review_due.isoformat()}")
            if c.status.value != "current":
                dates.append(c.status.value.upper())
            line = " · ".join(b for b in [*where, *dates] if b)
            out.print(Text(_wrap(line, width, "    ")))
            out.print(Text(f"    {c.link}", style="dim"), overflow="ignore", crop=False)
    if not answer.answerable and answer.closest_documents:
        out.print()
        out.print(Text("Closest documents", style="bold underline"))
        for i, d in enumerate(answer.closest_documents, start=1):
            section = section_label(d.get("title", ""), d.get("section") or "")
            out.print(Text(f"{i}. {d['title']}" + (f" — {section}" if section else "")))
            out.print(Text(f"   {d['link']}", style="dim"), overflow="ignore", crop=False)
    if answer.warnings:
        out.print()
        out.print(Text("Warnings", style="bold yellow underline"))
        for w in answer.warnings:
            out.print(Text(_wrap(w, width - 2, "  ").replace("  ", "! ", 1), style="yellow"))


def documents_table(docs: list[Document]) -> Table:
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False,
                  caption=f"{len(docs)} documents", caption_justify="left")
    table.add_column("Document id", overflow="fold", min_width=12, max_width=26)
    table.add_column("Status", no_wrap=True)
    table.add_column("Type", no_wrap=True)
    table.add_column("Published", no_wrap=True)
    table.add_column("Review due", min_width=10)
    table.add_column("Title", overflow="fold", ratio=1)
    for d in docs:
        due = d.review_due.isoformat() if d.review_due else "—"
        if d.is_past_review():
            due = Text(f"{due} (past)", style="bold yellow")
        table.add_row(d.doc_id, d.status.value, d.doc_type.value,
                      d.published.isoformat() if d.published else "undated", due, d.title)
    return table


def print_documents(docs: list[Document], out: Console | None = None) -> None:
    out = out or console()
    if not docs:
        out.print("No documents. Add some with: kb ingest FOLDER")
        return
    out.print(documents_table(docs))
