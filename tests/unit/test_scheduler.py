"""The scheduler's O(1) jobs and its re-arm logic; downtime catch-up (issue 6).

No test waits on APScheduler: the scheduler is started paused (its thread holds every job) and
the tests read which job it holds with which run date; sweeps are called directly under frozen
time. One short real-time test starts and stops a real scheduler.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from adapters import build_engine
from adapters.directory import MemoryDirectory
from adapters.notify import DailyDigest, LogNotifier, OutboxDelivery
from adapters.reports import ReportService
from adapters.scheduler import (
    Scheduler,
    SchedulerSettings,
    advisory_key,
    previous_month,
)
from workflow import TZ, Actor

FIX = Path(__file__).resolve().parents[1] / "fixtures"
PLEDGE = FIX / "pledge.yaml"
CLERK = Actor(id="c1", roles={"clerk"}, org="420100")
EXAMINER = Actor(id="e1", roles={"examiner"}, org="420100")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


@pytest.fixture
def engine():
    return build_engine(definitions=[PLEDGE])


@pytest.fixture
def sched(engine):
    s = Scheduler(engine, SchedulerSettings(catch_up=False))
    s.start(paused=True)
    yield s
    s.shutdown(wait=False)


def wake_date(s: Scheduler) -> datetime | None:
    job = s.jobs().get("wake")
    return job.trigger.run_date if job is not None else None


@pytest.mark.freeze_time("2024-03-04 10:00:00+08:00")
def test_wake_up_is_rearmed_at_the_earliest_pending_deadline(engine, sched):
    assert wake_date(sched) is None  # nothing pending: no wake-up
    a = engine.open_case("pledge", actor=CLERK)
    # 5 working days from Mon 03-04: commitment 3 wd → Thu 03-07; warning from 00:00 of Wed 03-06
    assert wake_date(sched) == at("2024-03-06 00:00:00")
    engine.open_case("pledge", actor=CLERK, started_on=date(2024, 3, 1), reason="postal filing")
    # from Fri 03-01: commitment Wed 03-06, warning from 00:00 Tue 03-05: earlier, so re-armed
    assert wake_date(sched) == at("2024-03-05 00:00:00")
    engine.fire(a.id, "accept", actor=CLERK)
    assert wake_date(sched) == at("2024-03-05 00:00:00")  # unchanged


@pytest.mark.freeze_time("2024-03-04 10:00:00+08:00")
def test_wake_up_goes_when_nothing_is_pending_and_jobs_stay_o1(engine, sched):
    cases = [engine.open_case("pledge", actor=CLERK) for _ in range(30)]
    assert set(sched.jobs()) == {"sweep", "wake"}  # never one job per case
    for c in cases:
        engine.fire(c.id, "accept", actor=CLERK)
        engine.fire(c.id, "approve", actor=EXAMINER)
    assert wake_date(sched) is None
    assert set(sched.jobs()) == {"sweep"}


def test_wake_runs_the_sweep_and_rearms_for_the_next_level(engine, freezer):
    freezer.move_to("2024-03-04 10:00:00+08:00")
    s = Scheduler(engine, SchedulerSettings(catch_up=False))
    s.start(paused=True)
    try:
        engine.open_case("pledge", actor=CLERK)
        assert wake_date(s) == at("2024-03-06 00:00:00")
        freezer.move_to("2024-03-06 00:00:01+08:00")
        s._wake()  # what the DateTrigger runs
        # warning fired; next: overdue at 00:00 after the commitment's last day (Thu 03-07)
        assert wake_date(s) == at("2024-03-08 00:00:00")
        freezer.move_to("2024-03-12 08:00:00+08:00")
        fired = s.sweep()
        assert [e.level for e in fired] == ["overdue", "over_statutory"]
        assert wake_date(s) is None
    finally:
        s.shutdown(wait=False)


def test_a_wake_up_already_past_is_armed_in_the_past_and_never_dropped(engine, sched):
    sched.rearm(at("2020-01-01 00:00:00"))
    job = sched.jobs()["wake"]
    assert isinstance(job.trigger, DateTrigger)
    assert job.trigger.run_date == at("2020-01-01 00:00:00")
    assert job.misfire_grace_time is None  # runs however late


def test_start_adds_the_configured_jobs_none_of_which_drops_a_late_run(engine):
    settings = SchedulerSettings(sweep_seconds=30, deliver_seconds=5)
    s = Scheduler(
        engine, settings,
        delivery=OutboxDelivery(engine.store, MemoryDirectory(), [LogNotifier()]),
        reports=ReportService(engine),
        digest=DailyDigest(engine, MemoryDirectory()),
    )
    s.start(paused=True)
    try:
        jobs = s.jobs()
        assert set(jobs) == {"sweep", "catch_up", "deliver", "monthly_report", "daily_digest"}
        assert all(j.misfire_grace_time is None for j in jobs.values())
        assert isinstance(jobs["sweep"].trigger, IntervalTrigger)
        assert jobs["sweep"].trigger.interval == timedelta(seconds=30)
        assert jobs["deliver"].trigger.interval == timedelta(seconds=5)
        monthly = jobs["monthly_report"].trigger
        assert isinstance(monthly, CronTrigger)
        fields = {f.name: str(f) for f in monthly.fields}
        assert (fields["day"], fields["hour"], fields["minute"]) == ("19", "1", "0")
        nxt = monthly.get_next_fire_time(None, at("2024-03-20 00:00:00"))
        assert nxt == at("2024-04-19 01:00:00")
        assert isinstance(jobs["catch_up"].trigger, DateTrigger)
        assert s.rearm in engine.listeners
    finally:
        s.shutdown(wait=False)
    assert s.rearm not in engine.listeners


def test_settings_from_environment():
    s = SchedulerSettings.from_env({"CASECLOCK_SWEEP_SECONDS": "10", "CASECLOCK_REPORT_DAY": "0",
                                    "CASECLOCK_DIGEST_HOUR": "7"})
    assert s.sweep_seconds == 10 and s.monthly_report is None and s.daily_digest == {"hour": 7, "minute": 0}
    assert SchedulerSettings.from_env({}).monthly_report == {"day": 19, "hour": 1, "minute": 0}


def test_helpers():
    assert previous_month(date(2024, 3, 19)) == (2024, 2)
    assert previous_month(date(2024, 1, 19)) == (2023, 12)
    k = advisory_key("monthly_report")
    assert -(2**63) <= k < 2**63 and k == advisory_key("monthly_report") != advisory_key("daily_digest")


# --- downtime ------------------------------------------------------------------------------------


def test_deadlines_passed_during_downtime_fire_once_at_start_up_with_due_and_seen(freezer):
    freezer.move_to("2024-03-04 10:00:00+08:00")
    engine = build_engine(definitions=[PLEDGE])
    opened = [engine.open_case("pledge", actor=CLERK) for _ in range(3)]
    accepted = engine.open_case("pledge", actor=CLERK)
    engine.fire(accepted.id, "accept", actor=CLERK)
    done = engine.open_case("pledge", actor=CLERK)
    engine.fire(done.id, "accept", actor=CLERK)
    engine.fire(done.id, "approve", actor=EXAMINER)  # closed: its deadlines are cancelled
    # nothing runs from Monday 10:00 until Wednesday 03-13 09:30 (a week of downtime)
    freezer.move_to("2024-03-13 09:30:00+08:00")
    s = Scheduler(engine, SchedulerSettings())
    fired = s.catch_up()
    # each of the 4 open cases: warning (03-06 00:00), overdue (03-08 00:00) and
    # over_statutory (00:00 after the statutory last day Mon 03-11 → 03-12 00:00)
    assert len(fired) == 4 * 3
    assert {e.case_id for e in fired} == {c.id for c in [*opened, accepted]}
    assert done.id not in {e.case_id for e in fired}
    seen = at("2024-03-13 09:30:00")
    dues = {"warning": at("2024-03-06 00:00:00"), "overdue": at("2024-03-08 00:00:00"),
            "over_statutory": at("2024-03-12 00:00:00")}
    for e in fired:
        assert e.seen == seen and e.due == dues[e.level]
    # oldest first
    assert [e.level for e in fired[:4]] == ["warning"] * 4
    # recorded in each case's history with both instants
    for c in opened:
        evs = [ev for ev in engine.history(c.id) if ev.kind == "escalation"]
        assert [(ev.data["level"], ev.data["due"], ev.data["seen"]) for ev in evs] == [
            (lvl, dues[lvl].isoformat(), seen.isoformat()) for lvl in ("warning", "overdue", "over_statutory")
        ]
    # once: a second start-up (or the safety sweep) finds nothing
    assert s.catch_up() == []
    assert Scheduler(engine).catch_up() == []
    with engine.store.unit_of_work() as uow:
        assert len(uow.list_outbox(limit=1000)) == 12


def test_a_sweep_already_running_in_the_process_makes_it_go_round_again(engine, freezer):
    freezer.move_to("2024-03-04 10:00:00+08:00")
    s = Scheduler(engine, SchedulerSettings(catch_up=False))
    engine.open_case("pledge", actor=CLERK)
    freezer.move_to("2024-03-20 10:00:00+08:00")
    calls = []
    real = engine.sweep

    def sweep_with_reentry(**kw):
        calls.append(1)
        if len(calls) == 1:
            assert s.sweep("nested") == []  # refused while one runs...
        return real(**kw)

    engine.sweep = sweep_with_reentry
    fired = s.sweep()
    assert len(calls) == 2  # ...and the running one went round again
    assert len(fired) == 3


# --- the one real-time test --------------------------------------------------------------------


def test_a_real_scheduler_catches_up_at_start_and_shuts_down_cleanly():
    engine = build_engine(definitions=[PLEDGE])
    # a case filed by post a month ago: every level is already past
    case = engine.open_case("pledge", actor=CLERK, started_on=engine.today() - timedelta(days=40),
                            reason="postal filing, found late")
    s = Scheduler(engine, SchedulerSettings(sweep_seconds=3600))
    s.start()
    try:
        deadline = time.monotonic() + 10
        levels: list[str] = []
        while time.monotonic() < deadline:
            levels = [ev.data["level"] for ev in engine.history(case.id) if ev.kind == "escalation"]
            if len(levels) == 3:
                break
            time.sleep(0.02)
        assert levels == ["warning", "overdue", "over_statutory"]
        assert s.running
    finally:
        s.shutdown()
    assert not s.running


def test_starting_and_stopping_at_once_leaves_no_dying_thread(tmp_path, monkeypatch):
    """A one-shot job (the catch-up sweep) due while the scheduler shuts down used to kill
    APScheduler's thread with JobLookupError (a traceback on stderr at every quick restart)."""
    import threading

    died: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: died.append(args.exc_value))
    engine = build_engine(f"sqlite:///{tmp_path / 'quick.db'}")
    try:
        for _ in range(40):
            s = Scheduler(engine)
            s.start()
            s.shutdown()
            assert engine.listeners == []
    finally:
        engine.store.dispose()
    assert died == []
