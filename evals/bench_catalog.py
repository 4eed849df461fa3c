"""Timing benchmark (not pass/fail): catalog operations on SQLite and on PostgreSQL.

    .venv/bin/python -m evals.bench_catalog [--catalog-url postgresql://...] [--docs 200]

Times the calls the service makes per question (`live_versions` for the hits, `get` for each
cited document, `log_answer`) and per ingested document (`put`), on a fresh SQLite catalog
(WAL, synchronous=FULL) and, with --catalog-url, on a fresh schema in that PostgreSQL database.
Prints the median per call and the PostgreSQL/SQLite ratio.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from kb.catalog import Catalog
from kb.catalog_backends import PostgresBackend
from kb.records import Document


def _doc(i: int) -> Document:
    return Document(doc_id=f"doc-{i:05d}", title=f"Document {i}", source_path=f"/lib/{i}.pdf",
                    version=uuid.uuid4().hex, ingested_at=dt.datetime.now(dt.UTC), chunk_count=9)


def _median_ms(fn: Callable[[int], object], n: int) -> float:
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def bench(cat: Catalog, docs: int) -> dict[str, float]:
    ids = [f"doc-{i:05d}" for i in range(docs)]
    out = {"put": _median_ms(lambda i: cat.put(_doc(i), "ingest"), docs)}
    out["get"] = _median_ms(lambda i: cat.get(ids[i % docs]), docs * 2)
    out["live_versions(40 ids)"] = _median_ms(lambda i: cat.live_versions(ids[i % docs : i % docs + 40]), docs)
    out["log_answer"] = _median_ms(lambda i: cat.log_answer(f"question {i}", True, "{}" * 3000), docs)
    out["documents()"] = _median_ms(lambda i: cat.documents(), 20)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--catalog-url", default="", help="a PostgreSQL database to create a scratch schema in")
    ap.add_argument("--docs", type=int, default=200)
    args = ap.parse_args()
    results = {"sqlite": bench(Catalog(Path(tempfile.mkdtemp()) / "catalog.db"), args.docs)}
    if args.catalog_url:
        import psycopg

        schema = "bench_" + uuid.uuid4().hex[:8]
        with psycopg.connect(args.catalog_url, autocommit=True) as admin:
            admin.execute(f"CREATE SCHEMA {schema}")
            sep = "&" if "?" in args.catalog_url else "?"
            url = f"{args.catalog_url}{sep}options=-csearch_path%3D{schema}"
            try:
                results["postgres"] = bench(Catalog(backend=PostgresBackend(url)), args.docs)
            finally:
                admin.execute(f"DROP SCHEMA {schema} CASCADE")
    print(f"{'operation':<24}" + "".join(f"{k:>14}" for k in results) + ("     pg/sqlite" if len(results) > 1 else ""))
    for op in results["sqlite"]:
        row = f"{op:<24}" + "".join(f"{r[op]:>11.3f} ms" for r in results.values())
        if "postgres" in results:
            row += f"{results['postgres'][op] / results['sqlite'][op]:>13.2f}x"
        print(row)


if __name__ == "__main__":
    main()
