"""Quantities in a sentence: numbers with units, ranges, intervals, frequencies, doses and counts.

Units are normalised so that "72 hours" and "3 days" agree and "30 days" and "72 hours" do not.

>>> [q.describe() for q in extract_quantities("Start PEP within 72 hours; give 2 doses of 400 mg twice a day.")]
['within 72 hours', '2 doses', '400 mg', 'twice a day']
>>> agree(extract_quantities("3 days")[0], extract_quantities("72 hours")[0])
True
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

NUMBER_WORDS = {
    "zero": 0, "a": 1, "an": 1, "one": 1, "single": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "eighteen": 18, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "hundred": 100, "half": 0.5,
    "twenty-four": 24, "twenty-eight": 28, "forty-eight": 48, "seventy-two": 72,
}
# unit word -> (category, factor to the category's base unit)
UNITS: dict[str, tuple[str, float]] = {}
for names, cat, factor in (
    (("second", "seconds", "sec", "secs"), "time", 1 / 3600),
    (("minute", "minutes", "min", "mins"), "time", 1 / 60),
    (("hour", "hours", "hr", "hrs", "h"), "time", 1.0),
    (("day", "days"), "time", 24.0),
    (("week", "weeks", "wk", "wks"), "time", 168.0),
    (("fortnight", "fortnights"), "time", 336.0),
    (("month", "months"), "time", 730.0),
    (("year", "years", "yr", "yrs"), "time", 8760.0),
    (("mcg", "microgram", "micrograms", "µg", "ug"), "mass", 0.001),
    (("mg", "milligram", "milligrams"), "mass", 1.0),
    (("g", "gram", "grams"), "mass", 1000.0),
    (("kg",), "mass", 1e6),
    (("ml", "millilitre", "millilitres"), "volume", 1.0),
    (("l", "litre", "litres", "liter", "liters"), "volume", 1000.0),
    (("miu/ml", "iu/l"), "titre", 1.0),
    (("iu/ml",), "titre", 1000.0),
    (("copies/ml",), "viral_load", 1.0),
    (("%", "percent", "per cent"), "percent", 1.0),
    (("db", "db(a)", "dba"), "decibel", 1.0),
    (("°c", "degrees"), "temperature", 1.0),
    (("m/s2", "m/s²"), "vibration", 1.0),
):
    for n in names:
        UNITS[n] = (cat, factor)

# Things that are counted: "3 doses", "two further courses", "a single booster dose".
COUNT_NOUNS = {
    "dose": "dose", "doses": "dose", "course": "course", "courses": "course", "booster": "dose",
    "boosters": "dose", "tablet": "tablet", "tablets": "tablet", "injection": "injection",
    "injections": "injection", "test": "test", "tests": "test", "sample": "sample", "samples": "sample",
    "vaccination": "dose", "vaccinations": "dose", "session": "session", "sessions": "session",
    "visit": "visit", "visits": "visit", "appointment": "appointment", "appointments": "appointment",
    "occasion": "occasion", "occasions": "occasion", "people": "person", "persons": "person",
    "staff": "person", "workers": "person", "shifts": "shift", "shift": "shift",
}
_PERIODS = {"hour": 1.0, "day": 24.0, "week": 168.0, "month": 730.0, "year": 8760.0, "fortnight": 336.0}
_ADVERBS = {"hourly": 1.0, "daily": 24.0, "weekly": 168.0, "fortnightly": 336.0, "monthly": 730.0,
            "annually": 8760.0, "yearly": 8760.0}
_TIMES = {"once": 1, "twice": 2, "thrice": 3}

_NUM = r"(?:\d+(?:[.,]\d+)*|" + "|".join(sorted((re.escape(w) for w in NUMBER_WORDS), key=len, reverse=True)) + r")"
_UNIT = "|".join(sorted((re.escape(u) for u in UNITS), key=len, reverse=True))
_COMPARATOR = (r"(?P<cmp>at least|at most|no more than|no less than|no later than|not more than|"
               r"not less than|more than|less than|fewer than|up to|over|under|above|below|within|"
               r"minimum of|maximum of|or more|or less|or longer|or over)?")
_RANGE = re.compile(
    _COMPARATOR + r"\s*(?P<between>between\s+)?(?<![\w.])(?P<a>" + _NUM + r")"
    r"(?:\s*(?P<conn>-|–|to|and)\s*(?P<b>" + _NUM + r"))?"
    r"(?:\s+(?:full|whole|clear|working|calendar|consecutive|further|more|additional|extra))?"
    r"\s*(?P<unit>" + _UNIT + r")(?![a-z])(?P<post>\s+(?:or more|or less|or longer|or over|or above|or below))?",
    re.IGNORECASE,
)
_EVERY = re.compile(r"\bevery\s+(?:(?P<n>" + _NUM + r")\s+)?(?P<unit>hours?|days?|weeks?|months?|years?|fortnights?)\b", re.I)
_TIMES_PER = re.compile(
    r"\b(?P<n>once|twice|thrice|" + _NUM + r"\s+times)\s+(?:a|an|per|each|every)\s+(?P<unit>hour|day|week|month|year)\b", re.I
)
_ADVERB = re.compile(r"\b(?P<adv>" + "|".join(_ADVERBS) + r")\b", re.I)
_COUNT = re.compile(
    r"(?<![\w.])(?P<n>" + _NUM + r")\s+(?:(?P<mod>further|more|additional|extra|separate|booster|full|complete|"
    r"primary|routine|repeat|single)\s+)?(?P<noun>" + "|".join(sorted(COUNT_NOUNS, key=len, reverse=True)) + r")\b",
    re.I,
)
# A bare number: not part of a word, a decimal or a section number ("7.1"); a full stop after it
# ends the sentence ("reviewed by January 2027.": the year is still a value to compare).
_BARE = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)(?!\w|\.\d)")


@dataclass(frozen=True)
class Quantity:
    """A value or range in one category's base unit (time in hours, mass in mg, volume in ml)."""

    category: str  # time, mass, volume, titre, viral_load, percent, frequency, count:<noun>, number
    low: float
    high: float
    text: str
    comparator: str = ""  # "at least", "below", ... as written (lower case)
    start: int = 0
    end: int = 0
    raw: tuple[float, ...] = ()  # the numbers as written, before unit conversion

    def describe(self) -> str:
        return " ".join(self.text.split())


def parse_number(word: str) -> float | None:
    w = word.lower().strip()
    if w in NUMBER_WORDS:
        return float(NUMBER_WORDS[w])
    w = w.replace(",", "")
    try:
        return float(w)
    except ValueError:
        return None


def _lower_bound(cmp: str) -> bool:
    return cmp in {"at least", "no less than", "not less than", "more than", "over", "above", "minimum of",
                   "or more", "or longer", "or over", "or above"}


def _upper_bound(cmp: str) -> bool:
    return cmp in {"at most", "no more than", "no later than", "not more than", "less than", "fewer than",
                   "up to", "under", "below", "within", "maximum of", "or less", "or below"}


def extract_quantities(text: str) -> list[Quantity]:
    """Every quantity in `text`, left to right, spans not overlapping."""
    found: list[Quantity] = []
    taken: list[tuple[int, int]] = []

    def free(s: int, e: int) -> bool:
        return all(e <= a or s >= b for a, b in taken)

    def add(q: Quantity) -> None:
        if free(q.start, q.end):
            found.append(q)
            taken.append((q.start, q.end))

    for m in _TIMES_PER.finditer(text):
        n = m.group("n").lower()
        times = _TIMES.get(n) or parse_number(n.split()[0]) or 1
        period = _PERIODS[m.group("unit").lower()] / times
        add(Quantity("frequency", period, period, m.group(0), "", m.start(), m.end(), (float(times),)))
    for m in _EVERY.finditer(text):
        n = parse_number(m.group("n")) if m.group("n") else 1.0
        if n is None:
            continue
        period = n * _PERIODS[m.group("unit").lower().rstrip("s")]
        add(Quantity("frequency", period, period, m.group(0), "", m.start(), m.end(), (n,)))
    for m in _ADVERB.finditer(text):
        period = _ADVERBS[m.group("adv").lower()]
        add(Quantity("frequency", period, period, m.group(0), "", m.start(), m.end(), (1.0,)))
    for m in _COUNT.finditer(text):
        word = m.group("n").lower()
        if word in ("a", "an") and (m.group("mod") or "").lower() != "single":
            continue  # "a dose" is not a count; "a single dose" is
        n = parse_number(word)
        if n is None:
            continue
        noun = COUNT_NOUNS[m.group("noun").lower()]
        add(Quantity(f"count:{noun}", n, n, m.group(0), "", m.start(), m.end(), (n,)))
    for m in _RANGE.finditer(text):
        unit = m.group("unit").lower()
        if unit in ("h", "l", "g") and not re.match(r"\d", m.group("a")):
            continue  # "an h", "a g": not quantities
        if m.group("a").lower() in ("a", "an") and unit in ("%",):
            continue
        a = parse_number(m.group("a"))
        b = parse_number(m.group("b")) if m.group("b") else a
        if m.group("conn") and m.group("conn").lower() == "and" and not m.group("between"):
            b = a  # "0, 1 and 6 months" is a list, not a range: keep the last value
            a = parse_number(m.group("b"))
            b = a
        if a is None or b is None:
            continue
        cat, factor = UNITS[unit]
        cmp = (m.group("cmp") or (m.group("post") or "")).strip().lower()
        lo, hi = sorted((a * factor, b * factor))
        start = m.start("a") if not m.group("cmp") else m.start()
        add(Quantity(cat, lo, hi, text[start : m.end()], cmp, start, m.end(), tuple({a, b})))
    for m in _BARE.finditer(text):
        v = float(m.group(1))
        add(Quantity("number", v, v, m.group(0), "", m.start(), m.end(), (v,)))
    found.sort(key=lambda q: q.start)
    return found


def _close(a: float, b: float, tol: float) -> bool:
    if a == b:
        return True
    if math.isinf(a) or math.isinf(b):
        return False
    return abs(a - b) <= tol * max(abs(a), abs(b))


def tolerance(category: str) -> float:
    # months and weeks do not divide evenly (1 month ~ 4.35 weeks): allow 10% for time.
    return 0.1 if category in ("time", "frequency") else 0.01


def agree(claim: Quantity, source: Quantity) -> bool:
    """Same category, and the claim's value or range lies within (or equals) the source's."""
    if claim.category != source.category:
        return False
    tol = tolerance(claim.category)
    if _close(claim.low, source.low, tol) and _close(claim.high, source.high, tol):
        return not _opposite_bounds(claim.comparator, source.comparator)
    if source.low < source.high:  # a range in the source: the claim's value falls inside it
        return source.low * (1 - tol) <= claim.low and claim.high <= source.high * (1 + tol)
    return False


def _opposite_bounds(a: str, b: str) -> bool:
    return (_lower_bound(a) and _upper_bound(b)) or (_upper_bound(a) and _lower_bound(b))


def comparable(q: Quantity, others: list[Quantity]) -> list[Quantity]:
    """The quantities in `others` that measure the same thing as `q`."""
    return [o for o in others if o.category == q.category]


def written_numbers(qs: list[Quantity]) -> set[float]:
    """Every number as written in the text ("3 days" gives 3), for matching bare numbers."""
    return {round(v, 6) for q in qs for v in q.raw}
