"""The ports the core needs; adapters implement them (memory, SQL, APScheduler, notifiers).

The core never opens a database, a socket or a scheduler itself: ``build_engine`` hands it
objects that satisfy these Protocols.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol

from .model import Actor, CaseRecord, Deadline, Event, OutboxMessage

Now = Callable[[], datetime]


@dataclass(frozen=True)
class CaseQuery:
    """Filters for listing cases. ``orgs`` None means unscoped; an empty set matches nothing."""

    orgs: frozenset[str] | None = None
    item_id: str | None = None
    state: str | None = None
    states: frozenset[tuple[str, str]] | None = None  # (item_id, state) pairs: worklists
    sla: str | None = None
    assignee: str | None = None
    unassigned_or: str | None = None  # assigned to nobody or to this person (worklists)
    parent_id: str | None = None
    open: bool | None = None  # True: not closed; False: closed
    opened_from: datetime | None = None
    opened_to: datetime | None = None
    closed_from: datetime | None = None
    closed_to: datetime | None = None
    q: str | None = None  # search: part of the number or of a searchable name (workflow/search.py)
    order: str = "opened"  # opened (oldest first, by id) | urgent (earliest due first)
    after: str | None = None  # cursor: the id of the last case of the previous page
    limit: int | None = None


@dataclass
class IdempotencyRecord:
    key: str
    fingerprint: str
    case_id: str
    result: dict[str, Any]  # the case as the call left it (CaseRecord snapshot, JSON-safe)
    created_at: datetime


class UnitOfWork(Protocol):
    """One transaction. Leaving the ``with`` block without ``commit()`` rolls everything back."""

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...

    # cases
    def get_case(self, case_id: str, *, for_update: bool = False) -> CaseRecord | None: ...

    def lock_case(self, case_id: str) -> CaseRecord | None:
        """Lock the case for this transaction, skipping it (None) when another holds it."""
        ...

    def lock_cases(self, case_ids: Sequence[str]) -> list[CaseRecord]:
        """``lock_case`` for many (one statement where the store can), in the order given, without
        those another transaction holds or that do not exist."""
        ...

    def add_case(self, record: CaseRecord) -> None: ...

    def save_case(self, record: CaseRecord, expected_version: int) -> None:
        """Write the case if its stored version is still ``expected_version`` (else VersionConflict)."""
        ...

    def query_cases(self, query: CaseQuery) -> list[CaseRecord]: ...

    def next_number(self, key: str) -> int:
        """The next value of a named sequence (case numbers per org, item and year)."""
        ...

    # history (a store may hold appends and deadline marks back until its next statement on
    # another table or the commit: a failure then fails the unit of work, as it would have)
    def append_event(self, event: Event) -> None: ...

    def events(self, case_id: str) -> list[Event]: ...

    # deadlines
    def replace_deadlines(self, case_id: str, wanted: Sequence[Deadline]) -> None:
        """Make the case's pending deadlines exactly ``wanted``: rows already fired stay fired
        (and are not re-created), pending rows not wanted become cancelled — except the rows of
        supervision orders (clock ``order:<id>``, ``workflow/orders.py``), which are the orders'
        own: added when named, left as they are otherwise."""
        ...

    def due_case_ids(self, now: datetime, limit: int) -> list[str]:
        """Cases with pending deadlines due at ``now``, earliest first."""
        ...

    def pending_due(self, case_id: str, now: datetime) -> list[Deadline]: ...

    def pending_due_many(self, case_ids: Sequence[str], now: datetime) -> dict[str, list[Deadline]]:
        """``pending_due`` for many cases: case id → its due pending rows (cases with none left out)."""
        ...

    def mark_deadline(self, deadline: Deadline, state: str, seen_at: datetime | None) -> None: ...

    def deadlines(self, case_id: str) -> list[Deadline]: ...

    # outbox and idempotency
    def add_outbox(self, messages: Sequence[OutboxMessage]) -> None:
        """Each message gets its ``id`` (a store may write the rows later in the transaction)."""
        ...

    def get_idempotency(self, key: str) -> IdempotencyRecord | None: ...

    def put_idempotency(self, record: IdempotencyRecord) -> None: ...

    def claim_outbox(self, now: datetime, limit: int) -> list[OutboxMessage]:
        """Pending messages whose ``next_attempt_at`` (or creation) is due, oldest first, locked
        for this transaction (PostgreSQL: SKIP LOCKED)."""
        ...

    def update_outbox(self, message: OutboxMessage) -> None:
        """Write back a message's state, attempts, next_attempt_at and last_error."""
        ...

    def list_outbox(self, state: str | None = None, limit: int = 100) -> list[OutboxMessage]: ...

    def fired_deadlines(self, seen_from: datetime, seen_to: datetime) -> list[Deadline]:
        """Deadlines fired with ``seen_at`` in [seen_from, seen_to) (reports: escalations by level)."""
        ...


class Store(Protocol):
    """Where cases live. ``unit_of_work()`` opens one transaction."""

    def unit_of_work(self) -> UnitOfWork: ...

    def earliest_pending_due(self) -> datetime | None: ...


class People(Protocol):
    """Who holds a role where: the directory of people (adapters/directory.py), which the
    escalation ladder's ``reassign_to`` asks (workflow/ladder.py)."""

    def with_role(self, role: str, org: str) -> Sequence[Any]:
        """Active people holding ``role`` in exactly ``org``, each with an ``id``, by id."""
        ...


class Notifier(Protocol):
    """Delivers one outbox message (raise to have it retried)."""

    def send(self, message: OutboxMessage) -> None: ...


@dataclass(frozen=True)
class Step:
    """One transition as an observer sees it, inside the unit of work that makes it: ``case`` is
    the record after the transition (state, data and clocks refreshed, its event appended; the
    caller saves it after the observers ran), ``data`` what the call gave."""

    case: CaseRecord
    definition: Any  # workflow.definition.Definition
    transition: Any  # workflow.definition.TransitionDef
    trigger: str
    source: str
    dest: str
    data: Mapping[str, Any]
    actor: Actor
    at: datetime


StepObserver = Callable[["UnitOfWork", Step], None]
"""Called inside the unit of work of every transition (``Engine.observers``), after the engine
applied it and before it commits: an observer writes what must commit with the step (its own
rows, outbox messages) through the unit of work, or raises to refuse the whole step."""

DeadlineListener = Callable[[datetime | None], None]
"""Called after a commit that changed deadlines, with the earliest pending due time
(the scheduler re-arms its one-shot wake-up)."""
