"""False positives of the patient-identifier detector on text that holds no patient data.

    python -m evals.pii_scan [--json]

Scans the bundled corpus as ingest sees it (every file through the real loaders, split into
the same sentences answers use) and the golden questions. Neither contains patient data, so
every hit is a false positive. Prints the hits and the rate per unit scanned.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from kb.pii import find_identifiers
from kb.sentences import split_sentences

REPO = Path(__file__).resolve().parents[1]


def scan() -> dict:
    from ingest.loaders import SUPPORTED_SUFFIXES, load_document

    hits, sentences, files, failed = [], 0, 0, []
    for path in sorted((REPO / "corpus").rglob("*")):
        if path.suffix.lower() not in SUPPORTED_SUFFIXES or any(p.startswith(("_", ".")) for p in path.parts):
            continue
        try:
            parsed = load_document(path)
        except Exception as exc:  # a corpus file that does not load is reported, not scanned
            failed.append(f"{path.name}: {exc}")
            continue
        files += 1
        text = "\n\n".join(b.text for b in parsed.blocks)
        sentences += len(split_sentences(text))
        hits += [{"where": str(path.relative_to(REPO)), "kind": f.kind, "text": f.text,
                  "context": text[max(0, f.start - 50):f.end + 30]} for f in find_identifiers(text)]
    questions = [json.loads(x)["question"] for x in
                 (REPO / "evals/datasets/golden.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
    q_hits = [{"where": "golden", "kind": f.kind, "text": f.text, "context": q}
              for q in questions for f in find_identifiers(q)]
    external = _covid_qa()
    return {
        **({"covid_qa": external} if external else {}),
        "corpus": {"files": files, "sentences": sentences, "hits": hits,
                   "false_positive_rate_per_sentence": len(hits) / max(sentences, 1), "not_loaded": failed},
        "golden": {"questions": len(questions), "hits": q_hits,
                   "false_positive_rate_per_question": len(q_hits) / max(len(questions), 1)},
    }


def _covid_qa() -> dict | None:
    """COVID-QA's contexts (scientific papers) and questions from ../shared/data, when present."""
    path = REPO.parent / "shared" / "data" / "covid-qa" / "200423_covidQA.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    hits, chars, questions = [], 0, 0
    for article in data["data"]:
        for para in article["paragraphs"]:
            chars += len(para["context"])
            texts = [para["context"]] + [qa["question"] for qa in para["qas"]]
            questions += len(para["qas"])
            hits += [{"where": "covid-qa", "kind": f.kind, "text": f.text,
                      "context": t[max(0, f.start - 50):f.end + 30]} for t in texts for f in find_identifiers(t)]
    return {"characters": chars, "questions": questions, "hits": hits,
            "false_positives_per_million_characters": round(len(hits) / max(chars, 1) * 1e6, 2)}


def main() -> None:
    result = scan()
    if "--json" in sys.argv:
        print(json.dumps(result, indent=2))
        return
    for name, part in result.items():
        print(f"{name}: {len(part['hits'])} hits; " + ", ".join(f"{k}={v}" for k, v in part.items()
                                                                   if k not in ("hits", "not_loaded")))
        for h in part["hits"]:
            print(f"  {h['where']}: {h['kind']} {h['text']!r} in {h['context']!r}")


if __name__ == "__main__":
    main()
