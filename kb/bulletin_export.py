"""The editor's citation workflow over the `kb cite --json` result: choices, then export.

Pure functions: they take the draft text, the cite JSON (`{"claims": [...], "annotated",
"references"}`), the editor's choices and the documents' source links, and return text. The
Bulletin page and `kb cite --format md|html` share them.

    >>> cite = {"claims": [{"text": "Lone workers check in every hour.", "verdict": "supported",
    ...     "score": 0.9, "reason": "", "citations": [{"n": 1, "doc_id": "lw", "title": "Lone Working",
    ...     "section": "4 Check-ins", "page_start": None, "page_end": None, "quote": "...",
    ...     "link": "http://app/Library?doc=lw"}], "alternatives": []}]}
    >>> claims = resolve_claims(cite, EditorChoices())
    >>> print(export_markdown("# News\\n\\nLone workers check in every hour.\\n", claims), end="")
    # News
    <BLANKLINE>
    Lone workers check in every hour.[^1]
    <BLANKLINE>
    [^1]: [Lone Working](http://app/Library?doc=lw), 4 Check-ins.

Choices per claim: `accept` the proposed citation, `pick` one of the alternatives, or `reject`
them all. A claim with no choice keeps its proposal when the checker says `supported`, and is
marked "[citation needed]" otherwise. Choices are matched to claims by their text, so a choice
survives re-running the checker; choices whose claim is gone are reported as stale.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kb.errors import KBError

Action = Literal["accept", "pick", "reject"]
CITATION_NEEDED = "[citation needed]"
SIDECAR_SUFFIX = ".citations.json"

# Flags a claim may carry, in the editor's words. Booleans or values on the claim, or names in
# its "flags" list, from the claim checker.
FLAG_LABELS = {
    "unsupported": "no support in the library",
    "no_support": "no support in the library",
    "contradicted": "contradicts current guidance",
    "superseded_only": "rests only on superseded guidance",
    "past_review": "rests on guidance past its review date",
    "contradicts_newer_guidance": "a newer guideline says something different",
    "conflict_with": "a newer guideline says something different",
}


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClaimChoice(_Record):
    """What the editor decided for one claim."""

    text: str  # the claim, as the checker split it
    action: Action
    alternative: int | None = None  # index into the claim's alternatives, for "pick"
    claim: int | None = None  # the claim's position when the choice was made (a hint)


class EditorChoices(_Record):
    """The sidecar file `DRAFT.citations.json`."""

    draft: str | None = None
    choices: list[ClaimChoice] = Field(default_factory=list)

    def for_claim(self, index: int, text: str) -> ClaimChoice | None:
        key = _norm(text)
        same = [c for c in self.choices if _norm(c.text) == key]
        return next((c for c in same if c.claim == index), same[0] if same else None)

    def set(self, index: int, text: str, action: Action, alternative: int | None = None) -> EditorChoices:
        """A copy with the choice for claim `index` replaced."""
        kept = [c for c in self.choices if _norm(c.text) != _norm(text)]
        kept.append(ClaimChoice(text=text, action=action, alternative=alternative, claim=index))
        return self.model_copy(update={"choices": sorted(kept, key=lambda c: c.claim or 0)})

    def stale(self, cite: Mapping) -> list[ClaimChoice]:
        """Choices whose claim is no longer in the draft."""
        texts = {_norm(c.get("text", "")) for c in cite.get("claims", [])}
        return [c for c in self.choices if _norm(c.text) not in texts]


@dataclass(frozen=True)
class CitationSource:
    """Where a cited passage lives outside the app: the document's own URL and item anchor."""

    source_url: str | None = None
    anchor: str | None = None
    published: str | None = None

    def url(self) -> str | None:
        if not self.source_url:
            return None
        return f"{self.source_url}#{self.anchor}" if self.anchor and "#" not in self.source_url else self.source_url


@dataclass(frozen=True)
class ResolvedClaim:
    """A claim after the editor's choice: its citation (or none) and its flags."""

    index: int
    text: str
    verdict: str
    score: float
    reason: str
    flags: list[str]
    status: Literal["cited", "rejected", "unresolved"]
    citation: dict | None = None
    choice: Action | None = None
    proposals: list[dict] = field(default_factory=list)


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def claim_key(citation: Mapping) -> str:
    return f"{citation.get('doc_id', '')}|{citation.get('section', '')}"


def claim_flags(claim: Mapping) -> list[str]:
    """The editor-facing flags of one claim of the cite JSON (checker flags in plain words)."""
    out: list[str] = []
    named = list(claim.get("flags") or [])
    verdict = claim.get("verdict")
    if verdict == "contradicted" or (verdict == "unsupported" and "superseded_only" not in named):
        out.append(FLAG_LABELS[verdict])
    for name in ("superseded_only", "past_review", "contradicts_newer_guidance", "conflict_with"):
        value = claim.get(name)
        if value or name in named:
            label = FLAG_LABELS[name]
            if name == "superseded_only":
                current = next((c["current_version"] for c in claim.get("citations") or []
                                if isinstance(c, Mapping) and c.get("current_version")), None)
                value = value if isinstance(value, str) else (current or {}).get("title")
                label += f"; the current version is {value}" if value else ""
            elif isinstance(value, str):
                label += f": {value}"
            out.append(label)
    for name in named:
        if name not in FLAG_LABELS:
            out.append(str(name).replace("_", " "))
        elif name == "no_support" and verdict != "unsupported":
            out.append(FLAG_LABELS[name])
    return list(dict.fromkeys(out))


def proposals(claim: Mapping, limit: int = 3) -> list[dict]:
    """Up to `limit` passages for a claim: its citations first, then its alternatives."""
    seen: set[str] = set()
    out: list[dict] = []
    for c in [*(claim.get("citations") or []), *(claim.get("alternatives") or [])]:
        if not isinstance(c, Mapping):
            continue
        key = claim_key(c) + "|" + str(c.get("quote", ""))
        if key not in seen:
            seen.add(key)
            out.append(dict(c))
    return out[:limit]


def resolve_claims(cite: Mapping, choices: EditorChoices) -> list[ResolvedClaim]:
    """Apply the editor's choices to every claim of the cite JSON."""
    out = []
    for i, claim in enumerate(cite.get("claims", [])):
        text = claim.get("text", "")
        cites = list(claim.get("citations") or [])
        alternatives = list(claim.get("alternatives") or [])
        choice = choices.for_claim(i, text)
        citation, status = None, "unresolved"
        if choice is None:
            if claim.get("verdict") == "supported" and cites:
                citation, status = cites[0], "cited"
        elif choice.action == "accept" and cites:
            citation, status = cites[0], "cited"
        elif choice.action == "pick":
            picked = _pick(alternatives, cites, choice, text)
            citation, status = picked, "cited"
        elif choice.action == "reject":
            status = "rejected"
        out.append(
            ResolvedClaim(
                index=i,
                text=text,
                verdict=str(claim.get("verdict", "")),
                score=float(claim.get("score") or 0.0),
                reason=str(claim.get("reason", "")),
                flags=claim_flags(claim),
                status=status,  # type: ignore[arg-type]
                citation=dict(citation) if citation else None,
                choice=choice.action if choice else None,
                proposals=proposals(claim),
            )
        )
    return out


def _pick(alternatives: list, cites: list, choice: ClaimChoice, text: str) -> dict:
    options = alternatives or cites[1:]
    n = choice.alternative
    if n is None or not 0 <= n < len(options):
        raise KBError(
            f"Choice for claim {text[:60]!r}: alternative {n} does not exist "
            f"(the claim has {len(options)} alternative(s)); pick 0..{max(0, len(options) - 1)}."
        )
    return options[n]


# ---------------------------------------------------------------- choices file


def choices_path(draft: Path) -> Path:
    return draft.with_name(draft.name + SIDECAR_SUFFIX)


def read_choices(path: Path) -> EditorChoices:
    """The editor's choices from a sidecar file; a clear error naming the file when bad."""
    try:
        return EditorChoices.model_validate_json(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise KBError(f"{path}: cannot read the choices file ({exc.strerror}).") from exc
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:3])
        raise KBError(f"{path}: not a citation choices file ({problems}).") from exc


def choices_json(choices: EditorChoices) -> str:
    return json.dumps(choices.model_dump(mode="json", exclude_none=True), indent=2) + "\n"


# ---------------------------------------------------------------- footnotes


class _Footnotes:
    """Footnote numbers in reading order, one per cited passage (doc and section)."""

    def __init__(self) -> None:
        self.numbers: dict[str, int] = {}
        self.notes: list[dict] = []

    def number(self, c: ResolvedClaim) -> int | None:
        if c.status != "cited" or not c.citation:
            return None
        key = claim_key(c.citation)
        if key not in self.numbers:
            self.numbers[key] = len(self.numbers) + 1
            self.notes.append(c.citation)
        return self.numbers[key]


def _pages(c: Mapping) -> str:
    start, end = c.get("page_start"), c.get("page_end")
    if not start:
        return ""
    return f", p. {start}" if not end or end == start else f", pp. {start}-{end}"


def _source(c: Mapping, sources: Mapping[str, CitationSource]) -> CitationSource:
    return sources.get(claim_key(c)) or sources.get(str(c.get("doc_id", ""))) or CitationSource()


def _md_escape(text: str) -> str:
    return re.sub(r"([\[\]])", r"\\\1", text)


def footnote_markdown(n: int, c: Mapping, sources: Mapping[str, CitationSource]) -> str:
    src = _source(c, sources)
    date = src.published or c.get("published")
    parts = f"[^{n}]: [{_md_escape(str(c.get('title', '')))}]({c.get('link', '')})"
    if c.get("section"):
        parts += f", {c['section']}"
    parts += _pages(c)
    if date:
        parts += f" ({date})"
    parts += "."
    if src.url():
        parts += f" Source: <{src.url()}>"
    return parts


# ---------------------------------------------------------------- placing markers


_GAP = r"(?:[^\w]|\]\([^)]*\))*?"


def _claim_pattern(text: str) -> re.Pattern[str] | None:
    words = re.findall(r"\w+", text)
    if not words:
        return None
    return re.compile(_GAP.join(re.escape(w) for w in words), re.I)


_TAIL = re.compile(r"(?:\*\*|__|\*|_|`)*(?:\]\([^)]*\))?(?:\*\*|__|\*|_)*[.!?;:,]*[\"'\u201d\u2019)]*")


def _in_heading(draft: str, at: int) -> bool:
    """Is position `at` on a Markdown heading line? Headings are kept as written, never cited."""
    line = draft[draft.rfind("\n", 0, at) + 1 : at + 1]
    return line.lstrip().startswith("#")


def place_markers(draft: str, claims: list[ResolvedClaim], marker) -> str:
    """The draft with `marker(claim)` inserted after each claim's text (found in order).

    Headings, links and layout stay exactly as written; a claim that cannot be found in the
    draft outside headings gets no marker.
    """
    inserts: list[tuple[int, str]] = []
    pos = 0
    for c in claims:
        pattern = _claim_pattern(c.text)
        if pattern is None:
            continue
        m = pattern.search(draft, pos)
        while m is not None and _in_heading(draft, m.start()):
            m = pattern.search(draft, m.end())
        mark = marker(c) if m is not None else ""  # called only for claims found, in reading order
        if m is None or not mark:
            continue
        end = m.end()
        tail = _TAIL.match(draft, end)
        end = tail.end() if tail else end
        inserts.append((end, mark))
        pos = end
    out, last = [], 0
    for at, mark in inserts:
        out += [draft[last:at], mark]
        last = at
    out.append(draft[last:])
    return "".join(out)


def export_markdown(
    draft: str,
    claims: list[ResolvedClaim],
    sources: Mapping[str, CitationSource] | None = None,
    mark_unresolved: bool = True,
) -> str:
    """The draft as Markdown with footnote citations ([^1] style) and the footnotes at the end."""
    sources = sources or {}
    footnotes = _Footnotes()

    def marker(c: ResolvedClaim) -> str:
        n = footnotes.number(c)
        if n is not None:
            return f"[^{n}]"
        return f" **{CITATION_NEEDED}**" if c.status == "unresolved" and mark_unresolved else ""

    body = place_markers(draft, claims, marker).rstrip()
    notes = footnotes.notes
    if not notes:
        return body + "\n"
    lines = [footnote_markdown(i, c, sources) for i, c in enumerate(notes, start=1)]
    return body + "\n\n" + "\n".join(lines) + "\n"


# ---------------------------------------------------------------- email-safe HTML

FONT = "font-family:Arial,Helvetica,sans-serif;"
STYLES = {
    "body": f"margin:0;padding:0;background:#ffffff;color:#212b32;{FONT}",
    "h1": f"{FONT}font-size:24px;line-height:1.3;color:#005eb8;margin:24px 0 12px 0;",
    "h2": f"{FONT}font-size:20px;line-height:1.3;color:#005eb8;margin:20px 0 10px 0;",
    "h3": f"{FONT}font-size:17px;line-height:1.3;color:#212b32;margin:16px 0 8px 0;",
    "h4": f"{FONT}font-size:15px;color:#212b32;margin:14px 0 6px 0;",
    "p": f"{FONT}font-size:15px;line-height:1.5;margin:0 0 12px 0;",
    "ul": f"{FONT}font-size:15px;line-height:1.5;margin:0 0 12px 0;padding-left:24px;",
    "ol": f"{FONT}font-size:15px;line-height:1.5;margin:0 0 12px 0;padding-left:24px;",
    "li": "margin:0 0 4px 0;",
    "a": "color:#005eb8;text-decoration:underline;",
    "blockquote": "margin:0 0 12px 0;padding:4px 12px;border-left:4px solid #d8dde0;color:#4c6272;",
    "code": "font-family:Courier,monospace;font-size:14px;",
    "table": "border-collapse:collapse;margin:0 0 12px 0;",
    "th": "border:1px solid #d8dde0;padding:4px 8px;text-align:left;",
    "td": "border:1px solid #d8dde0;padding:4px 8px;",
    "hr": "border:0;border-top:1px solid #d8dde0;margin:20px 0;",
    "sup": "font-size:11px;line-height:0;",
    "strong": "",
    "em": "",
}
_OPEN_TAG = re.compile(r"<(h[1-6]|p|ul|ol|li|a|blockquote|code|table|th|td|hr|sup)(\s[^>]*)?>")
_MARK = "\ue000{}\ue001"
_MARK_RE = re.compile("\ue000(\\d+|X)\ue001")


def _inline_styles(markup: str) -> str:
    def add(m: re.Match[str]) -> str:
        tag, attrs = m.group(1), m.group(2) or ""
        attrs = re.sub(r'\sstyle="[^"]*"', "", attrs)
        attrs = re.sub(r"\s*/\s*$", "", attrs)
        return f'<{tag}{attrs} style="{STYLES[tag]}">'

    return _OPEN_TAG.sub(add, markup)


def _markdown_renderer():
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
    md.disable("image")  # no images in an e-mail: they would load from outside
    return md


def export_html(
    draft: str,
    claims: list[ResolvedClaim],
    sources: Mapping[str, CitationSource] | None = None,
    title: str = "Bulletin",
    mark_unresolved: bool = True,
) -> str:
    """The draft as one self-contained, email-safe HTML page: inline styles only, no CSS file,
    no script, no image; numbered citation markers link to the notes at the end."""
    sources = sources or {}
    footnotes = _Footnotes()

    def marker(c: ResolvedClaim) -> str:
        n = footnotes.number(c)
        if n is not None:
            return _MARK.format(n)
        return _MARK.format("X") if c.status == "unresolved" and mark_unresolved else ""

    body = _markdown_renderer().render(place_markers(draft, claims, marker))
    notes = footnotes.notes

    def sup(m: re.Match[str]) -> str:
        if m.group(1) == "X":
            return f' <strong style="color:#d5281b;">{html.escape(CITATION_NEEDED)}</strong>'
        n = m.group(1)
        return f'<sup><a href="#note-{n}">[{n}]</a></sup>'

    body = _MARK_RE.sub(sup, body)
    items = "".join(_note_html(i, c, sources) for i, c in enumerate(notes, start=1))
    notes_html = f'<hr><h2>References</h2><ol>{items}</ol>' if notes else ""
    content = _inline_styles(body + notes_html)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title></head>"
        f'<body style="{STYLES["body"]}">'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0">'
        '<tr><td style="padding:16px;">'
        '<div style="max-width:640px;margin:0 auto;">'
        f"{content}"
        "</div></td></tr></table></body></html>\n"
    )


def _note_html(n: int, c: Mapping, sources: Mapping[str, CitationSource]) -> str:
    src = _source(c, sources)
    date = src.published or c.get("published")
    text = f'<a href="{html.escape(str(c.get("link", "")), quote=True)}">{html.escape(str(c.get("title", "")))}</a>'
    if c.get("section"):
        text += f", {html.escape(str(c['section']))}"
    text += html.escape(_pages(c))
    if date:
        text += f" ({html.escape(str(date))})"
    text += "."
    if src.url():
        url = html.escape(src.url() or "", quote=True)
        text += f' Source: <a href="{url}">{html.escape(src.url() or "")}</a>'
    return f'<li id="note-{n}">{text}</li>'
