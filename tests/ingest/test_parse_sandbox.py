"""PDF and DOCX files parse in one long-lived fork of the parser worker (`parse_worker._Sandbox`),
not a fresh fork each: each file keeps its own limits, and a file that fails costs the fork,
never the worker or the next file. Real PDFs and DOCX from corpus/, real processes and signals."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from ingest.isolation import IsolatedParser
from ingest.loaders.dispatch import load_document
from ingest.loaders.limits import ParseLimits
from kb.errors import IngestError
from tests.fixtures.bad.make_fixtures import make_all

CORPUS = Path(__file__).resolve().parents[2] / "corpus"
PDFS = sorted((CORPUS / "bloodborne-viruses").glob("*.pdf"))[:3]
DOCX = sorted((CORPUS / "bloodborne-viruses").glob("*.docx"))[:2]


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_all(tmp_path_factory.mktemp("bad") / "bad")


@pytest.fixture
def parser():
    p = IsolatedParser()
    yield p
    p.shutdown()


def _alive(pid: int) -> bool:
    """Running (not gone, not a zombie waiting to be reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def test_pdf_and_docx_files_share_one_fork_and_parse_as_in_process(parser) -> None:
    forks = set()
    for path in [*PDFS, *DOCX, *PDFS]:
        assert parser.parse(path) == load_document(path)  # the same document as a parse in this process
        forks.add(parser.last_fork_pid)
    worker = parser.worker_pid
    # the first DOCX loads the other formats' parsers in the worker, which retires the fork it
    # had, so that the next one starts with them: two forks for nine files
    assert len(forks) == 2 and None not in forks and worker not in forks
    assert parser.parse(CORPUS / "bulletins" / "bulletin-2021-03.html").blocks  # text: in the worker itself
    assert parser.last_fork_pid is None and parser.worker_pid == worker


def test_a_timeout_kills_the_fork_and_the_next_file_gets_a_fresh_one(parser, bad_files) -> None:
    parser.parse(PDFS[0])
    first = parser.last_fork_pid
    with pytest.raises(IngestError) as info:
        parser.parse(bad_files["two-thousand-pages.pdf"], ParseLimits(max_pages=5000, parse_timeout_s=1))
    assert info.value.reason == "parser timed out after 1 s"
    assert parser.last_fork_pid == first and not _alive(first)  # the file ran in that fork, killed with it
    assert parser.parse(PDFS[1]).blocks
    assert parser.last_fork_pid not in (None, first)


def test_out_of_memory_ends_the_fork_after_its_reply(parser, bad_files) -> None:
    parser.parse(PDFS[0])
    first = parser.last_fork_pid
    with pytest.raises(IngestError) as info:
        parser.parse(bad_files["flate-bomb.pdf"], ParseLimits(parse_memory_mb=32))
    assert info.value.reason == "parser ran out of memory (limit 32 MB)"
    assert parser.last_fork_pid == first and not _alive(first)
    assert parser.parse(PDFS[0]) == load_document(PDFS[0])  # a fresh fork, a whole document
    assert parser.last_fork_pid != first


def test_a_fork_killed_mid_parse_fails_that_file_and_not_the_next(parser, bad_files) -> None:
    parser.parse(PDFS[0])
    fork = parser.last_fork_pid
    errors: list[IngestError] = []

    def slow() -> None:
        try:
            parser.parse(bad_files["two-thousand-pages.pdf"], ParseLimits(max_pages=5000, parse_timeout_s=60))
        except IngestError as exc:
            errors.append(exc)

    thread = threading.Thread(target=slow)
    thread.start()
    time.sleep(1.0)  # well into the 2,000 pages
    os.kill(fork, signal.SIGKILL)
    thread.join(30)
    assert not thread.is_alive()
    assert [e.reason for e in errors] == ["parser crashed (signal SIGKILL)"]
    assert errors[0].path == str(bad_files["two-thousand-pages.pdf"])
    assert parser.parse(PDFS[1]).blocks and parser.last_fork_pid != fork


def test_the_fork_dies_with_its_worker(parser) -> None:
    """A worker killed at the parent's deadline must not leave its fork parsing on."""
    parser.parse(PDFS[0])
    worker, fork = parser.worker_pid, parser.last_fork_pid
    assert _alive(fork)
    os.kill(worker, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while _alive(fork) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(fork)
    assert parser.parse(PDFS[0]).blocks  # and the parser starts a fresh worker
    assert parser.worker_pid != worker
