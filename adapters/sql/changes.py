"""The change feed on SQLite and PostgreSQL: a commit-ordered position for every history event.

A follower reads ``position > cursor`` in position order, so positions must never appear out of
order: once a reader has seen position N, no event may later become visible with a position
below N. Ids taken at insert time do not give that on PostgreSQL: a transaction that took id 10
may commit after one that took id 11, and a reader in between would skip 10 for ever.

* **SQLite** has one writer at a time (``BEGIN IMMEDIATE``, the writers' queue): a transaction's
  ids are all above those of every transaction committed before it, and no other writer runs
  until it commits. So the event id *is* the position; nothing is added to the write path.
* **PostgreSQL**: writers insert events as before, with ``pos`` NULL. A *stamper* (any reader of
  the feed, under a transaction-level advisory lock so only one stamps at a time) gives the
  committed events that have no position the next positions, in id order, in one statement, and
  commits. Readers only read stamped rows. A row becomes stampable only once its transaction has
  committed, and stamping commits atomically, so the stamped positions always form a prefix of
  the final order that never changes: nothing is skipped, nothing repeats. Per case the order is
  the history's: a case's events are appended under its row lock, or behind the version check
  and the unique ``(case_id, seq)``, so event n+1 is inserted (and takes its id from the
  sequence) only after event n's transaction committed; a stamper that sees n+1 committed sees n
  too, with a smaller id. Across cases, an event of a transaction that committed before another
  began always comes first (its ids are smaller, and it was stampable earlier); only
  transactions that overlapped may be ordered by id rather than by commit.

``events.pos`` and its two partial indexes (the stamped positions; the rows waiting for one)
are PostgreSQL's; on SQLite the column stays NULL and the indexes are empty (``WHERE 0``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Collection
from contextlib import nullcontext
from typing import Any

from ..changes import (
    Change,
    ChangePage,
    check_after,
    finish_page,
    parse_cursor,
    scan_window,
)

STAMP_LOCK = 0x6363686E67  # "cchng": the advisory lock of the stampers
STAMP_BATCH = 10_000

_STAMP = (
    "UPDATE events SET pos = %(base)s + todo.n FROM ("
    "SELECT id, row_number() OVER (ORDER BY id) AS n FROM ("
    "SELECT id FROM events WHERE pos IS NULL ORDER BY id LIMIT %(batch)s) AS waiting) AS todo "
    "WHERE events.id = todo.id"
)


class SqlChanges:
    """The feed of a :class:`~adapters.sql.store.SqlStore` (see the module docstring)."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.pg = store.dialect.name == "postgresql"
        self.col = "e.pos" if self.pg else "e.id"
        data = "CAST(e.data AS text)" if self.pg else "e.data"
        self._cols = (
            f"{self.col}, e.case_id, e.seq, e.kind, e.\"trigger\", e.actor_id, e.at, e.from_state, "
            f"e.to_state, {data}, c.number, c.item_id, c.org, c.definition_version"
        )
        self._head_sql = f"SELECT COALESCE(MAX({'pos' if self.pg else 'id'}), 0) FROM events"
        self._lock = threading.Lock()  # one stamper per process; processes queue on the advisory lock

    # -- PostgreSQL: positions after the commit ----------------------------------------------------

    def stamp(self, batch: int = STAMP_BATCH) -> int:
        """Give the committed events that have no position the next ones (PostgreSQL; a no-op on
        SQLite). Returns how many were stamped."""
        if not self.pg:
            return 0
        total = 0
        with self._lock:
            while True:
                with self.store.unit_of_work() as uow:
                    if uow.fetch_one("SELECT id FROM events WHERE pos IS NULL LIMIT 1") is None:
                        return total
                    uow.execute("SELECT pg_advisory_xact_lock(%(key)s)", {"key": STAMP_LOCK})
                    base = int(uow.fetch_one("SELECT COALESCE(MAX(pos), 0) FROM events")[0])
                    count = int(uow.execute(_STAMP, {"base": base, "batch": batch}).rowcount)
                    uow.commit()
                total += count
                if count < batch:
                    return total

    # -- reading -----------------------------------------------------------------------------------

    def head(self) -> int:
        """The newest position (PostgreSQL: after stamping what has committed)."""
        self.stamp()
        with self.store.unit_of_work() as uow:
            return self._head(uow)

    def probe(self) -> int:
        """Changes whenever an event commits (the long poll's cheap check)."""
        return self.head()

    def _head(self, uow: Any) -> int:
        return int(uow.fetch_one(self._head_sql)[0] or 0)

    def page(self, after: int | str = 0, limit: int = 100, *, orgs: Collection[str] | None = None,
             item_id: str | None = None, kinds: Collection[str] | None = None,
             scan: int | None = None, uow: Any = None) -> ChangePage:
        """The events after ``after`` (see :class:`~adapters.changes.ChangePage`). With ``uow``
        the page is read in that unit of work (the caller has stamped first)."""
        after = parse_cursor(after)
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if uow is None:
            self.stamp()
        with (self.store.unit_of_work() if uow is None else nullcontext(uow)) as u:
            head = self._head(u)  # a SQLite read transaction's snapshot starts here
            check_after(after, head)
            window = scan_window(limit, scan, orgs is not None or bool(item_id) or bool(kinds))
            upto = head if window is None else min(head, after + window)
            if upto <= after or (orgs is not None and not orgs):
                return ChangePage([], max(after, upto), head)
            sql, params = self._select(after, upto, limit, orgs, item_id, kinds)
            rows = u.fetch_all(sql, params)
        return finish_page([self._change(r) for r in rows], after, limit, upto, head)

    def _select(self, after: int, upto: int, limit: int, orgs: Collection[str] | None,
                item_id: str | None, kinds: Collection[str] | None) -> tuple[str, dict[str, Any]]:
        params: dict[str, Any] = {"after": after, "upto": upto, "limit": limit}
        where = [f"{self.col} > :after", f"{self.col} <= :upto"]
        if orgs is not None:
            marks = []
            for n, org in enumerate(sorted(orgs)):
                params[f"o{n}"] = org
                marks.append(f":o{n}")
            where.append(f"c.org IN ({', '.join(marks)})")
        if item_id:
            params["item"] = item_id
            where.append("c.item_id = :item")
        if kinds:
            marks = []
            for n, kind in enumerate(sorted(kinds)):
                params[f"k{n}"] = kind
                marks.append(f":k{n}")
            where.append(f"e.kind IN ({', '.join(marks)})")
        text = (f"SELECT {self._cols} FROM events e JOIN cases c ON c.id = e.case_id "
                f"WHERE {' AND '.join(where)} ORDER BY {self.col} LIMIT :limit")
        return self.store.dialect.prepare(text), params

    def _change(self, row: Any) -> Change:
        return Change(
            position=int(row[0]), case_id=row[1], seq=row[2], kind=row[3], trigger=row[4],
            actor_id=row[5], at=self.store.dialect.ts_out(row[6]), from_state=row[7], to_state=row[8],
            data=json.loads(row[9]), number=row[10], item_id=row[11], org=row[12],
            definition_version=row[13],
        )


__all__ = ["STAMP_LOCK", "SqlChanges"]
