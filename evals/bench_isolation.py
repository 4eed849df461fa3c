"""Benchmark: what parsing in the isolated worker (`ingest.isolation`) costs per file.

    python -m evals.bench_isolation corpus/ [--dump out.json] [--compare other.json]

Parses every ingestible file under the folders given twice: in this process
(`ingest.loaders.load_document`) and in the parser worker (`parse_isolated`), after one
warm-up of each. Prints the worker's start-up time, and the per-file wall time of each way
(mean and total) with the difference: the isolation overhead. `--dump` writes the blocks each
file parsed to (isolated), so two code versions can be compared with `--compare`.
Timing figures live here, never in test asserts.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from ingest.isolation import default_parser
from ingest.loaders import SUPPORTED_SUFFIXES, load_document
from ingest.pipeline import discover
from kb.errors import IngestError


def _blocks(doc) -> list[list]:
    return [[b.kind, b.level, b.page, b.text] for b in doc.blocks]


def _timed(fn, path: Path) -> tuple[float, object]:
    t0 = time.perf_counter()
    try:
        result: object = _blocks(fn(path))
    except IngestError as exc:
        result = f"error: {exc.reason}"
    return time.perf_counter() - t0, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--dump", type=Path)
    parser.add_argument("--compare", type=Path)
    parser.add_argument("--in-process-only", action="store_true", help="dump in-process results (old code)")
    args = parser.parse_args()
    files = [f for f in discover(args.paths)[0] if f.suffix.lower() in SUPPORTED_SUFFIXES]

    results: dict[str, object] = {}
    if args.in_process_only:
        for f in files:
            results[str(f)] = _timed(load_document, f)[1]
        args.dump.write_text(json.dumps(results), encoding="utf-8")
        return

    worker = default_parser()
    t0 = time.perf_counter()
    worker.parse(files[0])
    startup = time.perf_counter() - t0
    load_document(files[0])  # warm the in-process parsers too
    inproc, isolated = [], []
    for f in files:
        t_in, _ = _timed(load_document, f)
        t_iso, result = _timed(worker.parse, f)
        inproc.append(t_in)
        isolated.append(t_iso)
        results[str(f)] = result
    n = len(files)
    print(f"files: {n}; worker start-up (first file, imports + warm-up): {startup:.2f} s")
    print(f"in-process: mean {statistics.mean(inproc) * 1000:.0f} ms, total {sum(inproc):.1f} s")
    print(f"isolated:   mean {statistics.mean(isolated) * 1000:.0f} ms, total {sum(isolated):.1f} s")
    over = [b - a for a, b in zip(inproc, isolated, strict=True)]
    print(f"overhead per file: mean {statistics.mean(over) * 1000:.0f} ms, "
          f"median {statistics.median(over) * 1000:.0f} ms; "
          f"total {sum(isolated) / max(sum(inproc), 1e-9):.2f}x in-process")
    if args.dump:
        args.dump.write_text(json.dumps(results), encoding="utf-8")
    if args.compare:
        other = json.loads(args.compare.read_text(encoding="utf-8"))
        differ = [k for k in results if json.dumps(results[k]) != json.dumps(other.get(k))]
        print(f"blocks identical to {args.compare}: {n - len(differ)}/{n}")
        for k in differ:
            print(f"  differs: {k}")


if __name__ == "__main__":
    main()
