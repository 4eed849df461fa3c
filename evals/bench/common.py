"""What every benchmark shares: load average, RSS, percentiles, the JSON record."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

RESULTS = Path(__file__).with_name("results")


def load_avg() -> str:
    """The 1/5/15-minute load average, recorded beside every figure (the machine is shared)."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def rss_mb() -> int:
    return _status_kb("VmRSS") // 1024


def peak_rss_mb() -> int:
    return _status_kb("VmHWM") // 1024


def _status_kb(key: str) -> int:
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank on the sorted values)."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(q / 100 * (len(s) - 1))))
    return s[k]


def dir_mb(path: Path) -> float:
    total = sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())
    return round(total / 2**20, 1)


class Timer:
    def __enter__(self):
        self.t0 = time.perf_counter()
        self.load_before = load_avg()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0
        self.load_after = load_avg()


def ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else float("nan")


def write_result(name: str, data: dict) -> Path:
    """`results/<name>.json` with the machine and the time of the run."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    data = {"bench": name, "when": time.strftime("%Y-%m-%d %H:%M:%S"), "cpus": os.cpu_count(),
            "python": platform.python_version(), **data}
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"wrote {path}")
    return path
