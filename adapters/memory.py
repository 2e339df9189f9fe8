"""An in-memory store: the fake that passes the same contract tests as the SQL store.

One lock serialises units of work (like SQLite's single writer); a unit of work works on copies
and publishes them only on ``commit()``, so a rejected call leaves nothing behind.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from types import TracebackType
from typing import Any

from workflow.errors import VersionConflict
from workflow.model import CaseRecord, Deadline, Event, OutboxMessage
from workflow.orders import is_order_clock
from workflow.ports import CaseQuery, IdempotencyRecord
from workflow.search import case_matches, needle, searchable_fields


class _State:
    def __init__(self) -> None:
        self.cases: dict[str, CaseRecord] = {}
        self.events: dict[str, list[Event]] = {}
        self.deadlines: dict[tuple[str, str, int, str], Deadline] = {}
        self.by_case: dict[str, frozenset[tuple[str, str, int, str]]] = {}
        self.outbox: list[OutboxMessage] = []
        self.idempotency: dict[str, IdempotencyRecord] = {}
        self.sequences: dict[str, int] = {}
        self.tables: dict[str, dict[Any, Any]] = {}  # adapters' own rows (``MemoryUnitOfWork.table``)


def _fork(state: _State) -> _State:
    """A copy a unit of work may change freely: containers are copied, stored values are never
    mutated in place (every write stores a fresh copy), so sharing them is safe."""
    new = _State()
    new.cases = dict(state.cases)
    new.events = dict(state.events)  # lists are replaced, never appended to in place
    new.deadlines = dict(state.deadlines)
    new.by_case = dict(state.by_case)
    new.outbox = list(state.outbox)
    new.idempotency = dict(state.idempotency)
    new.sequences = dict(state.sequences)
    new.tables = {k: dict(v) for k, v in state.tables.items()}
    return new


class MemoryStore:
    def __init__(self) -> None:
        self._state = _State()
        self._lock = threading.RLock()
        # every committed event in commit order: the change feed (adapters/changes.py)
        self.changes_log: list[Event] = []
        self.search_fields: dict[str, tuple[str, ...]] = {}  # item id → its searchable fields

    def case_rows(self) -> dict[str, CaseRecord]:
        """The committed cases by id (read-only: the feed takes number, item and org from them)."""
        return self._state.cases

    def attach(self, engine: object) -> None:
        """Learn which fields the engine's definitions mark ``searchable`` (``q`` searches them)."""
        registry = getattr(engine, "registry", None)
        if registry is not None:
            self.search_fields = searchable_fields(registry.all())

    def unit_of_work(self) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self)

    def earliest_pending_due(self) -> datetime | None:
        with self._lock:
            dues = [d.due_at for d in self._state.deadlines.values() if d.state == "pending"]
        return min(dues) if dues else None

    # for tests and the outbox delivery
    def outbox(self) -> list[OutboxMessage]:
        with self._lock:
            return list(self._state.outbox)


class MemoryUnitOfWork:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._work: _State | None = None
        self._appended: list[Event] = []

    def __enter__(self) -> MemoryUnitOfWork:
        self._store._lock.acquire()
        self._work = _fork(self._store._state)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._work = None
        self._appended = []
        self._store._lock.release()

    @property
    def s(self) -> _State:
        assert self._work is not None, "use the unit of work inside a with block"
        return self._work

    def commit(self) -> None:
        self._store._state = self.s
        self._work = _fork(self.s)
        if self._appended:  # after the cases: a follower finds the case of every event it reads
            self._store.changes_log.extend(self._appended)
            self._appended = []

    def table(self, name: str) -> dict[Any, Any]:
        """An adapter's own rows (key → an immutable value), in this unit of work: published on
        ``commit()``, dropped otherwise (the SQL store's tables, for the memory fake)."""
        return self.s.tables.setdefault(name, {})

    # cases
    def get_case(self, case_id: str, *, for_update: bool = False) -> CaseRecord | None:
        rec = self.s.cases.get(case_id)
        return rec.copy() if rec is not None else None

    def lock_case(self, case_id: str) -> CaseRecord | None:
        return self.get_case(case_id, for_update=True)

    def lock_cases(self, case_ids: Sequence[str]) -> list[CaseRecord]:
        return [rec for rec in (self.lock_case(cid) for cid in case_ids) if rec is not None]

    def add_case(self, record: CaseRecord) -> None:
        self.s.cases[record.id] = record.copy()

    def save_case(self, record: CaseRecord, expected_version: int) -> None:
        cur = self.s.cases.get(record.id)
        if cur is None or cur.version != expected_version:
            raise VersionConflict(f"case {record.id} changed meanwhile: reload it")
        self.s.cases[record.id] = record.copy()

    def query_cases(self, query: CaseQuery) -> list[CaseRecord]:
        out = []
        found = needle(query.q)
        fields = self._store.search_fields
        for r in self.s.cases.values():
            if found is not None and not case_matches(r.number, r.data, fields.get(r.item_id, ()), found):
                continue
            if query.orgs is not None and r.org not in query.orgs:
                continue
            if query.item_id is not None and r.item_id != query.item_id:
                continue
            if query.state is not None and r.state != query.state:
                continue
            if query.states is not None and (r.item_id, r.state) not in query.states:
                continue
            if query.sla is not None and r.sla != query.sla:
                continue
            if query.assignee is not None and r.assignee != query.assignee:
                continue
            if query.unassigned_or is not None and r.assignee not in (None, "", query.unassigned_or):
                continue
            if query.parent_id is not None and r.parent_id != query.parent_id:
                continue
            if query.open is True and r.closed_at is not None:
                continue
            if query.open is False and r.closed_at is None:
                continue
            if query.opened_from is not None and r.opened_at < query.opened_from:
                continue
            if query.opened_to is not None and r.opened_at >= query.opened_to:
                continue
            if query.closed_from is not None and (r.closed_at is None or r.closed_at < query.closed_from):
                continue
            if query.closed_to is not None and (r.closed_at is None or r.closed_at >= query.closed_to):
                continue
            out.append(r)
        if query.order == "urgent":
            out.sort(key=lambda r: (r.due_at is None, r.due_at or r.opened_at, r.opened_at, r.id))
        else:
            out.sort(key=lambda r: (r.opened_at, r.id))
        if query.after is not None:
            ids = [r.id for r in out]
            out = out[ids.index(query.after) + 1:] if query.after in ids else []
        if query.limit is not None:
            out = out[: query.limit]
        return [r.copy() for r in out]

    def next_number(self, key: str) -> int:
        n = self.s.sequences.get(key, 0) + 1
        self.s.sequences[key] = n
        return n

    # history
    def append_event(self, event: Event) -> None:
        have = self.s.events.get(event.case_id, ())
        if have and event.seq <= have[-1].seq:
            # as the SQL store's unique (case_id, seq): two writers appended the same event
            raise VersionConflict(f"event {event.seq} of case {event.case_id} exists: reload and retry")
        self.s.events[event.case_id] = [*have, event]
        self._appended.append(event)

    def events(self, case_id: str) -> list[Event]:
        return list(self.s.events.get(case_id, []))

    # deadlines
    def replace_deadlines(self, case_id: str, wanted: Sequence[Deadline]) -> None:
        keys = {d.key for d in wanted}
        mine = self.s.by_case.get(case_id, frozenset())
        for key in mine:
            row = self.s.deadlines[key]
            if row.state == "pending" and key not in keys and not is_order_clock(key[1]):
                self.s.deadlines[key] = replace(row, state="cancelled")
        self.s.by_case[case_id] = mine | keys
        for d in wanted:
            cur = self.s.deadlines.get(d.key)
            if cur is None:
                self.s.deadlines[d.key] = copy.copy(d)
            elif cur.state != "fired":
                self.s.deadlines[d.key] = replace(cur, state="pending", due_at=d.due_at)

    def due_case_ids(self, now: datetime, limit: int) -> list[str]:
        first: dict[str, datetime] = {}
        for d in self.s.deadlines.values():
            if d.state == "pending" and d.due_at <= now:
                if d.case_id not in first or d.due_at < first[d.case_id]:
                    first[d.case_id] = d.due_at
        return sorted(first, key=lambda c: (first[c], c))[:limit]

    def pending_due(self, case_id: str, now: datetime) -> list[Deadline]:
        rows = (self.s.deadlines[k] for k in self.s.by_case.get(case_id, ()))
        return [copy.copy(d) for d in rows if d.state == "pending" and d.due_at <= now]

    def pending_due_many(self, case_ids: Sequence[str], now: datetime) -> dict[str, list[Deadline]]:
        found = {cid: self.pending_due(cid, now) for cid in case_ids}
        return {cid: due for cid, due in found.items() if due}

    def mark_deadline(self, deadline: Deadline, state: str, seen_at: datetime | None) -> None:
        row = self.s.deadlines[deadline.key]
        self.s.deadlines[deadline.key] = replace(row, state=state, seen_at=seen_at)

    def held_case_ids(self) -> list[str]:
        """Cases with a held expiry (a party's period ran out on a provisional last day)."""
        return sorted({d.case_id for d in self.s.deadlines.values() if d.state == "held"})

    def deadlines(self, case_id: str) -> list[Deadline]:
        rows = [copy.copy(self.s.deadlines[k]) for k in self.s.by_case.get(case_id, ())]
        return sorted(rows, key=lambda d: (d.due_at, d.clock, d.level))

    # outbox and idempotency
    def add_outbox(self, messages: Sequence[OutboxMessage]) -> None:
        for m in messages:
            m.id = len(self.s.outbox) + 1
            self.s.outbox.append(copy.deepcopy(m))

    def get_idempotency(self, key: str) -> IdempotencyRecord | None:
        return copy.deepcopy(self.s.idempotency.get(key))

    def put_idempotency(self, record: IdempotencyRecord) -> None:
        self.s.idempotency[record.key] = copy.deepcopy(record)

    def claim_outbox(self, now: datetime, limit: int) -> list[OutboxMessage]:
        due = [
            m for m in self.s.outbox
            if m.state == "pending" and (m.next_attempt_at or m.created_at) <= now
        ]
        return [copy.deepcopy(m) for m in due[:limit]]

    def update_outbox(self, message: OutboxMessage) -> None:
        for i, m in enumerate(self.s.outbox):
            if m.id == message.id:
                self.s.outbox[i] = copy.deepcopy(message)
                return

    def list_outbox(self, state: str | None = None, limit: int = 100) -> list[OutboxMessage]:
        rows = [m for m in self.s.outbox if state is None or m.state == state]
        return [copy.deepcopy(m) for m in rows[:limit]]

    def fired_deadlines(self, seen_from: datetime, seen_to: datetime) -> list[Deadline]:
        return sorted(
            (
                copy.copy(d) for d in self.s.deadlines.values()
                if d.state == "fired" and d.seen_at is not None and seen_from <= d.seen_at < seen_to
            ),
            key=lambda d: (d.seen_at, d.case_id),
        )
