"""Write evals/datasets/_draft_part_a.jsonl from the questions below.

For PDF gold documents, ``gold_pages`` is computed, not typed: the script finds
the physical page(s) of the built PDF on which the question's ``locator`` text
(a sentence fragment from the answer passage) appears, and checks that every
key phrase appears on those pages. For DOCX and Markdown gold documents
``gold_pages`` is [] and the script checks that the key phrases and the
``gold_section`` heading occur in the document.

Run after build_corpus.py, from the repository root::

    .venv/bin/python corpus/_build/make_eval_part_a.py
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent
OUT = CORPUS.parent / "evals" / "datasets" / "_draft_part_a.jsonl"

# (id, kind, question, gold_doc_id, gold_section, key_phrases, locator, reference_answer, expect_warning)
# gold_doc_id is the primary gold document: gold_pages, gold_section and key_phrases refer to it.

# Other documents of this part that also state the answer (listed after the primary in gold_doc_ids).
BULLETIN = "oh-immunisation-bbv-bulletin-autumn-2025"
ALSO = {
    "a-007": [BULLETIN],   # bulletin section 6 restates the measles exclusion window
    "a-010": [BULLETIN],   # bulletin section 2: staff no longer eligible for COVID-19 vaccine by job
    "a-023": [BULLETIN],   # bulletin section 4: no PEP for a source undetectable for 6 months
    "a-040": [BULLETIN],   # bulletin section 4: ideally within 24 hours
    "a-041": [BULLETIN],   # bulletin section 4: single fourth-generation test at 45 days
}
Q = [
    # ------------------------------------------------------------ answerable
    ("a-001", "answerable",
     "One of our nurses had her anti-HBs checked two months after her third hep B dose and it came back at 45. What do we do now?",
     "hepb-vaccination-hcw-2024", "5.2 Low responders",
     ["low responder", "one booster dose", "No repeat antibody test"],
     "classed as a low responder. Give one booster dose of vaccine",
     "A level of 10-99 mIU/ml makes her a low responder: give a single booster dose; no repeat antibody test is needed and she is then managed like a responder.", False),
    ("a-002", "answerable",
     "When is the right time to take blood to see if someone has responded to the hepatitis B vaccine?",
     "hepb-vaccination-hcw-2024", "4.3 Post-course antibody test",
     ["between one and four months after the last dose"],
     "Check the anti-HBs level between one and four months after the last dose",
     "Check anti-HBs between one and four months after the final dose of the primary course.", False),
    ("a-003", "answerable",
     "A porter has now had two full hep B courses and his antibody level is still under 10. Should we try a third course?",
     "hepb-vaccination-hcw-2024", "5.3 Non-responders",
     ["Do not offer a third routine course", "hepatitis B immunoglobulin (HBIG)"],
     "Do not offer a third routine course",
     "No. After two complete courses he is a confirmed non-responder: don't give a third course, counsel him that he will need HBIG after any significant exposure, and record his status.", False),
    ("a-004", "answerable",
     "Which blood tests should be done before giving a non-responder a second hepatitis B vaccine course?",
     "hepb-vaccination-hcw-2024", "5.3 Non-responders",
     ["HBsAg and anti-HBc"],
     "take blood for HBsAg and anti-HBc",
     "Test HBsAg and anti-HBc to check for current or past hepatitis B infection before starting the second course.", False),
    ("a-005", "answerable",
     "hep b non responder - can they still do EPP work?",
     "hepb-vaccination-hcw-2024", "5.3 Non-responders",
     ["does not in itself prevent anyone from working in a clinical role"],
     "Being a confirmed non-responder does not in itself prevent",
     "Yes. Being a confirmed non-responder does not by itself stop someone working clinically, including in EPP work.", False),
    ("a-006", "answerable",
     "Can we assume a consultant born in 1962 is immune to measles because of her age?",
     "mmr-immunity-hcw", "4.1 What counts as evidence",
     ["Born before 1970", "Age alone is not accepted"],
     "Age alone is not accepted as evidence",
     "No. Being born before 1970 is not accepted as evidence of protection in healthcare settings; she needs two documented MMR doses or positive measles and rubella IgG.", False),
    ("a-007", "answerable",
     "A ward receptionist with no record of MMR sat in the same waiting area as a measles patient. How long does she have to stay off work?",
     "mmr-immunity-hcw", "7.1 Measles exposure",
     ["5th day after their first exposure", "21st day after their last exposure"],
     "must be excluded from work from the 5th day after their first exposure",
     "If she is not protected she must be excluded from the 5th day after first exposure until the 21st day after last exposure, even if she has post-exposure MMR.", False),
    ("a-008", "answerable",
     "New doctor needs both MMR and a TB blood test (IGRA). Does the order matter?",
     "mmr-immunity-hcw", "5.3 Timing with other vaccines and tests",
     ["same day as the MMR dose", "at least four weeks"],
     "take the IGRA blood sample on the same day as the MMR dose",
     "Yes: MMR can suppress IGRA responses, so take the IGRA sample on the same day as the MMR or wait at least four weeks after vaccination.", False),
    ("a-009", "answerable",
     "How long should a member of staff with mumps be kept off work?",
     "mmr-immunity-hcw", "7.3 Rubella and mumps",
     ["five days after the onset of swelling"],
     "A worker with mumps should stay off work for five days",
     "Five days from the onset of the swelling.", False),
    ("a-010", "answerable",
     "Are frontline hospital staff still offered a COVID booster through work this autumn just because they're healthcare workers?",
     "covid-19-vaccination-hcw-2025", "2 Background",
     ["no longer an eligible group"],
     "Frontline health and social care workers are no longer an eligible group",
     "No. From autumn 2025 frontline health and social care workers are no longer eligible because of their job; they can only get it if they qualify by age (75+) or immunosuppression.", False),
    ("a-011", "answerable",
     "One of our physios is immunosuppressed on biologics. Can she still get COVID vaccine, and what should OH do for her?",
     "covid-19-vaccination-hcw-2025", "5.2 Staff who are immunosuppressed",
     ["remain eligible for vaccine through the national programme", "individual workplace risk assessment"],
     "they remain eligible for vaccine through the national programme",
     "Yes, immunosuppressed staff remain eligible through the national programme; OH should confirm she knows how to book and carry out or review an individual workplace risk assessment with any adjustments.", False),
    ("a-012", "answerable",
     "After a positive covid test how many days should a worker stay home?",
     "covid-19-vaccination-hcw-2025", "6 Infection prevention at work",
     ["Do not attend work for 5 days after the day the test was taken"],
     "Do not attend work for 5 days after the day the test was taken",
     "They should not attend work for 5 days after the day the test was taken.", False),
    ("a-013", "answerable",
     "Which of our maternity and neonatal staff should OH offer a whooping cough jab to?",
     "pertussis-vaccination-maternity-neonatal-staff", "3.1 Eligible groups",
     ["no pertussis-containing vaccine in the last 5 years"],
     "One dose if no pertussis-containing vaccine in the last 5 years",
     "Midwives and obstetric staff, neonatal unit staff and paediatric staff caring for infants under one (plus students placed there) get one dose if they have had no pertussis-containing vaccine in the last 5 years.", False),
    ("a-014", "answerable",
     "A neonatal nurse was in contact with a baby with confirmed pertussis ten days ago. Does she need antibiotics, and does she need to be off work?",
     "pertussis-vaccination-maternity-neonatal-staff", "5.2 Exposed staff",
     ["within the last 21 days", "do not need to be excluded from work"],
     "offer antibiotic prophylaxis, usually a macrolide",
     "Yes, offer prophylaxis (usually a macrolide such as azithromycin) because the exposure was within 21 days, plus dTaP/IPV if none in 5 years; she does not need exclusion if she stays well.", False),
    ("a-015", "answerable",
     "How long must a midwife with whooping cough stay away from work?",
     "pertussis-vaccination-maternity-neonatal-staff", "5.3 Staff with symptoms",
     ["48 hours of appropriate antibiotic treatment", "21 days after the cough began"],
     "must stay off work until they have completed 48 hours",
     "Until she has completed 48 hours of appropriate antibiotics, or until 21 days after the cough started if untreated.", False),
    ("a-016", "answerable",
     "What outcome options are there at the end of the pre-placement immunisation checklist?",
     "pre-placement-immunisation-checklist", "9 Outcome",
     ["Fit to start with restrictions", "Not yet fit for clinical work"],
     None,
     "Fit to start with all immunity confirmed; fit to start with immunisation in progress; fit to start with restrictions; or not yet fit for clinical work.", False),
    ("a-017", "answerable",
     "Someone has just stabbed themselves with a used needle. Should they suck it or scrub it with a brush?",
     "sharps-splash-first-aid-risk-assessment", "3 Immediate first aid",
     ["Encourage the wound to bleed gently", "Do not suck the wound; do not scrub it"],
     "Encourage the wound to bleed gently",
     "No. Let it bleed gently, wash with soap and warm running water, dry and cover with a waterproof dressing; don't suck, scrub or squeeze hard.", False),
    ("a-018", "answerable",
     "Is a splash of urine a risk for bloodborne viruses?",
     "sharps-splash-first-aid-risk-assessment", "5.2 Body fluids that carry a risk",
     ["Lower-risk fluids, unless visibly bloodstained", "Urine"],
     "Lower-risk fluids, unless visibly bloodstained",
     "Urine is a lower-risk fluid unless it is visibly bloodstained.", False),
    ("a-019", "answerable",
     "Roughly what are the odds of catching hepatitis C from a needlestick if the patient has active hep C?",
     "sharps-splash-first-aid-risk-assessment", "7 Size of the risk",
     ["About 1 in 30"],
     "Hepatitis C (HCV RNA detectable)",
     "About 1 in 30 after a single needlestick from a source with detectable HCV RNA (compared with about 1 in 3 for e-antigen-positive hepatitis B and 1 in 300 for HIV).", False),
    ("a-020", "answerable",
     "A cleaner found a needle in a bin and pricked herself. Should we send the needle off to be tested for viruses?",
     "sharps-splash-first-aid-risk-assessment", "6.3 Unknown source",
     ["Discarded needles should not be tested"],
     "Discarded needles should not be tested for viruses",
     "No. Discarded needles should not be tested because results are unreliable; judge the risk from the circumstances.", False),
    ("a-021", "answerable",
     "The source patient is unconscious in ITU. Can we test the blood the lab already has to help our injured nurse?",
     "sharps-splash-first-aid-risk-assessment", "6.2 Source who cannot consent",
     ["must not be tested without consent"],
     "Any blood already stored for other purposes must not be tested",
     "No. Testing purely for the worker's benefit is not lawful and stored blood must not be tested without consent; base the risk assessment on the clinical history.", False),
    ("a-022", "answerable",
     "What is the current HIV PEP regimen for a needlestick and how long is the course?",
     "hiv-pep-occupational-2025", "5.2 Regimen",
     ["1200 mg (two 600 mg tablets) once a day", "28 days"],
     "1200 mg (two 600 mg tablets) once a day",
     "Tenofovir disoproxil/emtricitabine one tablet daily plus raltegravir 1200 mg once daily, for 28 days.", False),
    ("a-023", "answerable",
     "Source patient is HIV positive but has had an undetectable viral load on treatment for two years. Does our nurse need PEP?",
     "hiv-pep-occupational-2025", "4 When PEP is recommended",
     ["below 200 copies/ml for at least 6 months", "Not recommended"],
     "HIV positive on treatment, viral load below 200 copies/ml for at least 6 months",
     "No. PEP is not recommended when the source is on treatment with a confirmed viral load below 200 copies/ml for at least 6 months, but confirm this from a recent lab result.", False),
    ("a-024", "answerable",
     "We still have printed copies of the 2018 PEP protocol in the emergency department PEP packs. What does the network want us to do with them?",
     "oh-immunisation-bbv-bulletin-autumn-2025", "4 New HIV PEP protocol",
     ["remove any printed copies of the 2018 protocol"],
     None,
     "The autumn 2025 bulletin asks services to remove printed copies of the 2018 protocol from emergency department and OH PEP packs.", False),
    ("a-025", "answerable",
     "Unvaccinated domestic got a needlestick from a patient known to be hep B surface antigen positive. What hep B treatment does she need?",
     "hepb-post-exposure-management", "5 Recommended management",
     ["Accelerated course of vaccine plus one dose of HBIG"],
     "Accelerated course of vaccine plus one dose of HBIG",
     "An accelerated course of hepatitis B vaccine plus one dose of HBIG, started as soon as possible and ideally within 48 hours.", False),
    ("a-026", "answerable",
     "What's the cut-off for giving hepatitis B immunoglobulin after an exposure?",
     "hepb-post-exposure-management", "3 Key principles",
     ["within 48 hours", "not recommended more than 7 days after the exposure"],
     "HBIG gives immediate, short-lived protection",
     "Give HBIG within 48 hours where possible; it is not recommended more than 7 days after the exposure.", False),
    ("a-027", "answerable",
     "A known hep B non-responder was injured by a needle from a hepatitis B positive patient. What should OH give?",
     "hepb-post-exposure-management", "5.3 Known non-responders",
     ["second dose one month later"],
     "give one dose of HBIG as soon as possible and a second dose one month later",
     "One dose of HBIG as soon as possible and a second one month later; a vaccine booster can be given with the first HBIG at a different site.", False),
    ("a-028", "answerable",
     "After a needlestick from a patient with hepatitis C, which blood tests does the nurse need and when?",
     "bbv-exposure-follow-up-testing", "4.1 Timetable",
     ["HCV RNA (PCR)", "HCV antibody"],
     None,
     "HCV RNA (PCR) at 6 and 12 weeks and an HCV antibody test at 24 weeks.", False),
    ("a-029", "answerable",
     "Does a healthcare assistant who is a documented hep B vaccine responder need hep B blood tests after a needlestick from a hep B positive patient?",
     "bbv-exposure-follow-up-testing", "4.4 Hepatitis B",
     ["do not need any follow-up testing for hepatitis B"],
     None,
     "No. Known responders need no hepatitis B follow-up testing.", False),
    ("a-030", "answerable",
     "Is taking blood or putting in a cannula an exposure-prone procedure?",
     "epp-categories-guide", "4 Procedures that are not exposure-prone",
     ["taking blood, inserting peripheral cannulas"],
     "taking blood, inserting peripheral cannulas",
     "No. Venepuncture, cannulation and setting up IV lines are not EPPs.", False),
    ("a-031", "answerable",
     "Do our midwives who repair perineal tears need EPP clearance?",
     "epp-categories-guide", "5.2 Midwifery and obstetrics",
     ["Midwives who repair tears therefore need EPP health clearance"],
     "Midwives who repair tears therefore need EPP health clearance",
     "Yes. Normal delivery is not EPP, but repairing perineal tears or an episiotomy is, so those midwives need EPP health clearance.", False),
    ("a-032", "answerable",
     "What exactly makes a blood sample 'identity validated' for EPP clearance?",
     "epp-health-clearance", "5 Identity-validated samples",
     ["photographic identification", "must not be carried by the worker"],
     "the worker must show photographic identification",
     "The worker shows photo ID which is recorded, the sample is taken by or for OH (not by the worker or a colleague outside OH), it goes to the lab via OH's route and is not carried by the worker, and the result is reported directly to OH.", False),
    ("a-033", "answerable",
     "A surgeon is joining us from another NHS trust where she already had EPP clearance. Does she have to be retested?",
     "epp-health-clearance", "4.2 Who does not need it again",
     ["do not need routine retesting"],
     "do not need routine retesting when they change employer",
     "No routine retesting is needed if she has stayed in EPP work and we get written confirmation of her earlier identity-validated results, unless there has been a new risk.", False),
    ("a-034", "answerable",
     "How often does a surgeon living with HIV need their viral load checked to keep doing EPPs?",
     "bbv-infected-hcw-epp-2024", "4.2 Monitoring",
     ["every 12 weeks"],
     "Viral load must be measured every 12 weeks",
     "Every 12 weeks on an identity-validated sample, with each result reported to UKAP-OHR.", False),
    ("a-035", "answerable",
     "A dentist with HIV on the monitoring register has just had a viral load of 650 copies/ml. What do we do?",
     "bbv-infected-hcw-epp-2024", "4.3 Raised viral load",
     ["Repeat the test within 10 days"],
     "Repeat the test within 10 days",
     "Repeat the test within 10 days; if the repeat is 200 copies/ml or above, stop EPP work.", False),
    ("a-036", "answerable",
     "Hep B positive nurse, not on treatment, HBV DNA under 200 IU/ml. Can she do EPPs and how often do we test her?",
     "bbv-infected-hcw-epp-2024", "5.2 Workers not on treatment",
     ["every 12 months"],
     "should be checked every 12 months on an identity-validated sample",
     "Yes, she may perform EPPs; check HBV DNA every 12 months on an identity-validated sample. She does not need UKAP-OHR registration.", False),
    ("a-037", "answerable",
     "How soon after getting a monitoring result do we have to put it on UKAP-OHR?",
     "ukap-ohr-registration-procedure", "5.1 Routine results",
     ["within 2 weeks of receiving it"],
     None,
     "Within 2 weeks of receiving the result.", False),
    ("a-038", "answerable",
     "What happens if a registered worker's monitoring blood test is more than a month overdue?",
     "ukap-ohr-registration-procedure", "5.2 Overdue results",
     ["must stop EPP work"],
     None,
     "The register reminds the OH physician, and a worker whose test is more than 4 weeks overdue must stop EPP work until a satisfactory result is available.", False),
    # ------------------------------------------------------------ stale
    ("a-039", "stale",
     "Do we still need to recall staff for a hepatitis B booster every five years?",
     "hepb-vaccination-hcw-2024", "3 What changed in this version",
     ["Routine five-yearly boosters have been withdrawn"],
     "Routine five-yearly boosters have been withdrawn",
     "No. The 2024 guideline withdrew routine five-yearly boosters: documented responders need none and low responders get a single booster.", False),
    ("a-040", "stale",
     "Our PEP policy says the first dose has to be given within an hour. Is that still the target?",
     "hiv-pep-occupational-2025", "3 Timing of PEP",
     ["ideally within 24 hours", "72 hours"],
     "PEP should be started as soon as possible after the exposure, ideally within 24 hours",
     "No. The one-hour target was replaced in 2025: start PEP as soon as possible, ideally within 24 hours, and not more than 72 hours after exposure.", False),
    ("a-041", "stale",
     "Do staff who took PEP still need HIV tests at 6 weeks and 12 weeks afterwards?",
     "hiv-pep-occupational-2025", "7 Follow-up",
     ["45 days after the last dose of PEP"],
     "Fourth-generation HIV antigen/antibody test 45 days after the last dose of PEP",
     "No. Since 2025 a single fourth-generation HIV test 45 days after the last dose of PEP replaces the 6- and 12-week tests.", False),
    ("a-042", "stale",
     "Is it still the rule that a doctor with HIV can't do exposure-prone procedures at all?",
     "bbv-infected-hcw-epp-2024", "4.1 Conditions for EPP work",
     ["below 200 copies/ml", "UKAP-OHR"],
     "A worker living with HIV may perform EPPs of any category",
     "No. They may perform EPPs if on effective ART with viral load below 200 copies/ml, under joint OH and HIV specialist care, and registered with UKAP-OHR.", False),
    ("a-043", "stale",
     "After finishing hep C treatment, does a surgeon have to wait six months before going back to operating?",
     "bbv-infected-hcw-epp-2024", "6 Hepatitis C",
     ["at least 3 months after the end of treatment"],
     "A worker can return to EPP work once HCV RNA is undetectable",
     "No. The 2024 guideline allows return once HCV RNA is undetectable in a sample taken at least 3 months after the end of treatment, with one further test 6 months after return.", False),
    ("a-044", "stale",
     "Staff nurse with no chickenpox history and a negative VZV IgG was exposed on the ward. When does she need to be kept away from patients?",
     "varicella-immunity-hcw", "5.3 Susceptible workers",
     ["from day 8 to day 21 after the exposure"],
     None,
     "From day 8 to day 21 after the exposure; she can do non-patient-contact work, and post-exposure vaccine does not remove the exclusion.", True),
    ("a-045", "stale",
     "How many doses of chickenpox vaccine do non-immune staff need and what is the gap between them?",
     "varicella-immunity-hcw", "4.1 Schedule",
     ["two doses of varicella vaccine", "four to eight weeks apart"],
     None,
     "Two doses given four to eight weeks apart; routine post-vaccination serology isn't recommended.", True),
    ("a-046", "stale",
     "Is there an upper age limit for offering BCG to new clinical staff?",
     "tb-screening-bcg-new-staff", "6.1 Who is offered BCG",
     ["if they are aged under 35"],
     "The network offers BCG to healthcare workers who will have contact",
     "BCG is offered to unvaccinated IGRA-negative staff aged under 35; over-35s only after individual discussion with an OH physician.", True),
    ("a-047", "stale",
     "Which flu vaccine are we giving staff under 65 in the staff campaign?",
     "seasonal-flu-staff-programme-2025-26", "4 Vaccines used",
     ["Aged 18 to 64", "TIVc"],
     None,
     "Staff aged 18-64 are offered cell-based trivalent vaccine (TIVc) or recombinant trivalent vaccine (TIVr); the 2025/26 programme document is past its review date.", True),
    ("a-048", "stale",
     "As a ward manager, how long have I got to investigate a needlestick injury on my unit?",
     "bbv-exposure-reporting-policy", "4.2 Investigation",
     ["within 7 working days"],
     None,
     "Investigate and record findings on the incident system within 7 working days.", True),
    # ------------------------------------------------------------ unanswerable
    ("a-049", "unanswerable", "Do vets working in our animal research unit need rabies pre-exposure vaccine?",
     None, "", [], None, "", False),
    ("a-050", "unanswerable", "What Agenda for Change band should an occupational health nurse adviser be on?",
     None, "", [], None, "", False),
    ("a-051", "unanswerable", "Should microbiology lab staff who handle meningococcus be given MenACWY vaccine?",
     None, "", [], None, "", False),
    ("a-052", "unanswerable", "Is typhoid vaccine recommended for estates staff who work on the hospital sewage system?",
     None, "", [], None, "", False),
    ("a-053", "unanswerable", "Do healthcare workers need hepatitis A vaccination?",
     None, "", [], None, "", False),
    ("a-054", "unanswerable", "What is the mpox vaccination policy for sexual health clinic staff?",
     None, "", [], None, "", False),
    ("a-055", "unanswerable", "Which shingles vaccine should OH give to staff over 70?",
     None, "", [], None, "", False),
    ("a-056", "unanswerable", "How do we order yellow fever vaccine for staff being deployed overseas?",
     None, "", [], None, "", False),
]


def norm(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


def find_file(doc_id: str) -> Path:
    hits = [p for p in CORPUS.glob(f"*/{doc_id}.*") if p.suffix in {".pdf", ".docx", ".md"}]
    if len(hits) != 1:
        raise SystemExit(f"{doc_id}: expected one file, found {hits}")
    return hits[0]


def pdf_pages(path: Path) -> list[str]:
    import pypdf

    return [norm(p.extract_text() or "") for p in pypdf.PdfReader(str(path)).pages]


def doc_text_and_headings(path: Path) -> tuple[str, list[str]]:
    if path.suffix == ".docx":
        import docx

        d = docx.Document(str(path))
        heads = [p.text for p in d.paragraphs if p.style.name.startswith("Heading")]
        parts = [p.text for p in d.paragraphs]
        parts += [c.text for t in d.tables for r in t.rows for c in r.cells]
        return norm(" ".join(parts)), heads
    text = path.read_text(encoding="utf-8")
    heads = [m.group(1).strip() for m in re.finditer(r"^#{2,6} (.+)$", text, re.M)]
    return norm(re.sub(r"[*_`]", "", text)), heads


def main() -> int:
    rows, errors = [], []
    for qid, kind, question, doc_id, section, phrases, locator, answer, warn in Q:
        gold_pages: list[int] = []
        if doc_id:
            path = find_file(doc_id)
            if path.suffix == ".pdf":
                pages = pdf_pages(path)
                probe = norm(locator or phrases[0])
                gold_pages = [i + 1 for i, t in enumerate(pages) if probe in t]
                if not gold_pages:
                    errors.append(f"{qid}: locator not found in {path.name}: {probe!r}")
                    continue
                text = " ".join(pages[p - 1] for p in gold_pages)
                if section and norm(section) not in " ".join(pages):
                    errors.append(f"{qid}: section {section!r} not found in {path.name}")
            else:
                text, heads = doc_text_and_headings(path)
                if section not in heads:
                    errors.append(f"{qid}: section {section!r} not a heading of {path.name}")
            for ph in phrases:
                if norm(ph) not in text:
                    errors.append(f"{qid}: key phrase {ph!r} not found ({path.name}, pages {gold_pages})")
        rows.append({
            "id": qid,
            "question": question,
            "kind": kind,
            "gold_doc_ids": ([doc_id] + ALSO.get(qid, [])) if doc_id else [],
            "gold_pages": gold_pages,
            "gold_section": section,
            "key_phrases": phrases,
            "reference_answer": answer,
            "expect_warning": warn,
        })
    if errors:
        print("\n".join(errors), file=sys.stderr)
        return 1
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    kinds: dict[str, int] = {}
    for r in rows:
        kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
    print(f"wrote {OUT} ({len(rows)} questions: {kinds})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
