"""Repair words that PDF text extraction breaks: line-end hyphenation and kerning splits.

Both repairs only act when the document itself vouches for the result:

* De-hyphenation: "immuni-" + "sation" becomes "immunisation" when that word occurs in the
  document (or an English word list); a compound the document spells with a hyphen
  ("post-exposure", "anti-HBs") keeps its hyphen.
* De-kerning: "emplo yed" becomes "employed" when "employed" occurs as a whole word in the
  document and at least one part ("emplo") is not a word on its own. When a reference text is
  given (pypdf's layout-mode extraction, which spaces by glyph widths), a pair is also merged
  when the reference spells it as one word and never as two: this catches splits whose parts are
  both words ("wit hin", "pro vide"), and it keeps real pairs ("be low", "any one").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

# Real English words of one or two letters. Any other fragment that short ("ha", "ve", "ic")
# counts as a piece of a word, not a word.
_SHORT_WORDS = frozenset(
    "a i am an as at be by do go he if in is it me my no of on or so to up us we".split()
)
_WORD_RE = re.compile(r"[A-Za-z]+")
_COMPOUND_RE = re.compile(r"[A-Za-z]+(?:-[A-Za-z0-9]+)+")
# A kerning split: a lower-case or Capitalised fragment, then lower-case fragments.
_SPLIT_RE = re.compile(r"([A-Za-z]+)")
_URL_RE = re.compile(r"\S*(?:://|www\.|@)\S*")
_LEFT_PART_RE = re.compile(r"^[A-Za-z][a-z]*$")
_RIGHT_PART_RE = re.compile(r"^[a-z]+$")
_HYPHEN_END_RE = re.compile(r"([A-Za-z]+)[-\u2010\u2011]\s*$")
_LEADING_WORD_RE = re.compile(r"^([A-Za-z]+)")


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """The English word list that ships with `unstructured` (lower case), loaded once."""
    from unstructured.nlp.english_words import ENGLISH_WORDS

    return frozenset(w.lower() for w in ENGLISH_WORDS if w)


def is_known_word(token: str) -> bool:
    """True if `token` is a word on its own (not a fragment of one)."""
    t = token.lower()
    if len(t) <= 2:
        return t in _SHORT_WORDS
    return t in english_words()


@dataclass
class Vocabulary:
    """Word counts of one document, used to vouch for repairs."""

    words: Counter[str] = field(default_factory=Counter)
    compounds: Counter[str] = field(default_factory=Counter)
    reference_words: Counter[str] = field(default_factory=Counter)
    reference_pairs: Counter[str] = field(default_factory=Counter)

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> Vocabulary:
        vocab = cls()
        for raw in texts:
            text = _URL_RE.sub(" ", raw)
            vocab.words.update(w.lower() for w in _WORD_RE.findall(text))
            vocab.compounds.update(c.lower() for c in _COMPOUND_RE.findall(text))
        return vocab

    def add_reference(self, text: str) -> None:
        """Add a second extraction of the same document whose word spacing is trusted."""
        text = _URL_RE.sub(" ", text)
        tokens = [t.lower() for t in _WORD_RE.findall(text)]
        self.reference_words.update(tokens)
        self.words.update(tokens)
        parts = _SPLIT_RE.split(text.lower())
        for i in range(1, len(parts) - 2, 2):  # every adjacent pair and triple, overlapping
            if parts[i + 1] == " ":
                self.reference_pairs[f"{parts[i]} {parts[i + 2]}"] += 1
                if i + 4 < len(parts) and parts[i + 3] == " ":
                    self.reference_pairs[f"{parts[i]} {parts[i + 2]} {parts[i + 4]}"] += 1

    def should_merge_run(self, parts: list[str]) -> bool:
        """Should these fragments, printed with single spaces between them, be one word?"""
        merged = "".join(parts).lower()
        if len(merged) < 3 or not self.words[merged]:
            return False
        if self.reference_words:
            spaced = " ".join(parts).lower()
            if self.reference_words[merged] and not self.reference_pairs[spaced]:
                return True
            if self.reference_pairs[spaced]:
                return False
        if len(merged) < 4 or not self.words[merged]:
            return False
        return not all(is_known_word(p) for p in parts)


def _mergeable_run(parts: list[str], before: str, after: str, next_word: str) -> bool:
    """Could these space-separated fragments be one word split by kerning?"""
    if before[-1:].isdigit() or after[:1].isdigit():
        return False
    if parts[-1] == "et" and next_word == "al":  # "Mark et al." is a citation
        return False
    return bool(_LEFT_PART_RE.match(parts[0])) and all(_RIGHT_PART_RE.match(p) for p in parts[1:])


def repair_kerning(text: str, vocab: Vocabulary) -> tuple[str, int]:
    """Merge kerning splits in `text`. Returns the repaired text and the number of merges.

    Walks the words left to right; at each word it tries to merge the next two, then the next
    one, space-separated fragments into it ("a vailab le", "emplo yed").
    """
    parts = _SPLIT_RE.split(text)  # separators at even indexes, words at odd ones
    out: list[str] = [parts[0]]
    merges = 0
    i = 1
    n = len(parts)
    while i < n:
        word = parts[i]
        taken = 1
        # Fast path: a merge needs a single space and a lower-case fragment after this word.
        if i + 2 < n and parts[i + 1] == " " and parts[i + 2].islower():
            for span in (3, 2):
                last = i + 2 * (span - 1)
                if last >= n or (span == 3 and parts[i + 3] != " "):
                    continue
                run = [parts[j] for j in range(i, last + 1, 2)]
                after = parts[last + 1] if last + 1 < n else ""
                next_word = parts[last + 2] if last + 2 < n else ""
                if _mergeable_run(run, out[-1], after, next_word) and vocab.should_merge_run(run):
                    word, taken = "".join(run), span
                    merges += 1
                    break
        out.append(word)
        i += 2 * taken
        if i - 1 < n:
            out.append(parts[i - 1])
    return "".join(out), merges


def join_lines(lines: list[str], vocab: Vocabulary) -> str:
    """Join the lines of one paragraph with spaces, undoing line-end hyphenation."""
    out = ""
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if not out:
            out = line
        elif out.endswith("\u00ad"):  # a soft hyphen marks a discretionary break
            out = out[:-1] + line
        else:
            out = _join_pair(out, line, vocab)
    return out.replace("\u00ad", "")


def _join_pair(left: str, right: str, vocab: Vocabulary) -> str:
    last = left.rsplit(None, 1)[-1]
    if last.endswith("/") and ("://" in last or last.startswith("www.")):  # a wrapped URL
        return left + right
    end = _HYPHEN_END_RE.search(left)
    start = _LEADING_WORD_RE.match(right)
    if not end or not start:
        return f"{left.rstrip()} {right}"
    head, tail = end.group(1), start.group(1)
    stem = left[: end.start()]
    if tail[0].isupper():  # "anti-" + "HBs", "Hepatitis-" + "B": a real hyphen
        return f"{stem}{head}-{right}"
    joined = (head + tail).lower()
    hyphenated = f"{head}-{tail}".lower()
    if vocab.compounds[hyphenated] > vocab.words[joined]:
        return f"{stem}{head}-{right}"
    if vocab.words[joined] or joined in english_words():
        return f"{stem}{head}{right}"
    return f"{stem}{head}-{right}"


def unknown_word_count(text: str) -> int:
    """Tokens of two or more letters that are not English words (a measure of broken words)."""
    words = english_words()
    return sum(1 for w in _WORD_RE.findall(text) if len(w) > 1 and w.lower() not in words)
