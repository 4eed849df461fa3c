"""The chart in docs/PERFORMANCE.md, from evals/bench/results/*.json.

    .venv/bin/python -m evals.bench.chart   # writes docs/perf-search.svg
"""

from __future__ import annotations

import json
import math
import re

from evals.bench.common import RESULTS
from evals.charts import grouped_bars
from evals.paths import REPO_ROOT


def search_chart() -> str:
    """Hybrid query p50 (log10 ms, no filter) per store size, one bar per backend."""
    rows = []
    for f in sorted(RESULTS.glob("search*.json")):
        rows += json.loads(f.read_text())["rows"]
    groups: dict[str, dict[str, float]] = {}
    steady: set[tuple[str, str]] = set()  # a steady-state figure (3 passes) wins over a first-pass one
    for r in rows:
        if "no_filter" not in r:
            continue
        size, is_steady = f"{r['points']:,} points", "first_pass_p50_ms" in r["no_filter"]
        if (size, r["backend"]) in steady and not is_steady:
            continue
        if is_steady:
            steady.add((size, r["backend"]))
        groups.setdefault(size, {})[r["backend"]] = round(math.log10(max(r["no_filter"]["p50_ms"], 1.0)), 3)
    groups = dict(sorted(groups.items(), key=lambda kv: int(kv[0].split()[0].replace(",", ""))))
    svg = grouped_bars(groups, "Hybrid query p50, log10(ms): 1 = 10 ms, 3 = 1 s", ymax=4.0)
    width = re.search(r'width="(\d+)"', svg).group(1)
    wide = str(max(int(width), 480))  # room for the legend's four backends
    return svg.replace(f'width="{width}"', f'width="{wide}"', 1).replace(f"viewBox=\"0 0 {width} ", f"viewBox=\"0 0 {wide} ", 1)


def main() -> None:
    out = REPO_ROOT / "docs" / "perf-search.svg"
    out.parent.mkdir(exist_ok=True)
    out.write_text(search_chart(), encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
