"""Content terms of a text: canonical phrases, stop words out, light stemming, and rarity.

Rarity is how uncommon a word is in general English (wordfreq's Zipf scale, shipped with the
package, no download), so "rabies" or "anti-HBs" weigh more than "staff" or "given". The claim
checker and refusal both use it: a question whose rarest terms appear nowhere in the evidence
is usually not answered by it.

>>> sorted(content_terms("Hep B boosters are not needed"))
['booster', 'hepatitis_b']
"""

from __future__ import annotations

import re
from functools import lru_cache

from kb.vocabulary import canonical_phrases

STOP_WORDS = frozenset(
    """a an the and or of to in on for with by at from is are was were be been being do does did
    what which who whom when where why how can could should would may might must shall will i we
    you they he she it this that these those there their our your my me us them as if about into
    than then so not no any all some each per its also after before during within need needs needed
    get got have has had long much many most more such other only very own same just both again
    further once here out over under up down off own too via upon whether while until unless
    because though although yet nor either neither one ones""".split()
)
_WORD = re.compile(r"[a-z0-9]+(?:[-_/.][a-z0-9]+)*")
_SUFFIXES = ("ations", "ation", "ings", "ing", "ies", "es", "ed", "s")


def stem(word: str) -> str:
    if "_" in word:
        return word
    for suffix in _SUFFIXES:
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            base = word[: -len(suffix)] + ("y" if suffix == "ies" else "")
            if suffix in ("ed", "ing", "ings") and len(base) > 3 and base[-1] == base[-2] and base[-1] in "bdgmnpt":
                base = base[:-1]  # "scrubbed" -> "scrub", "stopping" -> "stop"
            return base
    return word


def tokens(text: str) -> list[str]:
    """Canonical lower-case tokens in order (stop words kept)."""
    return _WORD.findall(canonical_phrases(text))


def content_terms(text: str) -> set[str]:
    """Stemmed content terms: no stop words, no single characters."""
    return {stem(t) for t in tokens(text) if t not in STOP_WORDS and len(t) > 1}


def topic_terms(text: str) -> set[str]:
    """Content terms without numbers and units: what a sentence is about, not the values it states.

    The claim checker aligns a claim with its source on these, so a changed number does not
    hide the sentence it was changed from; the quantity check then compares the values.
    """
    from kb.verify.quantities import NUMBER_WORDS, UNITS

    return {t for t in content_terms(text)
            if not any(ch.isdigit() for ch in t) and t not in UNITS and t not in NUMBER_WORDS
            and stem(t) not in {stem(u) for u in ("hours", "days", "weeks", "months", "years", "minutes", "doses")}}


@lru_cache(maxsize=65536)
def rarity(term: str) -> float:
    """0 for the commonest English words, up to 1 for words English text almost never uses.

    Canonical domain tokens ("hepatitis_b") and terms with digits count as rare.
    """
    if "_" in term or any(ch.isdigit() for ch in term):
        return 1.0
    from wordfreq import zipf_frequency

    z = zipf_frequency(term, "en")
    # Zipf 7+ ("the") -> 0; Zipf <= 2 (rare technical words) -> 1.
    return max(0.0, min(1.0, (6.0 - z) / 4.0))


def weighted_coverage(terms: set[str], pool: set[str]) -> float:
    """Share of `terms`' rarity mass found in `pool` (1.0 when `terms` is empty)."""
    total = sum(rarity(t) for t in terms)
    if total <= 0:
        return 1.0
    return sum(rarity(t) for t in terms if t in pool) / total


def uncovered(terms: set[str], pool: set[str], min_rarity: float = 0.5) -> list[str]:
    """The rare terms of `terms` missing from `pool`, rarest first."""
    return sorted((t for t in terms if t not in pool and rarity(t) >= min_rarity), key=lambda t: -rarity(t))
