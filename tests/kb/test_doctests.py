"""The runnable examples in module docstrings stay true."""

import doctest
import importlib

import pytest

MODULES = ["kb.tables", "kb.terms", "kb.vocabulary", "kb.verify.quantities", "kb.verify.polarity",
           "kb.verify.entities", "kb.verify.untrusted", "kb.sentences", "ingest.loaders.tables",
           "kb.pii", "kb.access", "kb.auth", "kb.catalog_backends", "kb.catalog_migrations",
           "kb.conversation", "kb.cited_page", "kb.citation_labels"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0 and result.attempted > 0, result
