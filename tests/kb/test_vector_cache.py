"""Sentence vectors embedded at ingest and kept on disk (kb.vector_cache, `sentence_vectors`):
an ask reads its evidence sentences' vectors instead of embedding them, across restarts, and
answers exactly as it would without them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ingest.pipeline import ingest_paths
from kb.embedder import HashEmbedder
from kb.service import KnowledgeBase
from kb.settings import load_settings
from kb.vector_cache import FILE_NAME, VectorCache

CORPUS = Path(__file__).resolve().parents[2] / "corpus"
FILES = [CORPUS / "violence-aggression/lone-working-policy-2024.md",
         CORPUS / "oh-policies/health-surveillance-policy-2023.md"]
QUESTIONS = ["How often must lone workers check in?", "Who is responsible for arranging health surveillance?"]


class CountingEmbedder(HashEmbedder):
    def __init__(self) -> None:
        super().__init__(dim=64)
        self.seen: list[str] = []

    def embed_batch(self, texts):
        self.seen += list(texts)
        return super().embed_batch(texts)


@pytest.fixture
def counting(monkeypatch):
    made = []

    def factory(settings):
        made.append(CountingEmbedder())
        return made[-1]
    monkeypatch.setattr("kb.service.open_embedder", factory)
    return made


def _selected_texts(answer) -> list[str]:
    from kb.ask.select import chunk_evidence, sentence_text

    return [sentence_text(h.chunk.heading_path, s.text) for h in answer.hits[:5]
            for s in chunk_evidence(h.chunk.text, h.chunk.heading_path, h.chunk.title)]


def test_ingest_embeds_the_evidence_sentences_once_and_asks_read_them(tmp_path, counting):
    kb_dir = tmp_path / "kb"
    with KnowledgeBase.open(load_settings(kb_dir=kb_dir)) as kb:
        report = ingest_paths(kb, FILES).contract()
        assert report["sentences_embedded"] > report["chunks_embedded"] > 0
        assert len(VectorCache(kb_dir / FILE_NAME, kb.embedder.name, 64)) == report["sentences_embedded"]
    with KnowledgeBase.open(load_settings(kb_dir=kb_dir)) as kb:  # a new process: the file is still there
        emb = counting[-1]
        for q in QUESTIONS:
            emb.seen.clear()
            answer = kb.ask(q)  # (hash vectors: answered or refused, its evidence was scored)
            evidence = set(_selected_texts(answer))
            assert evidence and not evidence & set(emb.seen)  # none of them embedded again
        cached = [a.model_dump(exclude={"id", "timings_ms", "trace"}) for a in map(kb.ask, QUESTIONS)]
        unchanged = ingest_paths(kb, FILES).contract()
        assert unchanged["sentences_embedded"] == 0 and unchanged["chunks_embedded"] == 0
    # the same answers without the cache: it only saves time
    with KnowledgeBase.open(load_settings(kb_dir=kb_dir, sentence_vectors=False)) as kb:
        assert kb.embedder.persistent is None
        plain = [a.model_dump(exclude={"id", "timings_ms", "trace"}) for a in map(kb.ask, QUESTIONS)]
    assert plain == cached


def _one_policy(tmp_path: Path) -> tuple[Path, Path]:
    """A folder holding a copy of one corpus policy, to edit: (folder, file)."""
    src = tmp_path / "src"
    src.mkdir()
    doc = src / "lone-working-policy-2024.md"
    shutil.copy(FILES[0], doc)
    return src, doc


def test_a_changed_file_embeds_only_its_new_sentences(tmp_path, counting):
    src, doc = _one_policy(tmp_path)
    with KnowledgeBase.open(load_settings(kb_dir=tmp_path / "kb")) as kb:
        first = ingest_paths(kb, [src]).contract()["sentences_embedded"]
        doc.write_text(doc.read_text(encoding="utf-8") + "\n\n## 9 Review\n\nThis policy is reviewed every year by the "
                       "health and safety committee.\n", encoding="utf-8")
        again = ingest_paths(kb, [src]).contract()
    assert again["updated"] == 1 and 1 <= again["sentences_embedded"] < first / 4


def test_a_damaged_cache_file_never_fails_an_ask(tmp_path, counting):
    kb_dir = tmp_path / "kb"
    with KnowledgeBase.open(load_settings(kb_dir=kb_dir)) as kb:
        ingest_paths(kb, FILES[:1])
    (kb_dir / FILE_NAME).write_bytes(b"not a database " * 200)
    for extra in ("-wal", "-shm"):
        (kb_dir / (FILE_NAME + extra)).unlink(missing_ok=True)
    with KnowledgeBase.open(load_settings(kb_dir=kb_dir)) as kb:
        assert kb.embedder.persistent is None  # could not be opened: asks embed as before
        assert kb.ask(QUESTIONS[0]).hits


def test_vectors_come_back_exactly(tmp_path):
    cache = VectorCache(tmp_path / "v.sqlite", "m", 3)
    cache.put([("float32 exact", [0.5, 0.25, -1.0]), ("needs float64", [0.1, 0.2, 0.3])])
    assert cache.get(["float32 exact", "needs float64", "absent"]) == {
        "float32 exact": [0.5, 0.25, -1.0], "needs float64": [0.1, 0.2, 0.3]}
    assert VectorCache(tmp_path / "v.sqlite", "other model", 3).get(["float32 exact"]) == {}  # keyed by encoder


def test_ingest_does_not_embed_a_reference_list_for_asks(tmp_path, counting):
    """Citations under "References" are never evidence (kb.ask.select.is_citation), so ingest does
    not spend the encoder on them; the chunk itself is still searchable."""
    src, doc = _one_policy(tmp_path)
    with KnowledgeBase.open(load_settings(kb_dir=tmp_path / "kb")) as kb:
        first = ingest_paths(kb, [src]).contract()["sentences_embedded"]
        doc.write_text(doc.read_text(encoding="utf-8") + "\n\n## 12 References\n\n"
                       "Health and Safety Executive (2013) Working alone: health and safety guidance on the risks of "
                       "lone working. INDG73. Smith J, Patel R, Jones K et al. Lone working in community nursing. "
                       "J Adv Nurs 2019; 75(2): 301-9. doi:10.1111/jan.13800. "
                       "The network's own incident data were also used.\n", encoding="utf-8")
        emb = counting[-1]
        emb.seen.clear()
        again = ingest_paths(kb, [src]).contract()
        assert again["updated"] == 1
        cited = {t for t in emb.seen if "References:" in t}
        assert cited == {"12 References: Lone working in community nursing.",  # a title reads as prose
                         "12 References: The network's own incident data were also used."}
        assert again["sentences_embedded"] <= first // 4
        hits = kb.search("Lone working in community nursing J Adv Nurs", k=3)
        assert any("J Adv Nurs" in h.chunk.text for h in hits)  # still found by search
