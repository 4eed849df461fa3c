"""The generative eval's sentence counts: what was verified, caught, and wrongly removed."""

from __future__ import annotations

from evals.golden import GoldenCase
from evals.golden_run import aggregate, judge_sentences
from evals.scripted_llm import perturbed, reader
from kb.ask.generative import build_messages
from kb.records import Answer, SentenceCheck
from tests.kb.llm.scripted_server import HITS_TEXT, scripted_hits

HITS = scripted_hits()
CASE = GoldenCase(id="g1", question="When should HIV PEP start?", kind="answerable", gold_doc_ids=["doc1"],
                  key_phrases=["24 hours"])


def _record(sentences: list[SentenceCheck]) -> dict:
    answer = Answer(question=CASE.question, answer="x [1]", answerable=True, hits=HITS, mode="generative",
                    sentences=sentences)
    return {"id": CASE.id, "kind": CASE.kind, "gold": CASE.model_dump(), "retrieval": {}, "passed": True,
            "scores": {"refused": 0.0, "warned": 0.0, "citation_precision": 1.0, "citation_recall": 1.0,
                       "key_phrase_recall": 1.0, "token_f1": 1.0, "faithfulness": 1.0},
            "latency_ms": {"ask": 1.0},
            "answer": {"mode": "generative", "answerable": True, "warnings": [],
                       "sentences": judge_sentences(answer, CASE)}}


def test_a_removed_quote_or_key_phrase_is_a_good_sentence_wrongly_removed():
    quote = SentenceCheck(text="It is not offered after 72 hours.", citations=[1], verdict="unsupported",
                          verified=False, shown=False, sources=["c1"])
    key = SentenceCheck(text="Give PEP within 24 hours of the injury.", citations=[1], verdict="unsupported",
                        verified=False, shown=False, sources=["c1"])
    wrong = SentenceCheck(text="It is not offered after 96 hours.", citations=[1], verdict="contradicted",
                          verified=False, shown=False, sources=["c1"])
    elsewhere = SentenceCheck(text="The PEP course lasts 28 days.", citations=[1], verdict="unsupported",
                              verified=False, shown=False, sources=["c1"])  # true, but not what [1] says
    kept = SentenceCheck(text="HIV PEP should start as soon as possible, ideally within 24 hours.", citations=[1],
                         sources=["c1"])
    got = aggregate([_record([quote, key, wrong, elsewhere, kept])])["sentences"]
    assert got["sentences"] == 5 and got["verified"] == 1 and got["removed"] == 4
    assert got["contradicted_caught"] == 1
    assert got["quotes_of_cited_source"] == 2 and got["good_wrongly_removed_quotes"] == 1
    assert got["good_wrongly_removed"] == 2  # the quote and the key-phrase sentence
    assert got["non_quotes"] == 3 and got["non_quotes_removed"] == 3


def test_scripted_replies_answer_from_the_prompt():
    msgs = build_messages("When should HIV PEP start?", HITS)
    assert reader(msgs) == ("HIV PEP should start as soon as possible, ideally within 24 hours [1]. "
                            "The PEP course lasts 28 days. [2]")  # markers before and after the stop
    wrong = perturbed(msgs)
    assert wrong.startswith(reader(msgs)) and "ideally within 49 hours. [1]" in wrong
    assert HITS_TEXT[0].split(".")[0] in wrong
