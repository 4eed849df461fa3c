"""Follow-up questions in a conversation, rewritten into standalone questions for retrieval.

Retrieval sees one question at a time, so "and what about for latex allergy?" after a
question about occupational asthma must become "What health surveillance is needed for
latex allergy?" before it is searched. Without an LLM the rules below do it: carry over the
previous question's topic terms, resolve "it"/"that"/"they", and substitute the new topic
for "what about X" / "and for X" forms. With an LLM, the model condenses the question and
the rules are the fallback on any error or implausible reply.

>>> prev = [Turn("What health surveillance is needed for occupational asthma?")]
>>> rewrite_followup("and what about for latex allergy?", prev)
'What health surveillance is needed for latex allergy?'
>>> rewrite_followup("Who arranges it?", [Turn("What is health surveillance?")])
'Who arranges health surveillance?'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Method = Literal["none", "rules", "llm"]

# Words that carry no topic: question words, auxiliaries, pronouns, prepositions, and the
# generic verbs members use around a topic ("needed", "check", "start").
_STOP = frozenset(
    """
    a an the and or but if then so of for to in on at by with from about into over under
    after before during between as is are was were be been being am do does did done doing
    have has had having can could should would will shall may might must need needs needed
    what when where which who whom whose why how whether there here this that these those
    it its they them their i me my we us our you your he she his her anyone someone
    any some all each every no not yes also too very more most much many less least only
    again else other another same such than just please tell know get gets got give given
    happen happens mean means required require requires use used using make made take taken
    check checked start started starting apply applies say says
    """.split()
)
_PRONOUNS = ("it", "they", "them", "this", "that", "these", "those")
_PRONOUN_RE = re.compile(r"\b(it|they|them|this|that|these|those)\b", re.IGNORECASE)
# "and what about for X", "what about X", "how about X", "and for X", "and in X", "and X"
_SWITCH_RE = re.compile(
    r"^\s*(?:and\s+|but\s+|also\s+|ok(?:ay)?,?\s+)?(?:what|how)\s+about\s+"
    r"(?:(?:for|in|with|on|of|the)\s+)?(?P<topic>.+?)\s*[?.!]*\s*$"
    r"|^\s*(?:and|but|also)\s+(?:(?:for|in|with|on|of|if)\s+)?(?P<topic2>.+?)\s*[?.!]*\s*$",
    re.IGNORECASE,
)
_QUESTION_START = re.compile(
    r"^(what|when|where|which|who|whom|whose|why|how|is|are|was|were|do|does|did|can|could|"
    r"should|would|will|must|may|has|have)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\-]*")


@dataclass(frozen=True)
class Turn:
    """One earlier turn: the question as typed, the standalone form searched, the answer."""

    question: str
    standalone: str = ""
    answer: str = ""

    @property
    def searched(self) -> str:
        return self.standalone or self.question


@dataclass(frozen=True)
class Rewrite:
    """The question to search, and how it was made: "none" (not a follow-up), "rules", "llm"."""

    standalone: str
    method: Method


def _content(words: list[str]) -> list[str]:
    return [w for w in words if w.lower() not in _STOP]


def topic_phrase(question: str) -> str:
    """The question's topic: its longest run of consecutive content words (the last on a tie).

    "What health surveillance is needed for occupational asthma?" -> "occupational asthma".
    """
    words = _WORD.findall(question)
    if len(words) > 2 and words[0].lower() == "who" and words[1].lower() not in _STOP:
        words = words[:1] + ["the"] + words[2:]  # "Who arranges X": the verb is not the topic
    best: list[str] = []
    run: list[str] = []
    for w in [*words, "the"]:
        if w.lower() in _STOP:
            if run and len(run) >= len(best):
                best = run
            run = []
        else:
            run.append(w)
    return " ".join(best)


def _finish(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip().rstrip("?.! ")
    return (text[:1].upper() + text[1:] + "?") if text else ""


def _has_pronoun(question: str) -> bool:
    return bool(_PRONOUN_RE.search(question))


def _resolve_pronouns(question: str, topic: str) -> str:
    """Replace the first referring pronoun with the topic; "that test" becomes "the test (topic)"."""
    words = question.split()
    out, done, determiner = [], False, False
    for i, w in enumerate(words):
        bare = re.sub(r"[^\w']", "", w).lower()
        if not done and bare in _PRONOUNS:
            nxt = re.sub(r"[^\w']", "", words[i + 1]).lower() if i + 1 < len(words) else ""
            tail = w[len(w.rstrip("?.!,;:")) :]
            noun_next = nxt and nxt not in _STOP and not nxt.endswith(("ed", "ing"))
            if bare in ("this", "that", "these", "those") and noun_next:
                out.append("the")  # a determiner: "that test" -> "the test ... for <topic>"
                determiner = True
            elif bare == "it" and nxt in ("is", "was") and i == 0:
                out.append(w)  # "it is ..." at the start rarely refers; leave it
                continue
            else:
                out.append(topic + tail)
            done = True
            continue
        out.append(w)
    text = " ".join(out)
    if determiner:
        text = text.rstrip("?.! ") + f" for {topic}"
    return text


def rewrite_followup(question: str, previous: list[Turn]) -> str:
    """The standalone question for `question` after `previous` turns, by rules alone."""
    question = question.strip()
    if not previous or not question:
        return question
    last = previous[-1].searched
    topic = topic_phrase(last)
    if not topic:
        return question
    m = _SWITCH_RE.match(question)
    if m:
        new_topic = (m.group("topic") or m.group("topic2") or "").strip()
        if new_topic and not _QUESTION_START.match(new_topic):
            if _PRONOUN_RE.fullmatch(new_topic):
                return _finish(last)
            idx = last.lower().rfind(topic.lower())
            if idx >= 0:
                return _finish(last[:idx] + new_topic + last[idx + len(topic) :])
            return _finish(f"{last.rstrip('?.! ')} for {new_topic}")
        if new_topic:  # "and how is it treated?" -> the rest is a question of its own
            question = new_topic
    if _has_pronoun(question):
        return _finish(_resolve_pronouns(question, topic))
    words = _WORD.findall(question)
    own = _content(words)
    if len(own) <= 1 and not any(w.lower() in topic.lower().split() for w in own):
        # "How often?", "Who pays?": the question only makes sense about the last topic.
        return _finish(f"{question.rstrip('?.! ')} for {topic}")
    return question


CONDENSE_PROMPT = (
    "Rewrite the member's last question as one standalone question that can be searched "
    "without the conversation. Keep the member's words where possible, resolve pronouns "
    "and carry over the topic from earlier turns. Reply with the question only."
)


def _plausible(reply: str, question: str) -> bool:
    one = reply.strip()
    return bool(one) and "\n" not in one and len(one) <= max(300, 3 * len(question))


def condense(question: str, previous: list[Turn], llm=None) -> Rewrite:
    """The standalone question to search. With `llm` (an `kb.llm.LLM`), the model condenses
    it; on any error or an implausible reply the rule-based rewrite is used instead."""
    question = question.strip()
    if not previous:
        return Rewrite(question, "none")
    if llm is not None:
        history = "\n".join(
            f"Member: {t.searched}\nAssistant: {' '.join(t.answer.split())[:400]}" for t in previous[-4:]
        )
        messages = [
            {"role": "system", "content": CONDENSE_PROMPT},
            {"role": "user", "content": f"Conversation:\n{history}\n\nLast question: {question}"},
        ]
        try:
            reply = llm.chat(messages)
        except Exception:  # noqa: BLE001 - any LLM failure falls back to the rules
            reply = ""
        reply = (reply or "").strip().strip('"').strip()
        if _plausible(reply, question):
            return Rewrite(reply, "llm")
    standalone = rewrite_followup(question, previous)
    return Rewrite(standalone, "none" if standalone == question else "rules")


def title_for(question: str, limit: int = 60) -> str:
    """A conversation's title: its first question, shortened at a word boundary."""
    text = " ".join(question.split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + "…"
