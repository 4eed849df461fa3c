"""Build the generated sample documents (PDF and DOCX) of the OH corpus.

Every ``src/<stem>.md`` file starts with a small front-matter block::

    ---
    format: pdf            # pdf | docx | md
    folder: immunisation   # output folder under corpus/
    publisher: National Occupational Health Network (sample)
    ---

followed by a simple markdown body: one ``# `` title line, ``## ``/``### ``
headings, paragraphs, ``- `` bullets, pipe tables, ``**bold**`` and a
``<!-- pagebreak -->`` marker (PDF only). The output is written to
``corpus/<folder>/<stem>.<format>``.

Outputs are deterministic: PDFs are built with reportlab's ``invariant=1`` and
DOCX files get fixed core properties and fixed zip entry timestamps, so running
the script twice gives byte-identical files.

Run from the repository root::

    .venv/bin/python corpus/_build/build_corpus.py            # build + check
    .venv/bin/python corpus/_build/build_corpus.py --check    # check only

The check compares every output folder with its ``manifest.yaml`` (one entry
per file, titles equal to the document's own title line).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import re
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
SRC = HERE / "src"
CORPUS = HERE.parent

SAMPLE_NOTICE = "SAMPLE DOCUMENT \u2014 written for the OH knowledge base project. Not clinical advice."
FIXED_DT = dt.datetime(2024, 1, 1, 0, 0, 0)
ZIP_DATE = (2024, 1, 1, 0, 0, 0)


# --------------------------------------------------------------------------- parsing


@dataclass
class Block:
    kind: str  # title | h1 | h2 | para | bullets | table | pagebreak
    text: str = ""
    items: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


@dataclass
class Source:
    stem: str
    meta: dict[str, str]
    title: str
    blocks: list[Block]

    @property
    def control(self) -> dict[str, dt.date]:
        """Dates from the document-control table ("| Published | 1 March 2024 |")."""
        out: dict[str, dt.date] = {}
        for b in self.blocks:
            if b.kind != "table":
                continue
            for row in b.rows:
                if len(row) >= 2:
                    m = re.fullmatch(r"(\d{1,2}) (\w+) (\d{4})", row[1].strip())
                    if m and m.group(2) in MONTHS:
                        out[row[0].strip()] = dt.date(int(m.group(3)), MONTHS[m.group(2)], int(m.group(1)))
            break
        return out

    @property
    def fmt(self) -> str:
        return self.meta["format"]

    @property
    def out_path(self) -> Path:
        return CORPUS / self.meta["folder"] / f"{self.stem}.{self.fmt}"


def parse_source(path: Path) -> Source:
    text = path.read_text(encoding="utf-8")
    m = re.match(r"^---\n(.*?)\n---\n", text, re.S)
    if not m:
        raise SystemExit(f"{path}: missing front-matter")
    meta: dict[str, str] = {}
    for line in m.group(1).splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            k, v = line.split(":", 1)
            meta[k.strip()] = v.strip()
    if meta.get("format") not in {"pdf", "docx", "md"} or "folder" not in meta:
        raise SystemExit(f"{path}: front-matter needs format (pdf|docx|md) and folder")
    body = text[m.end():]
    blocks: list[Block] = []
    title = ""
    para: list[str] = []

    def flush_para() -> None:
        if para:
            blocks.append(Block("para", " ".join(s.strip() for s in para)))
            para.clear()

    lines = body.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        s = line.strip()
        if not s:
            flush_para()
        elif s == "<!-- pagebreak -->":
            flush_para()
            blocks.append(Block("pagebreak"))
        elif s.startswith("### "):
            flush_para()
            blocks.append(Block("h2", s[4:].strip()))
        elif s.startswith("## "):
            flush_para()
            blocks.append(Block("h1", s[3:].strip()))
        elif s.startswith("# "):
            flush_para()
            title = s[2:].strip()
            blocks.append(Block("title", title))
        elif s.startswith("- "):
            flush_para()
            items = []
            while i < len(lines) and lines[i].strip().startswith("- "):
                item = lines[i].strip()[2:].strip()
                i += 1
                # continuation lines (indented) belong to the same bullet
                while i < len(lines) and lines[i].startswith("  ") and lines[i].strip() and not lines[i].strip().startswith("- "):
                    item += " " + lines[i].strip()
                    i += 1
                items.append(item)
            blocks.append(Block("bullets", items=items))
            continue
        elif s.startswith("|"):
            flush_para()
            rows = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
                if not all(re.fullmatch(r":?-{3,}:?", c) for c in cells):
                    rows.append(cells)
                i += 1
            blocks.append(Block("table", rows=rows))
            continue
        else:
            para.append(s)
        i += 1
    flush_para()
    if not title:
        raise SystemExit(f"{path}: missing '# ' title line")
    return Source(path.stem, meta, title, blocks)


def inline_pdf(s: str) -> str:
    s = escape(s)
    return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", s)


def add_runs_docx(par, s: str) -> None:
    for k, part in enumerate(re.split(r"\*\*(.+?)\*\*", s)):
        if part:
            run = par.add_run(part)
            run.bold = k % 2 == 1


# --------------------------------------------------------------------------- PDF


def build_pdf(src: Source) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_LEFT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import cm
    from reportlab.pdfgen import canvas as rl_canvas
    from reportlab.platypus import (
        CondPageBreak,
        KeepTogether,
        ListFlowable,
        ListItem,
        PageBreak,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    publisher = src.meta.get("publisher", "National Occupational Health Network (sample)")
    title = src.title
    page_w, page_h = A4
    margin_x = 2.3 * cm

    class NumberedCanvas(rl_canvas.Canvas):
        """Defers page output so that the footer can say 'Page N of M'."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._saved_page_states = []

        def showPage(self):  # noqa: N802 (reportlab API)
            self._saved_page_states.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._saved_page_states)
            for state in self._saved_page_states:
                self.__dict__.update(state)
                self._draw_furniture(total)
                super().showPage()
            super().save()

        def _draw_furniture(self, total: int) -> None:
            self.saveState()
            self.setStrokeColor(colors.HexColor("#1f4e79"))
            self.setLineWidth(0.6)
            # running header
            self.setFont("Helvetica", 8.5)
            self.setFillColor(colors.HexColor("#1f4e79"))
            self.drawString(margin_x, page_h - 1.35 * cm, title)
            if (self.stringWidth(title, "Helvetica", 8.5) + self.stringWidth(publisher, "Helvetica", 8.5)
                    + 24 < page_w - 2 * margin_x):
                self.drawRightString(page_w - margin_x, page_h - 1.35 * cm, publisher)
            self.line(margin_x, page_h - 1.5 * cm, page_w - margin_x, page_h - 1.5 * cm)
            # footer
            self.line(margin_x, 1.55 * cm, page_w - margin_x, 1.55 * cm)
            self.setFillColor(colors.black)
            self.setFont("Helvetica", 8)
            self.drawString(margin_x, 1.1 * cm, "Sample document \u2014 not clinical advice")
            self.drawRightString(page_w - margin_x, 1.1 * cm, f"Page {self._pageNumber} of {total}")
            self.restoreState()

    ss = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=ss["BodyText"], fontName="Helvetica", fontSize=10.5,
                          leading=14.2, spaceAfter=6, alignment=TA_LEFT)
    title_style = ParagraphStyle("title", parent=ss["Title"], fontName="Helvetica-Bold", fontSize=18,
                                 leading=22, alignment=TA_LEFT, spaceAfter=6,
                                 textColor=colors.HexColor("#1f4e79"))
    notice_style = ParagraphStyle("notice", parent=body, fontName="Helvetica-Bold", fontSize=9.5,
                                  leading=12, textColor=colors.HexColor("#9c2b23"), borderPadding=4,
                                  borderColor=colors.HexColor("#9c2b23"), borderWidth=0.6,
                                  spaceBefore=4, spaceAfter=12)
    pub_style = ParagraphStyle("pub", parent=body, fontSize=10, textColor=colors.HexColor("#444444"))
    h1 = ParagraphStyle("h1", parent=ss["Heading2"], fontName="Helvetica-Bold", fontSize=13.5,
                        leading=17, spaceBefore=12, spaceAfter=5, textColor=colors.HexColor("#1f4e79"))
    h2 = ParagraphStyle("h2", parent=ss["Heading3"], fontName="Helvetica-Bold", fontSize=11.5,
                        leading=14.5, spaceBefore=8, spaceAfter=4, textColor=colors.HexColor("#2e2e2e"))
    cell = ParagraphStyle("cell", parent=body, fontSize=9.2, leading=11.5, spaceAfter=0)
    cell_head = ParagraphStyle("cellh", parent=cell, fontName="Helvetica-Bold", textColor=colors.white)

    avail_w = page_w - 2 * margin_x

    def table_widths(rows: list[list[str]], total: float) -> list[float]:
        """Column widths: never split a word, share the rest by text length."""
        from reportlab.pdfbase.pdfmetrics import stringWidth

        pad = 12
        ncol = len(rows[0])
        mins, wants = [], []
        for c in range(ncol):
            words = [w for r in rows for w in re.sub(r"\*\*", "", r[c]).split()] or [""]
            mins.append(max(stringWidth(w, "Helvetica-Bold", 9.2) for w in words) + pad)
            wants.append(max(stringWidth(re.sub(r"\*\*", "", r[c]), "Helvetica", 9.2) for r in rows) + pad)
        wants = [max(w, m) for w, m in zip(wants, mins)]
        if sum(wants) <= total:
            extra = total - sum(wants)
            return [w + extra * w / sum(wants) for w in wants]
        spare = total - sum(mins)
        grow = [w - m for w, m in zip(wants, mins)]
        return [m + spare * g / sum(grow) for m, g in zip(mins, grow)]
    story = []
    last_heading = -1
    for b in src.blocks:
        if b.kind == "title":
            story.append(Paragraph(inline_pdf(b.text), title_style))
            story.append(Paragraph(inline_pdf(publisher), pub_style))
            story.append(Paragraph(escape(SAMPLE_NOTICE), notice_style))
        elif b.kind == "h1":
            # avoid a heading stranded at the foot of a page
            story.append(CondPageBreak(3.4 * cm))
            story.append(Paragraph(inline_pdf(b.text), h1))
            last_heading = len(story) - 1
        elif b.kind == "h2":
            story.append(CondPageBreak(2.8 * cm))
            story.append(Paragraph(inline_pdf(b.text), h2))
            last_heading = len(story) - 1
        elif b.kind == "para":
            story.append(Paragraph(inline_pdf(b.text), body))
        elif b.kind == "bullets":
            story.append(ListFlowable(
                [ListItem(Paragraph(inline_pdf(t), body), leftIndent=14) for t in b.items],
                bulletType="bullet", start="\u2022", leftIndent=14, bulletFontSize=9))
        elif b.kind == "pagebreak":
            story.append(PageBreak())
        elif b.kind == "table":
            ncol = max(len(r) for r in b.rows)
            rows = [r + [""] * (ncol - len(r)) for r in b.rows]
            widths = table_widths(rows, avail_w)
            data = [[Paragraph(inline_pdf(c), cell_head if ri == 0 else cell) for c in r]
                    for ri, r in enumerate(rows)]
            t = Table(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
            t.setStyle(TableStyle([
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#1f4e79")),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#8a8a8a")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#eef3f8")]),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]))
            if len(rows) > 6:
                story.extend([Spacer(1, 3), t])
            elif last_heading == len(story) - 1:
                # a heading directly followed by a short table stays with it
                head = story.pop()
                story.append(KeepTogether([head, Spacer(1, 3), t]))
            else:
                story.append(KeepTogether([Spacer(1, 3), t]))
            story.append(Spacer(1, 8))

    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf, pagesize=A4, leftMargin=margin_x, rightMargin=margin_x,
        topMargin=2.2 * cm, bottomMargin=2.2 * cm,
        title=title, author=publisher, subject="Sample occupational health document",
        creator="corpus/_build/build_corpus.py", producer="ReportLab", invariant=1,
    )
    doc.build(story, canvasmaker=NumberedCanvas)
    return buf.getvalue()


# --------------------------------------------------------------------------- DOCX


def build_docx(src: Source) -> bytes:
    import docx
    from docx.shared import Pt, RGBColor

    publisher = src.meta.get("publisher", "National Occupational Health Network (sample)")
    d = docx.Document()
    normal = d.styles["Normal"]
    normal.font.name = "Calibri"
    normal.font.size = Pt(11)

    for b in src.blocks:
        if b.kind == "title":
            d.add_heading(b.text, level=0)
            p = d.add_paragraph(publisher)
            p = d.add_paragraph()
            r = p.add_run(SAMPLE_NOTICE)
            r.bold = True
            r.font.color.rgb = RGBColor(0x9C, 0x2B, 0x23)
        elif b.kind == "h1":
            d.add_heading(b.text, level=1)
        elif b.kind == "h2":
            d.add_heading(b.text, level=2)
        elif b.kind == "para":
            add_runs_docx(d.add_paragraph(), b.text)
        elif b.kind == "bullets":
            for t in b.items:
                add_runs_docx(d.add_paragraph(style="List Bullet"), t)
        elif b.kind == "table":
            ncol = max(len(r) for r in b.rows)
            t = d.add_table(rows=0, cols=ncol)
            t.style = "Table Grid"
            for ri, row in enumerate(b.rows):
                cells = t.add_row().cells
                for ci in range(ncol):
                    text = row[ci] if ci < len(row) else ""
                    par = cells[ci].paragraphs[0]
                    add_runs_docx(par, text)
                    if ri == 0:
                        for run in par.runs:
                            run.bold = True
            d.add_paragraph()
        # page breaks are ignored in DOCX

    # running header with the title (keeps parity with the PDFs)
    section = d.sections[0]
    section.header.paragraphs[0].text = f"{src.title} \u2014 {publisher}"

    cp = d.core_properties
    cp.title = src.title
    cp.author = publisher
    cp.last_modified_by = publisher
    cp.subject = "Sample occupational health document"
    cp.comments = SAMPLE_NOTICE
    cp.revision = 1
    cp.created = FIXED_DT
    cp.modified = FIXED_DT
    cp.last_printed = FIXED_DT

    raw = io.BytesIO()
    d.save(raw)
    return normalise_zip(raw.getvalue())


def normalise_zip(data: bytes) -> bytes:
    """Rewrite a zip with fixed entry timestamps and a stable entry order."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        names = src.namelist()
        # [Content_Types].xml first, as Office expects; keep the rest in written order
        names.sort(key=lambda n: n != "[Content_Types].xml")
        for name in names:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 0
            dst.writestr(info, src.read(name))
    return out.getvalue()


# --------------------------------------------------------------------------- MD


def build_md(src: Source) -> bytes:
    text = (SRC / f"{src.stem}.md").read_text(encoding="utf-8")
    body = re.sub(r"^---\n.*?\n---\n", "", text, count=1, flags=re.S).lstrip("\n")
    return body.encode("utf-8")


BUILDERS = {"pdf": build_pdf, "docx": build_docx, "md": build_md}


# --------------------------------------------------------------------------- checks

DOC_TYPES = {"guideline", "policy", "protocol", "bulletin", "form", "other"}
STATUSES = {"current", "superseded", "withdrawn"}
ENTRY_KEYS = {"doc_id", "title", "doc_type", "topics", "publisher", "audience", "published",
              "review_due", "status", "supersedes", "source_url", "sample"}
TOPICS = {
    "immunisation", "hepatitis-b", "mmr", "varicella", "tuberculosis", "influenza", "pertussis",
    "covid-19", "bloodborne-viruses", "sharps-injury", "hiv", "hepatitis-c", "pep", "epp",
    "health-clearance", "violence-aggression", "lone-working", "health-surveillance", "skin-health",
    "fitness-for-work", "stress", "bulletin",
}
MONTHS = {m: i for i, m in enumerate(
    ["January", "February", "March", "April", "May", "June", "July", "August", "September",
     "October", "November", "December"], start=1)}


def check_manifests(sources: list[Source]) -> list[str]:
    import yaml

    problems: list[str] = []
    titles = {s.out_path.name: s.title for s in sources}
    by_name = {s.out_path.name: s for s in sources}
    all_entries: dict[str, dict] = {}
    folders = sorted({s.meta["folder"] for s in sources})
    for folder in folders:
        fdir = CORPUS / folder
        mpath = fdir / "manifest.yaml"
        if not mpath.exists():
            problems.append(f"{mpath}: missing")
            continue
        manifest = yaml.safe_load(mpath.read_text(encoding="utf-8")) or {}
        docs = manifest.get("documents") or {}
        files = sorted(p.name for p in fdir.iterdir() if p.is_file() and p.name != "manifest.yaml")
        for name in files:
            if name not in docs:
                problems.append(f"{folder}/{name}: no manifest entry")
        ids = set()
        for name, meta in docs.items():
            if not (fdir / name).exists():
                problems.append(f"{folder}/manifest.yaml: entry {name} has no file")
            if meta.get("doc_id") != Path(name).stem:
                problems.append(f"{folder}/{name}: doc_id {meta.get('doc_id')!r} != file stem")
            ids.add(meta.get("doc_id"))
            if name in titles and meta.get("title") != titles[name]:
                problems.append(f"{folder}/{name}: manifest title {meta.get('title')!r} != {titles[name]!r}")
            if meta.get("doc_type") not in DOC_TYPES:
                problems.append(f"{folder}/{name}: doc_type {meta.get('doc_type')!r} not allowed")
            if meta.get("status") not in STATUSES:
                problems.append(f"{folder}/{name}: status {meta.get('status')!r} not allowed")
            for t in meta.get("topics") or []:
                if t not in TOPICS:
                    problems.append(f"{folder}/{name}: topic {t!r} not in the vocabulary")
            unknown = set(meta) - ENTRY_KEYS
            if unknown:
                problems.append(f"{folder}/{name}: unknown keys {sorted(unknown)}")
            all_entries[meta.get("doc_id")] = meta
            src = by_name.get(name)
            if src is not None:
                for label, key in (("Published", "published"), ("Review due", "review_due")):
                    shown = src.control.get(label)
                    if shown and meta.get(key) and shown != meta[key]:
                        problems.append(f"{folder}/{name}: {key} {meta[key]} but the document says {shown}")
    # supersede links must point at known documents, and superseded documents need a successor
    successors = {old for m in all_entries.values() for old in (m.get("supersedes") or [])}
    for doc_id, meta in all_entries.items():
        for old in meta.get("supersedes") or []:
            if old not in all_entries:
                problems.append(f"{doc_id}: supersedes unknown doc_id {old!r}")
        if meta.get("status") == "superseded" and doc_id not in successors:
            problems.append(f"{doc_id}: status superseded but no document supersedes it")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="only check manifests, build nothing")
    ap.add_argument("stems", nargs="*", help="build only these source stems")
    args = ap.parse_args(argv)

    sources = [parse_source(p) for p in sorted(SRC.glob("*.md"))]
    if not args.check:
        for s in sources:
            if args.stems and s.stem not in args.stems:
                continue
            data = BUILDERS[s.fmt](s)
            s.out_path.parent.mkdir(parents=True, exist_ok=True)
            s.out_path.write_bytes(data)
            print(f"wrote {s.out_path.relative_to(CORPUS.parent)} ({len(data)} bytes)")
    problems = check_manifests(sources)
    for p in problems:
        print("CHECK:", p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
