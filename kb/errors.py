"""The errors users see. Keep this small: one base class and a few specialisations."""

from __future__ import annotations


class KBError(Exception):
    """An error a user sees: it says what went wrong and what to do next."""


class IngestError(KBError):
    """A file could not be ingested. `reason` is one short phrase, for example
    "corrupt PDF", "encrypted PDF", "empty file", "unsupported type", "no text layer"."""

    def __init__(self, path: str, reason: str, detail: str = "") -> None:
        self.path = str(path)
        self.reason = reason
        self.detail = detail
        msg = f"{self.path}: {reason}"
        if detail:
            msg += f" ({detail})"
        super().__init__(msg)


class StoreLockedError(KBError):
    """Another process holds the embedded store's write lock."""


class ConfigError(KBError):
    """A setting in kb.toml or the environment is invalid."""


class LLMError(KBError):
    """The generative model failed. The ask pipeline answers extractively instead and says why.

    `notice` is the one line a member sees above that extractive answer."""

    notice = "The generative model failed, so this is the extractive answer."


class LLMTimeout(LLMError):
    """The model did not answer within llm_timeout_s."""

    notice = "The generative model did not answer in time, so this is the extractive answer."


class LLMUnavailable(LLMError):
    """The model server cannot be reached: connection refused, closed, or it could not be started."""

    notice = "The generative model is not available right now, so this is the extractive answer."


class LLMServerError(LLMError):
    """The model server answered with an HTTP 5xx."""

    notice = "The generative model reported an error, so this is the extractive answer."


class LLMBadReply(LLMError):
    """The reply cannot be used. `reason` is "malformed", "empty" or "refusal"."""

    notice = "The generative model's reply could not be used, so this is the extractive answer."

    def __init__(self, message: str, reason: str = "malformed") -> None:
        self.reason = reason
        super().__init__(message)
