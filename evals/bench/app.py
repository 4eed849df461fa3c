"""Benchmark (not pass/fail): the app in a real headless Chromium (Playwright, Debian's chromium).

    nice -n 5 .venv/bin/python -m evals.bench.app [--questions 8] [--kb-dir DIR]

1. Ingests corpus/ into a fresh knowledge base (not timed), or uses --kb-dir.
2. Starts `kb app` (the real command: Streamlit plus the API in one process) and, at the same
   moment, a browser that keeps loading the Ask page until it can ask; records the time from
   `kb app` to the first answer on screen.
3. Asks more questions one after another and records each answer's time in the browser (Enter
   to the answer on screen) beside the ask time the page reports ("Answered in N s"), so the
   share that is Streamlit's rerun and rendering is visible.
Writes evals/bench/results/app.json.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from evals.bench.common import load_avg, pct, ratio, write_result
from evals.paths import CORPUS, REPO_ROOT

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
QUESTIONS = [
    "How often must lone workers check in?",
    "When should HIV post-exposure prophylaxis be started after a needlestick injury?",
    "What is health surveillance?",
    "Who is responsible for arranging health surveillance?",
    "When are the police contacted if a lone worker cannot be found?",
    "Who must have a lone-worker device?",
    "What should a worker do after a sharps injury?",
    "How many doses of hepatitis B vaccine are needed?",
    "What is the policy on violence against staff?",
    "When should a hepatitis B booster be given?",
]
BOX = "Ask about occupational health guidance"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build(kb_dir: Path) -> None:
    from ingest.pipeline import ingest_paths
    from kb.service import KnowledgeBase
    from kb.settings import load_settings

    with KnowledgeBase.open(load_settings(kb_dir=kb_dir)) as kb:
        ingest_paths(kb, [CORPUS])


def ask(page, question: str) -> tuple[float, float | None]:
    box = page.get_by_placeholder(BOX)
    box.wait_for(timeout=300_000)
    before = page.locator(".kb-answer, .kb-refusal").count()
    t0 = time.perf_counter()
    box.fill(question)
    box.press("Enter")
    page.wait_for_function(f"document.querySelectorAll('.kb-answer, .kb-refusal').length > {before}",
                           timeout=300_000)
    wall = time.perf_counter() - t0
    labels = page.get_by_text(re.compile(r"Answered in [0-9.]+ s")).all_inner_texts()
    reported = float(re.search(r"([0-9.]+) s", labels[-1]).group(1)) if labels else None
    return wall, reported


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=8)
    parser.add_argument("--kb-dir", type=Path)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    kb_dir = args.kb_dir or Path(tempfile.mkdtemp(prefix="bench-app-"))
    if args.kb_dir is None:
        build(kb_dir)
    port, api_port = free_port(), free_port()
    env = {**os.environ, "KB_API_PORT": str(api_port), "PYTHONPATH": str(REPO_ROOT)}
    for var in ("KB_CURATORS", "KB_MEMBERS", "KB_REQUIRE_LOGIN", "KB_DEMO_CURATOR", "KB_CONFIG"):
        env.pop(var, None)
    log = open(Path(tempfile.mkdtemp()) / "app.log", "w")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        load_start = load_avg()
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "kb.cli", "--kb-dir", str(kb_dir), "app", "--port", str(port)],
                                cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            while True:  # what a person does: reload until the page is there
                try:
                    page.goto(f"http://127.0.0.1:{port}/", timeout=5_000)
                    break
                except Exception:
                    if proc.poll() is not None:
                        raise RuntimeError(f"kb app exited with {proc.returncode}; see {log.name}") from None
                    time.sleep(0.2)
            page_s = time.perf_counter() - started
            first_wall, first_reported = ask(page, QUESTIONS[0])
            first_s = time.perf_counter() - started
            walls, reported = [], []
            for q in (QUESTIONS * 3)[1 : args.questions + 1]:
                w, r = ask(page, q)
                walls.append(w)
                reported.append(r)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
            browser.close()
    rep = [r for r in reported if r is not None]
    result = {
        "kb_app_to_page_s": round(page_s, 2),
        "kb_app_to_first_answer_s": round(first_s, 2),
        "first_answer_in_browser_s": round(first_wall, 2),
        "first_answer_reported_ask_s": first_reported,
        "answers_in_browser_s": [round(w, 2) for w in walls],
        "answer_p50_in_browser_s": round(pct(walls, 50), 2),
        "answer_p95_in_browser_s": round(pct(walls, 95), 2),
        "answer_p50_reported_ask_s": round(pct(rep, 50), 3) if rep else None,
        "browser_over_ask_p50": ratio(pct(walls, 50), pct(rep, 50)) if rep else None,
        "load_start": load_start, "load_end": load_avg(),
    }
    print(result)
    write_result("app", result)


if __name__ == "__main__":
    main()
