"""Sentence splitting with exact spans (kb/sentences.py)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kb.sentences import split_sentences


def test_abbreviations_initials_and_section_numbers_do_not_end_a_sentence():
    text = "Give a booster, e.g. at 5 years. Ask Dr. Patel or J. Smith. See 4.2 below.\nNext line"
    assert [s.text for s in split_sentences(text)] == [
        "Give a booster, e.g. at 5 years.", "Ask Dr. Patel or J. Smith.", "See 4.2 below.", "Next line"]


def test_a_letter_on_the_line_before_a_full_stop_is_not_an_initial():
    assert [s.text for s in split_sentences("Stage g\n. Then rest. Done")] == ["Stage g", ".", "Then rest.", "Done"]


def test_a_long_passage_is_split_whole():
    text = "The worker was seen in clinic and advised to rest. " * 4000  # 200k characters
    spans = split_sentences(text)
    assert len(spans) == 4000 and spans[-1].end == len(text.rstrip())


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab. eg.i.J  Dr.x\n7.1?!", max_size=80))
def test_every_span_quotes_the_text_exactly(text):
    for s in split_sentences(text):
        assert text[s.start:s.end] == s.text and s.text == s.text.strip() and s.text
