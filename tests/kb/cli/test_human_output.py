"""What people see from the CLI: `kb docs list`, `kb ask` (snapshots), and a locked store."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import sys
import textwrap

import pytest
from rich.console import Console
from typer.testing import CliRunner

from kb.catalog import Catalog
from kb.cli import app
from kb.cli.human_output import print_answer
from kb.records import Answer, Citation, DocStatus, DocType, Document

NOW = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


def _doc(doc_id: str, title: str, **kw) -> Document:
    return Document(doc_id=doc_id, title=title, source_path=f"/docs/{doc_id}.pdf", version="v" + doc_id,
                    ingested_at=NOW, **kw)


@pytest.fixture
def kb_dir(tmp_path):
    cat = Catalog(tmp_path / "catalog.db")
    cat.put(_doc("hiv-pep-occupational-2025", "HIV post-exposure prophylaxis after occupational exposure",
                 doc_type=DocType.protocol, published=dt.date(2025, 5, 1), review_due=dt.date(2028, 5, 1)), "add")
    cat.put(_doc("a-very-long-document-identifier-that-would-push-columns-out-of-line", "Lone working",
                 doc_type=DocType.policy, published=None, review_due=dt.date(2020, 1, 1)), "add")
    cat.close()
    return tmp_path


DOCS_LIST = """\
Document id          Status   Type      Published   Review due         Title
a-very-long-documen  current  policy    undated     2020-01-01 (past)  Lone working
t-identifier-that-w
ould-push-columns-o
ut-of-line
hiv-pep-occupationa  current  protocol  2025-05-01  2028-05-01         HIV post-exposure
l-2025                                                                 prophylaxis after
                                                                       occupational
                                                                       exposure
2 documents
"""


def test_docs_list_is_a_table_with_a_header(kb_dir, monkeypatch):
    monkeypatch.setenv("COLUMNS", "90")
    result = CliRunner().invoke(app, ["--kb-dir", str(kb_dir), "docs", "list"])
    assert result.exit_code == 0, result.output
    lines = [line.rstrip() for line in result.output.splitlines()]
    assert "\n".join(lines) + "\n" == DOCS_LIST
    assert "<10" not in result.output


def _answer() -> Answer:
    old = dict(title="HIV post-exposure prophylaxis after occupational exposure", version="x", source_path="/d.pdf")
    return Answer(
        question="When should HIV PEP be started?",
        answer="PEP should be started as soon as possible, ideally within 24 hours [1]. "
               "It should not be started more than 72 hours after the exposure [2].",
        answerable=True,
        citations=[
            Citation(n=1, doc_id="hiv-pep-occupational-2025", chunk_id="c1",
                     section=f"{old['title']} > 3 Timing of PEP", page_start=1, page_end=1,
                     quote="PEP should be started as soon as possible", published=dt.date(2025, 5, 1),
                     review_due=dt.date(2028, 5, 1), link="http://127.0.0.1:8501/Library?doc=a&chunk=c1", **old),
            Citation(n=2, doc_id="hiv-pep-occupational-2018", chunk_id="c2", section="2 Timing",
                     page_start=2, page_end=3, quote="not more than 72 hours", published=dt.date(2018, 6, 1),
                     status=DocStatus.superseded, link="http://127.0.0.1:8501/Library?doc=b&chunk=c2", **old),
        ],
        warnings=["[2] 'HIV post-exposure prophylaxis after occupational exposure' (published 2018-06-01) "
                  "has been superseded. Check the current guidance."],
    )


ASK = """\
Q: When should HIV PEP be started?

PEP should be started as soon as possible, ideally within 24 hours [1]. It should not be
started more than 72 hours after the exposure [2].

Sources
[1] HIV post-exposure prophylaxis after occupational exposure
    3 Timing of PEP · p. 1 · published 2025-05-01 · review due 2028-05-01
    http://127.0.0.1:8501/Library?doc=a&chunk=c1
[2] HIV post-exposure prophylaxis after occupational exposure
    2 Timing · pp. 2–3 · published 2018-06-01 · SUPERSEDED
    http://127.0.0.1:8501/Library?doc=b&chunk=c2

Warnings
! [2] 'HIV post-exposure prophylaxis after occupational exposure' (published 2018-06-01)
  has been superseded. Check the current guidance.
"""


def test_ask_prints_answer_then_sources_then_warnings():
    buf = io.StringIO()
    print_answer(_answer(), Console(file=buf, width=90, color_system=None, highlight=False))
    assert "\n".join(line.rstrip() for line in buf.getvalue().splitlines()) + "\n" == ASK


def test_refusal_lists_the_closest_documents():
    buf = io.StringIO()
    refusal = Answer(question="Sponge cake?", answer="The library does not cover this question.", answerable=False,
                     closest_documents=[{"doc_id": "d", "title": "Lone working", "section": "Lone working > 2 Checks",
                                         "link": "http://x/Library?doc=d"}])
    print_answer(refusal, Console(file=buf, width=90, color_system=None))
    assert buf.getvalue().endswith("Closest documents\n1. Lone working — 2 Checks\n   http://x/Library?doc=d\n")


def test_locked_store_fails_at_once_before_the_model_loads(tmp_path, monkeypatch):
    (tmp_path / "qdrant").mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from pathlib import Path
            from kb.store.edge import ShardLock
            lock = ShardLock(Path({str(tmp_path / 'qdrant')!r}))
            lock.acquire()
            print("locked", flush=True)
            time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"

        def no_model(*_a, **_k):
            raise AssertionError("the embedding model was loaded before the lock was checked")

        monkeypatch.setattr("kb.service.open_embedder", no_model)
        result = CliRunner().invoke(app, ["--kb-dir", str(tmp_path), "ask", "When should PEP start?"])
        assert result.exit_code == 3, result.output
        assert f"in use by pid {holder.pid}" in result.output
        assert "Stop that process" in result.output
    finally:
        holder.kill()
        holder.wait()


def test_help_and_catalog_commands_do_not_import_heavy_libraries():
    code = ("import sys; from typer.testing import CliRunner; from kb.cli import app; "
            "r = CliRunner().invoke(app, ['--help']); assert r.exit_code == 0; "
            "print(sorted(m for m in ('torch', 'transformers', 'unstructured', 'streamlit', 'sentence_transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
