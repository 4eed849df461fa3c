"""Timing benchmark (not pass/fail): what the REST API adds to an in-process `ask`.

    .venv/bin/python -m evals.bench_api [--kb-dir DIR] [--questions 10] [--rounds 2]

Opens one KnowledgeBase (by default a fresh one ingesting one small corpus folder), serves
it with uvicorn on a loopback port in this process, and for each golden question times
`kb.ask` + `answer_json` in-process and `POST /v1/ask` over HTTP (keep-alive httpx client),
interleaved so load on the machine hits both alike. Prints p50 of each and the ratio
API / in-process (median of the per-question ratios, and of the totals), the cost of a bare
HTTP round trip (GET /healthz), and the time to the first SSE event of a streamed ask.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

from evals.paths import CORPUS


def _serve(app):
    import socket

    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    return server, thread, f"http://127.0.0.1:{port}"


def main() -> None:
    import httpx

    from evals.golden import load_cases
    from kb.api import create_app
    from kb.contract import answer_json
    from kb.service import KnowledgeBase
    from kb.settings import load_settings

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kb-dir", type=Path, help="an existing KB (default: ingest corpus/bloodborne-viruses into a temp one)")
    ap.add_argument("--questions", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()

    kb_dir = args.kb_dir or Path(tempfile.mkdtemp(prefix="bench-api-")) / "kb"
    kb = KnowledgeBase.open(load_settings(kb_dir=kb_dir))
    if args.kb_dir is None:
        from ingest.pipeline import ingest_paths

        ingest_paths(kb, [CORPUS / "bloodborne-viruses"])
    questions = [c.question for c in load_cases()][: args.questions]
    kb.ask("warm up the model and the store")
    server, thread, url = _serve(create_app(kb, mcp=False))
    local, remote, ratios, first_event = [], [], [], []
    with httpx.Client(base_url=url, timeout=120) as http:
        http.post("/v1/ask", json={"question": "warm up"}).raise_for_status()
        for _ in range(args.rounds):
            for q in questions:
                t0 = time.perf_counter()
                answer_json(kb.ask(q, log=True))
                t1 = time.perf_counter()
                http.post("/v1/ask", json={"question": q}).raise_for_status()
                t2 = time.perf_counter()
                local.append(t1 - t0)
                remote.append(t2 - t1)
                ratios.append((t2 - t1) / (t1 - t0))
        bare = []
        for _ in range(50):  # what one HTTP round trip costs here, without any KB work
            t0 = time.perf_counter()
            http.get("/healthz").raise_for_status()
            bare.append(time.perf_counter() - t0)
        for q in questions[:3]:
            t0 = time.perf_counter()
            with http.stream("POST", "/v1/ask", json={"question": q, "stream": True}) as r:
                for _line in r.iter_lines():
                    first_event.append(time.perf_counter() - t0)
                    break
    server.should_exit = True
    thread.join(10)
    kb.close()
    ms = lambda xs: statistics.median(xs) * 1e3  # noqa: E731
    print(f"{len(local)} asks ({len(questions)} golden questions x {args.rounds} rounds)")
    print(f"in-process kb.ask + answer_json: p50 {ms(local):.1f} ms")
    print(f"POST /v1/ask over loopback HTTP: p50 {ms(remote):.1f} ms")
    print(f"ratio API / in-process: median per question {statistics.median(ratios):.3f}, "
          f"totals {sum(remote) / sum(local):.3f}")
    print(f"bare HTTP round trip (GET /healthz): p50 {ms(bare):.1f} ms")
    print(f"streamed ask, first SSE event after {ms(first_event):.1f} ms (p50 of {len(first_event)})")


if __name__ == "__main__":
    main()
