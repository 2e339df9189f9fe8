"""Who may act beyond what a transition's roles say: the engine's own actor, the root admin, and
the scope of idempotency keys.

- **The engine's own actor** (:data:`workflow.model.SYSTEM`, role ``system``) fires what the
  engine decides on its own: the targets of ``on_expire``, a bundle's ``children_closed``, and any
  transition whose only role is ``system`` (:func:`reserved_to_engine`); those transitions are
  refused to every other actor (:func:`refuse_reserved`). Every use case that takes an actor
  refuses one that carries the ``system`` role without being that actor (:func:`require_outside`),
  and no token, password or JWT carries the role (``api.auth``): only code running in the
  engine's process can act as it. Integrating systems (the province's portal, the OA) hold the
  ``portal`` role instead.
- **The root admin.** An act whose effect reaches beyond the actor's org subtree (the calendar,
  definitions and their versions, office-wide settings) needs the admin role at an org whose
  subtree is the whole tree (the root: 420000 in Hubei) (:func:`require_root_admin`). A city admin
  acts within the city only (:func:`require_admin_over`).
- **Idempotency keys** belong to one user in one org for one operation
  (:func:`scoped_idempotency_key`): the same user id in two orgs never replays the other's call.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from .definition import Definition, TransitionDef
from .errors import Forbidden
from .model import SYSTEM, Actor
from .orgs import OrgTree

ENGINE_ROLE = "system"  # the engine's own actor: in definition files only, never held by a caller
PORTAL_ROLE = "portal"  # integrating systems (the province's portal, the OA)
ADMIN_ROLE = "admin"
GRANTABLE_ROLES = ("clerk", "examiner", "supervisor", "leader", ADMIN_ROLE, PORTAL_ROLE)
"""The roles a token, a password account or a JWT may carry (every role but ``system``)."""


def is_engine(actor: Actor) -> bool:
    """The engine's own actor (:data:`SYSTEM`, compared by value)."""
    return actor == SYSTEM


def require_outside(actor: Actor) -> None:
    """Refuse (Forbidden) an actor that carries the engine's role without being the engine's own
    actor (a library caller that built ``Actor(..., roles={"system"})`` for its portal)."""
    if ENGINE_ROLE in actor.roles and not is_engine(actor):
        raise Forbidden(
            f"actor {actor.id}: the role {ENGINE_ROLE!r} is the engine's own actor, which no caller can act as; "
            f"integrating systems use the role {PORTAL_ROLE!r}"
        )


def engine_triggers(defn: Definition) -> frozenset[str]:
    """The triggers the engine fires itself in ``defn``: every clock's ``on_expire`` and, in a
    bundle, ``children_closed``."""
    out = {c.on_expire for c in defn.clocks.values() if c.on_expire}
    if defn.kind == "bundle" or defn.children:
        out.add("children_closed")
    return frozenset(out)


def reserved_to_engine(defn: Definition, t: TransitionDef) -> bool:
    """True when only the engine may fire ``t``: its only role is ``system``, or it is one of
    :func:`engine_triggers` and names no role a caller can hold (no roles, or ``system`` alone).
    A definition that also lets, say, a clerk fire an ``on_expire`` target says so by listing
    ``clerk`` beside ``system``."""
    if t.roles and set(t.roles) == {ENGINE_ROLE}:
        return True
    return t.trigger in engine_triggers(defn) and not (set(t.roles) - {ENGINE_ROLE})


def refuse_reserved(defn: Definition, t: TransitionDef, actor: Actor) -> None:
    """Refuse (Forbidden) a transition reserved to the engine to anyone but the engine's actor."""
    if reserved_to_engine(defn, t) and not is_engine(actor):
        raise Forbidden(
            f"{t.label or t.trigger} ({t.trigger!r}) is the engine's own transition: it fires by itself "
            "(a period running out, a bundle's last item closing), never on request"
        )


def covers_all(orgs: OrgTree, org: str) -> bool:
    """True when ``org``'s subtree is the whole tree (the root of a single-rooted tree)."""
    return len(orgs.subtree(org)) == sum(1 for _ in orgs)


def roots(orgs: OrgTree) -> list[str]:
    return [o.code for o in orgs if o.parent is None]


def require_root_admin(orgs: OrgTree, actor: Actor, what: str, roles: Iterable[str] = (ADMIN_ROLE,)) -> None:
    """Refuse (Forbidden) unless ``actor`` holds one of ``roles`` (default admin) at the root of the
    org tree: ``what`` reaches beyond any one org's subtree."""
    wanted = tuple(roles)
    if not actor.has_any(wanted):
        raise Forbidden(f"{what} needs the {' or '.join(wanted)} role at the root of the org tree")
    if not covers_all(orgs, actor.org):
        root = "/".join(roots(orgs)) or "the root"
        raise Forbidden(
            f"{what} reaches every org: it needs the {' or '.join(wanted)} role at the root of the org "
            f"tree ({root}); {actor.id} acts for org {actor.org} only"
        )


def require_admin_over(orgs: OrgTree, actor: Actor, org: str, what: str) -> None:
    """Refuse (Forbidden) unless ``actor`` is an admin whose subtree holds ``org`` (an unknown
    org is the caller's to check first)."""
    if not actor.has_any((ADMIN_ROLE,)):
        raise Forbidden(f"{what} needs the admin role")
    if not orgs.covers(actor.org, org):
        raise Forbidden(f"{what} for org {org} needs the admin role at {org} or above; "
                        f"{actor.id} acts for org {actor.org} only")


def scoped_idempotency_key(actor: Actor, operation: str, key: str) -> str:
    """The stored form of a caller's idempotency key: a hash of (user, org, operation, key), so
    the same key (or the same user id in another org) names another call. Fixed length (69
    characters), whatever the key's."""
    text = json.dumps([actor.id, actor.org, operation, key], ensure_ascii=False)
    return "idem:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


__all__ = [
    "ADMIN_ROLE", "ENGINE_ROLE", "GRANTABLE_ROLES", "PORTAL_ROLE",
    "covers_all", "engine_triggers", "is_engine", "refuse_reserved", "require_admin_over", "require_outside",
    "require_root_admin", "reserved_to_engine", "roots", "scoped_idempotency_key",
]
