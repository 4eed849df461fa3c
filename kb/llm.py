"""Optional LLM backends for generative answers: OpenAI-compatible or Ollama.

One abstract method, `chat(messages) -> str`. Plain HTTP through httpx, so any
OpenAI-compatible server (vLLM, llama.cpp server, Azure OpenAI, OpenAI) or Ollama works
without extra packages. Nothing here runs unless `KB_LLM` is set.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import httpx

from kb.errors import ConfigError, KBError


class LLM(ABC):
    name = "llm"

    @abstractmethod
    def chat(self, messages: list[dict]) -> str:
        """Return the assistant's reply to a list of {"role", "content"} messages."""


class OpenAICompatibleLLM(LLM):
    def __init__(self, base_url: str, model: str, api_key: str = "", timeout: float = 120) -> None:
        if not base_url or not model:
            raise ConfigError("KB_LLM=openai needs KB_LLM_BASE_URL (e.g. http://localhost:8000/v1) and KB_LLM_MODEL.")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.name = model

    def chat(self, messages: list[dict]) -> str:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        try:
            resp = httpx.post(
                f"{self.base_url}/chat/completions",
                json={"model": self.model, "messages": messages, "temperature": 0},
                headers=headers,
                timeout=self.timeout,
            )
            resp.raise_for_status()
            return resp.json()["choices"][0]["message"]["content"] or ""
        except (httpx.HTTPError, KeyError, IndexError, ValueError) as exc:
            raise KBError(f"The LLM at {self.base_url} failed: {exc}. Check KB_LLM_BASE_URL and KB_LLM_MODEL.") from exc


class OllamaLLM(LLM):
    def __init__(self, base_url: str, model: str, timeout: float = 120) -> None:
        if not model:
            raise ConfigError("KB_LLM=ollama needs KB_LLM_MODEL (and KB_LLM_BASE_URL if not http://localhost:11434).")
        self.base_url = (base_url or "http://localhost:11434").rstrip("/")
        self.model = model
        self.timeout = timeout
        self.name = model

    def chat(self, messages: list[dict]) -> str:
        try:
            resp = httpx.post(
                f"{self.base_url}/api/chat",
                json={"model": self.model, "messages": messages, "stream": False, "options": {"temperature": 0}},
                timeout=self.timeout,
            )
            resp.raise_for_status()
            return resp.json()["message"]["content"] or ""
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            raise KBError(f"Ollama at {self.base_url} failed: {exc}.") from exc


def open_llm(settings) -> LLM | None:
    if settings.llm == "none":
        return None
    if settings.llm == "openai":
        return OpenAICompatibleLLM(settings.llm_base_url, settings.llm_model, settings.llm_api_key)
    if settings.llm == "ollama":
        return OllamaLLM(settings.llm_base_url, settings.llm_model)
    raise ConfigError(f"Unknown KB_LLM {settings.llm!r}: use none, openai or ollama.")
