"""Parse files in a child process with memory and time limits, so one bad file costs one job.

    >>> from ingest.isolation import parse_isolated                     # doctest: +SKIP
    >>> doc = parse_isolated(Path("guide.pdf"), ParseLimits(parse_timeout_s=60))  # doctest: +SKIP

`parse_isolated` sends each file to a long-lived worker (`ingest.parse_worker`, started on
first use, once per process). The worker has the PDF parser imported (but not torch or the
embedding model), and loads the other formats' parsers at its first non-PDF file. PDFs and
DOCX files go to a fork of the worker that parses them one after another, each under RLIMIT_AS
(the fork's size at that file plus `parse_memory_mb`) and killed after `parse_timeout_s`; a
fork that fails a file ends, and the next file gets a fresh one (`parse_worker._Sandbox`).
Text formats are parsed in the worker itself under the same limits, and a worker that hits
one is replaced. A memory cap counts from the current size, so heap that earlier files freed
inside it comes on top of `parse_memory_mb`; both processes retire after 256 MB of growth. Every outcome comes back as a
`ParsedDocument` or an `IngestError` naming the file:

- "parser ran out of memory (limit N MB)": the fork hit the address-space limit;
- "parser timed out after N s": the fork was killed at the wall-time limit;
- "parser crashed (signal ...)": the fork died without a result;
- any loader error ("encrypted PDF", "too many pages", "decompression bomb", ...) as is.

A worker that dies is restarted for the next file. Calls are serialised by a lock, so
threads may share the default parser.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from ingest.loaders.limits import ParseLimits
from kb.errors import IngestError
from kb.records import ParsedDocument

# Parsed in a fork of the worker: the formats whose parsers have had bomb and infinite-loop
# bugs (pypdf CVEs, zip bombs). Other formats are parsed in the worker itself (see parse_worker).
FORKED_SUFFIXES = frozenset({".pdf", ".docx"})
STARTUP_TIMEOUT_S = 180  # importing unstructured and spaCy on a busy machine (at the first non-PDF file)
_REPLY_GRACE_S = 5  # the worker enforces the time limit; this is the backstop for the worker


class _WorkerGone(Exception):
    pass


class IsolatedParser:
    """One parser worker process and the requests sent to it."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._buffer = bytearray()
        self._lock = threading.Lock()
        self._dir = Path(tempfile.mkdtemp(prefix="kb-parse-"))
        self._count = 0
        self.warmed = False  # the worker has loaded the other formats' parsers (after a non-PDF file)
        self.last_fork_pid: int | None = None  # the fork that parsed the last PDF or DOCX

    # ------------------------------------------------------------ worker

    def _start(self) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "ingest.parse_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            close_fds=True,
        )
        self._proc, self._buffer, self.warmed = proc, bytearray(), False
        ready = self._read_reply(time.monotonic() + STARTUP_TIMEOUT_S)
        if ready.get("status") != "ready":
            self.close()
            raise _WorkerGone(f"the parser worker did not start: {ready}")
        return proc

    def _read_reply(self, deadline: float) -> dict[str, Any]:
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            readable, _, _ = select.select([fd], [], [], left)
            if readable:
                data = os.read(fd, 1 << 16)
                if not data:
                    raise _WorkerGone("the parser worker exited")
                self._buffer += data
        line, _, rest = bytes(self._buffer).partition(b"\n")
        self._buffer = bytearray(rest)
        return json.loads(line)

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.stdin:
                proc.stdin.close()
            proc.wait(timeout=5)
        except Exception:
            proc.kill()
            proc.wait()

    @property
    def worker_pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    # ------------------------------------------------------------ requests

    def parse(self, path: Path, limits: ParseLimits | None = None) -> ParsedDocument:
        """Parse `path` in the worker; raises `IngestError` naming the file on any failure."""
        limits = limits or ParseLimits()
        path = Path(path)
        with self._lock:
            self._count += 1
            out = self._dir / f"{self._count}.json"
            try:
                reply = self._request(path, limits, out)
                self.last_fork_pid = reply.get("fork_pid")
                if reply["status"] == "file":
                    payload = json.loads(out.read_text(encoding="utf-8"))
                    reply = payload
            finally:
                out.unlink(missing_ok=True)
        return _result(path, limits, reply)

    def _request(self, path: Path, limits: ParseLimits, out: Path) -> dict[str, Any]:
        request = {
            "path": str(path),
            "out": str(out),
            "limits": _limits_dict(limits),
            "fork": path.suffix.lower() in FORKED_SUFFIXES,
        }
        for attempt in (1, 2):
            try:
                proc = self._proc if self._proc and self._proc.poll() is None else self._start()
                assert proc.stdin is not None
                proc.stdin.write((json.dumps(request) + "\n").encode())
                proc.stdin.flush()
                reply = self._read_reply(time.monotonic() + limits.parse_timeout_s + _REPLY_GRACE_S)
                if reply.get("status") == "warming":  # it loads the other formats' parsers first
                    self.warmed = True
                    reply = self._read_reply(time.monotonic() + STARTUP_TIMEOUT_S + limits.parse_timeout_s
                                             + _REPLY_GRACE_S)
                if reply.get("exit"):
                    self.close()  # it exits after an out-of-memory or timed-out parse, or grown
                return reply
            except TimeoutError:
                self._kill()  # stuck past the worker's own timer: a hang in C code
                return {"status": "timeout"}
            except (_WorkerGone, BrokenPipeError) as exc:
                self._kill()
                if attempt == 2:
                    return {"status": "crash", "how": f"worker lost: {exc}"}
        raise AssertionError("unreachable")

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()

    def shutdown(self) -> None:
        self.close()
        shutil.rmtree(self._dir, ignore_errors=True)


def _limits_dict(limits: ParseLimits) -> dict[str, Any]:
    return {
        "max_file_mb": limits.max_file_mb,
        "max_pages": limits.max_pages,
        "parse_timeout_s": limits.parse_timeout_s,
        "parse_memory_mb": limits.parse_memory_mb,
    }


def _result(path: Path, limits: ParseLimits, reply: dict[str, Any]) -> ParsedDocument:
    status = reply.get("status")
    if status == "ok":
        return ParsedDocument.model_validate(reply["doc"])
    if status == "error":
        raise IngestError(str(path), reply["reason"], reply.get("detail", ""))
    if status == "oom":
        raise IngestError(
            str(path),
            f"parser ran out of memory (limit {limits.parse_memory_mb} MB)",
            "the file needs more memory to parse than setting parse_memory_mb allows; "
            "it may be a decompression bomb",
        )
    if status == "timeout":
        raise IngestError(
            str(path),
            f"parser timed out after {limits.parse_timeout_s:g} s",
            "parsing was stopped at setting parse_timeout_s; split the file or raise the limit",
        )
    raise IngestError(
        str(path),
        f"parser crashed ({reply.get('how', 'no result')})",
        f"the parser died without a result; it may have run out of memory "
        f"(limit {limits.parse_memory_mb} MB)",
    )


_default: IsolatedParser | None = None
_default_lock = threading.Lock()


def default_parser() -> IsolatedParser:
    global _default
    with _default_lock:
        if _default is None:
            _default = IsolatedParser()
            atexit.register(_default.shutdown)
        return _default


def parse_isolated(path: Path, limits: ParseLimits | None = None) -> ParsedDocument:
    """Parse one file in the shared worker (see the module docstring)."""
    return default_parser().parse(path, limits)
