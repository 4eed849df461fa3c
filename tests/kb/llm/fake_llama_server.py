"""A stand-in for llama.cpp's `llama-server` executable, for testing kb.llm_server fast.

It takes llama-server's arguments and, depending on FAKE_LLAMA_MODE, serves the scripted
OpenAI protocol after a short "loading model" phase (ok), exits with an error (die), or
never becomes healthy (hang).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from tests.kb.llm.scripted_server import ScriptedLLMServer  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    args, _ = p.parse_known_args()
    mode = os.environ.get("FAKE_LLAMA_MODE", "ok")
    print(f"fake llama-server: loading model '{args.model}'", flush=True)
    if mode == "die":
        print("gguf_init_from_file: failed to read magic", flush=True)
        print("error: failed to load model", file=sys.stderr, flush=True)
        return 1
    if mode == "hang":
        time.sleep(600)
        return 0
    srv = ScriptedLLMServer(host=args.host, port=args.port)
    srv.healthy_at = time.monotonic() + 0.3
    print(f"main: server is listening on http://{args.host}:{args.port}", flush=True)
    signal.signal(signal.SIGTERM, lambda *a: (srv.close(), sys.exit(0)))
    while True:
        time.sleep(1)


if __name__ == "__main__":
    sys.exit(main())
