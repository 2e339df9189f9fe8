"""Two engines on one database race on the same case: exactly one wins each race, the other gets
VersionConflict (SQLite file and PostgreSQL). Several processes starting at once on a fresh
database all come up (migrations under a lock)."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from adapters import build_engine
from adapters.sql import HEAD, SqlStore
from adapters.sql.migrate import current_revision
from tests.backends import PgSchema, pg_base_url
from workflow import Actor
from workflow.errors import VersionConflict

ROOT = Path(__file__).resolve().parents[2]
PLEDGE = ROOT / "tests" / "fixtures" / "pledge.yaml"
ACTOR = Actor("racer", {"clerk", "examiner", "leader"}, org="420000")
RACES = 20


def _race(calls):
    """Run the callables at the same instant; their results or exceptions, in order."""
    barrier = threading.Barrier(len(calls))
    out: list = [None] * len(calls)

    def run(i, fn):
        barrier.wait()
        try:
            out[i] = fn()
        except Exception as exc:  # noqa: BLE001 - the race's loser is a result here
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


def test_two_engines_one_winner_each_race(sql_url):
    one = build_engine(sql_url, definitions=[PLEDGE])
    two = build_engine(sql_url, definitions=[PLEDGE])
    try:
        for _ in range(RACES):
            case = one.open_case("pledge", actor=ACTOR)
            a, b = _race([
                lambda e=one, c=case.id: e.fire(c, "accept", actor=ACTOR, expected_version=1),
                lambda e=two, c=case.id: e.fire(c, "accept", actor=ACTOR, expected_version=1),
            ])
            won = [r for r in (a, b) if not isinstance(r, Exception)]
            lost = [r for r in (a, b) if isinstance(r, Exception)]
            assert len(won) == 1 and len(lost) == 1, (a, b)
            assert isinstance(lost[0], VersionConflict), lost[0]
            assert one.get_case(case.id).version == 2
            assert len(two.history(case.id)) == 2
    finally:
        one.store.dispose()
        two.store.dispose()


def test_unlocked_read_then_versioned_write_never_loses_an_update(sql_url):
    """Both read the case without a lock, then write with the version check: one conflicts."""
    one = build_engine(sql_url, definitions=[PLEDGE])
    two = build_engine(sql_url, definitions=[PLEDGE])
    try:
        for _ in range(RACES):
            case = one.open_case("pledge", actor=ACTOR)
            both_read = threading.Barrier(2)

            def write(engine, tag, case_id=case.id, barrier=both_read):
                with engine.store.unit_of_work() as uow:
                    rec = uow.get_case(case_id)
                    barrier.wait()
                    rec.data = {**rec.data, "writer": tag}
                    rec.version += 1
                    uow.save_case(rec, rec.version - 1)
                    uow.commit()
                return tag

            a, b = _race([lambda: write(one, "one"), lambda: write(two, "two")])
            results = [a, b]
            winners = [r for r in results if isinstance(r, str)]
            assert len(winners) == 1 and any(isinstance(r, VersionConflict) for r in results), results
            stored = one.get_case(case.id)
            assert stored.version == 2 and stored.data["writer"] == winners[0]
    finally:
        one.store.dispose()
        two.store.dispose()


_START = """
import sys
sys.path.insert(0, {root!r})
from adapters import build_engine
engine = build_engine({url!r}, definitions=[{pledge!r}])
print('up', flush=True)
engine.store.dispose()
"""


def _start_many(url: str, n: int = 3) -> None:
    code = _START.format(root=str(ROOT), url=url, pledge=str(PLEDGE))
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(n)]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err


def test_processes_starting_at_once_on_a_fresh_sqlite_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    _start_many(url)
    store = SqlStore(url, create=False)
    assert current_revision(store.engine) == HEAD
    with store.unit_of_work() as uow:
        assert uow._all("SELECT id, version FROM definitions", {}, write=False) == [("pledge", 1)]
    store.dispose()


@pytest.mark.postgres
def test_processes_starting_at_once_on_a_fresh_postgres_schema():
    base, reason = pg_base_url()
    if base is None:
        pytest.skip(reason)
    schema = PgSchema(base, migrate=False)  # a schema nobody migrated yet
    url = schema.url
    try:
        _start_many(url)
        store = SqlStore(url, create=False)
        assert current_revision(store.engine) == HEAD
        store.dispose()
    finally:
        schema.drop()


@pytest.mark.postgres
def test_postgres_skip_locked_sweeps_and_outbox(pg_schema):
    """A case or message another transaction holds is skipped, never waited for or done twice."""
    from datetime import datetime

    from workflow.legaltime import TZ
    from workflow.model import OutboxMessage

    schema, reason = pg_schema
    if schema is None:
        pytest.skip(reason)
    schema.empty()
    engine = build_engine(schema.url, definitions=[PLEDGE])
    other = SqlStore(schema.url)
    try:
        case = engine.open_case("pledge", actor=ACTOR)
        now = datetime(2024, 1, 1, tzinfo=TZ)
        with engine.store.unit_of_work() as uow:
            uow.add_outbox([OutboxMessage("transition", case.id, {"n": i}, now) for i in range(4)])
            uow.commit()
        with engine.store.unit_of_work() as first, other.unit_of_work() as second:
            assert first.lock_case(case.id) is not None
            assert second.lock_case(case.id) is None  # held: skipped at once
            mine = first.claim_outbox(now, 2)
            theirs = second.claim_outbox(now, 10)
            assert [m.payload["n"] for m in mine] == [0, 1]
            assert [m.payload["n"] for m in theirs] == [2, 3]
        with other.unit_of_work() as uow:
            assert uow.lock_case(case.id) is not None  # released with the transaction
    finally:
        engine.store.dispose()
        other.dispose()
