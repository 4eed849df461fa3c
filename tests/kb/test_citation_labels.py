"""How citations name their place: section paths without the title; same-title versions by date."""

from __future__ import annotations

import datetime as dt

from kb.ask.currency import citation_warnings, superseded_match_warning
from kb.citation_labels import pages_label, section_label
from kb.records import Citation, DocStatus, Document

TITLE = "HIV post-exposure prophylaxis after occupational exposure"


def _doc(doc_id, published, **kw):
    return Document(doc_id=doc_id, title=kw.pop("title", TITLE), source_path="/x.pdf", version="ab" * 20,
                    ingested_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), published=published, **kw)


def test_section_label_drops_the_title():
    assert section_label(TITLE, f"{TITLE} > 4 When PEP is recommended") == "4 When PEP is recommended"
    assert section_label(TITLE, TITLE) == ""
    assert section_label(TITLE, "2 Timing > 2.1 Late") == "2 Timing > 2.1 Late"
    assert (pages_label(None, None), pages_label(2, 2), pages_label(2, 3)) == ("", "p. 2", "pp. 2–3")


def test_same_title_versions_are_named_by_date():
    old = _doc("hiv-2018", dt.date(2018, 6, 1), status=DocStatus.superseded, superseded_by="hiv-2025")
    new = _doc("hiv-2025", dt.date(2025, 5, 1))
    cite = Citation(n=1, doc_id="hiv-2018", version=old.version, chunk_id="c", title=TITLE, source_path="/x.pdf",
                    section="", quote="q", status=DocStatus.superseded)
    [warning] = citation_warnings([cite], {"hiv-2018": old, "hiv-2025": new}, today=dt.date(2026, 1, 1))
    assert warning == (f"[1] '{TITLE}' (2018-06-01) has been superseded by "
                       f"'{TITLE}' (2025-05-01). Check the current guidance.")
    assert superseded_match_warning(old, new).startswith(
        f"Older guidance '{TITLE}' (2018-06-01) (hiv-2018) also matches this question but has been "
        f"superseded by '{TITLE}' (2025-05-01);")
