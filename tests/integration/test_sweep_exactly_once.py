"""Exactly once under concurrency: two real processes sweep one database (issue 6).

10,000 deadlines fall due (10,000 cases, one party clock each, expired long ago); two processes
(multiprocessing, spawn) start sweeping at the same moment; afterwards there must be exactly
10,000 escalation events, one per case, none twice and none missing, with as many fired deadline
rows and escalation outbox rows. Run on a SQLite file and, when ``CASECLOCK_TEST_PG`` names a
server, on a fresh PostgreSQL database made for the test.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import time
from datetime import datetime, timedelta

import pytest

from adapters import build_engine
from adapters.bootstrap import make_store
from bench.storm_seed import seed, write_item
from tests.integration.test_escalation_sql import fresh_pg_url  # noqa: F401  (fixture)
from workflow.errors import VersionConflict
from workflow.legaltime import TZ

N = 10_000
pytestmark = pytest.mark.slow
T0 = datetime.now(TZ) - timedelta(days=60)


def _seed_now() -> datetime:
    return T0


def _worker(url: str, definitions: str, barrier, results) -> None:
    engine = build_engine(url, definitions=[definitions])
    fired = conflicts = 0
    barrier.wait(60)
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline:
        try:
            got = engine.sweep(batch=200)
        except VersionConflict:  # the other process held the database: go again
            conflicts += 1
            continue
        fired += len(got)
        earliest = engine.store.earliest_pending_due()
        if not got and (earliest is None or earliest > engine.now()):
            break
    engine.store.dispose()
    results.put((os.getpid(), fired, conflicts))


def _race(url: str, tmp_path) -> list[tuple[int, int, int]]:
    item = write_item(tmp_path)
    seeder = build_engine(url, definitions=[item], now=_seed_now)
    ids = seed(seeder, N)
    assert len(set(ids)) == N
    seeder.store.dispose()
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(url, str(item), barrier, results)) for _ in range(2)]
    for p in procs:
        p.start()
    out = [results.get(timeout=170) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    return out


def _check(url: str, out: list[tuple[int, int, int]]) -> None:
    import sqlalchemy as sa

    assert sum(fired for _, fired, _ in out) == N  # what the processes report they fired
    store = make_store(url)
    eng = store.engine
    with eng.connect() as conn:
        rows = conn.execute(sa.text("SELECT case_id, data FROM events WHERE kind = 'escalation'")).all()
        states = dict(conn.execute(sa.text("SELECT state, COUNT(*) FROM deadlines GROUP BY state")).all())
        outbox = conn.execute(sa.text("SELECT COUNT(*) FROM outbox WHERE topic = 'escalation'")).scalar()
        cases = conn.execute(sa.text("SELECT COUNT(*) FROM cases")).scalar()
    keys = []
    for case_id, data in rows:
        d = json.loads(data) if isinstance(data, str) else data
        keys.append((case_id, d["clock"], d["run"], d["level"]))
        assert d["due"] < d["seen"]  # both instants recorded
    assert cases == N
    assert len(keys) == N  # exactly 10,000 escalation events
    assert len(set(keys)) == N  # no duplicates
    assert {k[0] for k in keys} == set(_all_case_ids(eng))  # none missing
    assert states == {"fired": N}
    assert outbox == N
    store.dispose()


def _all_case_ids(eng) -> list[str]:
    import sqlalchemy as sa

    with eng.connect() as conn:
        return list(conn.execute(sa.text("SELECT id FROM cases")).scalars())


def test_two_processes_sweeping_one_sqlite_file_escalate_each_deadline_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'sweep.db'}"
    out = _race(url, tmp_path)
    _check(url, out)


@pytest.mark.postgres
def test_two_processes_sweeping_one_postgresql_database_escalate_each_deadline_once(request, tmp_path):
    url = request.getfixturevalue("fresh_pg_url")  # a fresh schema; skips without a server
    out = _race(url, tmp_path)
    _check(url, out)
    assert all(fired > 0 for _, fired, _ in out), f"both processes should have taken a share: {out}"
