"""Escalation, delivery, the directory and stored reports on the SQL store (issue 6)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from adapters import build_engine
from adapters.directory import Person, SqlDirectory, directory_for, resolve
from adapters.notify import DailyDigest, LogNotifier, OutboxDelivery
from adapters.reports import ReportService, SqlReportStorage
from adapters.scheduler import Scheduler, SchedulerSettings
from tests.backends import PgSchema, pg_base_url
from workflow import Actor
from workflow.orgs import OrgTree

FIX = Path(__file__).resolve().parents[1] / "fixtures"
PLEDGE = FIX / "pledge.yaml"
CLERK = Actor(id="c1", roles={"clerk"}, org="420100")
EXAMINER = Actor(id="e1", roles={"examiner"}, org="420100")


@pytest.fixture
def fresh_pg_url():
    """A fresh, migrated PostgreSQL schema for one test (skips without CASECLOCK_TEST_PG)."""
    base, reason = pg_base_url()
    if base is None:
        pytest.skip(reason)
    schema = PgSchema(base)
    try:
        yield schema.url
    finally:
        schema.drop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'esc.db'}"
    return request.getfixturevalue("fresh_pg_url")


def test_downtime_delivery_dedupe_and_reports_on_sql(url, freezer):
    freezer.move_to("2024-03-04 10:00:00+08:00")
    engine = build_engine(url, definitions=[PLEDGE])
    directory = directory_for(engine.store)
    assert isinstance(directory, SqlDirectory)
    for p in [Person("c1", "王窗口", frozenset({"clerk"}), "420100", {"email": "c1@example.org"}),
              Person("s1", "李科长", frozenset({"supervisor"}), "420100"),
              Person("p1", "钱厅长", frozenset({"leader"}), "420000")]:
        directory.put(p)
    directory.put(Person("s1", "李科长", frozenset({"supervisor", "clerk"}), "420100"))  # an update
    assert [p.id for p in directory.with_role("clerk", "420100")] == ["c1", "s1"]
    assert [p.id for p in resolve(directory, [{"role": "leader", "org": "420100"}], OrgTree())] == ["p1"]

    case = engine.open_case("pledge", actor=CLERK, assignee="c1")
    freezer.move_to("2024-03-12 10:00:00+08:00")  # downtime: all three levels passed
    fired = Scheduler(engine, SchedulerSettings()).catch_up()
    assert [e.level for e in fired] == ["warning", "overdue", "over_statutory"]
    assert Scheduler(engine).catch_up() == []

    log = LogNotifier()
    got = OutboxDelivery(engine.store, directory, [log], orgs=OrgTree()).run()
    assert len(got.delivered) == 3
    assert sorted(ids for _, ids in log.sent) == [["c1"], ["p1"], ["s1"]]
    # the same rows again (an operator re-queues them): nobody hears it twice
    with engine.store.unit_of_work() as uow:
        rows = uow.list_outbox("delivered")
        for m in rows:
            m.state, m.next_attempt_at = "pending", None
            uow.update_outbox(m)
        uow.commit()
    assert len(OutboxDelivery(engine.store, directory, [log], orgs=OrgTree()).run().delivered) == 3
    assert len(log.sent) == 3

    digest = DailyDigest(engine, directory)
    assert [m.payload["person"] for m in digest.enqueue()] == ["p1"]  # over_statutory → leaders
    assert digest.enqueue() == []

    freezer.move_to("2024-03-13 10:00:00+08:00")
    engine.fire(case.id, "accept", actor=CLERK)
    engine.fire(case.id, "approve", actor=EXAMINER)
    freezer.move_to("2024-04-19 01:00:00+08:00")
    service = ReportService(engine)
    assert isinstance(service.storage, SqlReportStorage)
    made = Scheduler(engine, reports=service).monthly_report()
    assert made is not None and made.month == "2024-03"
    stored = service.storage.load("2024-03")
    assert stored is not None
    line = stored.line("420000", "pledge")
    # 5 working days from 03-04: statutory 03-11, closed 03-13: late (not on time)
    assert line.measures["closed"] == 1 and line.measures["on_time"] == 0
    assert line.measures["escalations"] == {"warning": 1, "overdue": 1, "over_statutory": 1, "expired": 0,
                                             "deemed_accepted": 0, "overrun": 0}
    assert [(ln.org, ln.item_id, ln.scope) for ln in stored.lines] == [
        (ln.org, ln.item_id, ln.scope) for ln in made.lines
    ]
    assert {ln.org: ln.measures for ln in stored.lines} == {ln.org: ln.measures for ln in made.lines}
    assert service.storage.months() == ["2024-03"]
    assert Scheduler(engine, reports=service).monthly_report() is None  # once a month
    freezer.tick(timedelta(days=1))
    engine.store.dispose()
