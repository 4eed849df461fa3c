"""Every benchmark of docs/PERFORMANCE.md, one after another, then the chart:

    nice -n 5 .venv/bin/python -m evals.bench [ingest search ask app]

Each one also runs alone (`python -m evals.bench.<name> --help`); results go to evals/bench/results/.
"""

from __future__ import annotations

import subprocess
import sys

BENCHES = ("ingest", "search", "ask", "app")


def main() -> None:
    chosen = sys.argv[1:] or list(BENCHES)
    for name in chosen:
        if name not in BENCHES:
            sys.exit(f"unknown benchmark {name!r}: choose from {', '.join(BENCHES)}")
        print(f"=== evals.bench.{name}", flush=True)
        subprocess.run([sys.executable, "-m", f"evals.bench.{name}"], check=True)
    subprocess.run([sys.executable, "-m", "evals.bench.chart"], check=True)


if __name__ == "__main__":
    main()
