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
