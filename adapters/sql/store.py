"""The durable store: SQLite (the embedded default) or PostgreSQL, one transaction per unit of work.

The schema lives in ``tables.py`` (SQLModel) and is created by the Alembic migrations. The hot
path runs a fixed set of hand-written, portable SQL statements on the pooled DB-API connection
(SQLAlchemy supplies the pool, the dialect and the ``connect`` settings): an ORM flush per
transition costs more than the transition itself. ``trace`` records every statement with its
parameters (the benchmark replays them on raw sqlite3).

SQLite: WAL, ``busy_timeout``, ``foreign_keys=ON``, ``synchronous=FULL`` by default; a unit of
work that may write begins with ``BEGIN IMMEDIATE`` (one writer at a time, waiting its turn),
one that starts by reading begins a deferred transaction (readers never wait in WAL).
PostgreSQL: READ COMMITTED, ``SELECT … FOR UPDATE`` to load a case for a change, ``SKIP LOCKED``
for sweeps and the outbox. Either way ``save_case`` is ``UPDATE … WHERE id = ? AND version = ?``
and a concurrent writer gets ``VersionConflict``, never a lost update.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.pool import StaticPool

from workflow.errors import VersionConflict, WorkflowError
from workflow.model import (
    CaseRecord,
    Deadline,
    Event,
    OutboxMessage,
)
from workflow.orders import is_order_clock
from workflow.ports import CaseQuery, IdempotencyRecord

from . import counters
from . import search as _search
from .checkpoint import Checkpointer
from .dialect import (
    _CASE_COLS,
    _DL_COLS,
    _EVENT_COLS,
    _UPDATES,
    CASE_FIELDS,
    SQL,
    _ClockCache,
    _Dialect,
    _dumps,
    _is_busy,
    _loads,
    _Postgres,
    _unique_violation,
)
from .writelock import WriteLock

log = logging.getLogger("caseclock.sql")
CALENDAR_STAMP = "_calendar_overrides"  # the sequences row bumped with every stored override
CALENDAR_READ_SECONDS = 1.0  # a read-only unit of work looks at the stamp at most this often


class SqlStore:
    """A store on SQLite or PostgreSQL (``unit_of_work()`` opens one transaction).

    ``create``: create the file and run the migrations on first use (under a lock). Otherwise a
    database that is not at the newest schema is refused with the command that upgrades it.
    ``synchronous``: SQLite's durability setting, ``FULL`` (default) or ``NORMAL`` (may lose the
    last commits on power loss, never on a process crash). ``clock_cache``: parsed clock states
    kept in memory (entries; 0 disables). ``checkpoint``: ``background`` (default: WAL checkpoints
    in a thread, every ``checkpoint_interval`` seconds; the writers' own at ``wal_backstop_pages``)
    or ``auto`` (SQLite's default, in the commit that fills 1,000 pages); see checkpoint.py."""

    def __init__(
        self,
        url: str,
        *,
        synchronous: str = "FULL",
        create: bool = True,
        busy_timeout_ms: int = 30_000,
        pool_size: int = 5,
        clock_cache: int = 4096,
        checkpoint: str = "background",
        checkpoint_interval: float = 0.5,
        wal_backstop_pages: int = 10_000,
        echo: bool = False,
        engine_options: dict[str, Any] | None = None,
    ) -> None:
        self.url = sa.engine.make_url(url)
        if self.url.drivername in ("postgresql", "postgres"):
            self.url = self.url.set(drivername="postgresql+psycopg")
        if synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise WorkflowError(f"synchronous must be FULL or NORMAL, not {synchronous!r}")
        self.synchronous = synchronous.upper()
        self.busy_timeout_ms = busy_timeout_ms
        if checkpoint not in ("background", "auto"):
            raise WorkflowError(f"checkpoint must be 'background' or 'auto', not {checkpoint!r}")
        self.wal_backstop_pages = int(wal_backstop_pages) if checkpoint == "background" else 1000
        self.trace: list[tuple[str, Any]] | None = None
        self.engine = self._make_engine(pool_size, echo, dict(engine_options or {}))
        self.dialect: _Dialect = _Postgres() if self.is_postgres else _Dialect()
        self._clocks = _ClockCache(clock_cache)
        self._attached: Any = None
        # connections kept checked out of SQLAlchemy's pool between units of work: a checkout
        # costs more than a transition's statements
        self._idle: list[Any] = []
        self._keep = max(1, pool_size)
        self._plock = threading.Lock()
        # SQLite files: writers queue on a file lock (fair, no polling); the sweep pauses between
        # batches so clerks get in during a deadline storm (see writelock.py)
        database = self.url.database or ""
        file_db = self.is_sqlite and database not in ("", ":memory:") and "mode=memory" not in str(self.url)
        self.writelock: WriteLock | None = WriteLock(database) if file_db else None
        self.sweep_pause = 0.001 if file_db else 0.0
        # SQLite files: WAL checkpoints in a thread of their own, not in a clerk's commit
        self.checkpointer: Checkpointer | None = (
            Checkpointer(database, interval=checkpoint_interval) if file_db and checkpoint == "background" else None
        )
        # the calendar kept in step with the overrides other processes store (follow_calendar)
        self._followed: Any = None
        self._cal_stamp = -1
        self._cal_checked = 0.0
        self._cal_lock = threading.Lock()
        # the case search (search.py): the engine's searchable fields, set by attach
        self.search = _search.Terms()
        from .migrate import ensure_schema

        ensure_schema(self, create=create)
        self.search_trigrams = self._has_trigrams()

    # -- connection ----------------------------------------------------------------------------

    @property
    def is_postgres(self) -> bool:
        return self.url.get_backend_name() == "postgresql"

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    def _make_engine(self, pool_size: int, echo: bool, options: dict[str, Any]) -> sa.Engine:
        if self.is_sqlite:
            database = self.url.database or ""
            memory = database in ("", ":memory:") or "mode=memory" in str(self.url)
            if not memory:
                Path(database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
            connect_args = {"check_same_thread": False, "isolation_level": None, "timeout": self.busy_timeout_ms / 1000}
            if memory:
                options.setdefault("poolclass", StaticPool)
            else:
                options.setdefault("pool_size", pool_size)
            engine = sa.create_engine(self.url, connect_args=connect_args, echo=echo, **options)
            sync = self.synchronous
            busy = self.busy_timeout_ms
            backstop = self.wal_backstop_pages

            @event.listens_for(engine, "connect")
            def _on_connect(dbapi_conn: Any, record: Any) -> None:
                dbapi_conn.isolation_level = None  # we say BEGIN ourselves
                cur = dbapi_conn.cursor()
                if not memory:
                    cur.execute("PRAGMA journal_mode=WAL")
                    # the writers' own checkpoint is a backstop; checkpoint.py runs the rounds
                    cur.execute(f"PRAGMA wal_autocheckpoint={int(backstop)}")
                    cur.execute(f"PRAGMA journal_size_limit={64 * 2**20}")
                cur.execute(f"PRAGMA busy_timeout={int(busy)}")
                cur.execute("PRAGMA foreign_keys=ON")
                cur.execute(f"PRAGMA synchronous={sync}")
                cur.close()

            @event.listens_for(engine, "begin")
            def _on_begin(conn: sa.Connection) -> None:
                # ORM sessions and Alembic on this engine write safely too (no upgrade deadlock)
                conn.exec_driver_sql("BEGIN IMMEDIATE")

            return engine
        if self.is_postgres:
            options.setdefault("pool_size", pool_size)
            options.setdefault("pool_pre_ping", True)
            return sa.create_engine(self.url, echo=echo, **options)
        raise WorkflowError(f"unsupported database URL {self.url.render_as_string(hide_password=True)!r}")

    def _checkout(self) -> Any:
        with self._plock:
            if self._idle:
                return self._idle.pop()
        return self.engine.raw_connection()

    def _checkin(self, conn: Any, healthy: bool) -> None:
        if healthy:
            with self._plock:
                if len(self._idle) < self._keep:
                    self._idle.append(conn)
                    return
        else:
            conn.invalidate()
        conn.close()

    def _has_trigrams(self) -> bool:
        """PostgreSQL: whether the search text has its pg_trgm index (migration 0007 makes it
        where the extension can be installed); SQLite always has its FTS5 table."""
        if not self.is_postgres:
            return True
        with self.unit_of_work() as uow:
            row = uow._one("SELECT 1 FROM pg_indexes WHERE schemaname = current_schema() "
                           "AND indexname = 'ix_case_search_trgm'", {}, write=False)
        if row is None:
            log.warning("case search without its trigram index (pg_trgm is not installed): a search "
                        "reads every case's search row")
        return row is not None

    def dispose(self) -> None:
        """Close every pooled connection (tests, forks, shutdown)."""
        with self._plock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
        self.engine.dispose()
        if self.checkpointer is not None:
            self.checkpointer.close()

    close = dispose

    # -- the port --------------------------------------------------------------------------------

    def unit_of_work(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self)

    def count_open_by_sla(self, orgs: Iterable[str] | None = None,
                          item_id: str | None = None) -> list[tuple[str, str, str, int]]:
        """(org, item, level, n) of open cases, from the ``sla_counts`` counters (issue 10)."""
        return counters.count_open_by_sla(self, orgs, item_id)

    def earliest_pending_due(self) -> datetime | None:
        with self.unit_of_work() as uow:
            value = uow._one(self.dialect.sql["dl_earliest"], {}, write=False)
        return self.dialect.ts_out(value[0]) if value and value[0] is not None else None

    def purge_idempotency(self, older_than: datetime) -> int:
        """Forget idempotency keys stored before ``older_than`` (a client retries within minutes;
        keep a day or more). Returns how many were removed."""
        with self.unit_of_work() as uow:
            cur = uow.execute(self.dialect.prepare("DELETE FROM idempotency WHERE created_at < :before"),
                              {"before": self.dialect.ts(older_than)})
            count = cur.rowcount
            uow.commit()
        return int(count)

    # -- definitions and calendar overrides ------------------------------------------------------

    def attach(self, engine: Any) -> None:
        """Register the engine's definitions, reload stored calendar overrides into its calendar,
        and persist overrides loaded later (``Engine.load_calendar``)."""
        from .registry import register_definitions, sync_calendar

        register_definitions(self, engine)
        sync_calendar(self, engine)
        _search.attach(self, engine.registry)
        self._attached = engine

    def follow_calendar(self, calendar: Any) -> None:
        """Keep ``calendar`` in step with the overrides stored by any process: every write
        transaction (and a read at most every ``CALENDAR_READ_SECONDS``) first reads the calendar
        stamp, one indexed row, and takes in the stored overrides when it moved. So a worker
        never computes a deadline on a calendar another worker has replaced. A calendar whose
        ``add_override`` cannot be told not to store again (``notify=False``) is not followed."""
        import inspect

        try:
            takes_notify = "notify" in inspect.signature(calendar.add_override).parameters
        except (AttributeError, TypeError, ValueError):
            takes_notify = False
        if not takes_notify:
            log.info("calendar %r is not kept in step with the stored overrides", type(calendar).__name__)
            return
        with self.unit_of_work() as uow:
            stamp = uow.calendar_stamp()
        self._followed = calendar
        self._cal_stamp = stamp
        self._cal_checked = time.monotonic()

    def calendar_stamp_seen(self, stamp: int) -> None:
        with self._cal_lock:
            self._cal_stamp = max(self._cal_stamp, stamp)

    def save_calendar_override(self, override: Any) -> None:
        from .registry import save_override

        save_override(self, override)

    def calendar_overrides(self) -> list[dict[str, Any]]:
        from .registry import stored_overrides

        return stored_overrides(self)


class SqlUnitOfWork:
    """One transaction. Leaving the ``with`` block without ``commit()`` rolls everything back."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.d = store.dialect
        self.q = store.dialect.sql
        self._conn: Any = None
        self._cur: Any = None
        self._begun: str | None = None  # None | "read" | "write"
        self._locked = False  # holds the store's writers' queue (SQLite files)
        self._rows: dict[str, tuple[Any, ...]] = {}  # case rows as read: save_case writes the changes
        self._sla = counters.SlaDeltas()  # open cases moved between SLA counters, written at commit
        # appends (history events, outbox messages) and deadline marks wait here and go out as one
        # executemany per statement before the next statement on another table, or at commit
        self._deferred: dict[str, list[dict[str, Any]]] = {}
        self._next_outbox_id: int | None = None  # SQLite: the next outbox id, ours under the write lock
        self._outbox_given: list[OutboxMessage] = []  # messages given an id in this transaction

    # -- transaction -----------------------------------------------------------------------------

    def __enter__(self) -> SqlUnitOfWork:
        self._conn = self.store._checkout()
        self._cur = self._conn.cursor()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        healthy = True
        try:
            if self._begun is not None:
                self._rollback()
        except Exception:
            healthy = False
            raise
        finally:
            try:
                self._cur.close()
            except Exception:
                healthy = False
            if healthy and self.d.name == "postgresql":
                healthy = not self._conn.dbapi_connection.closed
            self.store._checkin(self._conn, healthy)
            self._conn = self._cur = None

    def _rollback(self) -> None:
        self._begun = None
        self._sla.clear()
        self._deferred.clear()
        for m in self._outbox_given:
            m.id = None
        self._outbox_given.clear()
        self._next_outbox_id = None
        self._trace("ROLLBACK", None)
        try:
            self._conn.rollback() if self.d.name != "sqlite" else self._cur.execute("ROLLBACK")
        finally:
            self._unlock()

    def _unlock(self) -> None:
        if self._locked:
            self._locked = False
            self.store.writelock.release()  # type: ignore[union-attr]

    def _begin(self, write: bool) -> None:
        if self._begun is not None:
            if write and self._begun == "read":
                # the first write upgrades it (SQLite: or fails, VersionConflict), and computes on
                # the stored calendar
                self._begun = "write"
                if self.store._followed is not None:
                    self._follow_calendar()
            return
        self._begun = "write" if write else "read"
        if self.d.name == "sqlite":
            stmt = "BEGIN IMMEDIATE" if write else "BEGIN"
            self._trace(stmt, None)
            if write and self.store.writelock is not None:
                self.store.writelock.acquire()
                self._locked = True
            try:
                self._cur.execute(stmt)
            except Exception as exc:
                self._begun = None
                self._unlock()
                self._reraise(exc)
        store = self.store
        if store._followed is not None and (write or time.monotonic() - store._cal_checked > CALENDAR_READ_SECONDS):
            self._follow_calendar()

    def calendar_stamp(self) -> int:
        self._begin(False)
        sql = self.q["seq_value"]
        params = {"key": CALENDAR_STAMP}
        self._trace(sql, params)
        try:  # straight on the cursor: it runs at the start of every write transaction
            row = self._cur.execute(sql, params).fetchone()
        except Exception as exc:
            self._reraise(exc)
        return int(row[0]) if row else 0

    def _follow_calendar(self) -> None:
        store = self.store
        stamp = self.calendar_stamp()
        store._cal_checked = time.monotonic()
        if stamp == store._cal_stamp:
            return
        from .registry import take_in_overrides

        with store._cal_lock:
            if stamp > store._cal_stamp:
                years = take_in_overrides(self, store._followed)
                store._cal_stamp = stamp
                if years:
                    log.info("calendar overrides for %s taken in from the database (stamp %d)",
                             ", ".join(map(str, years)), stamp)

    def commit(self) -> None:
        if self._begun is None:
            return
        if self._deferred:
            self._flush()
        if self._sla.d:
            self._sla.flush(self)  # the SLA counters, in this transaction (counters.py)
        self._trace("COMMIT", None)
        try:
            if self.d.name == "sqlite":
                self._cur.execute("COMMIT")
                self._outbox_given.clear()
                self._next_outbox_id = None
                self._unlock()
                if self._begun == "write" and self.store.checkpointer is not None:
                    self.store.checkpointer.committed()
            else:
                self._conn.commit()
                self._outbox_given.clear()
        except Exception as exc:
            # nothing of it stays: ids given by this transaction are taken back, and a SQLite
            # transaction still open after a failed COMMIT is rolled back
            for m in self._outbox_given:
                m.id = None
            self._outbox_given.clear()
            self._next_outbox_id = None
            if self.d.name == "sqlite":
                try:
                    self._cur.execute("ROLLBACK")
                except Exception:  # noqa: BLE001 - already ended by the failure
                    pass
            self._reraise(exc)
        finally:
            self._begun = None
            self._unlock()

    def _trace(self, sql: str, params: Any) -> None:
        if self.store.trace is not None:
            self.store.trace.append((sql, params))

    def _reraise(self, exc: BaseException) -> NoReturn:
        """Raise what ``exc`` means to the engine (VersionConflict for lost races), else ``exc``."""
        err = self._translate(exc)
        if err is exc:
            raise exc
        raise err from exc

    def _translate(self, exc: BaseException) -> BaseException:
        if isinstance(exc, WorkflowError):
            return exc
        name = type(exc).__name__
        sqlstate = getattr(exc, "sqlstate", None)
        if sqlstate in ("40001", "40P01", "55P03") or name in (
            "SerializationFailure", "DeadlockDetected", "LockNotAvailable"
        ):
            return VersionConflict(f"a concurrent writer changed the data: reload and retry ({name})")
        if _is_busy(exc):
            return VersionConflict("the database is busy with another writer: reload and retry")
        if _unique_violation(exc):  # two writers appended the same event, number or key
            return VersionConflict(f"a concurrent writer got there first: reload and retry ({exc})")
        return exc

    def _defer(self, sql: str, params: dict[str, Any]) -> None:
        self._begin(True)
        rows = self._deferred.get(sql)
        if rows is None:
            self._deferred[sql] = [params]
        else:
            rows.append(params)

    def _flush(self) -> None:
        """The deferred writes, one ``executemany`` per statement, in the order they were made.
        A failure here is the failure of the call that deferred it (the whole unit of work)."""
        deferred, self._deferred = self._deferred, {}
        for sql, rows in deferred.items():
            self._exec_many(sql, rows)

    def _exec(self, sql: str, params: dict[str, Any], *, write: bool, flush: bool = True) -> Any:
        if flush and self._deferred:
            self._flush()
        self._begin(write)
        self._trace(sql, params)
        try:
            return self._cur.execute(sql, params)
        except Exception as exc:
            self._reraise(exc)

    def _exec_many(self, sql: str, rows: list[dict[str, Any]]) -> None:
        self._begin(True)
        self._trace(sql, rows)
        try:
            self._cur.executemany(sql, rows)
        except Exception as exc:
            self._reraise(exc)

    def _one(self, sql: str, params: dict[str, Any], *, write: bool, flush: bool = True) -> Any:
        return self._exec(sql, params, write=write, flush=flush).fetchone()

    def _all(self, sql: str, params: dict[str, Any], *, write: bool) -> list[Any]:
        return self._exec(sql, params, write=write).fetchall()

    # -- cases -----------------------------------------------------------------------------------

    def _case_params(self, r: CaseRecord) -> dict[str, Any]:
        d = self.d
        return {
            "id": r.id, "number": r.number, "item_id": r.item_id,
            "definition_version": r.definition_version, "state": r.state, "version": r.version,
            "org": r.org, "assignee": r.assignee, "data": _dumps(r.data),
            "clocks": self.store._clocks.dumps(r.clocks),
            "opened_at": d.ts(r.opened_at), "started_on": d.day(r.started_on),
            "closed_at": d.ts(r.closed_at), "sla": r.sla, "due_at": d.ts(r.due_at),
            "parent_id": r.parent_id, "created_by": r.created_by, "last_hash": r.last_hash,
            "seq": r.seq,
        }

    def _case(self, row: Any) -> CaseRecord:
        d = self.d
        self._rows[row[0]] = tuple(row)
        return CaseRecord(
            id=row[0], number=row[1], item_id=row[2], definition_version=row[3], state=row[4],
            version=row[5], org=row[6], assignee=row[7], data=_loads(row[8]),
            clocks=self.store._clocks.parse(row[9]), opened_at=d.ts_out(row[10]),  # type: ignore[arg-type]
            started_on=d.day_out(row[11]), closed_at=d.ts_out(row[12]), sla=row[13],
            due_at=d.ts_out(row[14]), parent_id=row[15], created_by=row[16], last_hash=row[17],
            seq=row[18],
        )

    def get_case(self, case_id: str, *, for_update: bool = False) -> CaseRecord | None:
        sql = self.q["get_case"] + (self.d.for_update() if for_update else "")
        row = self._one(sql, {"id": case_id}, write=for_update, flush=False)
        return self._case(row) if row is not None else None

    def lock_case(self, case_id: str) -> CaseRecord | None:
        row = self._one(self.q["get_case"] + self.d.for_update(skip_locked=True), {"id": case_id}, write=True,
                        flush=False)
        return self._case(row) if row is not None else None

    def lock_cases(self, case_ids: Sequence[str]) -> list[CaseRecord]:
        """``lock_case`` for many in one statement, in the order given."""
        if not case_ids:
            return []
        params = {f"i{n}": cid for n, cid in enumerate(case_ids)}
        marks = ", ".join(":" + k for k in params)
        sql = self.d.prepare(f"SELECT {_CASE_COLS} FROM cases WHERE id IN ({marks})") + \
            self.d.for_update(skip_locked=True)
        rows = {row[0]: row for row in self._exec(sql, params, write=True, flush=False).fetchall()}
        return [self._case(rows[cid]) for cid in case_ids if cid in rows]

    def add_case(self, record: CaseRecord) -> None:
        params = self._case_params(record)
        self._exec(self.q["add_case"], params, write=True)
        self._rows[record.id] = tuple(params.values())
        self._sla.move(None, counters.key_of_params(params))
        found = self.store.search.row(params, record.data)
        self._defer(self.q["search_insert"], found)
        for part in _search.part_rows(record.id, record.number, record.org):
            self._defer(self.q["part_insert"], part)
        for head in _search.head_rows(found):
            self._defer(self.q["head_insert"], head)

    def save_case(self, record: CaseRecord, expected_version: int) -> None:
        """``UPDATE cases SET <the columns that changed> WHERE id = ? AND version = ?``: an
        unchanged indexed column costs no index write."""
        params = self._case_params(record)
        old = self._rows.get(record.id)
        was = counters.before(self, record.id, old, expected_version)
        if old is not None and old[5] == expected_version:
            cols = tuple(c for c, v, o in zip(CASE_FIELDS, params.values(), old, strict=True) if v != o and c != "id")
        else:
            cols = CASE_FIELDS[1:]
        if not cols:  # nothing changed: still check the version
            cols = ("version",)
        sql = _UPDATES.get((self.d.name, cols))
        if sql is None:
            sets = ", ".join(f"{c} = " + ("{" + c + "}" if c in ("data", "clocks") else f":{c}") for c in cols)
            sql = _UPDATES[(self.d.name, cols)] = self.d.prepare(
                f"UPDATE cases SET {sets} WHERE id = :id AND version = :expected"
            )
        bound = {c: params[c] for c in cols}
        bound["id"], bound["expected"] = record.id, expected_version
        cur = self._exec(sql, bound, write=True, flush=False)
        if cur.rowcount != 1:
            self._rows.pop(record.id, None)
            raise VersionConflict(f"case {record.number or record.id} changed meanwhile: reload it")
        if "data" in cols or "org" in cols:  # what the case is found by may have changed
            found = _search.changed(self.store.search, old, params, record.data)
            if found is not None:
                stood, row = found
                if stood is None:  # the case was not read here: its search row as stored
                    stood = self._one(self.q["search_row"], {"case_id": record.id}, write=True)
                # the heads anew, now (deferred, a delete could run after another case's inserts),
                # those of the search row as it is before its update (the key of each)
                gone, heads = _search.heads_changed(stood, row)
                if stood[0] != row["org"]:  # a transfer: the number's parts are the new org's
                    self._exec(self.q["parts_org"], {"case_id": record.id, "org": row["org"]}, write=True)
                if gone:
                    self._exec_many(self.q["head_delete"], gone)
                if heads:
                    self._exec_many(self.q["head_insert"], heads)
                self._defer(self.q["search_update"], {k: row[k] for k in ("case_id", "org", "names")})
        self._rows[record.id] = tuple(params.values())
        self._sla.move(was, counters.key_of_params(params))

    def query_cases(self, query: CaseQuery) -> list[CaseRecord]:
        from .query import case_query

        if query.q is not None:
            rows = _search.query(self, query)
            if rows is not None:
                return [self._case(row) for row in rows]
        built = case_query(query, self.d)
        if built is None:
            return []
        sql, params = built
        return [self._case(row) for row in self._all(sql, params, write=False)]

    def next_number(self, key: str) -> int:
        return int(self._one(self.q["next_number"], {"key": key}, write=True)[0])

    # -- history ---------------------------------------------------------------------------------

    def append_event(self, event: Event) -> None:
        self._defer(self.q["append_event"], {
            "case_id": event.case_id, "seq": event.seq, "kind": event.kind, "trigger": event.trigger,
            "actor_id": event.actor_id, "at": self.d.ts(event.at), "from_state": event.from_state,
            "to_state": event.to_state, "data": _dumps(dict(event.data)), "prev_hash": event.prev_hash,
            "hash": event.hash,
        })

    def _event(self, row: Any) -> Event:
        return Event(
            case_id=row[0], seq=row[1], kind=row[2], trigger=row[3], actor_id=row[4],
            at=self.d.ts_out(row[5]), from_state=row[6], to_state=row[7],  # type: ignore[arg-type]
            data=_loads(row[8]), prev_hash=row[9], hash=row[10],
        )

    def events(self, case_id: str) -> list[Event]:
        return [self._event(r) for r in self._all(self.q["events"], {"case_id": case_id}, write=False)]

    # -- deadlines -------------------------------------------------------------------------------

    def _deadline(self, row: Any) -> Deadline:
        ts = self.d.ts_out
        return Deadline(
            case_id=row[0], clock=row[1], run=row[2], level=row[3], due_at=ts(row[4]),  # type: ignore[arg-type]
            state=row[5], seen_at=ts(row[6]), org=row[7], item_id=row[8],
        )

    def replace_deadlines(self, case_id: str, wanted: Sequence[Deadline]) -> None:
        ts = self.d.ts
        rows = self._all(self.q["dl_of_case"], {"case_id": case_id}, write=True)
        have = {(r[1], r[2], r[3]): (r[5], r[4]) for r in rows}  # (clock, run, level) -> (state, due)
        keys = {(d.clock, d.run, d.level) for d in wanted}
        sets: list[dict[str, Any]] = []
        inserts: list[dict[str, Any]] = []
        for key, (state, due) in have.items():
            if state == "pending" and key not in keys and not is_order_clock(key[0]):
                sets.append({"state": "cancelled", "due_at": due, "case_id": case_id,
                             "clock": key[0], "run": key[1], "level": key[2]})
        for dl in wanted:
            key = (dl.clock, dl.run, dl.level)
            cur = have.get(key)
            due = ts(dl.due_at)
            if cur is None:
                inserts.append({"case_id": case_id, "clock": dl.clock, "run": dl.run, "level": dl.level,
                                "due_at": due, "state": dl.state, "seen_at": ts(dl.seen_at),
                                "org": dl.org, "item_id": dl.item_id})
            elif cur[0] != "fired" and (cur[0] != "pending" or cur[1] != due):
                sets.append({"state": "pending", "due_at": due, "case_id": case_id,
                             "clock": dl.clock, "run": dl.run, "level": dl.level})
        if sets:
            self._exec_many(self.q["dl_set"], sets)
        if inserts:
            self._exec_many(self.q["dl_insert"], inserts)

    def due_case_ids(self, now: datetime, limit: int) -> list[str]:
        # issue 6 (deadline storm): walk ix_deadlines_state_due in order and stop after a few
        # rows a case; GROUP BY case_id sorted every due row on each batch (O(N) a batch).
        rows = self._all(self.q["dl_due_rows"], {"now": self.d.ts(now), "limit": limit * 4}, write=True)
        return list(dict.fromkeys(r[0] for r in rows))[:limit]

    def pending_due(self, case_id: str, now: datetime) -> list[Deadline]:
        # issue 6 (deadline storm): read the case's rows through the unique (case_id, …) index
        # and filter here. With "state = 'pending' AND due_at <= :now" in the WHERE clause SQLite's
        # planner picks ix_deadlines_state_due and scans every due row for each case: O(N²) when
        # N deadlines fall due at once.
        rows = self._all(self.q["dl_of_case"], {"case_id": case_id}, write=True)
        due = (self._deadline(r) for r in rows if r[5] == "pending")
        return [d for d in due if d.due_at <= now]

    def pending_due_many(self, case_ids: Sequence[str], now: datetime) -> dict[str, list[Deadline]]:
        """``pending_due`` for many cases in one statement (through the same unique index)."""
        if not case_ids:
            return {}
        params: dict[str, Any] = {f"i{n}": cid for n, cid in enumerate(case_ids)}
        marks = ", ".join(":" + k for k in params)
        sql = self.d.prepare(f"SELECT {_DL_COLS} FROM deadlines WHERE case_id IN ({marks})")
        out: dict[str, list[Deadline]] = {}
        for r in self._all(sql, params, write=True):
            if r[5] == "pending":
                d = self._deadline(r)
                if d.due_at <= now:
                    out.setdefault(d.case_id, []).append(d)
        return out

    def mark_deadline(self, deadline: Deadline, state: str, seen_at: datetime | None) -> None:
        self._defer(self.q["dl_mark"], {
            "state": state, "seen_at": self.d.ts(seen_at), "case_id": deadline.case_id,
            "clock": deadline.clock, "run": deadline.run, "level": deadline.level,
        })

    def deadlines(self, case_id: str) -> list[Deadline]:
        return [self._deadline(r) for r in self._all(self.q["dl_all"], {"case_id": case_id}, write=False)]

    def held_case_ids(self) -> list[str]:
        """Cases with a held expiry (a party's period ran out on a provisional last day)."""
        return [r[0] for r in self._all(self.q["dl_held"], {}, write=True)]

    def fired_deadlines(self, seen_from: datetime, seen_to: datetime) -> list[Deadline]:
        rows = self._all(self.q["dl_fired"], {"seen_from": self.d.ts(seen_from), "seen_to": self.d.ts(seen_to)},
                         write=False)
        return [self._deadline(r) for r in rows]

    # -- outbox ----------------------------------------------------------------------------------

    def _message(self, row: Any) -> OutboxMessage:
        ts = self.d.ts_out
        return OutboxMessage(
            id=row[0], topic=row[1], case_id=row[2], payload=json.loads(row[3]),
            created_at=ts(row[4]), attempts=row[5], state=row[6],  # type: ignore[arg-type]
            next_attempt_at=ts(row[7]), last_error=row[8],
        )

    def add_outbox(self, messages: Sequence[OutboxMessage]) -> None:
        """Each message gets its ``id`` now (taken back if the transaction does not commit).
        SQLite: the rows are deferred like events, with ids this transaction picks under the
        write lock (the next after the largest; a stale read makes the write fail, never reuse
        an id); PostgreSQL: written now (``RETURNING id``)."""
        ts = self.d.ts
        sqlite = self.d.name == "sqlite"
        if sqlite and messages and self._next_outbox_id is None:
            self._begin(True)
            self._next_outbox_id = int(self._cur.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM outbox").fetchone()[0])
        for m in messages:
            params = {
                "topic": m.topic, "case_id": m.case_id, "payload": _dumps(m.payload),
                "created_at": ts(m.created_at), "attempts": m.attempts, "state": m.state,
                "next_attempt_at": ts(m.next_attempt_at), "last_error": m.last_error,
            }
            if sqlite:
                m.id = params["id"] = nxt = int(self._next_outbox_id or 1)
                self._next_outbox_id = nxt + 1
                self._defer(self.q["out_insert_id"], params)
                self._outbox_given.append(m)
            else:
                m.id = int(self._one(self.q["out_insert"], params, write=True)[0])
                self._outbox_given.append(m)

    def claim_outbox(self, now: datetime, limit: int) -> list[OutboxMessage]:
        sql = self.q["out_claim"] + self.d.for_update(skip_locked=True)
        return [self._message(r) for r in self._all(sql, {"now": self.d.ts(now), "limit": limit}, write=True)]

    def update_outbox(self, message: OutboxMessage) -> None:
        self._exec(self.q["out_update"], {
            "state": message.state, "attempts": message.attempts,
            "next_attempt_at": self.d.ts(message.next_attempt_at), "last_error": message.last_error,
            "id": message.id,
        }, write=True)

    def list_outbox(self, state: str | None = None, limit: int = 100) -> list[OutboxMessage]:
        if state is None:
            rows = self._all(self.q["out_list"], {"limit": limit}, write=False)
        else:
            rows = self._all(self.q["out_list_state"], {"state": state, "limit": limit}, write=False)
        return [self._message(r) for r in rows]

    # -- idempotency -----------------------------------------------------------------------------

    def get_idempotency(self, key: str) -> IdempotencyRecord | None:
        # read as the first step of a write: take the write lock now (SQLite)
        row = self._one(self.q["idem_get"], {"key": key}, write=True)
        if row is None:
            return None
        return IdempotencyRecord(row[0], row[1], row[2], json.loads(row[3]), self.d.ts_out(row[4]))  # type: ignore[arg-type]

    def put_idempotency(self, record: IdempotencyRecord) -> None:
        self._exec(self.q["idem_put"], {
            "key": record.key, "fingerprint": record.fingerprint, "case_id": record.case_id,
            "result": _dumps(record.result), "created_at": self.d.ts(record.created_at),
        }, write=True)

    # -- your own statements in this transaction ---------------------------------------------------

    def execute(self, sql: str, params: dict[str, Any] | None = None, *, write: bool = True) -> Any:
        """Run a statement (``:named`` parameters, JSON slots as ``{name}``; prepare it with
        ``store.dialect.prepare``) in this unit of work's transaction; returns the cursor.
        ``write=False`` for a read that may start a (deferred, on SQLite) transaction."""
        return self._exec(sql, params or {}, write=write)

    def fetch_one(self, sql: str, params: dict[str, Any] | None = None, *, write: bool = False) -> Any:
        return self._one(sql, params or {}, write=write)

    def fetch_all(self, sql: str, params: dict[str, Any] | None = None, *, write: bool = False) -> list[Any]:
        return self._all(sql, params or {}, write=write)

    # -- extras (verification, tools) ------------------------------------------------------------

    def iter_events(self, case_id: str | None = None, batch: int = 5000) -> Iterable[Event]:
        """Every event (or one case's), by case then seq, read in batches (verification)."""
        if case_id is not None:
            yield from self.events(case_id)
            return
        sql = self.d.prepare(
            f"SELECT {_EVENT_COLS} FROM events WHERE (case_id > :case_id OR "
            "(case_id = :case_id AND seq > :seq)) ORDER BY case_id, seq LIMIT :limit"
        )
        last: tuple[str, int] = ("", 0)
        while True:
            rows = self._all(sql, {"case_id": last[0], "seq": last[1], "limit": batch}, write=False)
            for r in rows:
                yield self._event(r)
            if len(rows) < batch:
                return
            last = (rows[-1][0], rows[-1][1])

    def case_heads(self, case_id: str | None = None) -> dict[str, tuple[int, str]]:
        """(seq, last_hash) per case, as the case rows record them."""
        if case_id is None:
            rows = self._all("SELECT id, seq, last_hash FROM cases", {}, write=False)
        else:
            rows = self._all(self.d.prepare("SELECT id, seq, last_hash FROM cases WHERE id = :id"),
                             {"id": case_id}, write=False)
        return {r[0]: (r[1], r[2]) for r in rows}


__all__ = ["SQL", "SqlStore", "SqlUnitOfWork"]
