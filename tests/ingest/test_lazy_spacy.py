"""`ingest.loaders.lazy_spacy`: unstructured's text classification with only the spaCy components
each check needs gives the same tokens, tags, sentences, classes and parsed documents as
unstructured's own functions, on the real model (en_core_web_sm from its package), and a
paragraph with a verb is never dependency-parsed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ingest.loaders import lazy_spacy
from ingest.loaders.dispatch import load_document
from ingest.loaders.unstructured_loader import _partitioner

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="module")
def text_type():
    _partitioner("text")  # loads spaCy and installs the lazy functions
    from unstructured.partition import text_type

    assert lazy_spacy.docs is not None, "the packaged en_core_web_sm pipeline should be supported"
    return text_type


def _paragraphs(text: str) -> list[str]:
    out = []
    for para in re.split(r"\n\s*\n", text):
        para = " ".join(para.replace("#", " ").split())
        if para:
            out.append(para[:2000])
    return out


def _corpus_texts() -> list[str]:
    texts = []
    for path in sorted(ROOT.glob("corpus/**/*")):
        if path.suffix in (".md", ".txt"):
            texts += _paragraphs(path.read_text(encoding="utf-8"))
    # the shapes the checks branch on: capitals, titles, numbers, salutations, no verb
    texts += [t.upper() for t in texts[:40]] + [t.title() for t in texts[:40] if len(t) < 120]
    texts += ["1.2 SCOPE", "12345", "Dear colleagues,", "Hepatitis B vaccination schedule",
              "ITEM 1A. RISK FACTORS", "Table 3: doses and intervals", "See section 4. Then call OH.", ""]
    return texts


def _views(tt, texts: list[str]) -> list[tuple]:
    return [(tt.word_tokenize(t), tt.pos_tag(t), list(tt.sent_tokenize(t)), tt.exceeds_cap_ratio(t),
             tt.is_possible_narrative_text(t), tt.is_possible_title(t)) for t in texts]


def _compare(tt, texts: list[str]) -> None:
    lazy = _views(tt, texts)
    lazy_spacy.restore()
    try:
        assert tt.is_possible_narrative_text is lazy_spacy._ORIGINALS["is_possible_narrative_text"]
        own = _views(tt, texts)
    finally:
        assert lazy_spacy.install(lazy_spacy.docs.nlp)
    differ = [(t[:80], [a == b for a, b in zip(x, y, strict=True)]) for t, x, y in zip(texts, lazy, own, strict=True) if x != y]
    assert not differ, differ[:5]


def test_views_and_classes_match_unstructured_on_corpus_text(text_type) -> None:
    texts = _corpus_texts()
    assert len(texts) > 300
    _compare(text_type, texts)


def test_views_and_classes_match_unstructured_on_third_party_text(text_type) -> None:
    source = SHARED / "covid-qa" / "200423_covidQA.json"
    if not SHARED.parent.exists():
        pytest.skip("../shared is absent")
    data = json.loads(source.read_text(encoding="utf-8"))
    texts = []
    for article in data["data"][:12]:
        for p in article["paragraphs"]:
            texts += [" ".join(line.split())[:2000] for line in p["context"].split("\n") if line.strip()]
            texts += [q["question"] for q in p["qas"][:5]]
    assert len(texts) > 300
    _compare(text_type, texts)


def test_documents_parse_the_same_as_with_unstructureds_own_functions(text_type) -> None:
    files = sorted(p for p in ROOT.glob("corpus/**/*") if p.suffix in (".md", ".txt", ".html", ".docx", ".eml"))
    lazy = [load_document(p) for p in files]
    lazy_spacy.restore()
    try:
        own = [load_document(p) for p in files]
    finally:
        lazy_spacy.install(lazy_spacy.docs.nlp)
    assert len(files) > 40
    assert [d.model_dump() for d in lazy] == [d.model_dump() for d in own]


def test_a_paragraph_with_a_verb_is_tagged_not_parsed(text_type) -> None:
    narrative = "The occupational health team reviews every sharps injury report within two working days."
    assert text_type.is_possible_narrative_text(narrative)
    assert lazy_spacy.docs._docs[narrative][1] == {"tok2vec", "tagger"}
    heading = "Hepatitis B Vaccination Schedule"  # mostly capitals: its sentences are counted
    assert not text_type.is_possible_narrative_text(heading)
    assert text_type.is_possible_title(heading)
    assert "parser" in lazy_spacy.docs._docs[heading][1]


def test_the_cache_stays_within_its_count_and_characters(text_type) -> None:
    docs = lazy_spacy.LazyDocs(lazy_spacy.docs.nlp, size=4, chars=200)
    for i in range(10):
        docs.doc(f"Sentence number {i} is here.", "parser")
    assert len(docs._docs) == 4
    long = "word " * 60  # 300 characters: over the budget, kept alone (the newest always is)
    assert [t.text for t in docs.doc(long)] == long.split()
    assert list(docs._docs) == [long] and docs._held == len(long)


def test_a_blank_pipeline_keeps_unstructureds_functions() -> None:
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    assert not lazy_spacy.supports(nlp)
