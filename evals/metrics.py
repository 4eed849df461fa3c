"""Eval metrics as pure functions over ids, texts and numbers.

Ranking metrics follow the usual IR definitions (Manning, Raghavan & Schuetze, ch. 8;
nDCG: Jaervelin & Kekaelaeinen 2002, binary gains, log2 discount). Token F1 is SQuAD's
(Rajpurkar et al. 2016): lower-case, strip punctuation and articles, bag-of-tokens F1.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence

# ---------------------------------------------------------------- retrieval


def dedupe(ids: Iterable[str]) -> list[str]:
    """Keep the first occurrence of each id (document-level rankings from chunk hits)."""
    return list(dict.fromkeys(ids))


def recall_at_k(ranked: Sequence[str], relevant: Iterable[str], k: int) -> float:
    """Share of the relevant ids found in the top k. 0 when nothing is relevant."""
    rel = set(relevant)
    if not rel:
        return 0.0
    return len(rel & set(ranked[:k])) / len(rel)


def hit_at_k(ranked: Sequence[str], relevant: Iterable[str], k: int) -> float:
    """1 if any relevant id is in the top k (success@k), else 0."""
    rel = set(relevant)
    return 1.0 if any(r in rel for r in ranked[:k]) else 0.0


def mrr_at_k(ranked: Sequence[str], relevant: Iterable[str], k: int = 10) -> float:
    """Reciprocal rank of the first relevant id within the top k, else 0."""
    rel = set(relevant)
    for i, r in enumerate(ranked[:k], start=1):
        if r in rel:
            return 1.0 / i
    return 0.0


def ndcg_at_k(ranked: Sequence[str], relevant: Iterable[str], k: int = 10) -> float:
    """Binary-gain nDCG@k; repeated ids earn gain only once."""
    rel = set(relevant)
    if not rel:
        return 0.0
    seen: set[str] = set()
    dcg = 0.0
    for i, r in enumerate(ranked[:k], start=1):
        if r in rel and r not in seen:
            dcg += 1.0 / math.log2(i + 1)
            seen.add(r)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(rel), k) + 1))
    return dcg / ideal


def flags_recall_at_k(flags: Sequence[bool], k: int) -> float:
    """1 if any of the first k hits is relevant (e.g. contains the gold answer span)."""
    return 1.0 if any(flags[:k]) else 0.0


def flags_mrr(flags: Sequence[bool], k: int = 10) -> float:
    for i, f in enumerate(flags[:k], start=1):
        if f:
            return 1.0 / i
    return 0.0


def flags_ndcg(flags: Sequence[bool], k: int = 10, n_relevant: int = 1) -> float:
    """nDCG@k from per-hit relevance flags, with `n_relevant` items in the ideal ranking."""
    dcg = sum(1.0 / math.log2(i + 1) for i, f in enumerate(flags[:k], start=1) if f)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(max(n_relevant, 1), k) + 1))
    return min(dcg / ideal, 1.0)


def pages_overlap(hit_start: int | None, hit_end: int | None, gold_pages: Iterable[int]) -> bool:
    """True when the hit's page range [start, end] contains any gold page."""
    if hit_start is None:
        return False
    end = hit_end if hit_end is not None else hit_start
    return any(hit_start <= p <= end for p in gold_pages)


# ---------------------------------------------------------------- citations


def citation_precision_recall(cited: Iterable[str], gold: Iterable[str]) -> tuple[float, float]:
    """Precision and recall of the cited document ids against the gold ids (sets).

    No citations: precision 1 if nothing was expected else 0; recall 1 only if nothing was expected.
    """
    c, g = set(cited), set(gold)
    if not c:
        return (1.0, 1.0) if not g else (0.0, 0.0)
    precision = len(c & g) / len(c)
    recall = len(c & g) / len(g) if g else 1.0
    return precision, recall


# ---------------------------------------------------------------- answers

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans("", "", string.punctuation)


def normalize(text: str) -> str:
    """SQuAD normalisation: lower case, no punctuation, no articles, single spaces."""
    text = text.lower().translate(_PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def token_f1(prediction: str, reference: str) -> float:
    p, r = normalize(prediction).split(), normalize(reference).split()
    if not p or not r:
        return float(p == r)
    common = Counter(p) & Counter(r)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(p), same / len(r)
    return 2 * precision * recall / (precision + recall)


def contains_span(text: str, span: str) -> bool:
    """Whether `span` occurs in `text` after SQuAD normalisation."""
    s = normalize(span)
    return bool(s) and s in normalize(text)


def strip_markers(answer: str) -> str:
    """The answer text without its `[n]` citation markers."""
    return " ".join(re.sub(r"\[\d+\]", " ", answer).split())


def key_phrase_recall(answer: str, phrases: Sequence[str]) -> float:
    """Share of key phrases present in the answer (normalised substring match)."""
    if not phrases:
        return 1.0
    return sum(contains_span(answer, p) for p in phrases) / len(phrases)


_MARKS = re.compile(r"((?:\s*\[\d+\])+)")
_NUM = re.compile(r"\[(\d+)\]")


def answer_sentences(answer: str) -> list[tuple[str, list[int]]]:
    """Split an answer into claims: (text, cited numbers), one per run of `[n]` markers.

    Text after the last marker that holds a word is a claim citing nothing.
    "A. [1] B [2][3]." -> [("A.", [1]), ("B", [2, 3])]
    """
    parts = _MARKS.split(answer.strip())
    out: list[tuple[str, list[int]]] = []
    for i in range(0, len(parts), 2):
        text = " ".join(parts[i].split()).lstrip(".,;: ").strip()
        nums = [int(n) for n in _NUM.findall(parts[i + 1])] if i + 1 < len(parts) else []
        if any(ch.isalnum() for ch in text):
            out.append((text, nums))
    return out


def supported_extractive(sentence: str, quotes: Sequence[str], chunks: Sequence[str]) -> bool:
    """Extractive support: some cited quote is an exact substring of its cited chunk, and the
    sentence equals or contains that quote (whitespace-normalised)."""
    s = " ".join(sentence.split())
    for quote, chunk in zip(quotes, chunks, strict=True):
        q = " ".join(quote.split())
        if q and quote in chunk and q in s:
            return True
    return False


def lexical_support(sentence: str, sources: Sequence[str], threshold: float = 0.6) -> bool:
    """Generative support: share of the sentence's content tokens found in any one cited
    source is at least `threshold`."""
    toks = [t for t in normalize(sentence).split() if len(t) > 2]
    if not toks:
        return True
    best = 0.0
    for src in sources:
        vocab = set(normalize(src).split())
        best = max(best, sum(t in vocab for t in toks) / len(toks))
    return best >= threshold


def faithfulness(supported: Sequence[bool]) -> float:
    """Share of answer sentences that are supported; 1 for an empty answer (nothing claimed)."""
    return sum(supported) / len(supported) if supported else 1.0


# ---------------------------------------------------------------- refusals and warnings


def precision_recall(predicted: Sequence[bool], actual: Sequence[bool]) -> tuple[float, float]:
    """Precision and recall of the positive class (e.g. 'refused' vs 'should refuse').

    Precision is 1 when nothing was predicted positive; recall is 1 when nothing is positive.
    """
    if len(predicted) != len(actual):
        raise ValueError("predicted and actual differ in length")
    tp = sum(p and a for p, a in zip(predicted, actual, strict=True))
    pp, ap = sum(predicted), sum(actual)
    return (tp / pp if pp else 1.0), (tp / ap if ap else 1.0)


def accuracy(values: Sequence[bool]) -> float:
    return sum(values) / len(values) if values else 0.0


# ---------------------------------------------------------------- latency and aggregates


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolation percentile (numpy's default), q in [0, 100]."""
    if not values:
        return 0.0
    if not 0 <= q <= 100:
        raise ValueError(f"q must be in [0, 100], got {q}")
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def mean(values: Iterable[float]) -> float:
    xs = list(values)
    return sum(xs) / len(xs) if xs else 0.0
