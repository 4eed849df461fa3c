"""Split chunk text into sentences, keeping exact character spans.

Every span satisfies `text[start:end] == sentence`, so a citation can quote a
sentence exactly.

>>> [s.text for s in split_sentences("Give a booster, e.g. at 5 years. See 4.2 below.\\nNext line")]
['Give a booster, e.g. at 5 years.', 'See 4.2 below.', 'Next line']
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ABBREVIATIONS = {
    "e.g", "i.e", "eg", "ie", "etc", "dr", "mr", "mrs", "ms", "prof", "vs", "no", "approx",
    "fig", "para", "ref", "st", "sec", "ch", "incl", "dept", "min", "max", "wk", "wks",
}
# End of sentence: . ! ? (optionally followed by quotes/brackets) then whitespace.
_BOUNDARY = re.compile(r"[.!?][\"')\]]*\s+|\n+")


@dataclass(frozen=True)
class Sentence:
    text: str
    start: int
    end: int


_WORD_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.")


def _is_abbreviation(text: str, dot_index: int) -> bool:
    if text[dot_index] != ".":
        return False
    # The run of letters and dots just before the full stop, found by walking back from it (a
    # `[A-Za-z.]+$` search over text[:dot_index] rescanned the whole prefix at every full stop:
    # quadratic, 1.5 s of 2.6 s of the cold sentence MaxSim over MedQuAD's long passages).
    begin = dot_index
    while begin > 0 and text[begin - 1] in _WORD_CHARS:
        begin -= 1
    if begin == dot_index:
        return False
    word = text[begin:dot_index].lower().strip(".")
    if word in _ABBREVIATIONS:
        return True
    return len(word) == 1 and word.isalpha()  # initials such as "J. Smith"


def split_sentences(text: str) -> list[Sentence]:
    out: list[Sentence] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        if m.group(0)[0] != "\n":
            if _is_abbreviation(text, m.start()):
                continue
            nxt = text[m.end() : m.end() + 1]
            if nxt and nxt.islower():  # "approx. two" or a mid-sentence full stop
                continue
        end = m.end()
        _append(out, text, start, end)
        start = end
    _append(out, text, start, len(text))
    return out


def _append(out: list[Sentence], text: str, start: int, end: int) -> None:
    seg = text[start:end]
    lead = len(seg) - len(seg.lstrip())
    seg = seg.strip()
    if seg:
        s = start + lead
        out.append(Sentence(seg, s, s + len(seg)))
