"""The change feed's contract on every store (memory, SQLite, PostgreSQL): pages in commit order,
``next`` resumes exactly after the last event examined, filters, bad cursors."""

from __future__ import annotations

import pytest

from adapters import build_engine
from adapters.changes import CursorError, feed_for, parse_cursor
from workflow.model import Actor

PLEDGE = "patent_pledge_registration"
DATA = {"pledgor": "甲", "pledgee": "乙", "patent_numbers": "ZL1", "channel": "paper"}
WUHAN, YICHANG = "420100", "420500"


@pytest.fixture
def engine(store_url):
    e = build_engine(store_url)
    yield e
    dispose = getattr(e.store, "dispose", None)
    if dispose is not None:
        dispose()


def _advance(engine, org: str) -> str:
    clerk, examiner = Actor("c", {"clerk"}, org), Actor("e", {"examiner"}, org)
    case = engine.open_case(PLEDGE, actor=clerk, data=DATA)
    engine.fire(case.id, "accept", actor=clerk)
    engine.assign(case.id, "e", actor=Actor("s", {"supervisor"}, org))
    engine.fire(case.id, "approve", actor=examiner)
    return case.id


def test_pages_follow_commit_order_and_resume_exactly(engine):
    a = _advance(engine, WUHAN)
    b = _advance(engine, YICHANG)
    feed = feed_for(engine.store)
    everything = feed.page(0, 100)
    assert [(c.case_id, c.seq) for c in everything.items] == [(a, s) for s in (1, 2, 3, 4)] + [(b, s) for s in (1, 2, 3, 4)]
    assert [c.kind for c in everything.items[:4]] == ["opened", "transition", "assigned", "transition"]
    first = everything.items[0]
    assert (first.number, first.item_id, first.org, first.to_state, first.trigger) == \
        (engine.get_case(a).number, PLEDGE, WUHAN, "received", None)
    assert everything.items[1].trigger == "accept" and everything.items[1].to_state == "under_review"
    assert everything.next == everything.head == everything.items[-1].position
    # three at a time: the same events, none twice
    got, at = [], 0
    while True:
        page = feed.page(at, 3)
        got += page.items
        if not page.items:
            break
        at = page.next
    assert got == everything.items
    # history order: the feed's seq per case is the history's
    assert [e.seq for e in engine.history(a)] == [c.seq for c in everything.items if c.case_id == a]


def test_filters_pass_over_other_events_and_scope_hides_them(engine):
    a = _advance(engine, WUHAN)
    _advance(engine, YICHANG)
    feed = feed_for(engine.store)
    wuhan = feed.page(0, 100, orgs=engine.orgs.subtree(WUHAN))
    assert {c.case_id for c in wuhan.items} == {a} and len(wuhan.items) == 4
    assert wuhan.next == wuhan.head  # past the Yichang events too
    assert feed.page(0, 100, orgs=frozenset()).items == []
    assert [c.kind for c in feed.page(0, 100, kinds={"assigned"}).items] == ["assigned", "assigned"]
    assert feed.page(0, 100, item_id="no_such_item").items == []
    # a bounded scan: the page may be empty with next moved on, and nothing is lost
    got, at = [], 0
    for _ in range(20):
        page = feed.page(at, 100, orgs=engine.orgs.subtree(YICHANG), scan=2)
        got += page.items
        at = page.next
    assert [c.org for c in got] == [YICHANG] * 4


def test_bad_cursors_are_refused(engine):
    _advance(engine, WUHAN)
    feed = feed_for(engine.store)
    for bad in ("abc", "-1", "1.5", "１２", "9" * 19, " 1x"):
        with pytest.raises(CursorError):
            feed.page(bad, 10)
    with pytest.raises(CursorError, match="beyond the newest"):
        feed.page(feed.head() + 1, 10)
    assert parse_cursor("") == parse_cursor(None) == 0
    assert feed.page("4", 10).items == []


def test_0005_positions_the_history_a_database_already_has(sql_url):
    """Migration 0005 on a database with cases, and back: the events written before it are in
    the feed, in their id order (PostgreSQL stamps them on the first read)."""
    from alembic import command

    from adapters.sql import SqlStore, upgrade
    from adapters.sql.migrate import HEAD, alembic_config, current_revision

    engine = build_engine(sql_url)
    ids = [_advance(engine, WUHAN) for _ in range(2)]
    engine.store.dispose()
    store = SqlStore(sql_url)
    try:
        with store.engine.connect() as conn:
            command.downgrade(alembic_config(conn), "0004")
            conn.commit()
        assert current_revision(store.engine) == "0004"
    finally:
        store.dispose()
    assert upgrade(sql_url) == HEAD
    again = build_engine(sql_url)
    try:
        page = feed_for(again.store).page(0, 100)
        assert [(c.case_id, c.seq) for c in page.items] == [(i, s) for i in ids for s in (1, 2, 3, 4)]
    finally:
        again.store.dispose()


def test_escalations_corrections_and_transfers_are_in_the_feed_with_their_stage(store_url):
    """Every kind of history event is a change (not only transitions), with the stage it reached."""
    from datetime import datetime, timedelta

    from api.demo import SimClock
    from workflow.legaltime import TZ

    clock = SimClock()
    clock.at = datetime(2026, 3, 2, 10, 0, tzinfo=TZ)
    engine = build_engine(store_url, now=clock)
    try:
        clerk, boss = Actor("c", {"clerk"}, WUHAN), Actor("s", {"supervisor"}, WUHAN)
        case = engine.open_case(PLEDGE, actor=clerk, data=DATA)
        engine.fire(case.id, "accept", actor=clerk)
        engine.correct(case.id, actor=boss, reason="受理错误")
        clock.at += timedelta(days=30)
        assert engine.sweep()
        engine.transfer(case.id, YICHANG, actor=Actor("l", {"leader"}, "420000"), reason="管辖")
        feed = feed_for(engine.store)
        kinds = [c.kind for c in feed.page(0, 100).items]
        assert kinds[:3] == ["opened", "transition", "corrected"]
        assert "escalation" in kinds and kinds[-1] == "transferred"
        from adapters.changes import stage_of

        stages = [stage_of(engine, c) for c in feed.page(0, 100).items]
        assert stages[:2] == ["申办", "受理"] and set(stages[2:]) <= {None, "申办", "受理"}
        # the correction put it back at the window: no 补正 notice within 5 working days of the
        # receipt (03-02), so it counts as accepted from receipt (一次性告知): a 受理 too
        assert "deemed_accepted" in kinds
        # the transferred case's whole history follows it to Yichang
        assert feed.page(0, 100, orgs=engine.orgs.subtree(WUHAN)).items == []
        assert len(feed.page(0, 100, orgs=engine.orgs.subtree(YICHANG)).items) == len(kinds)
    finally:
        dispose = getattr(engine.store, "dispose", None)
        if dispose is not None:
            dispose()
