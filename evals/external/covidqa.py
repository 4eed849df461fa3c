"""COVID-QA (deepset, 200423 release): 98 long papers, 1,380 extractive questions.

Dev queries are the questions of the first 49 papers in file order; the rest are held out.
The gold span is found with `context.find(text)` because 234 `answer_start` offsets are wrong
(see SOURCE.md). A retrieved chunk is relevant when it contains the gold answer text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from evals.paths import SHARED_DATA

DEV_PAPERS = 49


@dataclass(frozen=True)
class Paper:
    doc_id: str
    context: str


@dataclass(frozen=True)
class Query:
    qid: str
    question: str
    answer: str
    doc_id: str
    start: int
    paper_index: int


def path() -> Path:
    return SHARED_DATA / "covid-qa" / "200423_covidQA.json"


def load() -> tuple[list[Paper], list[Query]]:
    data = json.loads(path().read_text(encoding="utf-8"))["data"]
    papers, queries = [], []
    for i, item in enumerate(data):
        for para in item["paragraphs"]:
            doc_id = f"covidqa-{para['document_id']}"
            ctx = para["context"]
            papers.append(Paper(doc_id, ctx))
            for qa in para["qas"]:
                text = qa["answers"][0]["text"]
                queries.append(Query(str(qa["id"]), qa["question"].strip(), text, doc_id, ctx.find(text), i))
    return papers, queries


def dev_queries(queries: list[Query]) -> list[Query]:
    return [q for q in queries if q.paper_index < DEV_PAPERS]


def write_papers(papers: list[Paper], folder: Path) -> list[Path]:
    """One .txt per paper, named by doc_id, for the normal ingest path."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for p in papers:
        f = folder / f"{p.doc_id}.txt"
        f.write_text(p.context, encoding="utf-8")
        out.append(f)
    return out
