"""一次性告知: a deemed acceptance is recorded once on SQLite and PostgreSQL, however many sweeps
run, from however many engines (two sweeping at the same moment, then a restart)."""

from __future__ import annotations

import threading
from datetime import datetime

from adapters import build_engine
from workflow import TZ, Actor
from workflow.errors import VersionConflict

CLERK = Actor("clerk-1", {"clerk"}, "420100", "窗口")
PLEDGE = {
    "request_type": "registration", "channel": "paper", "pledgor": "武汉光谷智能装备有限公司",
    "pledgee": "招商银行武汉分行", "patent_numbers": "ZL202310000001.X", "secured_amount": 5_000_000,
}
RECEIVED = datetime(2024, 9, 27, 10, 0, tzinfo=TZ)  # Fri before National Day: last notice day 10-10
SEEN = datetime(2024, 10, 11, 9, 0, tzinfo=TZ)
N = 12


def _sweep_until_quiet(engine, out: list) -> None:
    for _ in range(50):
        try:
            got = engine.sweep(batch=3)
        except VersionConflict:  # the other sweeper held the case: go again
            continue
        out.extend(got)
        if not got:
            return


def test_two_sweepers_and_a_restart_record_each_deemed_acceptance_once(sql_url):
    opener = build_engine(sql_url, now=lambda: RECEIVED)
    ids = [opener.open_case("patent_pledge_registration", actor=CLERK, data=PLEDGE).id for _ in range(N)]
    opener.store.dispose()
    a, b = build_engine(sql_url, now=lambda: SEEN), build_engine(sql_url, now=lambda: SEEN)
    fired: list[list] = [[], []]
    start = threading.Barrier(2)

    def run(engine, out):
        start.wait(30)
        _sweep_until_quiet(engine, out)

    threads = [threading.Thread(target=run, args=(e, out)) for e, out in ((a, fired[0]), (b, fired[1]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    deemed = [e.case_id for out in fired for e in out if e.level == "deemed_accepted"]
    assert sorted(deemed) == sorted(ids)  # each case once, between the two sweepers
    a.store.dispose()
    b.store.dispose()
    restarted = build_engine(sql_url, now=lambda: SEEN)
    assert restarted.sweep() == []  # a restart's catch-up sweep finds nothing more
    for case_id in ids:
        history = restarted.history(case_id)
        assert [e.kind for e in history].count("deemed_accepted") == 1
        assert [(e.kind, e.trigger) for e in history].count(("transition", "deemed_accept")) == 1
        assert [e.data.get("level") for e in history if e.kind == "escalation"].count("deemed_accepted") == 1
        case = restarted.get_case(case_id)
        assert case.state == "under_review" and case.sla == "deemed_accepted"
    listed = restarted.list_cases(None, sla="deemed_accepted", open=True)
    assert {c.id for c in listed} == set(ids)  # the stored level the board and breach list read
    with restarted.store.unit_of_work() as uow:
        messages = uow.list_outbox(None, limit=10_000)
    escalation_messages = [m for m in messages if m.topic == "escalation" and m.payload["level"] == "deemed_accepted"]
    assert sorted(m.case_id for m in escalation_messages) == sorted(ids)
    restarted.store.dispose()
