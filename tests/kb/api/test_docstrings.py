"""The runnable examples in the API modules' docstrings (keys, rate limiter) stay true."""

import doctest

import kb.api.auth
import kb.api.limits


def test_api_docstring_examples():
    for module in (kb.api.auth, kb.api.limits):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0, (module.__name__, result)
