"""Follow-up questions rewritten into standalone questions, and conversations in the catalog."""

from __future__ import annotations

import pytest

from kb.catalog import Catalog
from kb.conversation import Turn, condense, rewrite_followup, title_for, topic_phrase
from tests.kb.llm.scripted_llm import ScriptedLLM

ASTHMA = [Turn("What health surveillance is needed for occupational asthma?")]
SURVEILLANCE = [Turn("What is health surveillance?")]
LONE = [Turn("How often must lone workers check in?")]


@pytest.mark.parametrize(
    ("previous", "followup", "standalone"),
    [
        (ASTHMA, "and what about for latex allergy?", "What health surveillance is needed for latex allergy?"),
        (ASTHMA, "What about latex allergy", "What health surveillance is needed for latex allergy?"),
        (ASTHMA, "How about noise-induced hearing loss?",
         "What health surveillance is needed for noise-induced hearing loss?"),
        (ASTHMA, "and for night workers?", "What health surveillance is needed for night workers?"),
        (ASTHMA, "What about it?", "What health surveillance is needed for occupational asthma?"),
        (SURVEILLANCE, "Who is responsible for arranging it?",
         "Who is responsible for arranging health surveillance?"),
        (SURVEILLANCE, "Is that recorded anywhere?", "Is health surveillance recorded anywhere?"),
        (ASTHMA, "Is that test mandatory?", "Is the test mandatory for occupational asthma?"),
        (ASTHMA, "and how is it treated?", "How is occupational asthma treated?"),
        (LONE, "What if they miss a check-in?", "What if lone workers miss a check-in?"),
        (SURVEILLANCE, "How often?", "How often for health surveillance?"),
    ],
)
def test_rules_rewrite_followups(previous, followup, standalone):
    assert rewrite_followup(followup, previous) == standalone


@pytest.mark.parametrize(
    "question",
    ["How is tuberculosis screened?", "When should HIV PEP be started after a needlestick?"],
)
def test_new_questions_are_left_alone(question):
    assert rewrite_followup(question, ASTHMA) == question
    assert condense(question, ASTHMA).method == "none"


def test_first_question_and_chains_use_the_searched_form():
    assert condense("What about it?", []).standalone == "What about it?"
    # the second turn's standalone form carries the topic into the third
    chain = [Turn("What is health surveillance?"),
             Turn("Who arranges it?", standalone="Who arranges health surveillance?")]
    assert rewrite_followup("Is it recorded?", chain) == "Is health surveillance recorded?"
    assert topic_phrase("Who arranges health surveillance?") == "health surveillance"
    assert topic_phrase("How often must lone workers check in?") == "lone workers"




def test_llm_condenses_and_sees_the_conversation():
    llm = ScriptedLLM(' "What health surveillance is needed for latex allergy?" ')
    out = condense("and latex allergy?", ASTHMA, llm)
    assert (out.standalone, out.method) == ("What health surveillance is needed for latex allergy?", "llm")
    assert "occupational asthma" in llm.history[0][-1]["content"]


@pytest.mark.parametrize("reply", [RuntimeError("connection refused"), "", "line one\nline two"])
def test_llm_failure_falls_back_to_rules(reply):
    out = condense("and what about for latex allergy?", ASTHMA, ScriptedLLM(reply))
    assert out == condense("and what about for latex allergy?", ASTHMA)
    assert out.method == "rules"


def test_title_is_shortened_at_a_word():
    assert title_for("short question") == "short question"
    long = title_for("word " * 30, limit=22)
    assert long.endswith("…") and len(long) <= 23 and "  " not in long


def test_catalog_keeps_conversations_per_user(tmp_path):
    cat = Catalog(tmp_path / "catalog.db")
    a = cat.start_conversation("alice", "Occupational asthma")
    b = cat.start_conversation("bob", "Lone working")
    assert cat.add_turn(a, "q1", "q1", "none", '{"x": 1}', "ans1") == 0
    assert cat.add_turn(a, "and it?", "q2 standalone", "rules", '{"x": 2}') == 1
    assert cat.conversation_owner(a) == "alice" and cat.conversation_owner("nope") is None
    mine = cat.conversations("alice")
    assert [(r["conversation_id"], r["title"], r["turns"]) for r in mine] == [(a, "Occupational asthma", 2)]
    assert [r["conversation_id"] for r in cat.conversations("bob")] == [b]
    turns = cat.turns(a)
    assert [(t["turn_no"], t["question"], t["standalone"], t["rewrite"]) for t in turns] == [
        (0, "q1", "q1", "none"), (1, "and it?", "q2 standalone", "rules")]
    assert turns[0]["answer_id"] == "ans1" and turns[1]["record"] == '{"x": 2}'

    # ask again replaces a turn in place; edit-and-resend drops it and what follows
    assert cat.add_turn(a, "q1", "q1", "none", '{"x": 3}', turn_no=0) == 0
    assert [t["record"] for t in cat.turns(a)] == ['{"x": 3}', '{"x": 2}']
    cat.drop_turns_from(a, 1)
    assert [t["turn_no"] for t in cat.turns(a)] == [0]
    assert cat.add_turn(a, "q2b", "q2b", "none", "{}") == 1

    # most recently used first
    c = cat.start_conversation("alice", "Second")
    assert [r["conversation_id"] for r in cat.conversations("alice")] == [c, a]
    cat.add_turn(a, "q3", "q3", "none", "{}")
    assert [r["conversation_id"] for r in cat.conversations("alice")] == [a, c]
    cat.delete_conversation(a)
    assert cat.turns(a) == [] and [r["conversation_id"] for r in cat.conversations("alice")] == [c]
    cat.close()
    reopened = Catalog(tmp_path / "catalog.db")  # kept on disk
    assert [r["title"] for r in reopened.conversations("alice")] == ["Second"]
    reopened.close()
