"""Polarity and modality: which content words a sentence negates, and which opposite words it uses.

A negation cue ("not", "never", "no longer", "do not") scopes over the next few words up to a
clause boundary. Two sentences disagree in polarity when a content term they share is negated
in one and not in the other ("PEP is recommended" against "PEP is no longer recommended"), or
when one uses a word and the other its opposite ("before" against "after", "live" against
"inactivated").

>>> sorted(negated_terms("PEP is no longer recommended when the source is undetectable."))
['recommend']
"""

from __future__ import annotations

import re

from kb.terms import STOP_WORDS, stem, tokens

NEGATIONS = frozenset("not no never none nor neither nothing".split())
# A cue scopes over at most this many following tokens, and never past a clause boundary.
SCOPE = 4
# "needed" is a stop word for coverage, but "no test is needed" negates the need.
_STOP = STOP_WORDS - {"need", "needs", "needed"}
_CONTRACTION = re.compile(r"n[\'’]t\b")
_BOUNDARY = re.compile(r"[,;:()]|\b(?:but|unless|except|whereas|although|however|if|when|while|because|and then)\b")

# word -> its opposite(s): a claim using one where the source uses the other disagrees.
_OPPOSITES = [
    ("before", "after"), ("live", "inactivated"), ("positive", "negative"), ("detectable", "undetectable"),
    ("increase", "decrease"), ("higher", "lower"), ("more", "less"), ("more", "fewer"), ("above", "below"),
    ("minimum", "maximum"), ("mandatory", "voluntary"), ("mandatory", "optional"), ("compulsory", "voluntary"),
    ("compulsory", "optional"), ("required", "optional"), ("responder", "non-responder"), ("immune", "non-immune"),
    ("immune", "susceptible"), ("safe", "unsafe"), ("allowed", "prohibited"), ("permitted", "prohibited"),
    ("recommended", "contraindicated"), ("recommended", "discouraged"), ("start", "stop"),
    ("continue", "stop"), ("continue", "discontinue"), ("accept", "reject"), ("include", "exclude"),
    ("always", "never"), ("earliest", "latest"), ("fit", "unfit"), ("suitable", "unsuitable"),
    ("anonymous", "named"), ("written", "verbal"), ("high", "low"), ("increased", "reduced"),
    ("longer", "shorter"),
]
OPPOSITES: dict[str, set[str]] = {}
for a, b in _OPPOSITES:
    OPPOSITES.setdefault(a, set()).add(b)
    OPPOSITES.setdefault(b, set()).add(a)


_COMPARATIVE = re.compile(r"\b(?:no|not) (?:later|more|less|fewer|longer|sooner|earlier|greater) than\b")


def normalise_negation(text: str) -> str:
    """"don't" -> "do not", "cannot" -> "can not", so one set of cues covers every spelling.
    "no later than" is a bound on a quantity, not a negation: it becomes "by"."""
    text = _CONTRACTION.sub(" not", text.lower().replace("cannot", "can not").replace("won't", "will not"))
    return _COMPARATIVE.sub("by", text)


def negated_terms(text: str) -> set[str]:
    """Content terms that fall inside the scope of a negation cue."""
    out: set[str] = set()
    for clause in _BOUNDARY.split(normalise_negation(text)):
        toks = tokens(clause)
        i = 0
        while i < len(toks):
            t = toks[i]
            if t in NEGATIONS or (t == "no" and i + 1 < len(toks) and toks[i + 1] == "longer"):
                for u in toks[i + 1 : i + 1 + SCOPE]:
                    if u not in _STOP and u not in NEGATIONS and u != "longer" and not u[0].isdigit():
                        out.add(stem(u))
            i += 1
    return out


CONTEXT = 3  # content words either side that an opposite word must share with the claim's


def _contexts(text: str) -> dict[str, set[str]]:
    """Each opposite word in `text` with the content words around it."""
    toks = tokens(normalise_negation(text))
    out: dict[str, set[str]] = {}
    for i, t in enumerate(toks):
        if t in OPPOSITES:
            near = [stem(u) for u in toks[max(0, i - 6) : i] + toks[i + 1 : i + 7] if u not in _STOP]
            out.setdefault(t, set()).update(near[:CONTEXT * 2])
    return out


def polarity_conflict(claim: str, source: str) -> str | None:
    """A reason when `claim` and `source` disagree in polarity on a shared point, else None."""
    c_terms = {stem(t) for t in tokens(normalise_negation(claim)) if t not in _STOP}
    s_terms = {stem(t) for t in tokens(normalise_negation(source)) if t not in _STOP}
    shared = c_terms & s_terms
    c_neg, s_neg = negated_terms(claim) & shared, negated_terms(source) & shared
    flipped = sorted(c_neg ^ s_neg)
    if flipped:
        word = flipped[0]
        if word in c_neg:
            return f"the claim negates '{word}', the source does not"
        return f"the source negates '{word}', the claim does not"
    c_ctx, s_ctx = _contexts(claim), _contexts(source)
    for w in sorted(set(c_ctx) - set(s_ctx)):
        for o in sorted(OPPOSITES[w] & (set(s_ctx) - set(c_ctx))):
            if c_ctx[w] & s_ctx[o]:  # about the same thing: "start of the shift" / "stop of the shift"
                return f"the claim says '{w}', the source says '{o}'"
    return None
