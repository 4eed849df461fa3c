"""One claim checker behind every answer, citation and bulletin (see `checker.py`).

>>> # from kb.verify import RuleChecker, Passage
>>> # RuleChecker(embedder).check("PEP within 72 hours", [Passage("Start PEP within 3 days.")]).verdict
>>> # 'supported'
"""

from kb.verify.checker import (
    ClaimChecker,
    Evidence,
    Passage,
    RuleChecker,
    Thresholds,
    Verdict,
    VerdictLabel,
)
from kb.verify.untrusted import is_instruction

__all__ = [
    "ClaimChecker", "Evidence", "Passage", "RuleChecker", "Thresholds", "Verdict", "VerdictLabel",
    "is_instruction", "open_checker",
]


def open_checker(settings, embedder, llm_factory=None) -> ClaimChecker:
    """The configured checker: `rules` (default) or `model` (rules find the span, an LLM decides)."""
    rules = RuleChecker(embedder)
    if getattr(settings, "checker", "rules") == "model" and llm_factory is not None:
        from kb.verify.model import ModelChecker

        return ModelChecker(llm_factory(), rules)
    return rules
