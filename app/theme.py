"""Restrained NHS-like styling: NHS blue, white, dark grey text, visible focus, readable on phones.

Light and dark themes are both defined, so Streamlit follows the browser's colour-scheme
preference (and its settings menu can switch); the CSS below follows the same preference
through custom properties.
"""

NHS_BLUE = "#005EB8"
NHS_DARK_BLUE = "#003087"
TEXT = "#212B32"
SECONDARY = "#4C6272"

# Streamlit options for `streamlit run` (the `kb app` command and the browser tests pass these).
DARK_BACKGROUND = "#15191E"
DARK_TEXT = "#F0F4F5"
STREAMLIT_OPTIONS = {
    "theme.light.primaryColor": NHS_BLUE,
    "theme.light.textColor": TEXT,
    "theme.light.backgroundColor": "#FFFFFF",
    "theme.light.secondaryBackgroundColor": "#F0F4F5",
    "theme.light.linkColor": NHS_BLUE,
    "theme.dark.primaryColor": "#1D70B8",  # white button text on it passes WCAG AA (5.1:1)
    "theme.dark.textColor": DARK_TEXT,
    "theme.dark.backgroundColor": DARK_BACKGROUND,
    "theme.dark.secondaryBackgroundColor": "#232A31",
    "theme.dark.linkColor": "#8CCBF2",
    "theme.font": "sans-serif",
    "client.toolbarMode": "minimal",
    "browser.gatherUsageStats": "false",
}

CSS = f"""
:root {{
  --kb-text: {TEXT}; --kb-muted: {SECONDARY}; --kb-link: {NHS_BLUE}; --kb-visited: #330072;
  --kb-hover: #7C2855; --kb-surface: #FFFFFF; --kb-soft: #F0F4F5; --kb-border: #D8DDE0;
  --kb-warn-bg: #FFF8E1; --kb-info-bg: #E8F1FA; --kb-section: {NHS_DARK_BLUE}; --kb-cited-bg: #FFF9C4;
}}
@media (prefers-color-scheme: dark) {{
  :root {{
    --kb-text: {DARK_TEXT}; --kb-muted: #B8C4CC; --kb-link: #8CCBF2; --kb-visited: #C9B6F2;
    --kb-hover: #F2B8D2; --kb-surface: #1C2228; --kb-soft: #262D35; --kb-border: #3A444E;
    --kb-warn-bg: #3A3014; --kb-info-bg: #15324A; --kb-section: #A9D6F5; --kb-cited-bg: #3A3814;
  }}
}}
html, body, [class*="css"], .stMarkdown, .stText {{
  font-family: Arial, "Helvetica Neue", Helvetica, sans-serif;
}}
h1, h2, h3 {{ font-weight: 700; }}
/* Streamlit's captions are faded text below WCAG AA contrast; use the muted colour instead */
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p,
[data-testid="stSidebar"] [data-testid="stCaptionContainer"] p {{ color: var(--kb-muted) !important; opacity: 1 !important; }}
button[data-baseweb="tab"][aria-selected="true"] p {{ color: var(--kb-link); }}
.kb-answer a, .kb-card a, .kb-refusal a, .kb-warning a, .kb-doc-chunk a, [data-testid="stExpander"] a {{ color: var(--kb-link); }}
.kb-card a:visited, .kb-refusal a:visited {{ color: var(--kb-visited); }}
.kb-card a:hover, .kb-answer a:hover {{ color: var(--kb-hover); }}
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
.kb-meta {{ color: var(--kb-muted); font-size: .85rem; }}
.kb-card {{
  border: 1px solid var(--kb-border); border-left: 4px solid {NHS_BLUE}; background: var(--kb-surface);
  color: var(--kb-text); padding: .7rem .9rem; margin: .5rem 0; border-radius: 2px;
}}
.kb-card.kb-stale {{ border-left-color: #FFB81C; }}
.kb-card.kb-old {{ border-left-color: #DA291C; }}
.kb-card h4 {{ margin: 0 0 .25rem 0; font-size: 1rem; padding: 0; color: var(--kb-text); }}
.kb-card dl {{ display: flex; flex-wrap: wrap; gap: .15rem 1.1rem; margin: .35rem 0; padding: 0; font-size: .85rem; }}
.kb-card dt {{ color: var(--kb-muted); font-weight: 400; }}
.kb-card dt::after {{ content: ":"; }}
.kb-card dd {{ margin: 0 0 0 .25rem; }}
.kb-card dl > div {{ display: flex; }}
.kb-chunk {{
  background: var(--kb-soft); color: var(--kb-text); padding: .55rem .7rem; font-size: .9rem; line-height: 1.5;
  white-space: pre-wrap; max-height: 16rem; overflow: auto; margin-top: .35rem;
}}
mark.kb-quote {{ background: #FFEB3B; color: {TEXT}; padding: 0 .1rem; }}
.kb-badge {{
  display: inline-block; font-size: .75rem; font-weight: 700; padding: .05rem .45rem;
  margin-right: .3rem; border-radius: 2px; text-transform: uppercase; letter-spacing: .02em;
}}
.kb-badge.current {{ background: #007F3B; color: #fff; }}
.kb-badge.superseded {{ background: #C4221A; color: #fff; }}
.kb-badge.withdrawn {{ background: #425563; color: #fff; }}
.kb-badge.past-review {{ background: #FFB81C; color: {TEXT}; }}
.kb-badge.type {{ background: #E8EDEE; color: {TEXT}; }}
.kb-doc-chunk {{
  border-top: 1px solid var(--kb-border); padding: .6rem .4rem; scroll-margin-top: 5rem;
}}
.kb-doc-chunk .kb-section {{ font-weight: 700; font-size: .9rem; color: var(--kb-section); }}
.kb-doc-chunk .kb-text {{ white-space: pre-wrap; line-height: 1.5; font-size: .95rem; }}
.kb-doc-chunk.kb-cited {{
  background: var(--kb-cited-bg); border-left: 6px solid {NHS_BLUE}; outline: 2px solid #FFB81C;
}}
.kb-doc-chunk.kb-cited::before {{
  content: "Cited passage"; display: inline-block; background: {NHS_BLUE}; color: #fff;
  font-size: .75rem; font-weight: 700; padding: .05rem .4rem; margin-bottom: .3rem;
}}
.kb-doc-chunk.kb-cited.kb-has-quote {{ background: transparent; outline: none; }}
.kb-doc-chunk mark.kb-quote {{ scroll-margin-top: 6rem; }}
.kb-warning {{
  border-left: 6px solid #FFB81C; background: var(--kb-warn-bg); color: var(--kb-text);
  padding: .5rem .8rem; margin: .35rem 0; font-size: .95rem;
}}
.kb-page {{ margin: .5rem 0 1rem 0; scroll-margin-top: 5rem; }}
.kb-page img {{ max-width: 100%; height: auto; border: 1px solid var(--kb-border); box-shadow: 0 1px 4px rgba(0,0,0,.15); }}
.kb-page figcaption {{ color: var(--kb-muted); font-size: .85rem; margin-bottom: .3rem; }}
.kb-searched {{ color: var(--kb-muted); font-size: .9rem; margin: 0 0 .3rem 0; }}
.kb-searched q {{ font-style: italic; }}
.kb-loading {{ border-left: 6px solid {NHS_BLUE}; background: var(--kb-info-bg); color: var(--kb-text);
  padding: .7rem .9rem; margin: .5rem 0; }}
button[data-testid="stBaseButton-tertiary"] {{
  color: var(--kb-link); text-decoration: underline; padding-left: 0; min-height: 1.6rem;
}}
[data-testid="stSidebar"] button[data-testid="stBaseButton-tertiary"] {{ justify-content: flex-start; text-align: left; }}
button[data-testid="stBaseButton-tertiary"]:hover {{ color: var(--kb-hover); }}
.kb-refusal {{ border-left: 6px solid #FFB81C; background: var(--kb-warn-bg); color: var(--kb-text); padding: .7rem .9rem; }}
@media (max-width: 640px) {{
  .kb-banner-title {{ font-size: .95rem; }}
  .kb-card dl {{ display: block; }}
  .kb-answer {{ font-size: 1rem; }}
}}
"""
