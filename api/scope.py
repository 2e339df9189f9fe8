"""How far an admin act reaches, said once for the OpenAPI description and the pages.

Every admin route carries ``x-scope`` in its OpenAPI operation (``openapi_extra=scope(...)``) and a
``Scope:`` sentence in its description; ``tests/security/test_admin_scope.py`` walks the schema to
hold every route that mentions admins to it, and sends each office-wide one as a city admin.

- ``office``: the act changes what every org sees (the calendar, definitions and their versions,
  office-wide settings): the admin role at the root of the org tree; a city admin gets 403 and
  nothing changes (the engine refuses it too: ``workflow.authority.require_root_admin``).
- ``subtree``: the act reaches the caller's org and the orgs under it only (an org outside: 403).
- ``case``: one case the caller can see (a case outside the caller's subtree: 404).
"""

from __future__ import annotations

from typing import Any

from workflow.authority import covers_all
from workflow.model import Actor
from workflow.orgs import OrgTree

OFFICE = "office"
SUBTREE = "subtree"
CASE = "case"

SCOPE_TEXT = {
    OFFICE: "Scope: the whole office. Needs the admin role at the root of the org tree (420000 in "
            "Hubei); the admin of a city or any org below the root gets 403 and nothing changes.",
    SUBTREE: "Scope: the caller's org subtree. The org named must be the caller's or one under it; "
             "another org is 403 and nothing changes.",
    CASE: "Scope: one case in the caller's org subtree; a case outside it is 404.",
}


def scope(kind: str) -> dict[str, Any]:
    """``openapi_extra`` for a route: its ``x-scope``."""
    return {"x-scope": kind}


def at_root(orgs: OrgTree, actor: Actor) -> bool:
    """The actor's org is the root of the tree (its subtree is every org)."""
    return covers_all(orgs, actor.org)


__all__ = ["CASE", "OFFICE", "SCOPE_TEXT", "SUBTREE", "at_root", "scope"]
