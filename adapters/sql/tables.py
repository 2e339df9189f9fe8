"""The tables, as SQLModel classes (one schema for SQLite and PostgreSQL).

Timestamps are timezone-aware in Python. PostgreSQL stores them as ``timestamptz``; SQLite has
no such type, so :class:`AwareDateTime` stores UTC as ``YYYY-MM-DD HH:MM:SS.ffffff`` text (which
sorts chronologically) and hands back Asia/Shanghai time. The store's hot path writes and reads
the same format itself (see ``store.py``), so ORM users and the store agree.

JSON columns are plain ``JSON`` (PostgreSQL ``json`` keeps the text as written). ORM users who
change a dict in place must reassign it (or use ``MutableDict``): these columns are not
mutation-tracked.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from workflow.legaltime import TZ

UTC = UTC


class AwareDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware Asia/Shanghai datetimes out, on every backend.

    A naive value is taken as UTC (as the engine takes freezegun's naive clock)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        if dialect.name == "sqlite":
            return value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(TZ)


def _ts(nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_type=AwareDateTime, nullable=nullable, index=index)


def _case_fk() -> sa.ForeignKey:
    # deferred: the engine appends a case's opening event before it inserts the case row
    return sa.ForeignKey("cases.id", deferrable=True, initially="DEFERRED")


def _json(nullable: bool = False) -> Any:
    return Field(default=None, sa_type=sa.JSON, nullable=nullable)


# --- the engine's tables ------------------------------------------------------------------------

# The partial index's predicate; a query that repeats it word for word lets SQLite's planner (and
# PostgreSQL's, with generic plans) use the index (adapters/sql/query.py adds it).
# deemed_accepted (no 一次性告知 in time, 行政许可法第三十二条) is a breach the list shows first:
# without it in the predicate its page was a walk of every open case (0.7 s at 1M, migration 0014)
BREACH_WHERE = "closed_at IS NULL AND sla IN ('overdue', 'over_statutory', 'deemed_accepted')"
# The worklist's order ("most urgent first", adapters/sql/query.py) as index expressions, over the
# open cases only: a page is read in order and the walk stops at its limit instead of sorting
# every open case (issue 10: the worklist at 100k open cases).
URGENT_KEYS = ("CASE WHEN due_at IS NULL THEN 1 ELSE 0 END", "COALESCE(due_at, opened_at)")
OPEN_WHERE = "closed_at IS NULL"
PENDING_WHERE = "state = 'pending'"


class CaseRow(SQLModel, table=True):
    __tablename__ = "cases"
    __table_args__ = (
        sa.Index("ix_cases_opened", "opened_at", "id"),
        sa.Index("ix_cases_item_state", "item_id", "state"),
        # the breach list (issue 10): only open cases past their commitment are in it
        sa.Index("ix_cases_open_breaches", "sla", "opened_at", "id",
                 sqlite_where=sa.text(BREACH_WHERE), postgresql_where=sa.text(BREACH_WHERE)),
        # … and one org's (a city's supervisor): in page order without sorting the org's breaches
        sa.Index("ix_cases_org_breaches", "org", "sla", "opened_at", "id",
                 sqlite_where=sa.text(BREACH_WHERE), postgresql_where=sa.text(BREACH_WHERE)),
        # the worklist: open cases most urgent first, by role (any assignee)
        sa.Index("ix_cases_open_urgent", *(sa.text(f"({k})") for k in URGENT_KEYS), "opened_at", "id",
                 sqlite_where=sa.text(OPEN_WHERE), postgresql_where=sa.text(OPEN_WHERE)),
        # one assignee's open cases (a handful: sorted after): it changes only when a case is
        # assigned or closed, not with every due instant
        sa.Index("ix_cases_open_assignee", "assignee",
                 sqlite_where=sa.text(OPEN_WHERE), postgresql_where=sa.text(OPEN_WHERE)),
    )

    id: str = Field(primary_key=True, max_length=64)
    number: str = Field(max_length=128, index=True)
    item_id: str = Field(max_length=128)
    definition_version: int
    state: str = Field(max_length=128)  # indexed with item_id (states are per item)
    version: int  # optimistic lock: UPDATE … WHERE version = expected
    org: str = Field(max_length=64, index=True)
    assignee: str | None = Field(default=None, max_length=128, index=True)
    data: dict[str, Any] = _json()
    clocks: dict[str, Any] = _json()
    opened_at: datetime = _ts()
    started_on: date
    closed_at: datetime | None = _ts(nullable=True, index=True)
    sla: str = Field(max_length=32, index=True)
    due_at: datetime | None = _ts(nullable=True)  # ordered by in ix_cases_open_urgent
    parent_id: str | None = Field(default=None, max_length=64, index=True)
    created_by: str = Field(default="", max_length=128)
    last_hash: str = Field(default="", max_length=64)
    seq: int = 0


class SlaCountRow(SQLModel, table=True):
    """Open cases per (org, item, SLA level), kept in the transaction of every case write
    (``adapters/sql/counters.py``): the board reads these rows instead of counting cases."""

    __tablename__ = "sla_counts"

    org: str = Field(primary_key=True, max_length=64)
    item_id: str = Field(primary_key=True, max_length=128)
    level: str = Field(primary_key=True, max_length=32)
    n: int = 0


class CaseSearchRow(SQLModel, table=True):
    """What a case is found by (``GET /api/cases?q=``, ``workflow/search.py``): its normalized
    number, indexed for its beginning (``number``) and its end (``rnumber``, reversed), and its
    names text (``names``), indexed by trigrams: an FTS5 table on SQLite (``case_search_fts``),
    a ``pg_trgm`` GIN index on PostgreSQL (``ix_case_search_trgm``), both made by migration 0007
    and not declared here. One row a case, written in the transaction of every case write that
    changes it (``adapters/sql/search.py``)."""

    __tablename__ = "case_search"
    __table_args__ = (
        # a query with many matches walks the rows in page order (org and item filtered here)
        sa.Index("ix_case_search_opened", "opened_at", "case_id"),
        sa.Index("ix_case_search_org_opened", "org", "opened_at", "case_id"),  # a clerk's orgs' rows only
        sa.Index("ix_case_search_number", "number"),
        sa.Index("ix_case_search_rnumber", "rnumber"),
    )

    id: int | None = Field(default=None, primary_key=True)  # SQLite: the rowid the FTS5 table names
    case_id: str = Field(max_length=64, unique=True, foreign_key="cases.id")  # written after the case row
    org: str = Field(max_length=64)
    item_id: str = Field(max_length=128)
    opened_at: datetime = _ts()
    # byte order (PostgreSQL: collation "C"), so that a beginning is a range of the index
    number: str = Field(sa_type=sa.String(128).with_variant(sa.String(128, collation="C"), "postgresql"))
    rnumber: str = Field(sa_type=sa.String(128).with_variant(sa.String(128, collation="C"), "postgresql"))
    names: str = Field(sa_type=sa.Text)


class CaseNumberPartRow(SQLModel, table=True):
    """A case number's parts (``workflow.search.number_parts``: the normalized number from the
    start of each inner segment on), indexed for their beginnings: ``420100-2026`` finds
    ``ZYDJ-420100-2026-00017``. A number never changes: the rows are written with the case's
    (migration 0008 wrote those of the cases before it), their org follows the case's."""

    __tablename__ = "case_number_parts"
    __table_args__ = (
        sa.Index("ix_case_number_parts_part", "part"),
        sa.Index("ix_case_number_parts_org", "org", "part"),  # a clerk's orgs' parts (migration 0013)
    )

    case_id: str = Field(max_length=64, primary_key=True, foreign_key="cases.id")
    part: str = Field(primary_key=True,
                      sa_type=sa.String(128).with_variant(sa.String(128, collation="C"), "postgresql"))
    # the case's org (kept on a transfer), so that a clerk's query counts and reads the parts of
    # the clerk's orgs only: another city's 420500-2026 is none of a Wuhan clerk's
    org: str = Field(default="", max_length=64, sa_column_kwargs={"server_default": ""})


class CaseHeadRow(SQLModel, table=True):
    """The beginnings a one- or two-character query is matched against (``workflow.search.heads``:
    the first character and the first two of the normalized number and of each name), one row a
    case and beginning, with the case's org, item and opening instant. Its key is in page order
    after the org and the beginning, so a short query's page is a range of it read with a LIMIT,
    however many cases begin with it (``武汉``: a third of them). SQLite keeps the rows in that
    key's B-tree itself (WITHOUT ROWID: one tree, no second index). Written with the case's
    search row (``adapters/sql/search.py``); migration 0010 wrote those of the cases before it."""

    __tablename__ = "case_heads"
    __table_args__ = {"sqlite_with_rowid": False}

    org: str = Field(max_length=64, primary_key=True)
    head: str = Field(max_length=8, primary_key=True)
    opened_at: datetime = Field(sa_type=AwareDateTime(), primary_key=True)
    case_id: str = Field(max_length=64, primary_key=True, foreign_key="cases.id")
    item_id: str = Field(max_length=128)


# Objects of the search index that the models do not declare (migration 0007 makes them): the
# FTS5 table and its shadow tables (SQLite), the trigram index (PostgreSQL). Alembic's
# comparisons skip them (``include_object``).
SEARCH_EXTRAS = ("case_search_fts", "ix_case_search_trgm")


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    return not (name or "").startswith(SEARCH_EXTRAS)


# SQLite: an index that stays empty (the change feed's indexes are PostgreSQL's: there the event
# id is the position, see adapters/sql/changes.py)
NEVER = "0"


class EventRow(SQLModel, table=True):
    __tablename__ = "events"
    __table_args__ = (
        sa.UniqueConstraint("case_id", "seq", name="uq_events_case_seq"),
        # the change feed (PostgreSQL): positions given after the commit, and the rows still
        # waiting for one
        sa.Index("ix_events_pos", "pos", unique=True,
                 sqlite_where=sa.text(NEVER), postgresql_where=sa.text("pos IS NOT NULL")),
        sa.Index("ix_events_unstamped", "id",
                 sqlite_where=sa.text(NEVER), postgresql_where=sa.text("pos IS NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(max_length=64, sa_column_args=[_case_fk()])
    seq: int
    kind: str = Field(max_length=64)
    trigger: str | None = Field(default=None, max_length=128)
    actor_id: str = Field(max_length=128)
    at: datetime = _ts()
    from_state: str | None = Field(default=None, max_length=128)
    to_state: str | None = Field(default=None, max_length=128)
    data: dict[str, Any] = _json()
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
    pos: int | None = Field(default=None, sa_type=sa.BigInteger)  # the change feed's position (PostgreSQL)


class DeadlineRow(SQLModel, table=True):
    __tablename__ = "deadlines"
    __table_args__ = (
        sa.UniqueConstraint("case_id", "clock", "run", "level", name="uq_deadlines_key"),
        # the sweep and the scheduler's wake-up: pending rows only, by due instant (fired and
        # cancelled rows, most of the table in time, are not in it and cost it no writes)
        sa.Index("ix_deadlines_pending_due", "due_at",
                 sqlite_where=sa.text(PENDING_WHERE), postgresql_where=sa.text(PENDING_WHERE)),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(max_length=64, sa_column_args=[_case_fk()])
    clock: str = Field(max_length=128)
    run: int
    level: str = Field(max_length=32)
    due_at: datetime = _ts()
    state: str = Field(default="pending", max_length=16)  # pending | fired | cancelled
    seen_at: datetime | None = _ts(nullable=True, index=True)  # reports: escalations by month
    org: str = Field(default="", max_length=64)
    item_id: str = Field(default="", max_length=128)


class OutboxRow(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (sa.Index("ix_outbox_state_next", "state", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    topic: str = Field(max_length=64)
    case_id: str = Field(max_length=64, index=True)
    payload: dict[str, Any] = _json()
    created_at: datetime = _ts()
    attempts: int = 0
    state: str = Field(default="pending", max_length=16)  # pending | delivered | dead
    next_attempt_at: datetime | None = _ts(nullable=True)
    last_error: str | None = Field(default=None, sa_type=sa.Text)


class IdempotencyRow(SQLModel, table=True):
    __tablename__ = "idempotency"

    key: str = Field(primary_key=True, max_length=255)
    fingerprint: str = Field(max_length=64)
    case_id: str = Field(max_length=64)
    result: dict[str, Any] = _json()
    created_at: datetime = _ts(index=True)


class SequenceRow(SQLModel, table=True):
    __tablename__ = "sequences"

    key: str = Field(primary_key=True, max_length=255)
    value: int = 0


class CalendarOverrideRow(SQLModel, table=True):
    __tablename__ = "calendar_overrides"

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    source: str = Field(sa_type=sa.Text)
    holidays: list[str] = _json()
    workdays: list[str] = _json()
    loaded_at: datetime = _ts()


class DefinitionRow(SQLModel, table=True):
    __tablename__ = "definitions"

    id: str = Field(primary_key=True, max_length=128)
    version: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    content_hash: str = Field(max_length=64)
    body: dict[str, Any] = _json()
    loaded_at: datetime = _ts()


# --- tables teammates use (people, tokens, reports, attachments) -------------------------------


class PersonRow(SQLModel, table=True):
    __tablename__ = "people"

    id: str = Field(primary_key=True, max_length=128)
    name: str = Field(default="", max_length=255)
    roles: list[str] = _json()
    org: str = Field(max_length=64, index=True)
    contacts: dict[str, Any] = _json()
    password_hash: str | None = Field(default=None, max_length=255)
    active: bool = True


class WebSignoutRow(SQLModel, table=True):
    """Web sessions signed out before they expired: every process refuses them (api/web)."""

    __tablename__ = "web_signouts"

    sid: str = Field(primary_key=True, max_length=64)
    expires_at: int = Field(sa_type=sa.BigInteger)  # seconds since the epoch: the row goes after it


class SecretFailureRow(SQLModel, table=True):
    """Failed secret look-ups (sign-ins) per (scope, subject, client): the growing back-off of
    api/backoff.py, seen by every process. Rows go a day after their last failure, never because
    the table is full."""

    __tablename__ = "secret_failures"

    scope: str = Field(primary_key=True, max_length=32)  # "signin", …
    subject: str = Field(primary_key=True, max_length=255)  # the person id (or application number) tried
    client: str = Field(primary_key=True, max_length=128)  # an address, or a device cookie's id
    failures: int = 0
    blocked_until: int = Field(default=0, sa_type=sa.BigInteger)  # seconds since the epoch
    last_failed: int = Field(default=0, sa_type=sa.BigInteger, index=True)


class ApiTokenRow(SQLModel, table=True):
    __tablename__ = "api_tokens"

    id: str = Field(primary_key=True, max_length=64)
    token_hash: str = Field(max_length=128, unique=True)
    user_id: str = Field(max_length=128, index=True)
    roles: list[str] = _json()
    org: str = Field(max_length=64)
    created_at: datetime = _ts()
    expires_at: datetime | None = _ts(nullable=True)
    revoked_at: datetime | None = _ts(nullable=True)
    note: str = Field(default="", max_length=255)


class ReportRow(SQLModel, table=True):
    __tablename__ = "reports"

    org: str = Field(primary_key=True, max_length=64)
    item_id: str = Field(primary_key=True, max_length=128)
    month: str = Field(primary_key=True, max_length=7)  # YYYY-MM
    body: dict[str, Any] = _json()
    generated_at: datetime = _ts()


class AttachmentRow(SQLModel, table=True):
    __tablename__ = "attachments"

    id: str = Field(primary_key=True, max_length=64)
    case_id: str = Field(max_length=64, index=True, foreign_key="cases.id")
    filename: str = Field(max_length=255)
    content_type: str = Field(default="application/octet-stream", max_length=255)
    size: int = 0
    sha256: str = Field(max_length=64)
    content: bytes | None = Field(default=None, sa_type=sa.LargeBinary)
    path: str | None = Field(default=None, sa_type=sa.Text)
    uploaded_by: str = Field(max_length=128)
    uploaded_at: datetime = _ts()


# --- the applicant's side (issue 17: adapters/online.py) ----------------------------------------


class ApplicationRow(SQLModel, table=True):
    """A case applied for online: who applied and the hash of its query code."""

    __tablename__ = "applications"

    case_id: str = Field(primary_key=True, max_length=64, sa_column_args=[_case_fk()])
    number: str = Field(max_length=128, index=True)
    org: str = Field(max_length=64)
    item_id: str = Field(max_length=128)
    applicant_id: str = Field(max_length=128, index=True)
    applicant_name: str = Field(default="", max_length=255)
    phone: str = Field(default="", max_length=64)
    email: str = Field(default="", max_length=255)
    code_hash: str = Field(max_length=255)
    via: str = Field(default="", max_length=128)  # the portal token's user, or "web"
    created_at: datetime = _ts()


class ApplicationNoticeRow(SQLModel, table=True):
    """What the applicant was told (受理, 补正, 延期, 办结, 不予受理, 评价答复), written in the
    transaction of the step that caused it; email and SMS go through the outbox."""

    __tablename__ = "application_notices"

    id: int | None = Field(default=None, primary_key=True)
    application_id: str = Field(max_length=64, index=True)
    case_id: str = Field(max_length=64)  # the case the step was on (a bundle's child)
    kind: str = Field(max_length=32)
    title: str = Field(default="", max_length=255)
    text: str = Field(default="", sa_type=sa.Text)
    data: dict[str, Any] = _json()
    created_at: datetime = _ts()


class RatingRow(SQLModel, table=True):
    """One rating per closed case (一事一评): the primary key refuses a second."""

    __tablename__ = "ratings"

    case_id: str = Field(primary_key=True, max_length=64)
    number: str = Field(max_length=128)
    org: str = Field(max_length=64, index=True)
    item_id: str = Field(max_length=128)
    grade: int
    comment: str = Field(default="", sa_type=sa.Text)
    rated_at: datetime = _ts(index=True)
    rectification_id: str | None = Field(default=None, max_length=64, index=True)
    rectification_number: str | None = Field(default=None, max_length=128)
    rectified_at: datetime | None = _ts(nullable=True)
    rectified_on_time: bool | None = None
    reply: str = Field(default="", sa_type=sa.Text)


class OrderRow(SQLModel, table=True):
    """A supervision order (督办) on a case (workflow/orders.py; migration 0009)."""

    __tablename__ = "orders"

    id: str = Field(primary_key=True, max_length=64)
    case_id: str = Field(max_length=64, index=True, sa_column_args=[_case_fk()])
    number: str = Field(max_length=128)
    org: str = Field(max_length=64, index=True)
    item_id: str = Field(max_length=128)
    reason: str = Field(sa_type=sa.Text)
    action: str = Field(sa_type=sa.Text)
    reply_days: int
    due: str = Field(max_length=10)  # the last day, YYYY-MM-DD
    due_at: datetime = _ts()
    provisional: bool = False
    issued_by: str = Field(max_length=128)
    issued_at: datetime = _ts(index=True)
    status: str = Field(default="open", max_length=16, index=True)  # open | answered
    reply: str = Field(default="", sa_type=sa.Text)
    answered_by: str | None = Field(default=None, max_length=128)
    answered_at: datetime | None = _ts(nullable=True)
    escalated_at: datetime | None = _ts(nullable=True)


class WebhookSubscriberRow(SQLModel, table=True):
    """Who receives the signed change webhooks (adapters/webhooks.py): a filter, and the feed
    position the dispatcher has reached for this subscriber."""

    __tablename__ = "webhook_subscribers"

    id: str = Field(primary_key=True, max_length=64)
    url: str = Field(sa_type=sa.Text)
    secret: str = Field(max_length=255)
    item_id: str | None = Field(default=None, max_length=128)
    org: str | None = Field(default=None, max_length=64)  # that org and the orgs under it
    kinds: list[str] = _json()
    after: int = Field(default=0, sa_type=sa.BigInteger)
    active: bool = True
    note: str = Field(default="", max_length=255)
    created_by: str = Field(default="", max_length=128)
    created_at: datetime = _ts()


metadata = SQLModel.metadata

TABLES = (
    "cases", "events", "deadlines", "outbox", "idempotency", "sequences", "calendar_overrides",
    "definitions", "people", "api_tokens", "reports", "attachments", "sla_counts", "web_signouts",
    "applications", "application_notices", "ratings",
    "webhook_subscribers",
    "secret_failures", "case_search", "case_number_parts", "orders", "case_heads",
)

__all__ = [
    "ApiTokenRow", "ApplicationNoticeRow", "ApplicationRow", "AttachmentRow", "RatingRow", "AwareDateTime", "CalendarOverrideRow", "CaseRow", "CaseHeadRow", "CaseNumberPartRow", "CaseSearchRow",
    "DeadlineRow", "DefinitionRow", "EventRow", "IdempotencyRow", "OrderRow", "OutboxRow", "PersonRow",
    "ReportRow", "SEARCH_EXTRAS", "SecretFailureRow", "SequenceRow", "SlaCountRow", "TABLES", "WebSignoutRow",
    "WebhookSubscriberRow", "include_object",
    "metadata",
]
