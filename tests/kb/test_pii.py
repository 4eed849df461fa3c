"""Patient identifiers: valid NHS numbers are caught, invalid check digits are not; redaction."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kb.pii import find_identifiers, nhs_number_is_valid, pii_warnings, redact

REPO = Path(__file__).resolve().parents[2]
VALID = ["9434765919", "4010232137", "943 476 5919", "943-476-5919", "401 023 2137"]
INVALID = ["9434765918", "4010232138", "1234567890", "0000000000", "943 476 5910"]


@pytest.mark.parametrize("number", VALID)
def test_valid_nhs_numbers_are_caught(number):
    found = find_identifiers(f"Patient {number} needs a booster.")
    assert [f.kind for f in found] == ["nhs_number"] and found[0].text == number
    assert pii_warnings(number) and "NHS number" in pii_warnings(number)[0]


@pytest.mark.parametrize("number", INVALID)
def test_invalid_check_digits_are_not_flagged(number):
    assert find_identifiers(f"Reference {number} is on file.") == []


def test_check_digit_10_is_never_valid():
    # 6 x weight 2 = 12, 12 % 11 == 1: the check digit 10: no NHS number has it.
    assert not any(nhs_number_is_valid(f"000000006{d}") for d in range(10))


@pytest.mark.parametrize("text,kind", [
    ("Mrs Jane Smith DOB 03/04/1961 asked about flu vaccine", "date_of_birth"),
    ("Name: John Brown, date of birth 12 March 1975", "date_of_birth"),
    ("Jane Smith, born 1975-03-12, works nights", "date_of_birth"),
    ("Mr Ahmed Khan 4/11/1980 needlestick", "date_of_birth"),
    ("Mr Ahmed Khan lives at LS1 4AP", "postcode"),
    ("MRN 12345678 had a needlestick", "hospital_number"),
    ("hospital number: RX1234567", "hospital_number"),
    ("the patient K1234567 was exposed", "hospital_number"),
])
def test_identifiers_next_to_names(text, kind):
    assert kind in {f.kind for f in find_identifiers(text)}


@pytest.mark.parametrize("text", [
    "Published 12 March 2024; review due 1 March 2027.",  # dates with no name
    "The policy was approved on 03/04/2023 by the Occupational Health Committee.",
    "Send samples to the laboratory at LS1 4AP.",  # a postcode with no name
    "HTM 01-05 and ISBN 9780113225 are references.",
    "Give 0.5 ml at 0, 1 and 6 months; check anti-HBs 1-2 months later.",
    "Call 0113 243 3144 for advice.",
])
def test_ordinary_text_is_not_flagged(text):
    assert find_identifiers(text) == [], find_identifiers(text)


def test_redact_replaces_each_identifier():
    text = "Mrs Jane Smith DOB 03/04/1961, NHS 943 476 5919, MRN K1234567, lives at LS1 4AP."
    out = redact(text)
    for secret in ("03/04/1961", "943 476 5919", "K1234567", "LS1 4AP"):
        assert secret not in out
    assert out == ("Mrs Jane Smith DOB [date of birth], NHS [NHS number], MRN [hospital number], "
                   "lives at [postcode].")
    assert redact("no identifiers here") == "no identifiers here"


def test_golden_questions_have_no_hits():
    """The golden questions contain no patient data: the detector must stay silent on all of them."""
    lines = (REPO / "evals/datasets/golden.jsonl").read_text(encoding="utf-8").splitlines()
    questions = [json.loads(x)["question"] for x in lines if x.strip()]
    assert len(questions) >= 100
    assert [q for q in questions if find_identifiers(q)] == []


def test_corpus_text_files_have_no_hits():
    files = [p for p in (REPO / "corpus").rglob("*") if p.suffix in {".md", ".txt", ".html", ".eml"}
             and "_build" not in p.parts]
    assert len(files) >= 30
    hits = {str(p): find_identifiers(p.read_text(encoding="utf-8", errors="replace")) for p in files}
    assert {k: v for k, v in hits.items() if v} == {}
