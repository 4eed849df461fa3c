"""parse_reply: markers before and after the full stop, groups, ranges, out-of-range numbers, NOT_COVERED."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kb.llm_reply import (
    GeneratedSentence,
    cited_numbers,
    is_not_covered,
    parse_reply,
    read_reply,
    strip_markers,
)


def pairs(text: str, n: int = 5) -> list[tuple[str, list[int]]]:
    return [(s.text, s.citations) for s in parse_reply(text, n)]


@pytest.mark.parametrize(
    "reply",
    [
        "PEP is not offered after 72 hours [1].",
        "PEP is not offered after 72 hours. [1]",
        "PEP is not offered after 72 hours.[1]",
        "PEP is not offered after 72 hours [1] .",
        "PEP is not offered after 72 hours [Source 1].",
        "PEP is not offered after 72 hours.  [ 1 ]",
    ],
)
def test_marker_before_or_after_the_full_stop_attaches_to_the_sentence(reply):
    assert pairs(reply) == [("PEP is not offered after 72 hours.", [1])]


@pytest.mark.parametrize(
    "reply",
    [
        "PEP is not offered after 72 hours [1]. The course lasts 28 days [2].",
        "PEP is not offered after 72 hours. [1] The course lasts 28 days. [2]",
        "PEP is not offered after 72 hours.[1] The course lasts 28 days.[2]",
        "PEP is not offered after 72 hours [1]. The course lasts 28 days. [2]",
        "PEP is not offered after 72 hours.\n[1]\nThe course lasts 28 days.\n[2]",
    ],
)
def test_the_next_sentence_never_takes_the_previous_marker(reply):
    assert pairs(reply) == [("PEP is not offered after 72 hours.", [1]), ("The course lasts 28 days.", [2])]


@pytest.mark.parametrize(
    ("reply", "cited"),
    [
        ("Start within 24 hours [1][2].", [1, 2]),
        ("Start within 24 hours [1] [2].", [1, 2]),
        ("Start within 24 hours. [1][2]", [1, 2]),
        ("Start within 24 hours [1, 2].", [1, 2]),
        ("Start within 24 hours [2; 1].", [1, 2]),
        ("Start within 24 hours [1-3].", [1, 2, 3]),
        ("Start within 24 hours [1–3].", [1, 2, 3]),
        ("Start [2] within 24 hours [1].", [1, 2]),
        ("Start within 24 hours [1][1].", [1]),
        ("Start within 24 hours [sources 1, 3].", [1, 3]),
    ],
)
def test_groups_lists_and_ranges(reply, cited):
    assert pairs(reply) == [("Start within 24 hours.", cited)]


def test_out_of_range_numbers_are_reported_not_kept():
    r = read_reply("Start within 24 hours [1][7]. Stop after 28 days [0]. Rest [3].", 3)
    assert [(s.citations, s.out_of_range) for s in r.sentences] == [([1], [7]), ([], [0]), ([3], [])]
    assert r.out_of_range == [0, 7]
    assert parse_reply("Give the vaccine [9].", 2)[0] == GeneratedSentence(
        text="Give the vaccine.", citations=[], raw="Give the vaccine [9].", out_of_range=[9]
    )


def test_uncited_sentence_has_no_citations():
    assert pairs("Start within 24 hours. Stop after 28 days [2].") == [
        ("Start within 24 hours.", []),
        ("Stop after 28 days.", [2]),
    ]


def test_raw_keeps_the_sentence_as_written():
    s = parse_reply("Start within 24 hours. [1] Next one [2].", 2)
    assert [x.raw for x in s] == ["Start within 24 hours. [1]", "Next one [2]."]


def test_leading_marker_on_the_first_sentence_stays_with_it():
    assert pairs("[1] Start within 24 hours. Next one. [2]") == [("Start within 24 hours.", [1]), ("Next one.", [2])]


def test_lists_and_markdown_are_read_as_sentences():
    reply = "Key points:\n- **Start** PEP within 24 hours [1].\n- The course lasts 28 days [2].\n1. Report it [3]."
    assert pairs(reply) == [
        ("Key points:", []),
        ("Start PEP within 24 hours.", [1]),
        ("The course lasts 28 days.", [2]),
        ("Report it.", [3]),
    ]


def test_abbreviations_and_decimals_do_not_split():
    assert pairs("Give 0.5 ml, e.g. in the deltoid [1]. Then wait [2].") == [
        ("Give 0.5 ml, e.g. in the deltoid.", [1]),
        ("Then wait.", [2]),
    ]


@pytest.mark.parametrize("reply", ["NOT_COVERED", "NOT_COVERED.", "  **NOT_COVERED**\n", "NOT COVERED"])
def test_not_covered_is_detected(reply):
    r = read_reply(reply, 3)
    assert r.not_covered and r.sentences == [] and is_not_covered(reply)


def test_not_covered_after_a_hedge_is_detected_and_not_a_sentence():
    r = read_reply("The sources do not say when to stop. NOT_COVERED", 3)
    assert r.not_covered
    assert [s.text for s in r.sentences] == ["The sources do not say when to stop."]


def test_a_normal_answer_is_not_not_covered():
    assert not read_reply("Cover the wound [1].", 1).not_covered
    assert not is_not_covered("The area is not covered by a dressing [1].")  # plain words are not the token


def test_empty_and_marker_only_replies_have_no_sentences():
    assert parse_reply("", 3) == []
    assert parse_reply("   ", 3) == []
    assert parse_reply("[1][2]", 3) == []


def test_strip_markers_and_cited_numbers():
    assert strip_markers("Start [1] within 24 hours [2, 3] .") == "Start within 24 hours."
    assert cited_numbers("a [1] b [2,3] c [4-5] d [1]") == [1, 2, 3, 4, 5, 1]


def test_not_covered_token_matches_the_generator():
    from kb import llm_reply
    from kb.ask import generative

    assert llm_reply.NOT_COVERED == generative.NOT_COVERED


# ---------------------------------------------------------------------- properties

WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=4, max_size=8).filter(lambda w: w not in {"approx", "dept", "incl", "para"})
SENTENCE = st.lists(WORD, min_size=1, max_size=8).map(lambda ws: " ".join(ws).capitalize())
CITES = st.lists(st.integers(min_value=1, max_value=9), min_size=0, max_size=3)
STYLE = st.sampled_from(["before", "after", "glued", "group"])


def render(sentence: str, cites: list[int], style: str) -> str:
    if not cites:
        return sentence + "."
    if style == "group":
        return f"{sentence} [{', '.join(map(str, cites))}]."
    marks = "".join(f"[{n}]" for n in cites)
    return {"before": f"{sentence} {marks}.", "after": f"{sentence}. {marks}", "glued": f"{sentence}.{marks}"}[style]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(SENTENCE, CITES, STYLE), min_size=1, max_size=6), st.integers(min_value=0, max_value=9))
def test_every_sentence_keeps_its_own_citations(items, n_sources):
    reply = " ".join(render(s, c, style) for s, c, style in items)
    got = parse_reply(reply, n_sources)
    assert [g.text for g in got] == [s + "." for s, _, _ in items]
    for g, (_, cites, _) in zip(got, items, strict=True):
        assert g.citations == sorted({n for n in cites if n <= n_sources})
        assert g.out_of_range == sorted({n for n in cites if n > n_sources})
        assert "[" not in g.text
        assert g.raw in reply


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300), st.integers(min_value=0, max_value=5))
def test_any_text_parses_and_never_keeps_an_out_of_range_citation(text, n):
    for s in parse_reply(text, n):
        assert all(1 <= c <= n for c in s.citations)
        assert not set(s.citations) & set(s.out_of_range)
        assert s.raw.strip() and s.raw in text
