"""Scripted model replies written from the prompt's own sources, for generative evals and tests.

A scripted model that always says the same thing measures nothing on the golden set. These
replies read the numbered `<source n="…">` blocks and the question out of the prompt that
`kb.ask.generative.build_messages` writes, and answer from them:

- `reader`: the one or two source sentences that share most words with the question, copied
  verbatim, each cited to the source it came from. Markers alternate before and after the
  full stop ("… [1]." and "…. [2]"), as real models write them. Every sentence is correct.
- `perturbed`: the reader's answer plus one wrong sentence: the best sentence with a number
  changed when it has one, otherwise cited to a source it is not in. Verification should keep
  the correct sentences and remove the wrong one.

Run a scripted OpenAI-compatible server for `kb eval --mode generative`:

    python -m evals.scripted_llm --reply perturbed --port 8091 &
    KB_LLM=openai KB_LLM_BASE_URL=http://127.0.0.1:8091/v1 KB_LLM_MODEL=scripted \\
        kb eval --suite golden --mode generative

>>> msgs = [{"role": "system", "content": "rules"}, {"role": "user", "content":
...         'Sources:\\n<source n="1" title="T" section="S">\\nWash the wound. Start PEP within 72 hours.\\n</source>'
...         '\\n\\nQuestion: When should PEP start?'}]
>>> reader(msgs)
'Start PEP within 72 hours [1].'
>>> perturbed(msgs)
'Start PEP within 72 hours [1]. Start PEP within 145 hours. [1]'
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
import time

from kb.llm_reply import NOT_COVERED
from kb.sentences import split_sentences

_SOURCE = re.compile(r'<source n="(\d+)"[^\n]*>\n(.*?)\n</source>', re.DOTALL)
_WORD = re.compile(r"[a-z0-9]+")
_NUMBER = re.compile(r"\b\d+(?:\.\d+)?\b")
_STOP = frozenset(
    "a an and are as at be by can do does for from how i in is it my of on or should staff the to what when "
    "where which who why will with after before must their they this that there if need".split()
)


def prompt_parts(messages: list[dict]) -> tuple[str, dict[int, str]]:
    """The question and the numbered source texts of a `build_messages` prompt."""
    user = messages[-1]["content"]
    question = user.rsplit("Question:", 1)[-1].strip()
    return question, {int(n): text for n, text in _SOURCE.findall(user)}


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 1}


def best_sentences(messages: list[dict], k: int = 2) -> list[tuple[int, str]]:
    """(source number, sentence) of the k source sentences that share most words with the question."""
    question, sources = prompt_parts(messages)
    q = _words(question)
    scored = []
    for n, text in sources.items():
        for s in split_sentences(text):
            body = " ".join(s.text.split())
            words = _words(body)
            if len(body.split()) < 4 or body.endswith(":") or not words & q:
                continue
            scored.append((-len(words & q) / len(words) ** 0.5, n, body))
    picked, seen = [], set()
    for _, n, body in sorted(scored):
        if body not in seen:
            seen.add(body)
            picked.append((n, body))
        if len(picked) == k:
            break
    return picked


def _cite(i: int, body: str, n: int) -> str:
    """Marker before the full stop on even sentences, after it on odd ones."""
    if i % 2 == 0 and body[-1:] in ".!?":
        return f"{body[:-1]} [{n}]{body[-1]}"
    return f"{body} [{n}]"


def reader(messages: list[dict]) -> str:
    picked = best_sentences(messages)
    if not picked:
        return NOT_COVERED
    return " ".join(_cite(i, body, n) for i, (n, body) in enumerate(picked))


def wrong_sentence(messages: list[dict], n: int, body: str) -> str:
    """`body` made wrong: its first number changed, or else cited to a source that does not hold it."""
    m = _NUMBER.search(body)
    if m:
        wrong = str(int(float(m.group(0))) * 2 + 1)
        return _cite(1, body[: m.start()] + wrong + body[m.end():], n)
    _, sources = prompt_parts(messages)
    other = next((o for o in sources if o != n and body not in " ".join(sources[o].split())), None)
    return _cite(1, body, other) if other else body  # one source only: the wrong sentence cites nothing


def perturbed(messages: list[dict]) -> str:
    picked = best_sentences(messages)
    if not picked:
        return NOT_COVERED
    return reader(messages) + " " + wrong_sentence(messages, *picked[0])


REPLIES = {"reader": reader, "perturbed": perturbed}


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
    from tests.kb.llm.scripted_server import ScriptedLLMServer

    p = argparse.ArgumentParser(description="A scripted OpenAI-compatible server that answers from the prompt.")
    p.add_argument("--reply", choices=sorted(REPLIES), default="reader")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8091)
    args = p.parse_args(argv)
    srv = ScriptedLLMServer(default=REPLIES[args.reply], host=args.host, port=args.port)
    print(f"scripted LLM ({args.reply}) at {srv.openai_url}", flush=True)
    signal.signal(signal.SIGTERM, lambda *a: (srv.close(), sys.exit(0)))
    while True:
        time.sleep(1)


if __name__ == "__main__":
    raise SystemExit(main())
