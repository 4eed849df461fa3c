"""The Bulletin page's pieces: claim review with per-claim choices, export, and "what's new".

All decisions live in `st.session_state` while the editor works (`bulletin_cite`, the checker's
JSON; `bulletin_choices`, an `EditorChoices`); the logic is in `kb.bulletin_export` and
`kb.digest`, so the page and `kb cite` / `kb digest` give the same result.
"""

from __future__ import annotations

import datetime as dt
import html
import json

import streamlit as st

from kb.bulletin import cite_json
from kb.bulletin_export import (
    EditorChoices,
    choices_json,
    export_html,
    export_markdown,
    resolve_claims,
)
from kb.bulletin_sources import citation_sources
from kb.digest import CHANGE_LABELS, digest, digest_html, digest_json, digest_markdown

CITE_KEY, CHOICES_KEY, DRAFT_KEY, SOURCES_KEY = "bulletin_cite", "bulletin_choices", "bulletin_cited_draft", \
    "bulletin_sources"
VERDICT_ICON = {"supported": "✔", "contradicted": "✖", "unsupported": "⚠"}


def choices() -> EditorChoices:
    return st.session_state.setdefault(CHOICES_KEY, EditorChoices())


def check_draft(kb, draft: str) -> None:
    with st.spinner("Checking each claim against the library…"):
        result = cite_json(kb, draft)
        st.session_state[CITE_KEY] = result
        st.session_state[DRAFT_KEY] = draft
        st.session_state[SOURCES_KEY] = citation_sources(kb, result)
    _forget_widgets()  # the claims may have changed: the radios start again from the saved choices


def _forget_widgets() -> None:
    for key in [k for k in st.session_state if str(k).startswith("bulletin_choice_")]:
        del st.session_state[key]


def _options(claim: dict) -> list[tuple[str, int | None, dict | None]]:
    """(action, alternative index, passage) for each choice the editor can make on a claim."""
    cites = list(claim.get("citations") or [])
    others = list(claim.get("alternatives") or []) or cites[1:]
    opts: list[tuple[str, int | None, dict | None]] = []
    if cites:
        opts.append(("accept", None, cites[0]))
    opts += [("pick", j, alt) for j, alt in enumerate(others[: 3 - len(opts)])]
    opts.append(("reject", None, None))
    return opts


def _label(option: tuple[str, int | None, dict | None]) -> str:
    action, j, passage = option
    if action == "reject":
        return "Reject all: no citation"
    where = f"{passage.get('title', '')}" + (f" — {passage['section']}" if passage.get("section") else "")
    if action == "pick":
        return f"Use alternative {j + 1}: {where}"
    role = {"contradicts": " (it contradicts the claim)", "superseded_source": " (superseded guidance)"}
    return f"Accept suggestion: {where}{role.get(str(passage.get('role')), '')}"


def _passage_html(n: int, p: dict) -> str:
    pages = f", p. {p['page_start']}" if p.get("page_start") else ""
    quote = " ".join(str(p.get("quote", "")).split())
    how = {"supports": "supports the claim", "contradicts": "contradicts the claim",
           "superseded_source": "superseded guidance"}.get(str(p.get("role")), p.get("verdict") or "")
    date = f" · {p['published']}" if p.get("published") else ""
    meta = f"{html.escape(str(p.get('section', '')))}{pages}{html.escape(date)}" + (
        f" · <strong>{html.escape(str(how))}</strong>" if how else "")
    return (
        f'<div class="kb-card"><h4>{n}. <a href="{html.escape(str(p.get("link", "")), quote=True)}" '
        f'target="_blank">{html.escape(str(p.get("title", "")))}</a></h4>'
        f'<div class="kb-meta">{meta}</div>'
        + (f'<blockquote class="kb-bulletin-quote">{html.escape(quote)}</blockquote>' if quote else "")
        + "</div>"
    )


def _set_choice(i: int, text: str, options: list) -> None:
    picked = st.session_state.get(f"bulletin_choice_{i}")
    if picked is None:
        return
    action, j, _ = options[[_label(o) for o in options].index(picked)]
    st.session_state[CHOICES_KEY] = choices().set(i, text, action, j)


def review(cite: dict) -> None:
    """Each claim: verdict, score, reason, flags, up to 3 passages, and the editor's choice."""
    resolved = resolve_claims(cite, choices())
    counts = {v: sum(1 for c in resolved if c.verdict == v) for v in VERDICT_ICON}
    flagged = sum(1 for c in resolved if c.flags)
    st.markdown(
        f"**{len(resolved)} claims**: {counts['supported']} supported, {counts['contradicted']} contradicted, "
        f"{counts['unsupported']} unsupported; **{flagged} flagged**."
    )
    for c, claim in zip(resolved, cite.get("claims", []), strict=True):
        with st.container(border=True, key=f"bulletin_claim_{c.index}"):
            st.markdown(f"{VERDICT_ICON.get(c.verdict, '•')} **{html.escape(c.text)}**")
            st.caption(f"Verdict: {c.verdict} · score {c.score:.2f}" + (f" · {c.reason}" if c.reason else ""))
            for flag in c.flags:
                st.warning(flag, icon="⚠️")
            for n, p in enumerate(c.proposals, start=1):
                st.html(_passage_html(n, p))
            options = _options(claim)
            labels = [_label(o) for o in options]
            current = next((k for k, o in enumerate(options) if c.choice and o[0] == c.choice
                            and (c.choice != "pick" or o[2] == c.citation)), None)
            st.radio("Your choice", labels, index=current, key=f"bulletin_choice_{c.index}",
                     on_change=_set_choice, args=(c.index, c.text, options))


def export(draft: str, cite: dict, title: str = "Bulletin") -> None:
    resolved = resolve_claims(cite, choices())
    sources = st.session_state.get(SOURCES_KEY) or {}
    md = export_markdown(draft, resolved, sources)
    page = export_html(draft, resolved, sources, title=title)
    unresolved = sum(1 for c in resolved if c.status == "unresolved")
    if unresolved:
        st.info(f"{unresolved} claim(s) have no accepted citation yet; they are marked [citation needed].")
    cols = st.columns(3)
    cols[0].download_button("Download Markdown", md, file_name="bulletin.md", mime="text/markdown")
    cols[1].download_button("Download HTML (email-safe)", page, file_name="bulletin.html", mime="text/html")
    cols[2].download_button("Download choices", choices_json(choices()), file_name="draft.md.citations.json",
                            mime="application/json")
    st.subheader("Markdown export")
    st.code(md, language="markdown", wrap_lines=True)


def load_choices_file() -> None:
    upload = st.file_uploader("Load saved choices (.citations.json)", type=["json"], key="bulletin_choices_file")
    if upload is None or st.session_state.get("bulletin_choices_loaded") == upload.file_id:
        return
    try:
        st.session_state[CHOICES_KEY] = EditorChoices.model_validate_json(upload.getvalue())
        st.session_state["bulletin_choices_loaded"] = upload.file_id
        _forget_widgets()
        st.success(f"Loaded {len(choices().choices)} choice(s) from {upload.name}.")
    except ValueError as exc:
        st.error(f"{upload.name}: not a citation choices file ({str(exc).splitlines()[0]}).")


def whats_new(kb) -> None:
    """What changed in the library in a period, ready to paste as a "resources update" item."""
    today = dt.date.today()
    cols = st.columns(2)
    since = cols[0].date_input("Since", today - dt.timedelta(days=90), key="digest_since")
    until = cols[1].date_input("Until", today, key="digest_until")
    if since > until:
        st.error("'Since' must be on or before 'Until'.")
        return
    entries = digest(kb, since, until)
    if not entries:
        st.info("No documents were added, updated, superseded or retired in this period.")
        return
    st.markdown(", ".join(f"{sum(1 for e in entries if e.change == c)} {label.lower()}"
                          for c, label in CHANGE_LABELS.items() if any(e.change == c for e in entries)))
    for e in entries:
        st.markdown(f"**{CHANGE_LABELS[e.change]}** · [{e.title}]({e.link}) · {e.date}"
                    + (f"  \n{e.summary}" if e.summary else ""))
    md = digest_markdown(entries, since, until)
    cols = st.columns(3)
    cols[0].download_button("Download digest (Markdown)", md, file_name="digest.md", mime="text/markdown")
    cols[1].download_button("Download digest (HTML)", digest_html(entries, since, until), file_name="digest.html",
                            mime="text/html")
    cols[2].download_button("Download digest (JSON)", json.dumps(digest_json(entries), indent=2),
                            file_name="digest.json", mime="application/json")
    with st.expander("Markdown to paste"):
        st.code(md, language="markdown", wrap_lines=True)
