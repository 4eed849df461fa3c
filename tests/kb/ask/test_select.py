"""Evidence selection: which sentences an extractive answer quotes (kb/ask/select.py)."""

from __future__ import annotations

from kb.ask.select import MMR_FLOOR, PRIMARY_FLOOR, _Candidate, mmr
from kb.sentences import Sentence


def cand(hit: int, start: int, score: float, vector: list[float], summary: bool = False) -> _Candidate:
    return _Candidate(hit, Sentence(f"s{hit}-{start}", start, start + 5), vector, score, 0.5, score, summary)


def test_a_sentence_joins_only_above_the_floor_of_the_best_score():
    best = cand(0, 0, 1.0, [1.0, 0.0, 0.0])
    near = cand(1, 0, MMR_FLOOR + 0.01, [0.0, 1.0, 0.0])
    far = cand(2, 0, MMR_FLOOR - 0.01, [0.0, 0.0, 1.0])
    chosen = mmr([best, near, far], max_sentences=5)
    assert chosen[0] is best and near in chosen and far not in chosen
    assert 0.8 <= PRIMARY_FLOOR <= MMR_FLOOR  # the primary-source rule reaches a little further down


def test_the_guidance_joins_an_answer_made_only_of_bulletin_summaries():
    """A bulletin item that sums up a policy can out-score the policy's own sentence; the answer then also quotes
    the policy (the source), if its best sentence is within PRIMARY_FLOOR of the best."""
    news = cand(0, 0, 1.0, [1.0, 0.0, 0.0], summary=True)
    more_news = cand(0, 10, 0.9, [0.0, 1.0, 0.0], summary=True)
    policy = cand(1, 0, 0.82, [0.0, 0.0, 1.0])
    chosen = mmr([news, more_news, policy], max_sentences=5)
    assert chosen[0] is news and policy in chosen and more_news in chosen
    # below the primary floor the policy sentence stays out
    weak = cand(1, 0, PRIMARY_FLOOR - 0.05, [0.0, 0.0, 1.0])
    assert weak not in mmr([news, more_news, weak], max_sentences=5)
    # with room for two sentences, the guidance takes the second place from the second news sentence
    assert mmr([news, more_news, policy], max_sentences=2) == [news, policy]


def test_an_answer_that_already_quotes_the_guidance_is_left_alone():
    news = cand(0, 0, 1.0, [1.0, 0.0, 0.0], summary=True)
    policy = cand(1, 0, 0.95, [0.0, 1.0, 0.0])
    other = cand(2, 0, 0.81, [0.0, 0.0, 1.0])
    chosen = mmr([news, policy, other], max_sentences=5)
    assert policy in chosen and other not in chosen


REFERENCE_LIST = (
    "Djennad A, Ramsay ME, Pebody R et al. Effectiveness of 23-valent polysaccharide pneumococcal vaccine. "
    "EClinicalMedicine 2019; 8: 61-68. "
    "Harling, R., White, J.M. and Ramsay, M.E. (2005) The effectiveness of the mumps component of the MMR vaccine. "
    "N Engl J Med 2021; 384:1899-1909. "
    "PMID: 26723191. "
    "The Green Book chapter on hepatitis B, including its table on post-exposure management, was used as a factual source."
)


def test_citations_in_a_reference_list_are_never_evidence_but_prose_there_is():
    from kb.ask.select import chunk_evidence, evidence_texts, in_bibliography

    for heading in ("References", "9 References", "Guideline > 10.2 Bibliography", "Further reading"):
        assert in_bibliography(heading), heading
        texts = [s.text for s in chunk_evidence(REFERENCE_LIST, heading, "Hepatitis B")]
        assert texts == [
            "Effectiveness of 23-valent polysaccharide pneumococcal vaccine.",  # a paper's title reads as prose
            "The Green Book chapter on hepatitis B, including its table on post-exposure management, was used as a "
            "factual source.",
        ], heading
    # the same sentences under any other heading are kept: the test only applies in a reference list
    for heading in ("Dosage and schedule", "Referenced documents and forms", "References to the policy"):
        assert not in_bibliography(heading)
        kept = [s.text for s in chunk_evidence(REFERENCE_LIST, heading, "Hepatitis B")]
        assert "N Engl J Med 2021; 384:1899-1909." in kept and "Djennad A, Ramsay ME, Pebody R et al." in kept, heading
    # and what ingest embeds ahead for asks is the same list (kb.ask.select.evidence_texts)
    assert evidence_texts(REFERENCE_LIST, "9 References", "Hepatitis B") == [
        "9 References: Effectiveness of 23-valent polysaccharide pneumococcal vaccine.",
        "9 References: The Green Book chapter on hepatitis B, including its table on post-exposure management, "
        "was used as a factual source.",
    ]
