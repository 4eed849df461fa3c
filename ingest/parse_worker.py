"""The parser worker: the child side of `ingest.isolation`. Run as `python -m ingest.parse_worker`.

It imports the PDF loader once (without torch: spaCy's thinc imports it when present, and no
loader needs it), says "ready", then serves one request per line on stdin:

    {"path": ..., "out": ..., "limits": {...}}  ->  {"status": "ok"|"error"|"oom"|"timeout"|"crash", ...}

The other formats' parsers (`unstructured`, spaCy: ~2-3 s to import and load) are loaded in the
worker on the first request for one of them, after a `{"status": "warming"}` line that tells the
parent to wait for the load before its reply deadline starts. A run of PDFs never loads them.

For a PDF or DOCX request (`"fork": true`) it forks. The fork sets RLIMIT_AS to its own
start-up size plus `parse_memory_mb`, parses, writes the `ParsedDocument` (or the
`IngestError`) as JSON to the file `out`, and exits. The worker kills a fork that runs past
`parse_timeout_s` and reports how each one ended. So a hang or a memory bomb costs one fork,
and the worker keeps serving.

Text, Markdown, HTML and e-mail (`"fork": false`) are parsed in the worker itself under the
same limits (a soft RLIMIT_AS and an interval timer): a fork costs ~100 ms on a loaded
machine, more than parsing a small text file. If such a parse runs out of memory or time,
the worker replies and exits, and the parent starts a fresh one.
"""

from __future__ import annotations

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
_OOM_EXIT = 3
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


def _cap(request: dict[str, Any]) -> int:
    return _vm_size() + int(request["limits"]["parse_memory_mb"]) * MB


def _child(request: dict[str, Any]) -> int:
    """Runs in the fork: limit memory, parse, write the result. Returns the exit code."""
    cap = _cap(request)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    payload = _parse(request)
    try:
        _write(request["out"], payload)
    except MemoryError:
        return _OOM_EXIT
    return 0


def _on_alarm(signum: int, frame: Any) -> None:
    raise _ParseTimeout


def _serve_here(request: dict[str, Any]) -> dict[str, Any]:
    """Parse in the worker itself (text formats: no fork to pay for), under a soft RLIMIT_AS and
    an interval timer. After a timeout or running out of memory the worker exits once it has
    replied (its state is suspect); the parent starts a fresh one for the next file. A hang in C
    code that the timer cannot interrupt is caught by the parent's reply deadline."""
    started = time.monotonic()
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    resource.setrlimit(resource.RLIMIT_AS, (_cap(request), hard))
    signal.setitimer(signal.ITIMER_REAL, float(request["limits"]["parse_timeout_s"]))
    try:
        payload = _parse(request)
    except _ParseTimeout:
        payload = {"status": "timeout"}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        signal.signal(signal.SIGALRM, previous)
    seconds = time.monotonic() - started
    if payload["status"] in ("timeout", "oom"):
        return {**payload, "seconds": seconds, "exit": True}
    _write(request["out"], payload)
    return {"status": "file", "seconds": seconds}


def _serve_one(request: dict[str, Any]) -> dict[str, Any]:
    timeout = float(request["limits"]["parse_timeout_s"])
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the fork
        code = 1
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            code = _child(request)
        finally:
            os._exit(code)
    pidfd = os.pidfd_open(pid)  # readable when the fork exits: no polling delay
    try:
        exited, _, _ = select.select([pidfd], [], [], timeout)
    finally:
        os.close(pidfd)
    if not exited:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        return {"status": "timeout", "seconds": time.monotonic() - started}
    _, status = os.waitpid(pid, 0)
    seconds = time.monotonic() - started
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 and os.path.exists(request["out"]):
        return {"status": "file", "seconds": seconds}
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == _OOM_EXIT:
        return {"status": "oom", "seconds": seconds}
    how = (f"signal {signal.Signals(os.WTERMSIG(status)).name}" if os.WIFSIGNALED(status)
           else f"exit code {os.WEXITSTATUS(status)}")
    return {"status": "crash", "how": how, "seconds": seconds}


def main() -> None:
    _block_torch()
    reply = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)  # anything a library prints goes to stderr, never into the replies
    _warm_pdf()
    gc.freeze()  # the forks' garbage collector leaves the warm objects alone: fewer page copies
    reply.write(json.dumps({"status": "ready", "pid": os.getpid()}) + "\n")
    started_size = _vm_size()
    others = False
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        if not others and _needs_others(request):
            reply.write(json.dumps({"status": "warming"}) + "\n")  # the parent waits for the load
            _warm_others()
            gc.freeze()
            started_size, others = _vm_size(), True  # loading them is not growth to retire for
        answer = _serve_one(request) if request.get("fork", True) else _serve_here(request)
        if _vm_size() > started_size + RECYCLE_GROWTH_MB * MB:
            answer["exit"] = True  # in-worker parses left it larger: make way for a fresh one
        reply.write(json.dumps(answer) + "\n")
        if answer.get("exit"):
            return


if __name__ == "__main__":
    main()
