"""Timing benchmark (not pass/fail) of the local model behind KB_LLM=local.

    .venv/bin/python -m evals.bench_llm [--questions 5] [--model FILE.gguf] [--max-tokens 256]

Starts llama-server with the packaged GGUF (or --model) on loopback and prints its load
time; then, for the first N answerable golden questions, retrieves the sources as `kb ask`
does, streams the generated answer and prints time to first token, full answer time,
tokens/s (from the server's own timings) and how many of the reply's sentences cite a
source that exists. Needs the `local-llm` extra (see README).

Then it verifies every sentence the model wrote against the sources it cites, as the ask
pipeline does, but also for replies the pipeline would not use (an echoed NOT_COVERED makes
it fall back to the extractive answer): sentences generated, verified, contradicted
(caught), unsupported (removed), and good sentences wrongly removed (a verbatim quote of the
cited passage, or a golden key phrase while citing a gold document; see
`evals.golden_run.judge_sentences`). `--show` prints each reply and its verdicts for review.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import httpx

from evals.golden import golden_kb, load_cases, spread
from evals.golden_run import judge_sentences
from kb.ask.generative import build_messages
from kb.ask.verify import verify_generated
from kb.llm_reply import read_reply
from kb.llm_server import LocalLLMServer
from kb.records import Answer


def stream_once(base_url: str, model: str, messages: list[dict], max_tokens: int) -> dict:
    """One streamed answer, timed; tokens/s and token counts from llama-server's `timings`."""
    t0 = time.perf_counter()
    first = None
    text, timings = "", {}
    payload = {"model": model, "messages": messages, "temperature": 0, "max_tokens": max_tokens, "stream": True}
    with httpx.stream("POST", f"{base_url}/chat/completions", json=payload, timeout=600) as resp:
        resp.raise_for_status()
        for line in resp.iter_lines():
            if not line.startswith("data:") or line.strip() == "data: [DONE]":
                continue
            event = json.loads(line[5:])
            timings = event.get("timings") or timings
            for choice in event.get("choices") or []:
                piece = (choice.get("delta") or {}).get("content")
                if piece:
                    first = first if first is not None else time.perf_counter() - t0
                    text += piece
    return {"ttft": first or 0.0, "total": time.perf_counter() - t0, "text": text, "timings": timings}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--questions", type=int, default=5)
    ap.add_argument("--model", default=None, help="GGUF file (default: the packaged Gemma 3 270M)")
    ap.add_argument("--max-tokens", type=int, default=256)
    ap.add_argument("--show", action="store_true", help="print each reply")
    args = ap.parse_args()

    cases = spread([c for c in load_cases() if c.kind == "answerable"], args.questions)
    kb = golden_kb()
    verdicts: dict[str, int] = {}
    with kb:
        prompts = []
        for c in cases:
            hits = kb.search(c.question, k=kb.settings.top_k)
            prompts.append((c, hits, build_messages(c.question, hits)))
        srv = LocalLLMServer(model_path=args.model)
        t0 = time.perf_counter()
        with srv:
            load = time.perf_counter() - t0
            print(f"model {srv.model_path.name}: server healthy after {load:.1f} s (load incl. process start)")
            rows = []
            for c, hits, messages in prompts:
                r = stream_once(srv.base_url, srv.alias, messages, args.max_tokens)
                reply = read_reply(r["text"], len(hits))
                cited = sum(1 for s in reply.sentences if s.citations)
                draft = verify_generated(reply.sentences, hits, kb.checker, kb.link_for, "drop")
                judged = judge_sentences(Answer(question=c.question, answer="", answerable=True, hits=hits,
                                                sentences=draft.sentences), c)
                for j in judged:
                    for key in ("generated", j["verdict"]) + (("good_wrongly_removed",) if not j["shown"] and
                                                             (j["quote"] or j["key_phrase"]) else ()):
                        verdicts[key] = verdicts.get(key, 0) + 1
                t = r["timings"]
                rows.append({**r, "id": c.id, "sentences": len(reply.sentences), "cited": cited,
                             "not_covered": reply.not_covered, "prompt_n": t.get("prompt_n"),
                             "prompt_tps": t.get("prompt_per_second"), "gen_n": t.get("predicted_n"),
                             "gen_tps": t.get("predicted_per_second")})
                print(f"{c.id}: first token {r['ttft']:.2f} s, answer {r['total']:.2f} s, prompt {t.get('prompt_n')} tok "
                      f"@ {t.get('prompt_per_second', 0):.0f} tok/s, generated {t.get('predicted_n')} tok "
                      f"@ {t.get('predicted_per_second', 0):.1f} tok/s, sentences {len(reply.sentences)} "
                      f"(cited {cited}){' NOT_COVERED' if reply.not_covered else ''}")
                if args.show:
                    print("   ", r["text"].replace("\n", " ")[:600])
                    for j in judged:
                        print(f"    - {j['verdict']}{'' if j['shown'] else ' (removed)'}: {j['text'][:120]} ({j['reason'][:80]})")
    med = statistics.median
    print(f"median over {len(rows)}: first token {med(r['ttft'] for r in rows):.2f} s, "
          f"answer {med(r['total'] for r in rows):.2f} s, "
          f"generation {med(r['gen_tps'] or 0 for r in rows):.1f} tok/s, "
          f"prompt {med(r['prompt_tps'] or 0 for r in rows):.0f} tok/s; "
          f"sentences {sum(r['sentences'] for r in rows)}, cited {sum(r['cited'] for r in rows)}")
    print("verification of every sentence written:", json.dumps(verdicts))


if __name__ == "__main__":
    main()
