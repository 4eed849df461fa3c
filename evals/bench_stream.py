"""Benchmark (not pass/fail): the old all-at-once ingest against the streaming one, on a corpus
N times the bundled one (copies of corpus/ under new doc ids), each in a fresh process.

    .venv/bin/python -m evals.bench_stream [--copies 10] [--embedder local|hash] [--pipeline both|old|new]

Prints, per pipeline: wall time, peak RSS (VmHWM), RSS at the end, documents and chunks.
The old pipeline is `ingest/pipeline.py` as of commit OLD_COMMIT (before streaming), loaded
from git, so both run against today's loaders, chunker, store and catalog.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from evals.paths import CORPUS

OLD_COMMIT = "019806b"
REPO = CORPUS.parent

_RUN = """
import json, sys, time, types
from pathlib import Path
from kb.service import KnowledgeBase
from kb.settings import load_settings

pipeline, folder, kb_dir, embedder = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
if pipeline == "old":
    module = types.ModuleType("old_pipeline")
    sys.modules["old_pipeline"] = module  # dataclasses look their module up
    exec(compile(Path(sys.argv[5]).read_text(), "old_pipeline.py", "exec"), module.__dict__)
    ingest_paths = module.ingest_paths
else:
    from ingest.pipeline import ingest_paths
kb = KnowledgeBase(load_settings(kb_dir=kb_dir, embedder=embedder))
kb.embedder, kb.store  # load the model and open the store before the clock starts
t0 = time.perf_counter()
report = ingest_paths(kb, [folder])
wall = time.perf_counter() - t0
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
print(json.dumps({"pipeline": pipeline, "wall_s": round(wall, 1), "docs": report.added,
                  "chunks": report.chunks_embedded, "failed": len(report.failed),
                  "peak_rss_mb": int(status["VmHWM"].split()[0]) // 1024,
                  "end_rss_mb": int(status["VmRSS"].split()[0]) // 1024}))
"""


def make_copies(dest: Path, copies: int) -> None:
    """`copies` copies of corpus/, each doc id (and supersedes entry) suffixed with -cN."""
    import yaml

    for n in range(copies):
        for folder in sorted(p for p in CORPUS.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))):
            target = dest / f"copy{n}" / folder.name
            shutil.copytree(folder, target)
            manifest = target / "manifest.yaml"
            if manifest.exists():
                data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
                for meta in (data.get("documents") or {}).values():
                    if meta.get("doc_id"):
                        meta["doc_id"] = f"{meta['doc_id']}-c{n}"
                    meta["supersedes"] = [f"{s}-c{n}" for s in meta.get("supersedes") or []]
                manifest.write_text(yaml.safe_dump(data), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--embedder", default="local", choices=("local", "hash"))
    parser.add_argument("--pipeline", default="both", choices=("both", "old", "new"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-stream-"))
    make_copies(work / "docs", args.copies)
    old_src = work / "old_pipeline.py"
    old_src.write_text(subprocess.run(["git", "-C", str(REPO), "show", f"{OLD_COMMIT}:ingest/pipeline.py"],
                                      check=True, capture_output=True, text=True).stdout)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for name in (("old", "new") if args.pipeline == "both" else (args.pipeline,)):
        out = subprocess.run([sys.executable, "-c", _RUN, name, str(work / "docs"), str(work / f"kb-{name}"),
                              args.embedder, str(old_src)], env=env, capture_output=True, text=True)
        if out.returncode:
            print(f"{name}: failed\n{out.stderr[-2000:]}")
            continue
        row = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{args.copies}x corpus, {args.embedder} embedder: " + json.dumps(row), flush=True)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
