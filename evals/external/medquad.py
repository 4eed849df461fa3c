"""MedQuAD: every answer of the six stored folders is one passage; questions are queries.

Dev queries are the questions of 9_CDC_QA, 5_NIDDK_QA and 7_SeniorHealth_QA. The other
folders' questions are held out and never used for tuning. `qid` is unique only within a
folder, so passages are keyed `<folder>/<qid>` and documents `<folder>/<Document id>`.
"""

from __future__ import annotations

import random
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from evals.paths import SHARED_DATA

FOLDERS = (
    "1_CancerGov_QA",
    "4_MPlus_Health_Topics_QA",
    "5_NIDDK_QA",
    "7_SeniorHealth_QA",
    "8_NHLBI_QA_XML",
    "9_CDC_QA",
)
DEV_FOLDERS = ("9_CDC_QA", "5_NIDDK_QA", "7_SeniorHealth_QA")


@dataclass(frozen=True)
class Passage:
    passage_id: str  # folder/qid
    doc_id: str  # folder/document id
    title: str  # the document's focus
    text: str
    qtype: str


@dataclass(frozen=True)
class Query:
    qid: str
    question: str
    gold_passage: str
    gold_doc: str
    qtype: str
    folder: str


def root() -> Path:
    return SHARED_DATA / "medquad"


def _clean(text: str) -> str:
    lines = [" ".join(line.split()) for line in text.splitlines()]
    out, blank = [], False
    for line in lines:
        if not line:
            blank = True
            continue
        if blank and out:
            out.append("")
        out.append(line)
        blank = False
    return "\n".join(out).strip()


def load() -> tuple[list[Passage], list[Query]]:
    """All passages with answer text, and one query per passage (all folders)."""
    passages: list[Passage] = []
    queries: list[Query] = []
    for folder in FOLDERS:
        for path in sorted((root() / folder).glob("*.xml")):
            doc = ET.parse(path).getroot()
            doc_id = f"{folder}/{doc.get('id') or path.stem}"
            title = " ".join((doc.findtext("Focus") or path.stem).split())
            for pair in doc.iter("QAPair"):
                q, a = pair.find("Question"), pair.find("Answer")
                if q is None or a is None or not (a.text or "").strip():
                    continue
                pid = f"{folder}/{q.get('qid')}"
                qtype = q.get("qtype") or ""
                passages.append(Passage(pid, doc_id, title, _clean(a.text or ""), qtype))
                queries.append(Query(pid, " ".join((q.text or "").split()), pid, doc_id, qtype, folder))
    return passages, queries


def dev_queries(queries: list[Query], sample: int | None = None, seed: int = 13) -> list[Query]:
    dev = [q for q in queries if q.folder in DEV_FOLDERS]
    if sample and sample < len(dev):
        dev = random.Random(seed).sample(dev, sample)
    return dev
