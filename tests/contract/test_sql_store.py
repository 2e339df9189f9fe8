"""What only the SQL store has: migrations, registered definitions, stored calendar overrides,
the module entry point."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from adapters import build_engine
from adapters.sql import HEAD, SqlStore, upgrade
from adapters.sql.migrate import current_revision, script_head
from adapters.sql.tables import include_object, metadata
from tests.contract.conftest import CLERK, PLEDGE
from workflow.errors import DefinitionError, WorkflowError
from workflow.legaltime import TZ

ROOT = Path(__file__).resolve().parents[2]


def test_head_constant_matches_the_scripts():
    assert script_head() == HEAD


EXPRESSION_INDEXES = ("ix_cases_open_urgent",)


def _index_name(op: object) -> str | None:
    index = op[1] if isinstance(op, tuple) and len(op) > 1 else None
    return getattr(index, "name", None)


@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_migrations_build_exactly_the_models(sql_url):
    """Alembic compares everything but expression indexes (SQLite: it cannot reflect them;
    PostgreSQL: it reflects them in its own spelling): those are checked by their definition."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    store = SqlStore(sql_url)
    try:
        with store.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(
                conn, opts={"compare_type": False, "include_object": include_object}), metadata)
            if store.is_postgres:
                rows = conn.exec_driver_sql(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'cases' "
                    "AND schemaname = current_schema()").fetchall()
            else:
                rows = conn.exec_driver_sql(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'cases'").fetchall()
        assert [d for d in diff if _index_name(d) not in EXPRESSION_INDEXES] == []
        # each backend's spelling, without parentheses, quotes and line breaks
        defs = {name: " ".join(sql.replace("(", " ").replace(")", " ").replace(",", " , ").replace('"', "")
                               .split()).lower() for name, sql in rows if sql}
        keys = "case when due_at is null then 1 else 0 end , coalesce due_at , opened_at , opened_at , id " \
               "where closed_at is null"
        assert defs["ix_cases_open_urgent"].endswith(" " + keys), defs["ix_cases_open_urgent"]
        assert "ix_cases_due_at" not in defs
        assert current_revision(store.engine) == HEAD
    finally:
        store.dispose()


def test_sqlite_file_created_and_migrated_on_first_use(tmp_path):
    db = tmp_path / "sub" / "caseclock.db"
    engine = build_engine(f"sqlite:///{db}", definitions=[PLEDGE])
    case = engine.open_case("pledge", actor=CLERK)
    engine.store.dispose()
    assert db.exists()
    again = build_engine(f"sqlite:///{db}", definitions=[PLEDGE])
    assert again.get_case(case.id).number == case.number
    with again.store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    again.store.dispose()
    normal = SqlStore(f"sqlite:///{db}", synchronous="NORMAL")
    with normal.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1
    normal.dispose()


def test_unmigrated_database_is_refused_without_create(tmp_path):
    with pytest.raises(WorkflowError, match="upgrade"):
        SqlStore(f"sqlite:///{tmp_path / 'empty.db'}", create=False)
    assert upgrade(f"sqlite:///{tmp_path / 'empty.db'}") == HEAD
    SqlStore(f"sqlite:///{tmp_path / 'empty.db'}", create=False).dispose()


def test_module_entry_point(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    up = subprocess.run([sys.executable, "-m", "adapters.sql", "upgrade", "--db", url],
                        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert up.returncode == 0, up.stderr
    assert HEAD in up.stdout
    ok = subprocess.run([sys.executable, "-m", "adapters.sql", "verify", "--db", url],
                        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and "intact" in ok.stdout


def test_definitions_registered_once_and_changes_refused(sql_url, tmp_path):
    first = build_engine(sql_url, definitions=[PLEDGE])
    build_engine(sql_url, definitions=[PLEDGE]).store.dispose()  # identical: a no-op
    with first.store.unit_of_work() as uow:
        rows = uow._all("SELECT id, version, content_hash FROM definitions", {}, write=False)
    assert [(r[0], r[1]) for r in rows] == [("pledge", 1)]
    changed = tmp_path / "pledge.yaml"
    changed.write_text(PLEDGE.read_text(encoding="utf-8").replace("5 working days", "6 working days"),
                       encoding="utf-8")
    with pytest.raises(DefinitionError, match="pledge version 1"):
        build_engine(sql_url, definitions=[changed])
    # a new version is fine, and the old one stays available for the cases opened on it
    case = first.open_case("pledge", actor=CLERK)
    v2 = tmp_path / "v2" / "pledge.yaml"
    v2.parent.mkdir()
    v2.write_text(changed.read_text(encoding="utf-8").replace("version: 1", "version: 2"), encoding="utf-8")
    newer = build_engine(sql_url, definitions=[v2])
    assert [d.version for d in newer.definitions()] == [1, 2]
    assert newer.fire(case.id, "accept", actor=CLERK).definition_version == 1
    first.store.dispose()
    newer.store.dispose()


def test_calendar_overrides_persist(sql_url, tmp_path):
    override = tmp_path / "2031.yaml"
    override.write_text("year: 2031\nsource: 国务院办公厅关于2031年部分节假日安排的通知\n"
                        "holidays: [2031-01-01, 2031-01-02]\nworkdays: [2031-01-04]\n", encoding="utf-8")
    engine = build_engine(sql_url, definitions=[PLEDGE])
    engine.load_calendar(override)
    assert engine.calendar.year_status(2031) == "override"
    later = build_engine(sql_url, definitions=[PLEDGE])  # another process, or the next start
    assert later.calendar.year_status(2031) == "override"
    assert later.calendar.overrides[2031].holidays == engine.calendar.overrides[2031].holidays
    assert later.calendar.is_workday(date(2031, 1, 4)) and not later.calendar.is_workday(date(2031, 1, 2))
    engine.store.dispose()
    later.store.dispose()


LONG = """\
id: t_long
version: 1
name: 长时限事项（测试）
kind: service_item
legal_basis: ["test"]
initial: received
states:
  received: {label: 办理中, roles: [clerk]}
  on_hold: {label: 中止, pauses: [handling]}
  done: {label: 办结, final: true}
transitions:
  - {trigger: hold, source: received, dest: on_hold, roles: [clerk]}
  - {trigger: resume, source: on_hold, dest: received, roles: [clerk]}
  - {trigger: finish, source: received, dest: done, roles: [clerk]}
clocks:
  handling: {limit: 30 working days, start: received, stop: [done], label: 办理时限}
"""


def test_a_calendar_override_reaches_the_other_processes_at_once(sql_url, tmp_path, monkeypatch):
    """Two processes (two engines, two stores) on one database: the override one of them loads
    is used by the other's very next write, and by its reads within a second, without a
    restart; the other does not store it again."""
    import adapters.sql.store as sql_store
    from tests.contract.conftest import Clock

    (tmp_path / "defs").mkdir()
    (tmp_path / "defs" / "t_long.yaml").write_text(LONG, encoding="utf-8")
    override = tmp_path / "2027.yaml"  # chinesecalendar does not know 2027 yet: provisional
    override.write_text("year: 2027\nsource: 国务院办公厅关于2027年部分节假日安排的通知\n"
                        "holidays: [2027-01-01, 2027-01-04, 2027-01-05, 2027-01-06]\nworkdays: []\n",
                        encoding="utf-8")
    clock = Clock(datetime(2026, 12, 1, 10, 0, tzinfo=TZ))
    a = build_engine(sql_url, definitions=[tmp_path / "defs"], now=clock)
    b = build_engine(sql_url, definitions=[tmp_path / "defs"], now=clock)
    try:
        first = b.open_case("t_long", actor=CLERK)
        second = b.open_case("t_long", actor=CLERK)
        provisional = first.clocks["handling"]
        # 30 working days from Tue 2026-12-01: 22 in December, then 2027 counted by law
        # (weekends and 元旦 Fri 01-01): 01-04 .. 01-08 (27), 01-11, 01-12, 01-13 (30)
        assert provisional.provisional and provisional.statutory_due == date(2027, 1, 13)
        stamp = b.store._cal_stamp

        assert set(a.load_calendar(override)) == {first.id, second.id}  # a recomputes them
        moved = a.get_case(first.id).clocks["handling"]
        # four of those days are holidays now (Fri 1 Jan, Mon 4 to Wed 6 Jan)
        assert not moved.provisional and moved.statutory_due == date(2027, 1, 18)

        # b's next write computes on the new calendar (it has not been restarted)
        clock.advance(hours=1)
        held = b.fire(second.id, "hold", actor=CLERK)
        assert b.calendar.year_status(2027) == "override"
        assert b.store._cal_stamp == a.store._cal_stamp > stamp
        resumed = b.fire(second.id, "resume", actor=CLERK)
        assert resumed.clocks["handling"].statutory_due == moved.statutory_due
        assert held.version + 1 == resumed.version
        assert [d.due_at for d in b.deadlines(second.id) if d.state == "pending"] == \
            [d.due_at for d in a.deadlines(second.id) if d.state == "pending"]
        # taken in, not stored again: the stamp did not move, one row for 2027
        with a.store.unit_of_work() as uow:
            assert uow.calendar_stamp() == a.store._cal_stamp
        assert [o["year"] for o in a.store.calendar_overrides()].count(2027) == 1

        # a third process that only reads sees it within CALENDAR_READ_SECONDS
        c = build_engine(sql_url, definitions=[tmp_path / "defs"], now=clock)
        try:
            assert c.get_case(first.id).clocks["handling"].statutory_due == moved.statutory_due
            newer = tmp_path / "2027b.yaml"
            newer.write_text(override.read_text(encoding="utf-8").replace(", 2027-01-06]", "]"),
                             encoding="utf-8")
            a.load_calendar(newer)
            monkeypatch.setattr(sql_store, "CALENDAR_READ_SECONDS", 0.0)
            assert c.get_case(first.id).clocks["handling"].statutory_due == \
                a.get_case(first.id).clocks["handling"].statutory_due == date(2027, 1, 15)
            assert len(c.calendar.overrides[2027].holidays) == 3
        finally:
            c.store.dispose()
    finally:
        a.store.dispose()
        b.store.dispose()


def test_case_numbers_are_unique_across_engines(sql_url):
    a = build_engine(sql_url, definitions=[PLEDGE])
    b = build_engine(sql_url, definitions=[PLEDGE])
    numbers = {a.open_case("pledge", actor=CLERK).number for _ in range(3)}
    numbers |= {b.open_case("pledge", actor=CLERK).number for _ in range(3)}
    assert len(numbers) == 6
    a.store.dispose()
    b.store.dispose()


def test_old_idempotency_keys_can_be_purged(sql_url):
    engine = build_engine(sql_url, definitions=[PLEDGE])
    case = engine.open_case("pledge", actor=CLERK, idempotency_key="old")
    cutoff = case.opened_at + timedelta(seconds=1)
    assert engine.store.purge_idempotency(case.opened_at) == 0
    assert engine.store.purge_idempotency(cutoff) == 1
    again = engine.open_case("pledge", actor=CLERK, idempotency_key="old")  # a new call now
    assert again.id != case.id
    engine.store.dispose()


def test_a_calendar_that_cannot_take_overrides_quietly_is_not_followed(tmp_path):
    from adapters.calendar import ChineseCalendar

    class OwnCalendar(ChineseCalendar):
        def add_override(self, override):  # an integrator's: no notify keyword
            super().add_override(override)

    engine = build_engine(f"sqlite:///{tmp_path / 'own.db'}", definitions=[PLEDGE], calendar=OwnCalendar())
    try:
        assert engine.store._followed is None
        case = engine.open_case("pledge", actor=CLERK)
        assert engine.fire(case.id, "accept", actor=CLERK).state == "under_review"
    finally:
        engine.store.dispose()


def test_0003_upgrades_a_database_with_cases_and_downgrades(sql_url):
    """Migration 0003 (the worklist's and the sweep's partial indexes) on a database that has
    cases, and back: nothing is lost either way."""
    from alembic import command

    from adapters.sql.migrate import alembic_config

    engine = build_engine(sql_url, definitions=[PLEDGE])
    opened = [engine.open_case("pledge", actor=CLERK) for _ in range(3)]
    engine.fire(opened[0].id, "accept", actor=CLERK)
    before = [c.id for c in engine.worklist(CLERK, limit=10)]
    engine.store.dispose()

    def indexes() -> set[str]:
        with store.engine.connect() as conn:
            if store.is_postgres:
                rows = conn.exec_driver_sql("SELECT indexname FROM pg_indexes WHERE tablename IN ('cases', 'deadlines') "
                                            "AND schemaname = current_schema()")
            else:
                rows = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index'")
            return {r[0] for r in rows}

    store = SqlStore(sql_url)
    try:
        with store.engine.connect() as conn:
            command.downgrade(alembic_config(conn), "0002")
            conn.commit()
        assert current_revision(store.engine) == "0002"
        old = indexes()
        assert {"ix_cases_due_at", "ix_deadlines_state_due"} <= old
        assert not {"ix_cases_open_urgent", "ix_cases_open_assignee", "ix_deadlines_pending_due"} & old
    finally:
        store.dispose()
    assert upgrade(sql_url) == HEAD
    store = SqlStore(sql_url, create=False)
    try:
        new = indexes()
        assert {"ix_cases_open_urgent", "ix_cases_open_assignee", "ix_deadlines_pending_due"} <= new
        assert not {"ix_cases_due_at", "ix_deadlines_state_due"} & new
    finally:
        store.dispose()
    again = build_engine(sql_url, definitions=[PLEDGE])
    try:
        assert [c.id for c in again.worklist(CLERK, limit=10)] == before
        assert {c.id for c in again.list_cases()} == {c.id for c in opened}
        assert again.store.earliest_pending_due() is not None
    finally:
        again.store.dispose()
