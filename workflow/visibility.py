"""What a caller may see of a case's history: the one place that keeps the office's internal
events from callers outside the office's staff. PURE.

Supervision orders (督办, workflow/orders.py) are the office's internal supervision: only its staff
(:data:`workflow.orders.READERS`: clerk, examiner, supervisor, leader, admin) read them. Any other
caller (a ``portal`` token: the province's portal, an applicant acting through it) sees none of
their events (:data:`STAFF_ONLY_KINDS`) in ``Engine.history`` or the change feed, and a
``calendar_recomputed`` event without the orders a recount moved (its ``orders`` key). Add a new
internal kind here, and every reader of the history and the feed keeps it from them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any, TypeVar

from .model import Actor
from .orders import EVENT_KINDS as ORDER_EVENT_KINDS
from .orders import READERS

STAFF_ONLY_KINDS = frozenset(ORDER_EVENT_KINDS)
"""Event kinds only the office's staff see."""
STAFF_ONLY_DATA = {"calendar_recomputed": ("orders",)}
"""Keys of an event's data only the office's staff see, by kind."""

E = TypeVar("E")


def is_staff(actor: Actor | None) -> bool:
    """The office's staff (None: the library's caller, who sees everything)."""
    return actor is None or actor.has_any(READERS)


def visible(actor: Actor | None, events: Iterable[E]) -> list[E]:
    """``events`` (history events or feed changes: anything with ``kind`` and ``data``) as
    ``actor`` may see them: everything for the staff; without the staff-only kinds and data keys
    for anyone else. A trimmed event keeps its ``hash``, which covers the whole event."""
    if is_staff(actor):
        return list(events)
    out: list[E] = []
    for ev in events:
        kind: str = getattr(ev, "kind")  # noqa: B009 - Event and Change alike
        if kind in STAFF_ONLY_KINDS:
            continue
        keys = [k for k in STAFF_ONLY_DATA.get(kind, ()) if k in getattr(ev, "data")]  # noqa: B009
        if keys:
            data: dict[str, Any] = {k: v for k, v in getattr(ev, "data").items() if k not in keys}  # noqa: B009
            ev = replace(ev, data=data)  # type: ignore[type-var]
        out.append(ev)
    return out


__all__ = ["STAFF_ONLY_DATA", "STAFF_ONLY_KINDS", "is_staff", "visible"]
