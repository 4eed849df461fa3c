"""The ask path as typed stages (see `pipeline.py`)."""

from kb.ask.pipeline import REFUSAL, AskPipeline, Library

__all__ = ["REFUSAL", "AskPipeline", "Library"]
