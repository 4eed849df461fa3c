"""The OH domain vocabulary: abbreviations and synonyms, and the named things a claim must match.

One table serves the claim checker (a paraphrase that says "post-exposure prophylaxis" covers a
source that says "PEP"), refusal (a question about rabies is not answered by hepatitis B
guidance) and query expansion. Curators can extend it in kb.toml:

    [vocabulary.synonyms]
    "needle-stick" = "needlestick"

    [vocabulary.entities]
    vaccine = ["shingrix"]

Every phrase maps to a canonical token; entity canonical tokens carry their type.

>>> canonical_phrases("Hep B jab for HCWs")
'hepatitis_b vaccine for healthcare_worker'
"""

from __future__ import annotations

import re
from functools import lru_cache

# phrase -> canonical token (lower case; multiword phrases are matched as whole words)
SYNONYMS: dict[str, str] = {
    "post-exposure prophylaxis": "pep",
    "post exposure prophylaxis": "pep",
    "pre-exposure prophylaxis": "prep",
    "healthcare workers": "healthcare_worker",
    "healthcare worker": "healthcare_worker",
    "health care workers": "healthcare_worker",
    "health care worker": "healthcare_worker",
    "hcws": "healthcare_worker",
    "hcw": "healthcare_worker",
    "exposure-prone procedures": "epp",
    "exposure prone procedures": "epp",
    "exposure-prone procedure": "epp",
    "exposure prone procedure": "epp",
    "epps": "epp",
    "bloodborne viruses": "bbv",
    "blood-borne viruses": "bbv",
    "blood borne viruses": "bbv",
    "bloodborne virus": "bbv",
    "blood-borne virus": "bbv",
    "bbvs": "bbv",
    "occupational health": "oh",
    "needle-stick": "needlestick",
    "needle stick": "needlestick",
    "sharps injury": "needlestick",
    "sharps injuries": "needlestick",
    "percutaneous injury": "needlestick",
    "hepatitis b": "hepatitis_b",
    "hep b": "hepatitis_b",
    "hepb": "hepatitis_b",
    "hbv": "hepatitis_b",
    "hepatitis c": "hepatitis_c",
    "hep c": "hepatitis_c",
    "hcv": "hepatitis_c",
    "hepatitis a": "hepatitis_a",
    "hep a": "hepatitis_a",
    "hepatitis b immunoglobulin": "hbig",
    "human immunodeficiency virus": "hiv",
    "chickenpox": "varicella",
    "chicken pox": "varicella",
    "flu": "influenza",
    "whooping cough": "pertussis",
    "tuberculosis": "tb",
    "covid-19": "covid",
    "covid 19": "covid",
    "sars-cov-2": "covid",
    "coronavirus": "covid",
    "jabs": "vaccine",
    "jab": "vaccine",
    "vaccines": "vaccine",
    "vaccination": "vaccine",
    "vaccinations": "vaccine",
    "immunisation": "vaccine",
    "immunisations": "vaccine",
    "immunization": "vaccine",
    "employees": "worker",
    "employee": "worker",
    "members of staff": "worker",
    "member of staff": "worker",
    "staff member": "worker",
    "staff members": "worker",
    "workers": "worker",
    "staff": "worker",
    "line managers": "line_manager",
    "line manager": "line_manager",
    "managers": "line_manager",
    "manager": "line_manager",
    "oh physician": "oh_physician",
    "occupational health physician": "oh_physician",
    "oh doctor": "oh_physician",
    "oh nurse": "oh_nurse",
    "occupational health nurse": "oh_nurse",
    "oh nurse adviser": "oh_nurse",
    "general practitioner": "gp",
    "anti-hbs": "anti_hbs",
    "anti hbs": "anti_hbs",
    "hbsag": "hbsag",
    "hepatitis b surface antigen": "hbsag",
    "anti-hbc": "anti_hbc",
    "hcv rna": "hcv_rna",
    "viral load": "viral_load",
    "interferon gamma release assay": "igra",
    "tuberculin skin test": "mantoux",
    "health and safety team": "health_safety_team",
    "health and safety": "health_safety_team",
    "measles, mumps and rubella": "mmr",
    "measles mumps and rubella": "mmr",
    "lone workers": "lone_worker",
    "lone worker": "lone_worker",
    "lone working": "lone_working",
    "hand-arm vibration": "havs",
    "hand arm vibration": "havs",
    "yellow fever": "yellow_fever",
    "shingles": "zoster",
    "herpes zoster": "zoster",
    "menacwy": "meningococcal",
    "meningococcus": "meningococcal",
    "monkeypox": "mpox",
    "one time": "once",
    "non-immune": "non_immune",
    "not immune": "non_immune",
    "susceptible": "non_immune",
}

# type -> canonical tokens. A claim that names one of these must match the source's.
ENTITIES: dict[str, tuple[str, ...]] = {
    "infection": (
        "hepatitis_a", "hepatitis_b", "hepatitis_c", "hepatitis_d", "hepatitis_e", "hiv", "measles",
        "mumps", "rubella", "mmr", "varicella", "zoster", "influenza", "covid", "pertussis", "tb", "bcg",
        "diphtheria", "tetanus", "polio", "meningococcal", "typhoid", "rabies", "yellow_fever", "mpox",
        "cholera", "hpv", "pneumococcal", "rsv", "norovirus", "mrsa", "scabies", "smallpox",
        "japanese_encephalitis", "ebola", "legionella", "leptospirosis", "anthrax",
    ),
    "test": (
        "anti_hbs", "hbsag", "anti_hbc", "hcv_rna", "viral_load", "igra", "mantoux", "spirometry",
        "pcr", "audiometry", "x-ray",
    ),
    "drug": (
        "tenofovir", "emtricitabine", "raltegravir", "dolutegravir", "hbig", "immunoglobulin",
        "aciclovir", "isoniazid", "rifampicin", "paracetamol", "ibuprofen",
    ),
    "role": (
        "oh_physician", "oh_nurse", "line_manager", "worker", "gp", "consultant", "clinician",
        "health_safety_team", "supervisor", "security", "hr", "microbiologist", "ukap", "midwife",
        "porter", "student", "volunteer", "contractor", "lone_worker",
    ),
}

_ENTITY_TYPE = {tok: kind for kind, toks in ENTITIES.items() for tok in toks}


def add_vocabulary(extra: dict) -> None:
    """Extend the tables from kb.toml's [vocabulary] section (curators' additions)."""
    for phrase, canon in (extra.get("synonyms") or {}).items():
        SYNONYMS[str(phrase).lower()] = str(canon).lower().replace(" ", "_")
    for kind, toks in (extra.get("entities") or {}).items():
        for t in toks:
            _ENTITY_TYPE[str(t).lower().replace(" ", "_")] = str(kind)
    _phrase_pattern.cache_clear()
    _groups.cache_clear()


def _whole_words(phrases) -> re.Pattern[str]:
    """One pattern matching any of `phrases` as whole words, longest first."""
    ordered = sorted(phrases, key=len, reverse=True)
    return re.compile(r"(?<![\w-])(" + "|".join(re.escape(p) for p in ordered) + r")(?![\w-])")


@lru_cache(maxsize=1)
def _phrase_pattern() -> re.Pattern[str]:
    return _whole_words(SYNONYMS)


def canonical_phrases(text: str) -> str:
    """Lower-case `text` with every known phrase replaced by its canonical token."""
    return _phrase_pattern().sub(lambda m: SYNONYMS[m.group(1)], text.lower())


def entity_type(token: str) -> str | None:
    return _ENTITY_TYPE.get(token)


# Canonical tokens too broad to expand a search query with ("staff" -> "employees", "manager").
_NO_EXPANSION = {"worker", "line_manager", "once", "vaccine"}


@lru_cache(maxsize=1)
def _groups() -> tuple[dict[str, str], dict[str, tuple[str, ...]], re.Pattern[str]]:
    """Every name of a term (its phrases and its canonical token spelled out) -> canonical, the
    names of each canonical token, and one pattern matching any name as whole words."""
    canon_of: dict[str, str] = {}
    for phrase, canon in SYNONYMS.items():
        canon_of[phrase] = canon
        canon_of.setdefault(canon.replace("_", " "), canon)
    names: dict[str, list[str]] = {}
    for name, canon in canon_of.items():
        names.setdefault(canon, []).append(name)
    return canon_of, {c: tuple(sorted(v)) for c, v in names.items()}, _whole_words(canon_of)


def query_expansions(text: str) -> list[str]:
    """The other names of each known term in `text`, for BM25 query expansion.

    >>> query_expansions("Does a HCW need PEP?")[:3]
    ['hcws', 'health care worker', 'health care workers']
    >>> "pep" in query_expansions("post-exposure prophylaxis after a sharps injury")
    True
    """
    canon_of, names, pattern = _groups()
    lower = text.lower()
    out: list[str] = []
    seen: set[str] = set()
    for match in pattern.finditer(lower):
        canon = canon_of[match.group(1)]
        if canon in seen or canon in _NO_EXPANSION:
            continue
        seen.add(canon)
        out.extend(n for n in names[canon] if n not in lower)
    return out
