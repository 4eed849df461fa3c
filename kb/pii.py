"""Patient identifiers in free text: find them, warn about them, redact them.

Questions, uploads and bulletin drafts are screened before they are stored, logged or sent
to an LLM. Detected:

- NHS numbers: 10 digits (optionally 3-3-4 with spaces or dashes) whose modulus-11 check
  digit is valid. Invalid check digits are not flagged.
- Dates of birth next to a name: a full date (day, month and year) near a "DOB" / "date of
  birth" / "born" cue and a person's name, or right after a titled name ("Mrs Jane Smith 3/4/1961").
- Postcodes next to a name: a full UK postcode within a few words of a person's name.
- Hospital numbers: an MRN / "hospital number" / "patient number" cue followed by an id
  (e.g. "MRN RX1234567"), or, without a cue, one letter plus 6-8 digits (e.g. K1234567).

>>> pii_warnings("Is 943 476 5919 immune?")
['This text looks like it contains patient-identifiable data (an NHS number). Remove it: questions and drafts are recorded.']
>>> redact("NHS no 943 476 5919, MRN K1234567")
'NHS no [NHS number], MRN [hospital number]'
>>> pii_warnings("Is 943 476 5918 immune?")  # wrong check digit
[]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KINDS = {
    "nhs_number": ("an NHS number", "[NHS number]"),
    "date_of_birth": ("a date of birth with a name", "[date of birth]"),
    "postcode": ("a postcode with a name", "[postcode]"),
    "hospital_number": ("a hospital number", "[hospital number]"),
}

_NHS = re.compile(r"(?<![\d-])(\d{3})[ -]?(\d{3})[ -]?(\d{4})(?![\d-])")
_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
          r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)")
_DATE = re.compile(
    r"\b(?:\d{1,2}[/.-]\d{1,2}[/.-](?:19|20)\d{2}"
    r"|(?:19|20)\d{2}-\d{2}-\d{2}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH}\.?,?\s+(?:19|20)\d{{2}}"
    rf"|{_MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+(?:19|20)\d{{2}})\b",
    re.IGNORECASE,
)
_DOB_CUE = re.compile(r"\b(?:d\.?o\.?b\.?|date\s+of\s+birth|born(?:\s+on)?|birth\s*date)\b", re.IGNORECASE)
_TITLE = r"(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Master)\.?"
_CAP = r"[A-Z][a-z]+(?:[-'][A-Z][a-z]+)?"
# A person's name: a title and one or two capitalised words, or a name cue and two words.
_NAME = re.compile(
    rf"\b{_TITLE}\s+{_CAP}(?:\s+{_CAP})?\b"
    rf"|\b(?:[Nn]ame|[Pp]atient|[Ee]mployee|[Ss]taff member)\s*[:\-]?\s+{_CAP}\s+{_CAP}\b"
)
_FIRST_LAST = re.compile(rf"\b{_CAP}\s+{_CAP}\b")
_POSTCODE = re.compile(r"\b(?:[A-Z]{1,2}\d[A-Z\d]?|GIR)\s*\d[A-Z]{2}\b")
_HOSPITAL_CUED = re.compile(
    r"\b(?:MRN|hospital\s+(?:no\.?|number|num)|patient\s+(?:no\.?|number|id)|unit\s+(?:no\.?|number)"
    r"|case\s+(?:no\.?|number)|K\s*number)\s*[:#]?\s*([A-Z]{0,3}\d{5,10}[A-Z]?)\b",
    re.IGNORECASE,
)
# Uncued: one capital letter then 6-8 digits. Two or three letters (PMC1234567, GenBank KF906251)
# fired 151 times on COVID-QA's papers, so longer prefixes need a cue.
_HOSPITAL_FORM = re.compile(r"\b[A-Z]\d{6,8}\b")
WARNING_START = "This text looks like it contains patient-identifiable data"
NEAR = 60  # characters between a name and a date of birth or postcode


@dataclass(frozen=True)
class Identifier:
    kind: str
    start: int
    end: int
    text: str


def nhs_number_is_valid(digits: str) -> bool:
    """Modulus 11: weights 10..2 on the first nine digits; the check digit is 11 - (sum % 11)."""
    if len(digits) != 10 or not digits.isdigit() or len(set(digits)) == 1:
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


def _names(text: str, with_plain: bool) -> list[tuple[int, int]]:
    spans = [m.span() for m in _NAME.finditer(text)]
    if with_plain:
        spans += [m.span() for m in _FIRST_LAST.finditer(text)]
    return spans


def _near(span: tuple[int, int], others: list[tuple[int, int]], distance: int = NEAR) -> bool:
    return any(o[0] - distance <= span[1] and span[0] - distance <= o[1] for o in others)


def find_identifiers(text: str) -> list[Identifier]:
    """Every patient identifier found, in text order."""
    found: list[Identifier] = []
    for m in _NHS.finditer(text):
        if nhs_number_is_valid("".join(m.groups())):
            found.append(Identifier("nhs_number", m.start(), m.end(), m.group()))
    titled = _names(text, with_plain=False)
    cues = [m.span() for m in _DOB_CUE.finditer(text)]
    for m in _DATE.finditer(text):
        cue = _near(m.span(), cues, 25)
        names = _names(text, with_plain=True) if cue else titled
        if (cue and _near(m.span(), names)) or _near(m.span(), titled, 25):
            found.append(Identifier("date_of_birth", m.start(), m.end(), m.group()))
    for m in _POSTCODE.finditer(text):
        if _near(m.span(), titled):
            found.append(Identifier("postcode", m.start(), m.end(), m.group()))
    cued = set()
    for m in _HOSPITAL_CUED.finditer(text):
        cued.add(m.span(1))
        found.append(Identifier("hospital_number", m.start(1), m.end(1), m.group(1)))
    for m in _HOSPITAL_FORM.finditer(text):
        if not any(s[0] <= m.start() < s[1] for s in cued) and not any(
            f.start <= m.start() < f.end for f in found
        ):
            found.append(Identifier("hospital_number", m.start(), m.end(), m.group()))
    found.sort(key=lambda f: f.start)
    out: list[Identifier] = []
    for f in found:  # drop overlaps, keeping the first
        if not out or f.start >= out[-1].end:
            out.append(f)
    return out


def pii_warnings(text: str) -> list[str]:
    """One warning naming what was found, or [] when the text looks clean."""
    kinds = list(dict.fromkeys(f.kind for f in find_identifiers(text or "")))
    if not kinds:
        return []
    what = ", ".join(KINDS[k][0] for k in kinds)
    return [f"{WARNING_START} ({what}). "
            "Remove it: questions and drafts are recorded."]


def redact(text: str) -> str:
    """`text` with every identifier replaced by a placeholder such as [NHS number]."""
    out, last = [], 0
    for f in find_identifiers(text or ""):
        out += [text[last:f.start], KINDS[f.kind][1]]
        last = f.end
    return "".join(out) + (text or "")[last:]
