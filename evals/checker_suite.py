"""A claim-checker suite generated from the corpus: true claims, perturbed claims and off-topic claims.

Every case is made by code from sentences of the ingested corpus (deterministic, no hand-picking):
- `true`: the sentence itself, and a paraphrase (domain synonyms swapped in, or its first clause);
- `number`: one value changed ("72 hours" -> "144 hours");
- `unit`: the unit changed within its kind ("72 hours" -> "72 days", "mg" -> "g");
- `negation`: a negation added after the first modal or auxiliary, or an existing one removed;
- `entity`: a vaccine, infection, test, drug or role swapped for another of its kind;
- `antonym`: a word swapped for its opposite ("before" -> "after");
- `offtopic`: a true sentence checked against passages from a different topic folder.

Expected: `true` -> supported; every perturbation -> contradicted or unsupported; `offtopic` ->
unsupported. `split` is "fit" or "check" by a hash of the document id, so calibration fits on
one half of the documents and reports on the other.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass

from kb.records import Chunk
from kb.sentences import split_sentences
from kb.verify.polarity import OPPOSITES
from kb.verify.quantities import UNITS, extract_quantities
from kb.verify.untrusted import is_instruction

PERTURBATIONS = ("number", "unit", "negation", "entity", "antonym")


@dataclass(frozen=True)
class CheckerCase:
    id: str
    kind: str  # true | number | unit | negation | entity | antonym | offtopic
    claim: str
    source: str  # the sentence the claim was made from
    doc_id: str
    folder: str
    split: str  # fit | check

    @property
    def expect_supported(self) -> bool:
        return self.kind == "true"


_UNIT_SWAPS = {
    "hours": "days", "hour": "day", "days": "weeks", "day": "week", "weeks": "months", "week": "month",
    "months": "years", "month": "year", "years": "months", "year": "month", "minutes": "hours",
    "mg": "g", "ml": "litres", "mIU/ml": "IU/ml", "%": " mg", "copies/ml": "mIU/ml",
}
_ENTITY_SWAPS = [
    ("hepatitis B", "hepatitis C"), ("hepatitis C", "hepatitis B"), ("HIV", "hepatitis B"), ("MMR", "BCG"),
    ("BCG", "MMR"), ("measles", "varicella"), ("varicella", "measles"), ("influenza", "pertussis"),
    ("flu", "pertussis"), ("pertussis", "influenza"), ("COVID-19", "influenza"), ("tuberculosis", "measles"),
    ("line manager", "OH physician"), ("OH physician", "line manager"), ("occupational health", "line manager"),
    ("Occupational Health", "the line manager"), ("the worker", "the line manager"), ("anti-HBs", "HBsAg"),
    ("HBsAg", "anti-HBs"), ("raltegravir", "tenofovir"), ("tenofovir", "raltegravir"), ("HBIG", "raltegravir"),
    ("rubella", "mumps"), ("GP", "line manager"),
]
_MODAL = re.compile(r"\b(should|must|can|will|may|is|are|was|were|does|do)\b(?! not)", re.I)
_NEGATION = re.compile(r"\b(?:do not|does not|should not|must not|is not|are not|cannot|can not|no longer|never|not) ", re.I)
_SYNONYM_PARAPHRASES = [
    (r"\bPEP\b", "post-exposure prophylaxis"), (r"\bpost-exposure prophylaxis\b", "PEP"),
    (r"\bhealthcare workers\b", "HCWs"), (r"\bstaff\b", "workers"), (r"\bworkers\b", "staff"),
    (r"\boccupational health\b", "OH"), (r"\bOccupational Health\b", "OH"), (r"\bOH\b", "occupational health"),
    (r"\bhepatitis B\b", "hep B"), (r"\bexposure-prone procedures\b", "EPPs"), (r"\bEPPs\b", "exposure-prone procedures"),
    (r"\bvaccination\b", "immunisation"), (r"\bimmunisation\b", "vaccination"), (r"\bshould\b", "ought to"),
    (r"\bmust\b", "has to"), (r"\bas soon as possible\b", "promptly"), (r"\bmember of staff\b", "employee"),
]


def _split_of(doc_id: str) -> str:
    return "fit" if int(hashlib.sha256(doc_id.encode()).hexdigest(), 16) % 2 == 0 else "check"


def claim_sentences(chunk: Chunk) -> list[str]:
    out = []
    for s in split_sentences(chunk.text):
        text = " ".join(s.text.split())
        words = text.split()
        if len(words) < 7 or len(words) > 45 or not text.endswith((".", ")")) or is_instruction(text):
            continue
        if "|" in text or text.count(":") > 1:
            continue  # table rows and labels are checked by their own tests
        out.append(text)
    return out


_SECTION_NUMBER = re.compile(r"^\d+(?:\.\d+)*\s")


def _perturb_number(s: str, rng: random.Random) -> str | None:
    qs = [q for q in extract_quantities(s) if q.category != "number" and q.raw]
    if not qs:
        qs = [q for q in extract_quantities(s) if q.category == "number" and not 1900 <= q.low <= 2100
              and not (_SECTION_NUMBER.match(s) and q.start == 0)]
    if not qs:
        return None
    q = rng.choice(qs)
    m = re.search(r"\d+(?:\.\d+)?|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|twelve|a single|an|a)\b",
                  s[q.start : q.end])
    if not m:
        return None
    word = m.group(0)
    words = {"one": "three", "two": "four", "three": "five", "four": "six", "five": "eight", "six": "nine",
             "seven": "ten", "eight": "twelve", "nine": "twelve", "ten": "twenty", "twelve": "twenty",
             "a single": "three", "an": "three", "a": "three"}
    if word.lower() in words:
        new = words[word.lower()]
    else:
        v = float(word)
        new = str(int(v * 2) if v >= 1 else v * 10) if v != 0 else "5"
        new = new[:-2] if new.endswith(".0") else new
    a, b = q.start + m.start(), q.start + m.end()
    return s[:a] + new + s[b:]


def _perturb_unit(s: str) -> str | None:
    for q in extract_quantities(s):
        if q.category in ("number", "frequency") or q.category.startswith("count"):
            continue
        span = s[q.start : q.end]
        for unit in sorted(UNITS, key=len, reverse=True):
            m = re.search(r"(?<![A-Za-z/])" + re.escape(unit) + r"(?![A-Za-z/])", span, re.I)
            if m and unit in {u.lower() for u in _UNIT_SWAPS} | set(_UNIT_SWAPS):
                key = next((k for k in _UNIT_SWAPS if k.lower() == m.group(0).lower()), None)
                if key is None:
                    continue
                a, b = q.start + m.start(), q.start + m.end()
                return s[:a] + _UNIT_SWAPS[key] + s[b:]
    return None


def _perturb_negation(s: str) -> str | None:
    m = _NEGATION.search(s)
    if m:
        removed = m.group(0).lower()
        keep = {"do not ": "", "does not ": "", "should not ": "should ", "must not ": "must ", "is not ": "is ",
                "are not ": "are ", "cannot ": "can ", "can not ": "can ", "no longer ": "", "never ": "always ",
                "not ": ""}[removed]
        if keep and m.group(0)[0].isupper():
            keep = keep.capitalize()
        return s[: m.start()] + keep + s[m.end():]
    m = _MODAL.search(s)
    if not m:
        return None
    return s[: m.end()] + " not" + s[m.end():]


def _perturb_entity(s: str) -> str | None:
    for old, new in _ENTITY_SWAPS:
        m = re.search(r"(?<![\w-])" + re.escape(old) + r"(?![\w-])", s)
        if not m or new.lower() in s.lower():
            continue
        after = s[m.end():].lstrip()[:1]
        before = s[: m.start()].rstrip().split(" ")[-1:] or [""]
        if after.isupper() or (before[0][:1].isupper() and m.start() > 0):
            continue  # part of a name ("UKAP Occupational Health Monitoring Register"): not a swap
        return s[: m.start()] + new + s[m.end():]
    return None


def _perturb_antonym(s: str) -> str | None:
    for word in sorted(OPPOSITES):
        if " " in word:
            continue
        m = re.search(r"\b" + re.escape(word) + r"\b", s)
        if m:
            opposite = sorted(OPPOSITES[word])[0]
            if opposite in s.lower().split():
                continue
            return s[: m.start()] + opposite + s[m.end():]
    return None


def _paraphrase(s: str, rng: random.Random) -> str | None:
    for pattern, repl in rng.sample(_SYNONYM_PARAPHRASES, len(_SYNONYM_PARAPHRASES)):
        if re.search(pattern, s):
            return re.sub(pattern, repl, s, count=1)
    # the first clause of a long sentence is a claim the sentence supports
    head = s.split(", ")[0]
    if head != s and len(head.split()) >= 7:
        return head.rstrip(".") + "."
    return None


def build_cases(chunks: list[Chunk], per_kind: int = 60, seed: int = 7) -> list[CheckerCase]:
    """Cases from the chunks of current documents: up to `per_kind` of each kind."""
    rng = random.Random(seed)
    pool: list[tuple[Chunk, str]] = []
    for c in chunks:
        for s in claim_sentences(c):
            pool.append((c, s))
    rng.shuffle(pool)
    makers = {
        "number": lambda s: _perturb_number(s, rng),
        "unit": _perturb_unit,
        "negation": _perturb_negation,
        "entity": _perturb_entity,
        "antonym": _perturb_antonym,
    }
    cases: list[CheckerCase] = []
    counts: dict[str, int] = {}
    used_true: set[str] = set()

    def add(kind: str, claim: str, c: Chunk, source: str) -> None:
        n = counts.get(kind, 0)
        if n >= per_kind or (claim == source and kind not in ("true", "offtopic")):
            return
        counts[kind] = n + 1
        folder = c.source_path.split("/")[-2] if "/" in c.source_path else ""
        cases.append(CheckerCase(f"{kind}-{n:03d}", kind, claim, source, c.doc_id, folder, _split_of(c.doc_id)))

    for c, s in pool:
        for kind, make in makers.items():
            if counts.get(kind, 0) >= per_kind:
                continue
            new = make(s)
            if new and new != s:
                add(kind, new, c, s)
                break
        if s not in used_true and counts.get("true", 0) < per_kind:
            used_true.add(s)
            para = _paraphrase(s, rng) if counts.get("true", 0) % 2 else None
            add("true", para or s, c, s)
        if counts.get("offtopic", 0) < per_kind // 2 and rng.random() < 0.15:
            add("offtopic", s, c, s)
    return cases
