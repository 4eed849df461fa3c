"""Named things a claim must match: infections and vaccines, tests, drugs and roles.

>>> sorted(entities("The line manager must refer staff with hep B to the OH physician.")["role"])
['line_manager', 'oh_physician', 'worker']
"""

from __future__ import annotations

from kb.terms import tokens
from kb.vocabulary import entity_type


def entities(text: str) -> dict[str, set[str]]:
    """type -> canonical entity tokens found in `text`."""
    out: dict[str, set[str]] = {}
    for t in tokens(text):
        kind = entity_type(t)
        if kind:
            out.setdefault(kind, set()).add(t)
    return out


def entity_conflict(claim: str, source: str) -> str | None:
    """A reason when the claim names an entity where the source names a different one of that type.

    Only a swap counts: the source must name something of the same type and not the claim's.
    """
    c, s = entities(claim), entities(source)
    for kind in ("infection", "drug", "test", "role"):
        missing = c.get(kind, set()) - s.get(kind, set())
        others = s.get(kind, set()) - c.get(kind, set())
        if missing and others:
            return (f"the claim names {_show(sorted(missing)[0])}, the source names "
                    f"{_show(sorted(others)[0])}")
    return None


GENERIC_ROLES = frozenset({"worker", "lone_worker"})


def unmatched_entities(claim: str, source: str) -> list[str]:
    """Every entity the claim names that the source does not (generic roles such as 'staff' aside).

    A source that never names the claim's vaccine, test, drug or person cannot support it.
    """
    c, s = entities(claim), entities(source)
    found = set().union(*s.values()) if s else set()
    return sorted(t for toks in c.values() for t in toks if t not in found and t not in GENERIC_ROLES)


def missing_entities(claim: str, pool: str) -> list[str]:
    """Entities in the claim (any type but roles) that `pool` never mentions."""
    c, s = entities(claim), entities(pool)
    out = []
    for kind in ("infection", "drug", "test"):
        out += sorted(c.get(kind, set()) - s.get(kind, set()))
    return out


def _show(token: str) -> str:
    return token.replace("_", " ")
