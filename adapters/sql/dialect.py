"""The SQL the store runs, and what differs between SQLite and PostgreSQL on the DB-API level.

Statements are written once with ``:named`` parameters; ``{data}`` marks a JSON parameter and
``{o_data}`` a JSON column read back as text. ``_Dialect.prepare`` turns them into what the driver
takes: sqlite3 uses them as they are; PostgreSQL (psycopg) gets ``%(name)s``,
``CAST(%(data)s AS json)`` and ``CAST(data AS text)`` (one JSON parser, and one clock cache, for
both backends).
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from datetime import UTC, date, datetime
from typing import Any

from workflow.legaltime import TZ, ClockState
from workflow.model import clock_from_dict, clock_to_dict

_CASE_COLS = (
    "id, number, item_id, definition_version, state, version, org, assignee, {o_data}, {o_clocks}, "
    "opened_at, started_on, closed_at, sla, due_at, parent_id, created_by, last_hash, seq"
)
_EVENT_COLS = 'case_id, seq, kind, "trigger", actor_id, at, from_state, to_state, {o_data}, prev_hash, hash'
_DL_COLS = "case_id, clock, run, level, due_at, state, seen_at, org, item_id"
_OUT_COLS = "id, topic, case_id, {o_payload}, created_at, attempts, state, next_attempt_at, last_error"

_CASE_INS = _CASE_COLS.format(o_data="data", o_clocks="clocks")
CASE_FIELDS = tuple(c.strip() for c in _CASE_INS.split(","))
_EVENT_INS = _EVENT_COLS.format(o_data="data")

# The statements of the hot path, written once with :named parameters (sqlite3 takes them as
# they are; PostgreSQL gets %(name)s and CAST(… AS json) for JSON columns, see _Dialect).
SQL = {
    "get_case": f"SELECT {_CASE_COLS} FROM cases WHERE id = :id",
    "add_case": (
        f"INSERT INTO cases ({_CASE_INS}) VALUES (:id, :number, :item_id, :definition_version, "
        ":state, :version, :org, :assignee, {data}, {clocks}, :opened_at, :started_on, :closed_at, "
        ":sla, :due_at, :parent_id, :created_by, :last_hash, :seq)"
    ),
    "append_event": (
        f"INSERT INTO events ({_EVENT_INS}) VALUES (:case_id, :seq, :kind, :trigger, :actor_id, "
        ":at, :from_state, :to_state, {data}, :prev_hash, :hash)"
    ),
    "events": f"SELECT {_EVENT_COLS} FROM events WHERE case_id = :case_id ORDER BY seq",
    "seq_value": "SELECT value FROM sequences WHERE key = :key",
    "next_number": (
        "INSERT INTO sequences (key, value) VALUES (:key, 1) "
        "ON CONFLICT (key) DO UPDATE SET value = sequences.value + 1 RETURNING value"
    ),
    "dl_of_case": f"SELECT {_DL_COLS} FROM deadlines WHERE case_id = :case_id",
    "dl_insert": (
        f"INSERT INTO deadlines ({_DL_COLS}) VALUES (:case_id, :clock, :run, :level, :due_at, "
        ":state, :seen_at, :org, :item_id)"
    ),
    "dl_set": (
        "UPDATE deadlines SET state = :state, due_at = :due_at "
        "WHERE case_id = :case_id AND clock = :clock AND run = :run AND level = :level"
    ),
    "dl_mark": (
        "UPDATE deadlines SET state = :state, seen_at = :seen_at "
        "WHERE case_id = :case_id AND clock = :clock AND run = :run AND level = :level"
    ),
    "dl_due_rows": (  # issue 6: index order, no GROUP BY (see due_case_ids)
        "SELECT case_id FROM deadlines WHERE state = 'pending' AND due_at <= :now "
        "ORDER BY due_at LIMIT :limit"
    ),
    "dl_all": f"SELECT {_DL_COLS} FROM deadlines WHERE case_id = :case_id ORDER BY due_at, clock, level",
    "dl_fired": (
        f"SELECT {_DL_COLS} FROM deadlines WHERE state = 'fired' AND seen_at >= :seen_from "
        "AND seen_at < :seen_to ORDER BY seen_at, case_id"
    ),
    "dl_earliest": "SELECT MIN(due_at) FROM deadlines WHERE state = 'pending'",
    # held expiries (rule 10): read once per calendar change, so no index of their own
    "dl_held": "SELECT DISTINCT case_id FROM deadlines WHERE state = 'held' ORDER BY case_id",
    "out_insert": (
        "INSERT INTO outbox (topic, case_id, payload, created_at, attempts, state, "
        "next_attempt_at, last_error) VALUES (:topic, :case_id, {payload}, :created_at, "
        ":attempts, :state, :next_attempt_at, :last_error) RETURNING id"
    ),
    "out_insert_id": (  # SQLite, deferred: the id is chosen under the write lock (store._flush)
        "INSERT INTO outbox (id, topic, case_id, payload, created_at, attempts, state, "
        "next_attempt_at, last_error) VALUES (:id, :topic, :case_id, {payload}, :created_at, "
        ":attempts, :state, :next_attempt_at, :last_error)"
    ),
    "out_claim": (
        f"SELECT {_OUT_COLS} FROM outbox WHERE state = 'pending' "
        "AND COALESCE(next_attempt_at, created_at) <= :now ORDER BY id LIMIT :limit"
    ),
    "out_update": (
        "UPDATE outbox SET state = :state, attempts = :attempts, "
        "next_attempt_at = :next_attempt_at, last_error = :last_error WHERE id = :id"
    ),
    "out_list": f"SELECT {_OUT_COLS} FROM outbox ORDER BY id LIMIT :limit",
    "out_list_state": f"SELECT {_OUT_COLS} FROM outbox WHERE state = :state ORDER BY id LIMIT :limit",
    "search_insert": (  # adapters/sql/search.py
        "INSERT INTO case_search (case_id, org, item_id, opened_at, number, rnumber, names) "
        "VALUES (:case_id, :org, :item_id, :opened_at, :number, :rnumber, :names)"
    ),
    "part_insert": "INSERT INTO case_number_parts (case_id, part, org) VALUES (:case_id, :part, :org)",  # search.part_rows
    "parts_org": "UPDATE case_number_parts SET org = :org WHERE case_id = :case_id",  # a transfer
    "head_insert": (  # search.head_rows
        "INSERT INTO case_heads (case_id, head, org, item_id, opened_at) VALUES (:case_id, :head, :org, :item_id, :opened_at)"
    ),
    "head_delete": (  # by its key: the old heads from the case's search row (search.old_heads)
        "DELETE FROM case_heads WHERE org = :org AND head = :head AND opened_at = :opened_at AND case_id = :case_id"
    ),
    "search_row": "SELECT org, item_id, opened_at, number, names FROM case_search WHERE case_id = :case_id",
    "search_update": (  # only when it differs (search.changed compared with the row as read)
        "UPDATE case_search SET names = :names, org = :org WHERE case_id = :case_id"
    ),
    "idem_get": (
        "SELECT key, fingerprint, case_id, {o_result}, created_at FROM idempotency WHERE key = :key"
    ),
    "idem_put": (
        "INSERT INTO idempotency (key, fingerprint, case_id, result, created_at) "
        "VALUES (:key, :fingerprint, :case_id, {result}, :created_at)"
    ),
}

_JSON_SLOTS = ("data", "clocks", "payload", "result", "body", "holidays", "workdays")
_JSON_OUT = ("data", "clocks", "payload", "result", "body", "holidays", "workdays")


# what json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str) builds on every
# call, kept: the same text without building an encoder per value (workflow.model.HASH_JSON)
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)


def _dumps(value: Any) -> str:
    return _COMPACT.encode(value)


def _big_int(text: str) -> int | str:
    return int(text) if len(text.lstrip("-")) <= 4300 else text


def _loads(text: str) -> Any:
    """``json.loads``; a stored integer past Python's 4,300-digit limit (a direct edit could write
    one, PostgreSQL's json keeps it) comes back as its digits in text instead of failing the read."""
    try:
        return json.loads(text)
    except ValueError:
        return json.loads(text, parse_int=_big_int)


_TS_IN: dict[datetime, str] = {}
_TS_OUT: dict[str, datetime] = {}


class _Dialect:
    """What differs between SQLite and PostgreSQL on the DB-API level."""

    name = "sqlite"

    def __init__(self) -> None:
        self.sql = {k: self.prepare(v) for k, v in SQL.items()}

    def prepare(self, text: str) -> str:
        """``{data}``: a JSON parameter; ``{o_data}``: a JSON column read as text."""
        return text.format(**{k: ":" + k for k in _JSON_SLOTS}, **{f"o_{k}": k for k in _JSON_OUT})

    # values in (SQLite: UTC text; the same instants recur, e.g. a clock's deadlines, so the
    # conversions are memoised, boundedly)
    def ts(self, value: datetime | None) -> Any:
        if value is None:
            return None
        hit = _TS_IN.get(value)
        if hit is None:
            if len(_TS_IN) > 8192:
                _TS_IN.clear()
            utc = (value.replace(tzinfo=UTC) if value.tzinfo is None else value).astimezone(UTC)
            hit = _TS_IN[value] = utc.replace(tzinfo=None).isoformat(" ", "microseconds")
        return hit

    @staticmethod
    def day(value: date) -> Any:
        return value.isoformat()

    # values out
    def ts_out(self, value: Any) -> datetime | None:
        if value is None:
            return None
        hit = _TS_OUT.get(value)
        if hit is None:
            if len(_TS_OUT) > 8192:
                _TS_OUT.clear()
            hit = _TS_OUT[value] = datetime.fromisoformat(value).replace(tzinfo=UTC).astimezone(TZ)
        return hit

    @staticmethod
    def day_out(value: Any) -> date:
        return date.fromisoformat(value) if isinstance(value, str) else value

    def for_update(self, skip_locked: bool = False) -> str:
        return ""


class _Postgres(_Dialect):
    name = "postgresql"

    def prepare(self, text: str) -> str:
        # JSON columns come back as text: one parser (and one clock cache) for both backends
        text = text.format(
            **{k: f"CAST(:{k} AS json)" for k in _JSON_SLOTS},
            **{f"o_{k}": f"CAST({k} AS text)" for k in _JSON_OUT},
        )
        return re.sub(r"(?<!:):([a-z_][a-z0-9_]*)", r"%(\1)s", text)

    def ts(self, value: datetime | None) -> Any:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value

    @staticmethod
    def day(value: date) -> Any:
        return value

    def ts_out(self, value: Any) -> datetime | None:
        return value.astimezone(TZ) if value is not None else None

    def for_update(self, skip_locked: bool = False) -> str:
        return " FOR UPDATE SKIP LOCKED" if skip_locked else " FOR UPDATE"


class _ClockCache:
    """Parsed clock JSON by its text (ClockState is frozen, so entries are shared safely).
    Bounded: the engine's memory never grows with the number of cases."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._parsed: OrderedDict[str, dict[str, ClockState]] = OrderedDict()
        self._frags: dict[int, tuple[ClockState, str]] = {}
        self._lock = threading.Lock()

    def parse(self, text: str) -> dict[str, ClockState]:
        with self._lock:
            hit = self._parsed.get(text)
            if hit is not None:
                self._parsed.move_to_end(text)
                return dict(hit)
        value = {k: clock_from_dict(v) for k, v in json.loads(text).items()}
        if self.size:
            with self._lock:
                self._parsed[text] = value
                if len(self._parsed) > self.size:
                    self._parsed.popitem(last=False)
        return dict(value)

    def __len__(self) -> int:
        return len(self._parsed)

    def dumps(self, clocks: dict[str, ClockState]) -> str:
        """The clocks' JSON (exactly ``_dumps`` of their dicts), each clock object serialised
        once: looked up by identity (a clock the engine left alone is the very object parsed)."""
        parts = []
        frags = self._frags
        for name, st in clocks.items():
            hit = frags.get(id(st))
            if hit is not None and hit[0] is st:
                frag = hit[1]
            else:
                frag = _dumps(clock_to_dict(st))
                if self.size:
                    if len(frags) >= self.size:
                        frags.clear()
                    frags[id(st)] = (st, frag)
            parts.append(f"{_dumps(name)}:{frag}")
        return "{" + ",".join(parts) + "}"


_UPDATES: dict[tuple[str, tuple[str, ...]], str] = {}


def _is_busy(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "database is locked" in text or "database is busy" in text or "database table is locked" in text


def _unique_violation(exc: BaseException) -> bool:
    sqlstate = getattr(exc, "sqlstate", None)
    if sqlstate == "23505":
        return True
    text = str(exc)
    return type(exc).__name__ == "IntegrityError" and "UNIQUE constraint failed" in text
