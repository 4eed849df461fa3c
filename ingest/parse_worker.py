"""The parser worker: the child side of `ingest.isolation`. Run as `python -m ingest.parse_worker`.

It imports the PDF loader once (without torch: spaCy's thinc imports it when present, and no
loader needs it), says "ready", then serves one request per line on stdin:

    {"path": ..., "out": ..., "limits": {...}}  ->  {"status": "ok"|"error"|"oom"|"timeout"|"crash", ...}

The other formats' parsers (`unstructured`, spaCy: ~2-3 s to import and load) are loaded in the
worker on the first request for one of them, after a `{"status": "warming"}` line that tells the
parent to wait for the load before its reply deadline starts. A run of PDFs never loads them.

A PDF or DOCX request (`"fork": true`) goes to a fork of the worker (`_Sandbox`) that parses
such files one after another. For each file it sets RLIMIT_AS to its size now plus
`parse_memory_mb`, parses, writes the `ParsedDocument` (or the `IngestError`) as JSON to the
file `out`, and replies. The worker kills the fork when a file runs past `parse_timeout_s`, a
fork that runs out of memory exits after replying, and the next file gets a fresh fork; the
worker reports how each file ended. So a hang or a memory bomb costs one fork, and the worker
keeps serving.

Text, Markdown, HTML and e-mail (`"fork": false`) are parsed in the worker itself under the
same limits (a soft RLIMIT_AS and an interval timer): a fork costs ~100 ms on a loaded
machine, more than parsing a small text file. If such a parse runs out of memory or time,
the worker replies and exits, and the parent starts a fresh one.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import resource
import select
import signal
import sys
import time
from pathlib import Path
from typing import Any

MB = 1 << 20
RECYCLE_GROWTH_MB = 256  # the worker retires once in-worker parses have grown it this much


def _block_torch() -> None:
    sys.modules.setdefault("torch", None)  # type: ignore[arg-type]  # import torch -> ImportError


_WARM_UP_TEXT = "Warm-up heading\n\nThe parser loads its models once. Then it forks for each file.\n"


def _warm_pdf() -> None:
    """Import the PDF loader once (0.5 s), so each fork starts with it ready."""
    import pypdf  # noqa: F401
    import pypdfium2  # noqa: F401

    import ingest.loaders.dispatch  # noqa: F401
    from ingest.loaders.word_repair import english_words

    # The PDF loader's word list (427k words, 0.35 s to build): built once here, every fork
    # inherits it. Built lazily in each fork it was ~40% of the Green Book's parse time.
    english_words()

    logging.getLogger("pypdf").setLevel(logging.ERROR)


def _warm_others() -> None:
    """Import the other formats' parsers and load their models once (2-3 s: unstructured, spaCy)."""
    from ingest.loaders.unstructured_loader import _partitioner

    for kind in ("docx", "eml"):
        _partitioner(kind)
    _partitioner("text")(text=_WARM_UP_TEXT)
    _partitioner("md")(text="# " + _WARM_UP_TEXT)
    _partitioner("html")(text=f"<html><body><h1>Warm-up</h1><p>{_WARM_UP_TEXT}</p></body></html>")


def _needs_others(request: dict[str, Any]) -> bool:
    return not str(request["path"]).lower().endswith(".pdf")


def _vm_size() -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _write(out: str, payload: dict[str, Any]) -> None:
    tmp = out + ".part"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(payload, f, ensure_ascii=False)
    os.replace(tmp, out)


class _ParseTimeout(BaseException):
    pass


def _parse(request: dict[str, Any]) -> dict[str, Any]:
    """Parse the requested file; the result or the error as a JSON-ready payload."""
    from ingest.loaders.dispatch import load_document
    from ingest.loaders.limits import ParseLimits
    from kb.errors import IngestError

    try:
        doc = load_document(Path(request["path"]), ParseLimits(**request["limits"]))
        return {"status": "ok", "doc": doc.model_dump(mode="json")}
    except MemoryError:
        return {"status": "oom"}
    except IngestError as exc:
        if exc.reason == "parser ran out of memory":
            return {"status": "oom"}
        return {"status": "error", "reason": exc.reason, "detail": exc.detail}
    except _ParseTimeout:
        raise
    except BaseException as exc:  # noqa: BLE001 - any failure is this file's, reported by name
        return {"status": "error", "reason": "corrupt file", "detail": f"{type(exc).__name__}: {exc}"}


@contextlib.contextmanager
def _memory_cap(request: dict[str, Any]):
    """A soft RLIMIT_AS of this process's size now plus the request's `parse_memory_mb`, for the
    block; the previous limit afterwards."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (_vm_size() + int(request["limits"]["parse_memory_mb"]) * MB, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _on_alarm(signum: int, frame: Any) -> None:
    raise _ParseTimeout


def _serve_here(request: dict[str, Any]) -> dict[str, Any]:
    """Parse in the worker itself (text formats: no fork to pay for), under a soft RLIMIT_AS and
    an interval timer. After a timeout or running out of memory the worker exits once it has
    replied (its state is suspect); the parent starts a fresh one for the next file. A hang in C
    code that the timer cannot interrupt is caught by the parent's reply deadline."""
    started = time.monotonic()
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, float(request["limits"]["parse_timeout_s"]))
    try:
        with _memory_cap(request):
            payload = _parse(request)
    except _ParseTimeout:
        payload = {"status": "timeout"}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    seconds = time.monotonic() - started
    if payload["status"] in ("timeout", "oom"):
        return {**payload, "seconds": seconds, "exit": True}
    _write(request["out"], payload)
    return {"status": "file", "seconds": seconds}


def _die_with_parent(parent: int) -> None:
    """Ask the kernel to kill this process when the worker dies (a worker killed at the parent's
    deadline must not leave a fork parsing on)."""
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # it died before the request took effect
        os._exit(1)


class _Sandbox:
    """A fork of the warm worker that parses PDF and DOCX files one after another.

    Profile (docs/PERFORMANCE.md, change 27): a fresh fork per file paid ~45 ms of CPU in
    copy-on-write page faults, since every heap page a parse touched was still shared with the
    worker (3,700 faults per file): 120 corpus x6 PDF and DOCX files took 10.0 s of CPU in
    forks against 4.6 s in one process. A fork that serves many files pays those faults once.

    Each file still runs under its own limits, and any failure costs the fork, never the worker:
    the fork sets a soft RLIMIT_AS of its size now plus `parse_memory_mb` for each file; the
    worker kills it at `parse_timeout_s`; a file that runs out of memory ends it after the
    reply, a crash ends it anyway; the next file gets a fresh fork. It retires after
    `RECYCLE_FILES` files or `RECYCLE_GROWTH_MB` of growth, so no parse state lives long, and the
    worker retires it when it loads the other formats' parsers, so the next fork has them."""

    RECYCLE_FILES = 200

    def __init__(self, keep_closed: tuple[int, ...] = ()) -> None:
        self.pid: int | None = None
        self._requests = -1  # the worker's end of the request pipe
        self._replies = -1  # the worker's end of the reply pipe
        self._buffer = b""
        self._keep_closed = keep_closed  # the worker's own pipes: a long-lived fork must not hold them

    def _start(self) -> None:
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        worker = os.getpid()
        pid = os.fork()
        if pid == 0:  # the fork
            code = 1
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                _die_with_parent(worker)
                os.close(req_w)
                os.close(rep_r)
                for fd in self._keep_closed:  # or the parent would not see the worker's end
                    os.close(fd)
                devnull = os.open(os.devnull, os.O_RDONLY)
                os.dup2(devnull, 0)
                os.close(devnull)
                code = _sandbox_main(req_r, rep_w)
            finally:
                os._exit(code)
        os.close(req_r)
        os.close(rep_w)
        self.pid, self._requests, self._replies, self._buffer = pid, req_w, rep_r, b""

    def serve(self, request: dict[str, Any]) -> dict[str, Any]:
        started = time.monotonic()
        line = (json.dumps(request) + "\n").encode()
        for attempt in (1, 2):
            if self.pid is None:
                self._start()
            try:
                os.write(self._requests, line)  # one short line: never blocks
                break
            except BrokenPipeError:  # it died between files: start another
                self._reap()
                if attempt == 2:
                    raise
        fork = self.pid
        reply = self._read(started + float(request["limits"]["parse_timeout_s"]))
        seconds = time.monotonic() - started
        if reply is None:  # past the time limit
            self._kill()
            return {"status": "timeout", "seconds": seconds, "fork_pid": fork}
        if not reply:  # it died without a reply
            return {**self._ended(), "seconds": seconds, "fork_pid": fork}
        if reply.get("retire") or reply["status"] != "file":
            self._reap()  # it exits after replying
        return {"status": reply["status"], "seconds": seconds, "fork_pid": fork}

    def _read(self, deadline: float) -> dict[str, Any] | None:
        """The fork's reply; None past `deadline`; {} when it died without one."""
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            readable, _, _ = select.select([self._replies], [], [], left)
            if readable:
                data = os.read(self._replies, 1 << 16)
                if not data:
                    return {}
                self._buffer += data
        line, _, self._buffer = self._buffer.partition(b"\n")
        return json.loads(line)

    def _ended(self) -> dict[str, Any]:
        """How the fork ended, once it has (reaps it)."""
        status = self._reap()  # out of memory it replies first, so this is a crash
        how = (f"signal {signal.Signals(os.WTERMSIG(status)).name}" if os.WIFSIGNALED(status)
               else f"exit code {os.WEXITSTATUS(status)}")
        return {"status": "crash", "how": how}

    def _kill(self) -> None:
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._reap()

    def _reap(self) -> int:
        pid, self.pid = self.pid, None
        for fd in (self._requests, self._replies):
            if fd >= 0:
                os.close(fd)
        self._requests = self._replies = -1
        if pid is None:
            return 0
        return os.waitpid(pid, 0)[1]

    def close(self) -> None:
        """Let it finish: it exits at the end of its request pipe."""
        self._reap()


def _sandbox_main(requests_fd: int, replies_fd: int) -> int:
    """The fork's loop: one request per line, each parsed under its own memory cap, the result
    written to its `out` file, then one reply line. Returns the exit code."""
    replies = os.fdopen(replies_fd, "w", encoding="utf-8", buffering=1)
    started_size, served = _vm_size(), 0
    for line in os.fdopen(requests_fd, encoding="utf-8"):
        request = json.loads(line)
        try:
            with _memory_cap(request):  # writing the result counts too, as in the fork it replaced
                payload = _parse(request)
                if payload["status"] != "oom":
                    _write(request["out"], payload)
        except MemoryError:
            payload = {"status": "oom"}
        if payload["status"] == "oom":
            replies.write(json.dumps({"status": "oom"}) + "\n")
            return 0  # its state is suspect after running out of memory
        served += 1
        retire = served >= _Sandbox.RECYCLE_FILES or _vm_size() > started_size + RECYCLE_GROWTH_MB * MB
        replies.write(json.dumps({"status": "file", "retire": retire}) + "\n")
        if retire:
            return 0
    return 0


def main() -> None:
    _block_torch()
    reply = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)  # anything a library prints goes to stderr, never into the replies
    _warm_pdf()
    gc.freeze()  # the forks' garbage collector leaves the warm objects alone: fewer page copies
    reply.write(json.dumps({"status": "ready", "pid": os.getpid()}) + "\n")
    started_size = _vm_size()
    sandbox = _Sandbox(keep_closed=(reply.fileno(),))
    try:
        _serve(reply, sandbox, started_size)
    finally:
        sandbox.close()


def _serve(reply: Any, sandbox: _Sandbox, started_size: int) -> None:
    others = False
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        if not others and _needs_others(request):
            reply.write(json.dumps({"status": "warming"}) + "\n")  # the parent waits for the load
            _warm_others()
            gc.freeze()
            sandbox.close()  # its next fork starts with them loaded
            started_size, others = _vm_size(), True  # loading them is not growth to retire for
        answer = sandbox.serve(request) if request.get("fork", True) else _serve_here(request)
        if _vm_size() > started_size + RECYCLE_GROWTH_MB * MB:
            answer["exit"] = True  # in-worker parses left it larger: make way for a fresh one
        reply.write(json.dumps(answer) + "\n")
        if answer.get("exit"):
            return


if __name__ == "__main__":
    main()
