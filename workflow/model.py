"""The values the engine hands out and stores: actors, cases, clocks, events, deadlines."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date, datetime
from fractions import Fraction
from operator import attrgetter
from typing import Any

from .legaltime import ClockKind, ClockState, Level, Segment, Sla, Status, WarningRule
from .limits import Limit, Unit

# ``json.dumps(body, sort_keys=True, ensure_ascii=False, default=str)`` builds this very encoder on
# every call (a third of the call for an event); one kept encoder gives byte-identical text
# (it holds no state between calls), so every stored hash still verifies
HASH_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, default=str)


@dataclass(frozen=True)
class Actor:
    """Who acts: an id, the roles they hold (any one suffices for a transition), and their org."""

    id: str
    roles: frozenset[str] = frozenset()
    org: str = "420000"
    name: str = ""

    def __init__(self, id: str, roles: Iterable[str] = (), org: str = "420000", name: str = "") -> None:
        object.__setattr__(self, "id", id)
        object.__setattr__(self, "roles", frozenset(roles))
        object.__setattr__(self, "org", org)
        object.__setattr__(self, "name", name)

    def has_any(self, roles: Iterable[str]) -> bool:
        wanted = tuple(roles)
        return not wanted or bool(self.roles.intersection(wanted))


SYSTEM = Actor(id="system", roles={"system"}, org="420000", name="系统")


@dataclass(frozen=True)
class Clock:
    """A clock as a clerk sees it at a given instant."""

    name: str
    label: str
    kind: str
    status: str
    statutory_due: date | None
    commitment_due: date | None
    sla: str
    provisional: bool
    party: bool
    external: bool
    limit: str
    started_on: date | None = None
    stopped_on: date | None = None
    statutory_units: int | None = None
    commitment_units: int | None = None
    used_units: int = 0
    remaining_units: int | None = None
    unit: str = "working_days"
    warning_at: datetime | None = None
    overdue_at: datetime | None = None
    over_statutory_at: datetime | None = None
    expires_at: datetime | None = None
    extensions: tuple[str, ...] = ()
    paused_spans: tuple[tuple[date, date | None], ...] = ()
    run: int = 0
    # which dates are provisional (暂定: they depend on a year whose notice is not loaded yet)
    statutory_provisional: bool = False
    commitment_provisional: bool = False
    expiry_provisional: bool = False
    # the party's period ran out on a provisional last day: its automatic transition waits for
    # the calendar or a clerk's confirmation (Engine.confirm_expiry)
    awaiting_calendar: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe fields (dates as ISO text); no ``dataclasses.asdict`` deep copy. Every field
        read at once, then only the date fields converted (a case's response and its history
        build one per clock: tests/unit/test_api_case_json.py pins it to the field-by-field form)."""
        d = dict(zip(_CLOCK_FIELDS, _clock_values(self), strict=True))
        for f in _CLOCK_DATES:
            v = d[f]
            if v is not None:
                d[f] = v.isoformat()
        d["paused_spans"] = [[a.isoformat(), b.isoformat() if b else None] for a, b in self.paused_spans]
        d["extensions"] = list(self.extensions)
        return d


_CLOCK_FIELDS = tuple(f.name for f in fields(Clock))
_clock_values = attrgetter(*_CLOCK_FIELDS)
# the fields declared ``date | None`` or ``datetime | None`` (annotations are text here)
_CLOCK_DATES = tuple(f.name for f in fields(Clock) if str(f.type).split(" | ")[0] in ("date", "datetime"))


@dataclass(frozen=True)
class Case:
    """A case as the library returns it (see the README for the fields)."""

    id: str
    number: str
    item_id: str
    definition_version: int
    state: str
    version: int
    org: str
    assignee: str | None
    data: Mapping[str, Any]
    clocks: Mapping[str, Clock]
    opened_at: datetime
    closed_at: datetime | None = None
    state_label: str = ""
    item_name: str = ""
    kind: str = "service_item"
    final: bool = False
    sla: str = "on_track"
    parent_id: str | None = None
    children: tuple[str, ...] = ()
    started_on: date | None = None
    main_clock: str | None = None  # the clock reports use (see Definition.main_clock)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "number": self.number,
            "item_id": self.item_id,
            "item_name": self.item_name,
            "kind": self.kind,
            "definition_version": self.definition_version,
            "state": self.state,
            "state_label": self.state_label,
            "final": self.final,
            "version": self.version,
            "org": self.org,
            "assignee": self.assignee,
            "data": dict(self.data),
            "sla": self.sla,
            "opened_at": self.opened_at.isoformat(),
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
            "started_on": self.started_on.isoformat() if self.started_on else None,
            "parent_id": self.parent_id,
            "children": list(self.children),
            "main_clock": self.main_clock,
            "clocks": {k: v.to_dict() for k, v in self.clocks.items()},
        }


@dataclass(frozen=True)
class Event:
    """One entry of a case's append-only history. ``trigger`` is None for the opening and for
    events that are not transitions (``kind`` says which: escalation, assigned, …)."""

    case_id: str
    seq: int
    kind: str
    trigger: str | None
    actor_id: str
    at: datetime
    from_state: str | None
    to_state: str | None
    data: Mapping[str, Any] = field(default_factory=dict)
    prev_hash: str = ""
    hash: str = ""

    def compute_hash(self) -> str:
        body = {
            "case_id": self.case_id,
            "seq": self.seq,
            "kind": self.kind,
            "trigger": self.trigger,
            "actor_id": self.actor_id,
            "at": self.at.isoformat(),
            "from_state": self.from_state,
            "to_state": self.to_state,
            "data": self.data,
            "prev_hash": self.prev_hash,
        }
        text = HASH_JSON.encode(body)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["at"] = self.at.isoformat()
        d["data"] = dict(self.data)
        return d


@dataclass(frozen=True)
class Escalation:
    """A level a clock reached, recorded once: when it was due and when a sweep saw it."""

    case_id: str
    clock: str
    level: str
    due: datetime
    seen: datetime
    org: str = ""
    item_id: str = ""
    number: str = ""
    run: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id, "clock": self.clock, "level": self.level,
            "due": self.due.isoformat(), "seen": self.seen.isoformat(), "org": self.org,
            "item_id": self.item_id, "number": self.number, "run": self.run,
        }


@dataclass
class Deadline:
    """A row of the deadlines table: one per (case, clock, run, level)."""

    case_id: str
    clock: str
    run: int
    level: str
    due_at: datetime
    state: str = "pending"  # pending | fired | cancelled
    seen_at: datetime | None = None
    org: str = ""
    item_id: str = ""

    @property
    def key(self) -> tuple[str, str, int, str]:
        return (self.case_id, self.clock, self.run, self.level)


@dataclass
class OutboxMessage:
    """A notification to deliver at least once, after the transaction that caused it commits."""

    topic: str  # escalation | expired | transition
    case_id: str
    payload: dict[str, Any]
    created_at: datetime
    id: int | None = None
    attempts: int = 0
    state: str = "pending"  # pending | delivered | dead
    next_attempt_at: datetime | None = None
    last_error: str | None = None


@dataclass
class CaseRecord:
    """What the store keeps for a case (mutable inside a unit of work)."""

    id: str
    number: str
    item_id: str
    definition_version: int
    state: str
    version: int
    org: str
    assignee: str | None
    data: dict[str, Any]
    clocks: dict[str, ClockState]
    opened_at: datetime
    started_on: date
    closed_at: datetime | None = None
    sla: str = "on_track"
    due_at: datetime | None = None  # the earliest pending level instant (for "most urgent first")
    parent_id: str | None = None
    created_by: str = ""
    last_hash: str = ""
    seq: int = 0

    def copy(self) -> CaseRecord:
        """An independent copy (clock states are immutable values and are shared)."""
        return replace(self, data=copy.deepcopy(self.data), clocks=dict(self.clocks))


# --- clock state (de)serialisation (JSON-safe dicts, for stores) ---------------------------------


def clock_to_dict(c: ClockState) -> dict[str, Any]:
    return {
        "name": c.name,
        "label": c.label,
        "limit": str(c.limit),
        "kind": c.kind.value,
        "commitment": str(c.commitment) if c.commitment else None,
        "ratio": str(c.ratio),
        "grace": str(c.grace) if c.grace else None,
        "max_extension": str(c.max_extension) if c.max_extension else None,
        "status": c.status.value,
        "started_on": c.started_on.isoformat() if c.started_on else None,
        "segments": [[s.start.isoformat(), s.stop.isoformat() if s.stop else None] for s in c.segments],
        "extensions": [str(e) for e in c.extensions],
        "stopped_on": c.stopped_on.isoformat() if c.stopped_on else None,
        "run": c.run,
        "held_level": c.held_level.value if c.held_level else None,
        "suspended": [[a.isoformat(), b.isoformat()] for a, b in c.suspended],
        "awaiting_calendar": c.awaiting_calendar,
        **({"warning": _warning_to_dict(c.warning)} if c.warning is not None else {}),
    }


def _warning_to_dict(w: WarningRule) -> dict[str, Any]:
    return {"share": str(w.share)} if w.share is not None else {"before": w.before}


def _warning_from_dict(d: Any) -> WarningRule | None:
    if not isinstance(d, Mapping):
        return None
    if d.get("share") is not None:
        return WarningRule(share=Fraction(str(d["share"])))
    return WarningRule(before=int(d.get("before", 1)))


def _lim(v: str | None) -> Limit | None:
    return Limit.parse(v) if v else None


def _day(v: str | None) -> date | None:
    return date.fromisoformat(v) if v else None


def clock_from_dict(d: Mapping[str, Any]) -> ClockState:
    limit = Limit.parse(d["limit"])
    return ClockState(
        name=d["name"],
        label=d.get("label", ""),
        limit=limit,
        kind=ClockKind(d.get("kind", "office")),
        commitment=_lim(d.get("commitment")),
        ratio=Fraction(d.get("ratio", "2/3")),
        grace=_lim(d.get("grace")),
        max_extension=_lim(d.get("max_extension")),
        status=Status(d.get("status", "not_started")),
        started_on=_day(d.get("started_on")),
        segments=tuple(Segment(date.fromisoformat(a), _day(b)) for a, b in d.get("segments", [])),
        extensions=tuple(Limit.parse(e) for e in d.get("extensions", [])),
        stopped_on=_day(d.get("stopped_on")),
        run=int(d.get("run", 0)),
        held_level=Sla(d["held_level"]) if d.get("held_level") else None,
        suspended=tuple((date.fromisoformat(a), date.fromisoformat(b)) for a, b in d.get("suspended", [])),
        awaiting_calendar=bool(d.get("awaiting_calendar", False)),
        warning=_warning_from_dict(d.get("warning")),
    )


__all__ = [
    "Actor",
    "Case",
    "CaseRecord",
    "Clock",
    "Deadline",
    "Escalation",
    "Event",
    "Level",
    "OutboxMessage",
    "SYSTEM",
    "Unit",
    "clock_from_dict",
    "clock_to_dict",
]
