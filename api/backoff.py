"""Growing back-off after failed secret look-ups, per (scope, subject, client).

A sign-in is ``("signin", person id, client)``; an applicant's query code could be
``("query_code", application number, client)``. Each failure is counted for that triple only:
the first ``free`` failures cost nothing, each further one shuts the triple for twice as long as
the one before (1 s, 2 s, 4 s … up to ``max_delay``, 15 minutes by default). While it is shut,
look-ups for the triple are refused before the secret is checked, so guessing goes no faster;
a success clears it; ``forget`` seconds after its last failure (a day) it is dropped.

Because the client is part of the key, a stranger's failures shut only the stranger's own
triple: the person signing in from another client (another address, or the browser that holds
their device cookie: api/web/signin.py) is never locked out by them.

Where the counts live (:func:`failures_for`): on a SQL store the ``secret_failures`` table, so
every worker process of ``serve --workers N`` and every restart sees the same counts; rows go
only by age (``forget``), never because the table is full, so failures under a hundred thousand
made-up names push no one's row out. On ``memory://`` a table in this process of at most
``max_entries`` triples: when it is full, forgotten ones go first, then the ones shut least
long; a triple that is shut is never dropped for a newcomer (the newcomer's failure is then not
kept, and the per-client failure limit of api/ratelimit.py still holds it back).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

MAX_SUBJECT = 255
MAX_CLIENT = 128


@dataclass(frozen=True, kw_only=True)
class BackoffPolicy:
    free: int = 5  # failures that cost nothing
    base_delay: float = 1.0  # seconds shut after the first failure past ``free``; doubles each time
    max_delay: float = 900.0  # the longest a triple is shut at a time
    forget: float = 86_400.0  # seconds after the last failure when the count is dropped

    def __post_init__(self) -> None:
        if self.free < 0 or self.base_delay <= 0 or self.max_delay < self.base_delay or self.forget < self.max_delay:
            raise ValueError("a back-off needs free >= 0, 0 < base_delay <= max_delay <= forget")

    def delay(self, failures: int) -> float:
        """Seconds a triple is shut after its ``failures``-th failure."""
        over = failures - self.free
        if over <= 0:
            return 0.0
        return min(self.max_delay, self.base_delay * 2.0 ** min(over - 1, 64))


@dataclass(frozen=True)
class Failures:
    count: int
    until: float  # seconds since the epoch: shut until then
    last: float  # the last failure


class FailureStore(Protocol):
    """Where failure counts live (:class:`SqlFailures`, :class:`MemoryFailures`)."""

    def get(self, scope: str, subject: str, client: str, now: float, forget: float) -> Failures | None: ...

    def add(self, scope: str, subject: str, client: str, now: float, policy: BackoffPolicy) -> Failures | None:
        """Count one failure; the new state (None: not kept, see :class:`MemoryFailures`)."""
        ...

    def clear(self, scope: str, subject: str, client: str) -> None: ...


class Backoff:
    """The policy over a store. ``clock``: seconds since the epoch (tests pass their own)."""

    def __init__(self, store: FailureStore, policy: BackoffPolicy | None = None, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.policy = policy or BackoffPolicy()
        self.clock = clock

    @staticmethod
    def _key(subject: str, client: str) -> tuple[str, str]:
        return subject[:MAX_SUBJECT], client[:MAX_CLIENT]

    def wait(self, scope: str, subject: str, client: str) -> float:
        """Seconds until the triple may be tried again (0: now)."""
        subject, client = self._key(subject, client)
        now = self.clock()
        found = self.store.get(scope, subject, client, now, self.policy.forget)
        return max(0.0, found.until - now) if found is not None else 0.0

    def failed(self, scope: str, subject: str, client: str) -> float:
        """Count a failure; the seconds the triple is now shut for."""
        subject, client = self._key(subject, client)
        now = self.clock()
        found = self.store.add(scope, subject, client, now, self.policy)
        return max(0.0, found.until - now) if found is not None else 0.0

    def succeeded(self, scope: str, subject: str, client: str) -> None:
        subject, client = self._key(subject, client)
        self.store.clear(scope, subject, client)


class MemoryFailures:
    """Counts in this process, at most ``max_entries`` triples (see the module's docstring)."""

    def __init__(self, max_entries: int = 100_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._rows: dict[tuple[str, str, str], Failures] = {}
        self._full_until = -math.inf
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, scope: str, subject: str, client: str, now: float, forget: float) -> Failures | None:
        with self._lock:
            found = self._rows.get((scope, subject, client))
        if found is None or (found.last < now - forget and found.until <= now):
            return None
        return found

    def add(self, scope: str, subject: str, client: str, now: float, policy: BackoffPolicy) -> Failures | None:
        key = (scope, subject, client)
        with self._lock:
            old = self._rows.get(key)
            if old is not None and old.last < now - policy.forget and old.until <= now:
                old = None
            if old is None and key not in self._rows and len(self._rows) >= self.max_entries \
                    and not self._make_room(now, policy.forget):
                return None
            count = (old.count if old else 0) + 1
            until = max(old.until if old else 0.0, now + policy.delay(count))
            new = self._rows[key] = Failures(count=count, until=until, last=now)
            return new

    def clear(self, scope: str, subject: str, client: str) -> None:
        with self._lock:
            self._rows.pop((scope, subject, client), None)

    def _make_room(self, now: float, forget: float) -> bool:
        if now < self._full_until:
            return False
        rows = self._rows
        for k in [k for k, f in rows.items() if f.last < now - forget and f.until <= now]:
            del rows[k]
        if len(rows) < self.max_entries:
            return True
        # not shut now: fewest failures first (a newcomer has one), down to a tenth of the table
        open_ = sorted((k for k, f in rows.items() if f.until <= now), key=lambda k: (rows[k].count, rows[k].last))
        for k in open_[:max(1, self.max_entries // 10)]:
            del rows[k]
        if len(rows) < self.max_entries:
            return True
        self._full_until = now + 1.0  # every kept triple is shut: keep them, look again in a second
        return False


class SqlFailures:
    """Counts in the ``secret_failures`` table of the engine's SQL store: shared by every
    process on the database; rows go ``forget`` seconds after their last failure."""

    def __init__(self, store: Any) -> None:
        import sqlalchemy as sa

        self.sa = sa
        self.engine = store.engine

    def get(self, scope: str, subject: str, client: str, now: float, forget: float) -> Failures | None:
        with self.engine.connect() as c:
            row = c.execute(self.sa.text(
                "SELECT failures, blocked_until, last_failed FROM secret_failures "
                "WHERE scope = :scope AND subject = :subject AND client = :client"),
                {"scope": scope, "subject": subject, "client": client}).first()
        if row is None or (row[2] < now - forget and row[1] <= now):
            return None
        return Failures(count=int(row[0]), until=float(row[1]), last=float(row[2]))

    def add(self, scope: str, subject: str, client: str, now: float, policy: BackoffPolicy) -> Failures | None:
        stamp = math.floor(now)
        cutoff = math.floor(now - policy.forget)
        key = {"scope": scope, "subject": subject, "client": client}
        with self.engine.begin() as c:
            # an old count starts again from one; the same statement on SQLite and PostgreSQL
            count = c.execute(self.sa.text(
                "INSERT INTO secret_failures (scope, subject, client, failures, blocked_until, last_failed) "
                "VALUES (:scope, :subject, :client, 1, 0, :now) "
                "ON CONFLICT (scope, subject, client) DO UPDATE SET "
                "failures = CASE WHEN secret_failures.last_failed < :cutoff "
                "AND secret_failures.blocked_until <= :now THEN 1 ELSE secret_failures.failures + 1 END, "
                "last_failed = :now RETURNING failures"), {**key, "now": stamp, "cutoff": cutoff}).scalar_one()
            # a free failure shuts nothing: rounding "now" up to the next second would shut the
            # triple for a fraction of a second (a retyped password refused "for 1 s")
            delay = policy.delay(int(count))
            until = math.ceil(now + delay) if delay > 0 else 0
            row = c.execute(self.sa.text(
                "UPDATE secret_failures SET blocked_until = CASE WHEN blocked_until < :until THEN :until "
                "ELSE blocked_until END WHERE scope = :scope AND subject = :subject AND client = :client "
                "RETURNING blocked_until"), {**key, "until": until}).scalar_one()
            # rows past their time go (by age alone: a full table drops nobody)
            c.execute(self.sa.text("DELETE FROM secret_failures WHERE last_failed < :cutoff AND blocked_until <= :now"),
                      {"cutoff": cutoff, "now": stamp})
        return Failures(count=int(count), until=float(row), last=float(stamp))

    def clear(self, scope: str, subject: str, client: str) -> None:
        with self.engine.begin() as c:
            c.execute(self.sa.text("DELETE FROM secret_failures "
                                   "WHERE scope = :scope AND subject = :subject AND client = :client"),
                      {"scope": scope, "subject": subject, "client": client})


def failures_for(store: Any, max_entries: int = 100_000) -> FailureStore:
    """The ``secret_failures`` table of a SQL store; a bounded table in memory otherwise."""
    if hasattr(store, "dialect") and hasattr(getattr(store, "engine", None), "connect"):
        return SqlFailures(store)
    return MemoryFailures(max_entries)


__all__ = ["Backoff", "BackoffPolicy", "FailureStore", "Failures", "MemoryFailures", "SqlFailures", "failures_for"]
