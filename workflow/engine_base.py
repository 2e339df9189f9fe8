"""What every part of the ``Engine`` shares: its collaborators, the time, and the plumbing of a
unit of work (loading a case in the caller's org scope, appending a hash-chained event, telling
deadline listeners). The use cases themselves are in ``engine``; the clock effects of a state
change in ``clock_effects``; the sweep in ``sweep``; office operations in ``office``.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from . import legaltime as lt
from .calendar import WorkingCalendar
from .errors import CaseNotFound, MissingData, VersionConflict
from .legaltime import TZ
from .model import HASH_JSON, Actor, CaseRecord, Event
from .orgs import OrgTree
from .ports import CaseQuery, DeadlineListener, StepObserver, Store, UnitOfWork
from .registry import Registry

if TYPE_CHECKING:
    from .engine import EngineSettings


_JSON = json.JSONEncoder(ensure_ascii=False, default=str)  # json.dumps's, kept (model.HASH_JSON)


def _jsonable(data: Mapping[str, Any] | None) -> dict[str, Any]:
    if not data:
        return {}
    if not isinstance(data, Mapping):
        raise MissingData("data must be a mapping of field names to values", {"data": "must be an object"})
    return json.loads(_JSON.encode(dict(data)))


def _fingerprint(*parts: Any) -> str:
    """What an idempotent call was (its operation and arguments), hashed."""
    text = HASH_JSON.encode(parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_ATOMS = (str, int, float, bool, type(None))


def _copy_json(value: Any) -> Any:
    """A deep copy of JSON-shaped data (what ``_jsonable`` makes and stores load): dicts, lists
    and immutable scalars, anything else by ``copy.deepcopy``. A third of deepcopy's cost."""
    t = type(value)
    if t is dict:
        return {k: _copy_json(v) for k, v in value.items()}
    if t is list:
        return [_copy_json(v) for v in value]
    if t in _ATOMS:
        return value
    return copy.deepcopy(value)



BEFORE = "_before"  # key of a transition event's data holding the case as it was (for corrections)
LIMITS_KEY = "limits_changed"  # key of a transition event's data: the limits its data chose anew

ENGINE_EVENT_KINDS = frozenset({
    "opened", "transition", "corrected", "assigned", "transferred", "suspended", "migrated",
    "escalation", "calendar_recomputed", "expiry_pending_calendar", "expiry_confirmed",
    "order_issued", "order_answered", "order_escalated", "order_lapsed", "deemed_accepted",
    "reminded", "reassign_unfilled",
})  # kinds only the engine writes (``record_event`` refuses them)


class EngineBase:
    """The engine's collaborators and plumbing (``Engine.__init__`` sets the attributes)."""

    store: Store
    registry: Registry
    calendar: WorkingCalendar
    _now: Callable[[], datetime]
    orgs: OrgTree
    settings: EngineSettings
    listeners: list[DeadlineListener]
    observers: list[StepObserver]
    _derived: dict[tuple[Any, ...], lt.Derived]
    _derived_by_id: dict[tuple[Any, ...], tuple[Any, ...]]

    # -- time ----------------------------------------------------------------------------------

    def now(self) -> datetime:
        t = self._now()
        if t.tzinfo is None:  # freezegun and naive clocks give UTC wall time
            t = t.replace(tzinfo=lt.ZoneInfo("UTC"))
        return t.astimezone(TZ)

    def today(self) -> date:
        return self.now().date()

    # -- plumbing ------------------------------------------------------------------------------

    def _load_for_update(self, uow: UnitOfWork, case_id: str, actor: Actor,
                         expected_version: int | None) -> CaseRecord:
        rec = uow.get_case(case_id, for_update=True)
        if rec is None:
            raise CaseNotFound(f"no case {case_id!r}")
        if expected_version is not None and rec.version != expected_version:
            raise VersionConflict(f"case {rec.number} is at version {rec.version}, not {expected_version}: reload it")
        if not self.orgs.covers(actor.org, rec.org):
            raise CaseNotFound(f"no case {case_id!r}")
        return rec

    def _load(self, uow: UnitOfWork, case_id: str, actor: Actor | None) -> CaseRecord:
        rec = uow.get_case(case_id)
        if rec is None or (actor is not None and not self.orgs.covers(actor.org, rec.org)):
            raise CaseNotFound(f"no case {case_id!r}")
        return rec

    def _query(self, actor: Actor | None, **filters: Any) -> CaseQuery:
        allowed = set(CaseQuery.__dataclass_fields__) - {"orgs"}
        unknown = set(filters) - allowed - {"org"}
        if unknown:
            raise TypeError(f"unknown filters: {', '.join(sorted(unknown))}")
        org = filters.pop("org", None)
        scope: frozenset[str] | None = None
        if actor is not None:
            scope = self.orgs.subtree(actor.org)
        if org is not None:
            sub = self.orgs.subtree(org)
            scope = sub if scope is None else scope & sub
        return CaseQuery(orgs=scope, **filters)

    def _append(self, uow: UnitOfWork, rec: CaseRecord, kind: str, trigger: str | None, actor: Actor,
                at: datetime, from_state: str | None, to_state: str | None, data: Mapping[str, Any]) -> Event:
        ev = Event(case_id=rec.id, seq=rec.seq + 1, kind=kind, trigger=trigger, actor_id=actor.id,
                   at=at, from_state=from_state, to_state=to_state, data=dict(data),
                   prev_hash=rec.last_hash)
        ev = Event(**{**ev.__dict__, "hash": ev.compute_hash()})
        rec.seq, rec.last_hash = ev.seq, ev.hash
        uow.append_event(ev)
        return ev

    def _deadlines_changed(self) -> None:
        if not self.listeners:
            return
        earliest = self.store.earliest_pending_due()
        for listener in self.listeners:
            try:
                listener(earliest)
            except Exception:  # noqa: BLE001 - a listener never breaks a committed call
                pass
