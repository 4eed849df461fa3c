"""Optional LLM backends for generative answers: OpenAI-compatible, Ollama, or the local llama.cpp server.

Two methods: `chat(messages) -> str` and `stream(messages) -> Iterator[str]` (OpenAI SSE with
`stream: true`, Ollama NDJSON). Plain HTTP through httpx, so any OpenAI-compatible server
(vLLM, llama.cpp server, LM Studio, Azure OpenAI, OpenAI) or Ollama works without extra
packages. Nothing here runs unless `KB_LLM` is set.

Every failure is a typed `kb.errors.LLMError`: `LLMTimeout`, `LLMUnavailable` (refused,
closed, down), `LLMServerError` (HTTP 5xx) or `LLMBadReply` (malformed, empty, refusal).
Timeouts, HTTP 5xx and connection errors are retried with exponential backoff, up to
`retries` times; a stream is retried only before its first token. The API key is sent in a
header and never appears in a message, a log line or a repr.

>>> # llm = OpenAICompatibleLLM("http://127.0.0.1:8080/v1", "gemma-3-270m", timeout=30, retries=1)
>>> # "".join(llm.stream([{"role": "user", "content": "Say hello"}]))
"""

from __future__ import annotations

import json
import logging
import re
import ssl
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from functools import cache
from typing import TypeVar

import httpx

from kb.errors import ConfigError, LLMBadReply, LLMError, LLMServerError, LLMTimeout, LLMUnavailable

log = logging.getLogger("kb.llm")

T = TypeVar("T")

# A reply that declines instead of answering from the sources (checked at its start only).
_REFUSAL = re.compile(
    r"^\W*(i'?m sorry|i am sorry|sorry, (but )?i|i (can ?not|can't|am unable to|won't)|as an ai\b)",
    re.IGNORECASE,
)


@cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every client: building one loads the CA bundle, which is slow."""
    return httpx.create_ssl_context()


def check_reply(text: str, where: str) -> str:
    """The reply, or LLMBadReply when it is empty or a refusal."""
    if not text.strip():
        raise LLMBadReply(f"The LLM at {where} sent an empty reply.", reason="empty")
    if _REFUSAL.search(text):
        raise LLMBadReply(f"The LLM at {where} refused to answer: {text.strip()[:80]!r}.", reason="refusal")
    return text


class LLM(ABC):
    """A chat model behind HTTP. Subclasses say how to build a request and read a reply."""

    name = "llm"
    backoff_s = 0.5  # first retry waits this long, then doubles

    def __init__(self, base_url: str, model: str, api_key: str = "", timeout: float = 60.0,
                 retries: int = 2, max_tokens: int = 512) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self._api_key = api_key
        self.timeout = float(timeout)
        self.retries = max(0, int(retries))
        self.max_tokens = int(max_tokens)
        self.name = model
        self._client: httpx.Client | None = None

    def __repr__(self) -> str:
        key = ", api_key=***" if self._api_key else ""
        return f"{type(self).__name__}(base_url={self.base_url!r}, model={self.model!r}{key})"

    # ------------------------------------------------------------------ what subclasses say

    @abstractmethod
    def _endpoint(self) -> str: ...

    @abstractmethod
    def _payload(self, messages: list[dict], stream: bool) -> dict: ...

    @abstractmethod
    def _reply_text(self, data: dict) -> str:
        """The content of a complete (non-streamed) reply; KeyError/TypeError/IndexError if malformed."""

    @abstractmethod
    def _stream_pieces(self, lines: Iterator[str]) -> Iterator[str]:
        """The content pieces of a streamed reply, read line by line."""

    # ------------------------------------------------------------------ the public methods

    def chat(self, messages: list[dict]) -> str:
        """Return the assistant's reply to a list of {"role", "content"} messages."""
        return self._with_retries(lambda: self._chat_once(messages))

    def stream(self, messages: list[dict]) -> Iterator[str]:
        """Yield the reply piece by piece as the server sends it.

        Retries happen only before the first piece; after it a failure is raised as it comes.
        An empty or refused reply raises LLMBadReply once the stream ends."""
        first: list[str] = []
        pieces = self._with_retries(lambda: self._open_stream(messages, first))
        yield from first
        text = "".join(first)
        try:
            with self._errors():
                for piece in pieces:
                    text += piece
                    yield piece
        finally:
            pieces.close()  # also when the caller stops reading early: the connection is released
        check_reply(text, self.base_url)

    # ------------------------------------------------------------------ plumbing

    @property
    def client(self) -> httpx.Client:
        """One connection pool per LLM (building a client per request costs a TLS context each time)."""
        if self._client is None:
            self._client = httpx.Client(timeout=self.timeout, verify=_tls())
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}

    def _redact(self, text: str) -> str:
        return text.replace(self._api_key, "***") if self._api_key else text

    def _chat_once(self, messages: list[dict]) -> str:
        with self._errors():
            resp = self.client.post(self._endpoint(), json=self._payload(messages, stream=False),
                                    headers=self._headers())
            self._raise_for_status(resp)
            try:
                text = self._reply_text(resp.json())
            except (ValueError, KeyError, IndexError, TypeError) as exc:
                raise LLMBadReply(
                    f"The LLM at {self.base_url} sent a malformed reply ({type(exc).__name__}): "
                    f"{self._redact(resp.text[:120])!r}.",
                    reason="malformed",
                ) from None
        return check_reply(text or "", self.base_url)

    def _open_stream(self, messages: list[dict], first: list[str]) -> Generator[str, None, None]:
        """Open the stream and read up to its first piece (so that failures before it can be retried)."""
        first.clear()
        with self._errors():
            req = self.client.build_request("POST", self._endpoint(), json=self._payload(messages, stream=True),
                                            headers=self._headers())
            resp = self.client.send(req, stream=True)
            try:
                if resp.status_code >= 400:
                    resp.read()
                    self._raise_for_status(resp)
                pieces = self._stream_pieces(resp.iter_lines())
                for piece in pieces:
                    first.append(piece)
                    break
            except BaseException:
                resp.close()
                raise
        return self._closing(pieces, resp)

    @staticmethod
    def _closing(pieces: Iterator[str], resp: httpx.Response) -> Generator[str, None, None]:
        try:
            yield from pieces
        finally:
            resp.close()

    def _raise_for_status(self, resp: httpx.Response) -> None:
        if resp.status_code >= 500:
            raise LLMServerError(
                f"The LLM at {self.base_url} failed with HTTP {resp.status_code}: {self._redact(resp.text[:160])!r}."
            )
        if resp.status_code >= 400:
            raise LLMError(
                f"The LLM at {self.base_url} rejected the request with HTTP {resp.status_code}: "
                f"{self._redact(resp.text[:160])!r}. Check KB_LLM_MODEL and KB_LLM_API_KEY."
            )

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Turn transport failures into typed LLM errors whose text never holds the key."""
        try:
            yield
        except LLMError as exc:
            if self._api_key and self._api_key in str(exc):  # a server echoed it into a message
                exc.args = (self._redact(str(exc)),)
            raise
        except httpx.TimeoutException:
            raise LLMTimeout(f"The LLM at {self.base_url} did not answer within {self.timeout:g} s "
                             "(setting llm_timeout_s).") from None
        except httpx.RemoteProtocolError as exc:
            raise LLMUnavailable(f"The LLM at {self.base_url} closed the connection mid-reply "
                                 f"({self._redact(str(exc))}).") from None
        except (httpx.ConnectError, httpx.ReadError, httpx.WriteError, httpx.NetworkError) as exc:
            raise LLMUnavailable(f"The LLM at {self.base_url} cannot be reached ({self._redact(str(exc))}). "
                                 "Is the server running? Check KB_LLM_BASE_URL.") from None
        except httpx.HTTPError as exc:
            raise LLMError(f"The LLM at {self.base_url} failed: {self._redact(str(exc))}.") from None

    def _with_retries(self, call: Callable[[], T]) -> T:
        for attempt in range(self.retries + 1):
            try:
                return call()
            except (LLMTimeout, LLMUnavailable, LLMServerError) as exc:
                if attempt == self.retries:
                    log.warning("LLM failed after %d attempt(s): %s", attempt + 1, exc)
                    raise
                wait = self.backoff_s * (2**attempt)
                log.warning("LLM attempt %d failed (%s); retrying in %.2f s", attempt + 1, exc, wait)
                time.sleep(wait)
            except LLMError as exc:
                log.warning("LLM failed: %s", exc)
                raise
        raise AssertionError("unreachable")


def _json_line(line: str, where: str) -> dict:
    try:
        data = json.loads(line)
    except ValueError:
        raise LLMBadReply(f"The LLM at {where} sent a malformed stream line: {line[:80]!r}.") from None
    if not isinstance(data, dict):
        raise LLMBadReply(f"The LLM at {where} sent a malformed stream line: {line[:80]!r}.")
    return data


class OpenAICompatibleLLM(LLM):
    """POST {base_url}/chat/completions; streams as server-sent events ending in `data: [DONE]`."""

    def __init__(self, base_url: str, model: str, api_key: str = "", timeout: float = 60.0,
                 retries: int = 2, max_tokens: int = 512) -> None:
        if not base_url or not model:
            raise ConfigError("KB_LLM=openai needs KB_LLM_BASE_URL (e.g. http://localhost:8000/v1) and KB_LLM_MODEL.")
        super().__init__(base_url, model, api_key, timeout, retries, max_tokens)

    def _endpoint(self) -> str:
        return f"{self.base_url}/chat/completions"

    def _payload(self, messages: list[dict], stream: bool) -> dict:
        return {"model": self.model, "messages": messages, "temperature": 0,
                "max_tokens": self.max_tokens, "stream": stream}

    def _reply_text(self, data: dict) -> str:
        return data["choices"][0]["message"]["content"] or ""

    def _stream_pieces(self, lines: Iterator[str]) -> Iterator[str]:
        for line in lines:
            line = line.strip()
            if not line or line.startswith(":") or not line.startswith("data:"):
                continue
            body = line[5:].strip()
            if body == "[DONE]":
                return
            data = _json_line(body, self.base_url)
            if "error" in data:
                raise LLMServerError(f"The LLM at {self.base_url} failed mid-stream: "
                                     f"{self._redact(str(data['error'])[:160])!r}.")
            try:
                choices = data["choices"]
                piece = (choices[0].get("delta") or {}).get("content") if choices else None
            except (KeyError, IndexError, TypeError, AttributeError):
                raise LLMBadReply(f"The LLM at {self.base_url} sent a malformed stream event: {body[:80]!r}.") from None
            if piece:
                yield piece
        raise LLMUnavailable(f"The LLM at {self.base_url} ended the stream without [DONE].")


class OllamaLLM(LLM):
    """POST {base_url}/api/chat; streams as newline-delimited JSON ending with `"done": true`."""

    def __init__(self, base_url: str, model: str, timeout: float = 60.0, retries: int = 2,
                 max_tokens: int = 512, *, api_key: str = "") -> None:
        if not model:
            raise ConfigError("KB_LLM=ollama needs KB_LLM_MODEL (and KB_LLM_BASE_URL if not http://localhost:11434).")
        super().__init__(base_url or "http://localhost:11434", model, api_key, timeout, retries, max_tokens)

    def _endpoint(self) -> str:
        return f"{self.base_url}/api/chat"

    def _payload(self, messages: list[dict], stream: bool) -> dict:
        return {"model": self.model, "messages": messages, "stream": stream,
                "options": {"temperature": 0, "num_predict": self.max_tokens}}

    def _reply_text(self, data: dict) -> str:
        return data["message"]["content"] or ""

    def _stream_pieces(self, lines: Iterator[str]) -> Iterator[str]:
        for line in lines:
            if not line.strip():
                continue
            data = _json_line(line, self.base_url)
            if "error" in data:
                raise LLMServerError(f"Ollama at {self.base_url} failed mid-stream: "
                                     f"{self._redact(str(data['error'])[:160])!r}.")
            try:
                piece = data["message"]["content"] if "message" in data else ""
            except (KeyError, TypeError):
                raise LLMBadReply(f"Ollama at {self.base_url} sent a malformed stream line: {line[:80]!r}.") from None
            if piece:
                yield piece
            if data.get("done"):
                return
        raise LLMUnavailable(f"Ollama at {self.base_url} ended the stream before \"done\".")


def open_llm(settings) -> LLM | None:
    """The LLM the settings ask for, or None for extractive answers.

    `llm=local` returns a client whose llama.cpp server starts on first use and stops at exit."""
    common = {"timeout": settings.llm_timeout_s, "retries": settings.llm_retries,
              "max_tokens": settings.llm_max_tokens}
    if settings.llm == "none":
        return None
    if settings.llm == "openai":
        return OpenAICompatibleLLM(settings.llm_base_url, settings.llm_model, settings.llm_api_key, **common)
    if settings.llm == "ollama":
        return OllamaLLM(settings.llm_base_url, settings.llm_model, api_key=settings.llm_api_key, **common)
    if settings.llm == "local":
        from kb.llm_server import LocalLLM

        return LocalLLM.from_settings(settings)
    raise ConfigError(f"Unknown KB_LLM {settings.llm!r}: use none, openai, ollama or local.")
