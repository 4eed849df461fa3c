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
