"""Run suites and write `evals/runs/<id>/`: metrics.json, questions.jsonl, report.md, report.html."""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from collections.abc import Callable
from pathlib import Path

from evals import paths, report

SUITES = ("golden", "medquad", "covidqa", "checker")
Progress = Callable[[str, int, int, str], None]  # (suite, done, total, detail)


def new_run_id(runs: Path) -> str:
    base = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    rid, n = base, 1
    while (runs / rid).exists():
        n += 1
        rid = f"{base}-{n}"
    return rid


def retrieval_config(settings) -> dict:
    from dataclasses import asdict

    from kb.retrieval import RetrievalConfig

    return asdict(RetrievalConfig.from_settings(settings))


# ---------------------------------------------------------------- suites


def run_golden_suite(mode: str, limit: int | None, progress: Progress, **overrides) -> tuple[list[dict], dict]:
    from evals.golden import golden_kb, load_cases, spread
    from evals.golden_run import aggregate, calibrate_threshold, refusal_at, run_golden

    cases = spread(load_cases(), limit)
    kb = golden_kb(progress=lambda stage, d, t, detail: progress(f"golden {stage}", d, t, detail), **overrides)
    try:
        records = run_golden(kb, cases, mode, progress=lambda d, t, detail: progress("golden", d, t, detail))
        summary = aggregate(records)
        current = kb.settings.answer_threshold
        cal = calibrate_threshold(records, current)
        if cal:
            p, r = refusal_at(records, current)
            cal.update(current_threshold=current, current_refusal_precision=round(p, 4),
                       current_refusal_recall=round(r, 4))
        summary["calibration"] = cal
        summary["config"] = retrieval_config(kb.settings)
    finally:
        kb.close()
    summary["gate"] = check_gate(summary)
    return records, summary


def run_checker_suite(limit: int | None, progress: Progress, **overrides) -> tuple[list[dict], dict]:
    """The claim checker on perturbations of the corpus (evals/checker_suite.py)."""
    from evals.calibrate_checker import passages_for
    from evals.checker_suite import PERTURBATIONS, build_cases
    from evals.golden import golden_kb

    kb = golden_kb(**overrides)
    try:
        docs = kb.documents(statuses=["current"])
        chunks = [c for d in docs if d.doc_type.value != "bulletin" for c in kb.chunks(d.doc_id)]
        cases = build_cases(chunks, per_kind=limit or 40)
        folders = {d.doc_id: d.source_path.split("/")[-2] for d in docs}
        records = []
        for i, case in enumerate(cases, 1):
            v = kb.checker.check(case.claim, passages_for(kb, case, folders))
            ok = v.verdict == "supported" if case.kind == "true" else v.verdict != "supported"
            records.append({"suite": "checker", "id": case.id, "kind": case.kind, "question": case.claim,
                            "verdict": v.verdict, "score": v.score, "reason": v.reason, "passed": ok,
                            "reasons": [] if ok else [f"{case.kind} claim came out {v.verdict}: {v.reason}"]})
            progress("checker", i, len(cases), case.id)
    finally:
        kb.close()
    pert = [r for r in records if r["kind"] in PERTURBATIONS]
    supported = [r for r in records if r["verdict"] == "supported"]
    true = [r for r in records if r["kind"] == "true"]
    off = [r for r in records if r["kind"] == "offtopic"]
    by_kind = {}
    for kind in sorted({r["kind"] for r in records}):
        rs = [r for r in records if r["kind"] == kind]
        for label in ("supported", "contradicted", "unsupported"):
            by_kind[f"{kind}.{label}"] = round(sum(r["verdict"] == label for r in rs) / len(rs), 4)
    summary = {
        "n": len(records),
        "checker": {
            "contradiction_recall": round(sum(r["verdict"] == "contradicted" for r in pert) / max(len(pert), 1), 4),
            "perturbations_caught": round(sum(r["verdict"] != "supported" for r in pert) / max(len(pert), 1), 4),
            "supported_precision": round(sum(r["kind"] == "true" for r in supported) / max(len(supported), 1), 4),
            "true_supported": round(sum(r["verdict"] == "supported" for r in true) / max(len(true), 1), 4),
            "offtopic_not_supported": round(sum(r["verdict"] != "supported" for r in off) / max(len(off), 1), 4),
        },
        "by_kind": by_kind,
    }
    return records, summary


def run_suite(suite: str, mode: str, limit: int | None, progress: Progress, **overrides) -> tuple[list[dict], dict]:
    from evals.external import run as ext

    if suite == "golden":
        return run_golden_suite(mode, limit, progress, **overrides)
    if suite == "checker":
        return run_checker_suite(limit, progress, **overrides)
    if suite == "medquad":
        return ext.run_medquad(limit=400 if limit is None else (limit or None), progress=lambda d, t, x: progress("medquad", d, t, x), **overrides)
    if suite == "covidqa":
        return ext.run_covidqa(limit=limit, progress=lambda d, t, x: progress("covidqa", d, t, x), **overrides)
    raise ValueError(f"unknown suite {suite!r}; choose one of {', '.join(SUITES)} or all")


# ---------------------------------------------------------------- gate and compare


def load_thresholds(path: Path | None = None) -> dict[str, float]:
    """Flat {"section.metric": minimum} from thresholds.toml."""
    path = path or paths.THRESHOLDS
    data = tomllib.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    return {k: float(v) for k, v in flatten(data).items()}


def lookup(summary: dict, dotted: str):
    cur = summary
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def check_gate(summary: dict, thresholds: dict[str, float] | None = None) -> list[dict]:
    """One row per threshold: latency keys are maxima, everything else minima."""
    thresholds = load_thresholds() if thresholds is None else thresholds
    rows = []
    for key, limit in thresholds.items():
        value = lookup(summary, key)
        is_max = key.startswith("latency_ms.")
        ok = value is not None and (value <= limit if is_max else value >= limit)
        rows.append({"metric": key, "threshold": limit, "value": value, "ok": ok, "kind": "max" if is_max else "min"})
    return rows


def flatten(d: dict, prefix: str = "") -> dict[str, float]:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        elif isinstance(v, int | float) and not isinstance(v, bool):
            out[key] = float(v)
    return out


def compare_runs(after: dict, after_records: list[dict], before_dir: Path) -> dict:
    before = json.loads((before_dir / "metrics.json").read_text())
    fb = flatten({s: {k: v for k, v in x.items() if k not in ("gate", "dataset", "config")}
                  for s, x in before["suites"].items()})
    fa = flatten({s: {k: v for k, v in x.items() if k not in ("gate", "dataset", "config")}
                  for s, x in after["suites"].items()})
    deltas = [{"metric": k, "before": fb[k], "after": fa[k], "delta": round(fa[k] - fb[k], 4)}
              for k in sorted(fa) if k in fb and abs(fa[k] - fb[k]) > 1e-9]
    old = {(r["suite"], str(r["id"])): r for r in read_records(before_dir)}
    regressions = [
        {"suite": r["suite"], "id": r["id"], "question": r["question"], "reasons": r.get("reasons", [])}
        for r in after_records
        if (r["suite"], str(r["id"])) in old and old[(r["suite"], str(r["id"]))]["passed"] and not r["passed"]
    ]
    return {"against": before["run_id"], "deltas": deltas, "regressions": regressions}


# ---------------------------------------------------------------- runs on disk


def read_records(run_dir: Path) -> list[dict]:
    path = run_dir / "questions.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def list_runs(runs: Path | None = None) -> list[dict]:
    runs = runs or paths.RUNS
    out = []
    for d in sorted(runs.glob("*/metrics.json"), reverse=True):
        try:
            run = json.loads(d.read_text())
        except json.JSONDecodeError:
            continue
        if "run_id" in run and "suites" in run:  # `kb eval` runs (calibration runs sit beside them)
            out.append(run | {"path": str(d.parent)})
    return out


def resolve_run(name: str, runs: Path | None = None) -> Path:
    runs = runs or paths.RUNS
    p = Path(name)
    if (p / "metrics.json").is_file():
        return p
    if (runs / name / "metrics.json").is_file():
        return runs / name
    raise FileNotFoundError(f"no eval run {name!r} under {runs}; list them with `ls {runs}`")


def run(
    suites: list[str],
    mode: str = "extractive",
    limit: int | None = None,
    compare: str | None = None,
    progress: Progress | None = None,
    runs: Path | None = None,
    **overrides,
) -> Path:
    runs = runs or paths.RUNS
    progress = progress or (lambda *a: None)
    before_dir = resolve_run(compare, runs) if compare else None
    run_id = new_run_id(runs)
    out_dir = runs / run_id
    records: list[dict] = []
    result = {"run_id": run_id, "created": dt.datetime.now().isoformat(timespec="seconds"), "mode": mode,
              "limit": limit, "suites": {}}
    for suite in suites:
        recs, summary = run_suite(suite, mode, limit, progress, **overrides)
        records += recs
        result["suites"][suite] = summary
    from kb.settings import load_settings

    result["config"] = retrieval_config(load_settings(**overrides))
    cmp = compare_runs(result, records, before_dir) if before_dir else None
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "metrics.json").write_text(json.dumps(result, indent=2, default=str))
    (out_dir / "questions.jsonl").write_text("".join(json.dumps(r, default=str) + "\n" for r in records))
    if cmp:
        (out_dir / "compare.json").write_text(json.dumps(cmp, indent=2, default=str))
    (out_dir / "report.md").write_text(report.render_markdown(result, cmp))
    (out_dir / "report.html").write_text(report.render_html(result, records, cmp))
    return out_dir
