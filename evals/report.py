"""Markdown and self-contained HTML reports for a run, with inline SVG charts."""

from __future__ import annotations

import json
from html import escape

from evals import charts

RETRIEVAL_KEYS = {
    "golden": ("doc_recall@1", "doc_recall@5", "doc_recall@10", "doc_mrr@10", "doc_ndcg@10",
               "chunk_recall@1", "chunk_recall@5", "chunk_recall@10", "chunk_mrr@10", "chunk_ndcg@10"),
    "medquad": ("passage_recall@1", "passage_recall@3", "passage_recall@5", "passage_recall@10",
                "passage_mrr@10", "passage_ndcg@10", "doc_recall@1", "doc_recall@10", "doc_mrr@10"),
    "covidqa": ("span_recall@1", "span_recall@3", "span_recall@5", "span_recall@10", "span_mrr@10",
                "span_ndcg@10", "doc_recall@1", "doc_recall@5", "doc_mrr@10"),
}
CURVE_PREFIX = {"golden": "chunk_recall@", "medquad": "passage_recall@", "covidqa": "span_recall@"}
# Independent baselines from the issue (dev splits), shown beside our numbers.
PUBLISHED_BASELINES = {
    "medquad": {"bm25": {"passage_recall@1": 0.15, "passage_recall@10": 0.73},
                "dense": {"passage_recall@1": 0.26, "passage_recall@10": 0.83},
                "equal RRF": {"passage_recall@1": 0.22, "passage_recall@10": 0.82}},
    "covidqa": {"bm25": {"span_recall@5": 0.81}, "dense": {"span_recall@5": 0.67},
                "equal RRF": {"span_recall@5": 0.78}},
}


def _fmt(v) -> str:
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def retrieval_table(suite: str, summary: dict) -> list[list[str]]:
    modes = list(summary.get("retrieval", {}))
    rows = [["metric", *modes]]
    for key in RETRIEVAL_KEYS.get(suite, ()):
        if any(key in summary["retrieval"][mo] for mo in modes):
            rows.append([key, *(_fmt(summary["retrieval"][mo].get(key, "")) for mo in modes)])
    return rows


def _md_table(rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    out += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(out)


def _kv_rows(d: dict) -> list[list[str]]:
    return [["metric", "value"]] + [[k, _fmt(v)] for k, v in d.items()]


def suite_charts(suite: str, summary: dict, records: list[dict]) -> list[str]:
    svgs = []
    ret = summary.get("retrieval", {})
    if ret:
        keys = [k for k in RETRIEVAL_KEYS.get(suite, ()) if "recall" in k or "mrr" in k][:6]
        groups = {k.replace("_recall", " r").replace("passage", "psg"): {mo: ret[mo].get(k) for mo in ret
                                                                         if ret[mo].get(k) is not None}
                  for k in keys}
        for name, vals in PUBLISHED_BASELINES.get(suite, {}).items():
            for k, v in vals.items():
                gk = k.replace("_recall", " r").replace("passage", "psg")
                if gk in groups:
                    groups[gk][f"ref {name}"] = v
        svgs.append(charts.grouped_bars(groups, f"{suite}: retrieval vs baselines"))
        prefix = CURVE_PREFIX.get(suite, "")
        series = {}
        for mo, vals in ret.items():
            pts = sorted((int(k[len(prefix):]), v) for k, v in vals.items() if k.startswith(prefix))
            if pts:
                series[mo] = pts
        if series:
            svgs.append(charts.curves(series, f"{suite}: recall@k"))
    if summary.get("answers"):
        ans = {k: v for k, v in summary["answers"].items() if isinstance(v, float) and v <= 1.0}
        svgs.append(charts.grouped_bars({k.replace("_", " ")[:16]: {"score": v} for k, v in ans.items()},
                                        f"{suite}: answers"))
    lat = [r.get("latency_ms", {}).get("ask") or r.get("latency_ms", {}).get("hybrid") for r in records]  # checker cases have none
    lat = [x for x in lat if x is not None]
    if lat:
        svgs.append(charts.histogram(lat, f"{suite}: latency per question"))
    return svgs


def render_markdown(run: dict, compare: dict | None = None) -> str:
    out = [f"# Eval run {run['run_id']}", "", f"- created: {run['created']}", f"- answer mode: {run['mode']}",
           f"- retrieval config: `{json.dumps(run.get('config', {}))}`", ""]
    for suite, summary in run["suites"].items():
        out += [f"## {suite} (n={summary.get('n')})", "", _md_table(retrieval_table(suite, summary)), ""]
        for section in ("answers", "sentences", "checker", "by_kind", "calibration", "latency_ms", "mean_words_per_hit", "dataset"):
            if summary.get(section):
                out += [f"### {section}", "", _md_table(_kv_rows(summary[section])), ""]
        if summary.get("gate"):
            out += ["### gate", "", _md_table([["metric", "threshold", "value", "ok"]] +
                                              [[g["metric"], _fmt(g["threshold"]), _fmt(g["value"]), str(g["ok"])]
                                               for g in summary["gate"]]), ""]
    if compare:
        out += ["## Compared with " + compare["against"], "", _md_table([["metric", "before", "after", "delta"]] + [
            [d["metric"], _fmt(d["before"]), _fmt(d["after"]), f"{d['delta']:+.4f}"] for d in compare["deltas"]]), ""]
        lines = [f"- {q['suite']} {q['id']}: {q['question']} ({'; '.join(q['reasons'])})" for q in compare["regressions"]]
        out += ["### Pass -> fail", "", *(lines or ["- none"])]
    return "\n".join(out) + "\n"


def _html_table(rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in rows[1:])
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(run: dict, records: list[dict], compare: dict | None = None) -> str:
    parts = [f"<h1>Eval run {escape(run['run_id'])}</h1><p>created {escape(run['created'])}; "
             f"answer mode {escape(run['mode'])}</p>"]
    for suite, summary in run["suites"].items():
        recs = [r for r in records if r["suite"] == suite]
        parts.append(f"<h2>{escape(suite)} (n={summary.get('n')})</h2>")
        parts.append('<div class="charts">' + "".join(suite_charts(suite, summary, recs)) + "</div>")
        parts.append(_html_table(retrieval_table(suite, summary)))
        for section in ("answers", "sentences", "checker", "by_kind", "calibration", "latency_ms", "mean_words_per_hit"):
            if summary.get(section):
                parts.append(f"<h3>{section}</h3>" + _html_table(_kv_rows(summary[section])))
        rows = [["id", "kind", "pass", "question", "why"]]
        for r in recs:
            rows.append([str(r["id"]), str(r.get("kind", "")), "pass" if r["passed"] else "FAIL", r["question"],
                         "; ".join(r.get("reasons", []))])
        parts.append(f"<details><summary>{len(recs)} questions</summary>{_html_table(rows)}</details>")
    if compare:
        parts.append(f"<h2>Compared with {escape(compare['against'])}</h2>")
        parts.append(_html_table([["metric", "before", "after", "delta"]] + [
            [d["metric"], _fmt(d["before"]), _fmt(d["after"]), f"{d['delta']:+.4f}"] for d in compare["deltas"]]))
        parts.append("<h3>Pass to fail</h3>" + _html_table([["suite", "id", "question", "why"]] + [
            [q["suite"], str(q["id"]), q["question"], "; ".join(q["reasons"])] for q in compare["regressions"]]))
    style = ("body{font-family:sans-serif;margin:1.5em;max-width:1200px}table{border-collapse:collapse;margin:.5em 0}"
             "td,th{border:1px solid #ccc;padding:2px 6px;font-size:12px;text-align:left}"
             ".charts svg{margin:4px;border:1px solid #eee}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>Eval {escape(run['run_id'])}</title>"
            f"<style>{style}</style></head><body>{''.join(parts)}</body></html>")
