"""The parser worker: the child side of `ingest.isolation`. Run as `python -m ingest.parse_worker`.

It imports the loaders once (without torch: spaCy's thinc imports it when present, and no
loader needs it), says "ready", then serves one request per line on stdin:

    {"path": ..., "out": ..., "limits": {...}}  ->  {"status": "ok"|"error"|"oom"|"timeout"|"crash", ...}

For each request it forks. The fork sets RLIMIT_AS to its own start-up size plus
`parse_memory_mb`, parses, writes the `ParsedDocument` (or the `IngestError`) as JSON to the
file `out`, and exits. The worker kills a fork that runs past `parse_timeout_s` and reports
how each one ended. So a hang or a memory bomb costs one fork, and the worker keeps serving.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import signal
import sys
import time
from pathlib import Path
from typing import Any

MB = 1 << 20
_OOM_EXIT = 3


def _block_torch() -> None:
    sys.modules.setdefault("torch", None)  # type: ignore[arg-type]  # import torch -> ImportError


_WARM_UP_TEXT = "Warm-up heading\n\nThe parser loads its models once. Then it forks for each file.\n"


def _warm_up() -> None:
    """Import every parser and load its models once, so each fork starts with them ready."""
    from ingest.loaders.unstructured_loader import _partitioner

    for kind in ("docx", "eml"):
        _partitioner(kind)
    _partitioner("text")(text=_WARM_UP_TEXT)
    _partitioner("md")(text="# " + _WARM_UP_TEXT)
    _partitioner("html")(text=f"<html><body><h1>Warm-up</h1><p>{_WARM_UP_TEXT}</p></body></html>")
    import pypdf  # noqa: F401
    import pypdfium2  # noqa: F401

    logging.getLogger("pypdf").setLevel(logging.ERROR)


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


def _child(request: dict[str, Any]) -> int:
    """Runs in the fork: limit memory, parse, write the result. Returns the exit code."""
    from ingest.loaders.dispatch import load_document
    from ingest.loaders.limits import ParseLimits
    from kb.errors import IngestError

    limits = ParseLimits(**request["limits"])
    cap = _vm_size() + limits.parse_memory_mb * MB
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    try:
        doc = load_document(Path(request["path"]), limits)
        payload: dict[str, Any] = {"status": "ok", "doc": doc.model_dump(mode="json")}
    except MemoryError:
        payload = {"status": "oom"}
    except IngestError as exc:
        if exc.reason == "parser ran out of memory":
            payload = {"status": "oom"}
        else:
            payload = {"status": "error", "reason": exc.reason, "detail": exc.detail}
    except BaseException as exc:  # noqa: BLE001 - any failure is this file's, reported by name
        payload = {"status": "error", "reason": "corrupt file", "detail": f"{type(exc).__name__}: {exc}"}
    try:
        _write(request["out"], payload)
    except MemoryError:
        return _OOM_EXIT
    return 0


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
    pause = 0.002
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() - started > timeout:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return {"status": "timeout", "seconds": time.monotonic() - started}
        time.sleep(pause)
        pause = min(pause * 1.5, 0.05)
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
    _warm_up()
    reply.write(json.dumps({"status": "ready", "pid": os.getpid()}) + "\n")
    for line in sys.stdin:
        if not line.strip():
            continue
        reply.write(json.dumps(_serve_one(json.loads(line))) + "\n")


if __name__ == "__main__":
    main()
