"""Restrained NHS-like styling: NHS blue, white, dark grey text, visible focus, readable on phones."""

NHS_BLUE = "#005EB8"
NHS_DARK_BLUE = "#003087"
TEXT = "#212B32"
SECONDARY = "#4C6272"

# Streamlit options for `streamlit run` (the `kb app` command and the browser tests pass these).
STREAMLIT_OPTIONS = {
    "theme.primaryColor": NHS_BLUE,
    "theme.textColor": TEXT,
    "theme.backgroundColor": "#FFFFFF",
    "theme.secondaryBackgroundColor": "#F0F4F5",
    "theme.font": "sans-serif",
    "client.toolbarMode": "minimal",
    "browser.gatherUsageStats": "false",
}

CSS = f"""
html, body, [class*="css"], .stMarkdown, .stText {{
  font-family: Arial, "Helvetica Neue", Helvetica, sans-serif; color: {TEXT};
}}
h1, h2, h3 {{ color: {TEXT}; font-weight: 700; }}
a {{ color: {NHS_BLUE}; }}
a:visited {{ color: #330072; }}
a:hover {{ color: #7C2855; }}
:focus-visible {{ outline: 3px solid #FFEB3B !important; box-shadow: 0 0 0 6px {TEXT} !important; }}
.kb-banner {{
  background: {NHS_BLUE}; color: #fff; padding: .55rem 1rem; margin: -1rem 0 .5rem 0;
  display: flex; align-items: center; gap: .75rem; border-radius: 2px;
}}
.kb-logo {{
  background: #fff; color: {NHS_BLUE}; font-weight: 700; font-style: italic;
  padding: .05rem .45rem; font-size: 1.05rem; letter-spacing: .02em;
}}
.kb-banner-title {{ font-weight: 700; font-size: 1.05rem; }}
.kb-answer {{ font-size: 1.05rem; line-height: 1.55; }}
.kb-answer a.kb-marker {{
  font-weight: 700; text-decoration: none; padding: 0 .1rem; font-size: .9em; vertical-align: super;
}}
.kb-answer a.kb-marker:hover, .kb-answer a.kb-marker:focus {{ text-decoration: underline; }}
.kb-meta {{ color: {SECONDARY}; font-size: .85rem; }}
.kb-card {{
  border: 1px solid #D8DDE0; border-left: 4px solid {NHS_BLUE}; background: #fff;
  padding: .7rem .9rem; margin: .5rem 0; border-radius: 2px;
}}
.kb-card.kb-stale {{ border-left-color: #FFB81C; }}
.kb-card.kb-old {{ border-left-color: #DA291C; }}
.kb-card h4 {{ margin: 0 0 .25rem 0; font-size: 1rem; padding: 0; }}
.kb-card dl {{ display: flex; flex-wrap: wrap; gap: .15rem 1.1rem; margin: .35rem 0; padding: 0; font-size: .85rem; }}
.kb-card dt {{ color: {SECONDARY}; font-weight: 400; }}
.kb-card dt::after {{ content: ":"; }}
.kb-card dd {{ margin: 0 0 0 .25rem; }}
.kb-card dl > div {{ display: flex; }}
.kb-chunk {{
  background: #F0F4F5; padding: .55rem .7rem; font-size: .9rem; line-height: 1.5;
  white-space: pre-wrap; max-height: 16rem; overflow: auto; margin-top: .35rem;
}}
mark.kb-quote {{ background: #FFEB3B; color: {TEXT}; padding: 0 .1rem; }}
.kb-badge {{
  display: inline-block; font-size: .75rem; font-weight: 700; padding: .05rem .45rem;
  margin-right: .3rem; border-radius: 2px; text-transform: uppercase; letter-spacing: .02em;
}}
.kb-badge.current {{ background: #007F3B; color: #fff; }}
.kb-badge.superseded {{ background: #DA291C; color: #fff; }}
.kb-badge.withdrawn {{ background: #425563; color: #fff; }}
.kb-badge.past-review {{ background: #FFB81C; color: {TEXT}; }}
.kb-badge.type {{ background: #E8EDEE; color: {TEXT}; }}
.kb-doc-chunk {{
  border-top: 1px solid #E8EDEE; padding: .6rem .4rem; scroll-margin-top: 5rem;
}}
.kb-doc-chunk .kb-section {{ font-weight: 700; font-size: .9rem; color: {NHS_DARK_BLUE}; }}
.kb-doc-chunk .kb-text {{ white-space: pre-wrap; line-height: 1.5; font-size: .95rem; }}
.kb-doc-chunk.kb-cited {{
  background: #FFF9C4; border-left: 6px solid {NHS_BLUE}; outline: 2px solid #FFB81C;
}}
.kb-doc-chunk.kb-cited::before {{
  content: "Cited passage"; display: inline-block; background: {NHS_BLUE}; color: #fff;
  font-size: .75rem; font-weight: 700; padding: .05rem .4rem; margin-bottom: .3rem;
}}
.kb-warning {{
  border-left: 6px solid #FFB81C; background: #FFF8E1; padding: .5rem .8rem; margin: .35rem 0;
  font-size: .95rem;
}}
button[data-testid="stBaseButton-tertiary"] {{
  color: {NHS_BLUE}; text-decoration: underline; padding-left: 0; min-height: 1.6rem;
}}
button[data-testid="stBaseButton-tertiary"]:hover {{ color: #7C2855; }}
.kb-searched {{ color: {SECONDARY}; font-size: .9rem; margin: 0 0 .3rem 0; }}
.kb-searched q {{ font-style: italic; }}
.kb-loading {{ border-left: 6px solid {NHS_BLUE}; background: #E8F1FA; padding: .7rem .9rem; margin: .5rem 0; }}
.kb-refusal {{ border-left: 6px solid #FFB81C; background: #FFF8E1; padding: .7rem .9rem; }}
@media (max-width: 640px) {{
  .kb-banner-title {{ font-size: .95rem; }}
  .kb-card dl {{ display: block; }}
  .kb-answer {{ font-size: 1rem; }}
}}
"""
