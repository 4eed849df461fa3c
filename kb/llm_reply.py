"""Read a model's reply into sentences and the source numbers each one cites.

Real models put citation markers before or after the full stop, so both attach to the
sentence they follow:

>>> [(s.text, s.citations) for s in parse_reply("PEP starts within 72 hours [1]. It lasts 28 days. [2][3]", 3)]
[('PEP starts within 72 hours.', [1]), ('It lasts 28 days.', [2, 3])]

Markers may be `[1]`, `[1][2]`, `[1, 2]`, `[1-3]` or `[Source 1]`. The prompt's `<source>` tags,
echoed back by small models, are not sentences:

>>> parse_reply("<source> <source n='1'> </source>", 3)
[]

Numbers outside 1..n_sources are never kept as citations: they are listed in `out_of_range`. A reply that
says NOT_COVERED is detected by `read_reply(...).not_covered`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kb.sentences import split_sentences

NOT_COVERED = "NOT_COVERED"  # the same token as kb.ask.generative.NOT_COVERED (a test keeps them equal)

_NUMS = r"\d+(?:\s*(?:[,;]|[-–])\s*\d+)*"
_MARKER = re.compile(rf"\[\s*(?:sources?\s*)?({_NUMS})\s*\]", re.IGNORECASE)
_MARKERS = rf"(?:\s*{_MARKER.pattern})+"
_LEADING_MARKERS = re.compile(rf"^{_MARKERS}", re.IGNORECASE)
# A terminator glued to its markers with no space before the next sentence: "hours.[1] Next".
_GLUED_END = re.compile(rf"(?<=[.!?]){_MARKERS}(?=\s+\S)", re.IGNORECASE)
_BULLET = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")
_NOT_COVERED = re.compile(r"\bNOT[_ ]COVERED\b")
# The prompt's fence markup echoed back (small models do): never a claim.
_SOURCE_TAG = re.compile(r"</?\s*source\b[^>]*>", re.IGNORECASE)
_MAX_RANGE = 20


@dataclass(frozen=True)
class GeneratedSentence:
    """One sentence of a reply: its text without markers, the sources it cites, and as written."""

    text: str
    citations: list[int]
    raw: str
    out_of_range: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Reply:
    sentences: list[GeneratedSentence]
    not_covered: bool
    out_of_range: list[int]


def _numbers(group: str) -> list[int]:
    out: list[int] = []
    for part in re.split(r"\s*[,;]\s*", group.strip()):
        if not part:
            continue
        bounds = re.split(r"\s*[-–]\s*", part)
        if len(bounds) == 2 and bounds[0] and bounds[1]:
            lo, hi = int(bounds[0]), int(bounds[1])
            if lo <= hi and hi - lo <= _MAX_RANGE:
                out.extend(range(lo, hi + 1))
                continue
            out.extend([lo, hi])
        else:
            out.extend(int(b) for b in bounds if b)
    return out


def cited_numbers(text: str) -> list[int]:
    """Every number cited in `text`, in order, with repeats."""
    return [n for m in _MARKER.finditer(text) for n in _numbers(m.group(1))]


def strip_markers(text: str) -> str:
    body = _MARKER.sub("", text)
    body = _BULLET.sub("", body).replace("**", "")
    body = re.sub(r"\s+([.,;:!?])", r"\1", body)
    return re.sub(r"\s{2,}", " ", body).strip()


def _spans(text: str) -> list[tuple[int, int]]:
    """Sentence spans of the reply, with "end.[1] Next" split after the markers."""
    spans: list[tuple[int, int]] = []
    for s in split_sentences(text):
        start = s.start
        for m in _GLUED_END.finditer(s.text):
            spans.append((start, s.start + m.end()))
            start = s.start + m.end()
        spans.append((start, s.end))
    return spans


def read_reply(text: str, n_sources: int) -> Reply:
    """The reply's sentences (markers attached to the sentence they follow) and whether it says NOT_COVERED."""
    text = _SOURCE_TAG.sub(" ", text)
    pieces: list[list] = []  # [start, end, numbers]
    for start, end in _spans(text):
        seg = text[start:end]
        lead = _LEADING_MARKERS.match(seg)
        if lead and pieces:
            # Markers that open a segment close the sentence before it: "... 72 hours. [1] Next."
            pieces[-1][1] = start + lead.end()
            pieces[-1][2].extend(cited_numbers(lead.group(0)))
            seg_start = start + lead.end()
            if not text[seg_start:end].strip():
                continue
            pieces.append([seg_start, end, cited_numbers(text[seg_start:end])])
        else:
            pieces.append([start, end, cited_numbers(seg)])
    sentences: list[GeneratedSentence] = []
    not_covered = bool(_NOT_COVERED.search(text))
    all_bad: list[int] = []
    for start, end, numbers in pieces:
        raw = text[start:end].strip()
        body = strip_markers(raw)
        if not re.search(r"[^\W\d_]", body) or _NOT_COVERED.search(body):
            continue
        good = sorted({n for n in numbers if 1 <= n <= n_sources})
        bad = sorted({n for n in numbers if not 1 <= n <= n_sources})
        all_bad.extend(n for n in bad if n not in all_bad)
        sentences.append(GeneratedSentence(text=body, citations=good, raw=raw, out_of_range=bad))
    return Reply(sentences=sentences, not_covered=not_covered, out_of_range=sorted(all_bad))


def parse_reply(text: str, n_sources: int) -> list[GeneratedSentence]:
    """The reply's sentences; see `read_reply` for NOT_COVERED and out-of-range numbers."""
    return read_reply(text, n_sources).sentences


def is_not_covered(text: str) -> bool:
    return bool(_NOT_COVERED.search(text))
