"""The write journal: a command that changes both the catalog and the store records an
intent in the catalog first, and clears it once the two agree again.

A process killed in between leaves the intent behind; `kb.repair.repair_pending` finishes or
undoes it on the next ingest, curation command or `kb doctor --repair`.

Named crash points let tests kill the process at an exact step:
`KB_TEST_CRASH_AT=after_upsert` (or `parse:3`, the third time that point is reached;
several comma-separated) sends SIGKILL to this process when the point is reached.
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

CRASH_ENV = "KB_TEST_CRASH_AT"
_reached: Counter[str] = Counter()


def crash_point(name: str) -> None:
    """Die here with SIGKILL if `KB_TEST_CRASH_AT` names this point (tests only)."""
    wanted = os.environ.get(CRASH_ENV)
    if not wanted:
        return
    _reached[name] += 1
    for item in wanted.split(","):
        point, _, nth = item.strip().partition(":")
        if point == name and _reached[name] >= int(nth or 1):
            os.kill(os.getpid(), signal.SIGKILL)


def owner_alive(detail: dict) -> bool:
    """Is the process that wrote this intent still running (so it is not ours to repair)?"""
    pid = detail.get("pid")
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def intent(catalog, action: str, doc_id: str, **detail) -> Iterator[str]:
    """Journal one store-changing step. On an exception the intent stays, for repair."""
    intent_id = catalog.begin_intent(action, doc_id, {**detail, "pid": os.getpid()})
    yield intent_id
    catalog.end_intent(intent_id)
