"""The scheduler ``caseclock serve`` starts: APScheduler 3.x, in memory, O(1) jobs.

The deadlines table is the source of truth; APScheduler keeps no job store and never one job per
case. Its jobs:

* ``wake`` — one-shot (DateTrigger) at the earliest pending deadline. Re-armed by a listener the
  engine calls after every commit that changes deadlines (``engine.listeners``), and after each
  sweep;
* ``sweep`` — the safety sweep, every ``sweep_seconds`` (default 60);
* ``catch_up`` — one sweep right after start-up: what fell due while nothing ran fires now, each
  escalation recording when it was due and when it was seen;
* ``deliver`` — the outbox delivery, every ``deliver_seconds`` (and right after a sweep that fired);
* ``monthly_report`` — cron, the 19th at 01:00 by default (ready before the 20th);
* ``daily_digest`` — cron, 08:00 on every day by default.

Jobs we keep have ``misfire_grace_time=None`` (APScheduler's default of one second silently drops
runs that start late). Cron jobs run under a PostgreSQL advisory lock
(``pg_try_advisory_xact_lock``) when the store is on PostgreSQL, and each checks a marker in the
store first, so a job runs once per period however many processes are serving.

Sweeps are exactly-once by construction (the store claims rows with ``SKIP LOCKED`` on
PostgreSQL, one writer on SQLite); inside one process a sweep never runs twice at the same time.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from workflow.legaltime import TZ
from workflow.model import Escalation
from workflow.ports import IdempotencyRecord

log = logging.getLogger("caseclock.scheduler")

WAKE, SWEEP, CATCH_UP, DELIVER, MONTHLY, DIGEST = (
    "wake", "sweep", "catch_up", "deliver", "monthly_report", "daily_digest",
)


@dataclass(frozen=True)
class SchedulerSettings:
    """Typed configuration. Cron fields are APScheduler ``CronTrigger`` keyword arguments."""

    sweep_seconds: float = 60.0
    deliver_seconds: float = 15.0
    catch_up: bool = True
    monthly_report: Mapping[str, Any] | None = field(default_factory=lambda: {"day": 19, "hour": 1, "minute": 0})
    daily_digest: Mapping[str, Any] | None = field(default_factory=lambda: {"hour": 8, "minute": 0})
    timezone: str = "Asia/Shanghai"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SchedulerSettings:
        """``CASECLOCK_SWEEP_SECONDS``, ``CASECLOCK_DELIVER_SECONDS``, ``CASECLOCK_REPORT_DAY``
        (0 turns the monthly job off), ``CASECLOCK_DIGEST_HOUR`` (-1 turns the digest off)."""
        e = os.environ if env is None else env
        day = int(e.get("CASECLOCK_REPORT_DAY", "19"))
        hour = int(e.get("CASECLOCK_DIGEST_HOUR", "8"))
        return cls(
            sweep_seconds=float(e.get("CASECLOCK_SWEEP_SECONDS", "60")),
            deliver_seconds=float(e.get("CASECLOCK_DELIVER_SECONDS", "15")),
            monthly_report={"day": day, "hour": 1, "minute": 0} if day > 0 else None,
            daily_digest={"hour": hour, "minute": 0} if hour >= 0 else None,
        )


def previous_month(day: date) -> tuple[int, int]:
    """The month before ``day``'s (the month a report made on the 19th covers)."""
    first = day.replace(day=1) - timedelta(days=1)
    return first.year, first.month


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for ``pg_try_advisory_xact_lock``."""
    raw = int.from_bytes(hashlib.sha256(f"caseclock:{name}".encode()).digest()[:8], "big")
    return raw - (1 << 64) if raw >= (1 << 63) else raw


def _sql_engine(store: Any) -> Any | None:
    """The SQLAlchemy engine of a SQL store, if it has one."""
    for attr in ("engine", "sa_engine", "_engine"):
        eng = getattr(store, attr, None)
        if eng is not None and hasattr(eng, "dialect") and hasattr(eng, "connect"):
            return eng
    return None


def run_exclusive(store: Any, name: str, fn: Callable[[], Any]) -> tuple[bool, Any]:
    """Run ``fn`` holding a PostgreSQL transaction-level advisory lock named ``name``; on any
    other store, just run it. Returns (ran, result); ran is False when another process holds
    the lock (it is doing the job)."""
    eng = _sql_engine(store)
    if eng is None or eng.dialect.name != "postgresql":
        return True, fn()
    import sqlalchemy as sa

    with eng.connect() as conn, conn.begin():
        got = conn.execute(sa.select(sa.func.pg_try_advisory_xact_lock(advisory_key(name)))).scalar()
        if not got:
            log.info("%s: another process holds the lock", name)
            return False, None
        return True, fn()  # the lock is released when this transaction ends


def once(store: Any, key: str, now: datetime, fn: Callable[[], Any]) -> tuple[bool, Any]:
    """Run ``fn`` unless ``key`` is marked done in the store; mark it done afterwards."""
    with store.unit_of_work() as uow:
        if uow.get_idempotency(key) is not None:
            return False, None
    result = fn()
    with store.unit_of_work() as uow:
        if uow.get_idempotency(key) is None:
            uow.put_idempotency(IdempotencyRecord(key, "cron", "", {"at": now.isoformat()}, now))
            uow.commit()
    return True, result


class Scheduler:
    """APScheduler wake-ups, sweeps and cron jobs around one engine.

    ``delivery`` (an :class:`~adapters.notify.OutboxDelivery`), ``reports`` (an
    :class:`~adapters.reports.ReportService`) and ``digest`` (a
    :class:`~adapters.notify.DailyDigest`) are optional: their jobs exist only when given.
    ``start()`` returns at once; ``shutdown()`` waits for running jobs.
    """

    def __init__(self, engine: Any, settings: SchedulerSettings | None = None, *, delivery: Any = None,
                 reports: Any = None, digest: Any = None, scheduler: BackgroundScheduler | None = None) -> None:
        self.engine = engine
        self.settings = settings or SchedulerSettings()
        self.delivery = delivery
        self.reports = reports
        self.digest = digest
        self.aps = scheduler or BackgroundScheduler(
            timezone=self.settings.timezone,
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        self._sweep_lock = threading.Lock()
        self._again = threading.Event()
        self._armed: datetime | None = None
        self._arm_lock = threading.Lock()
        self._started = False

    # -- life cycle ------------------------------------------------------------------------------

    def start(self, *, paused: bool = False) -> None:
        """Add the jobs and start the background thread (``paused``: hold jobs; for tests)."""
        if self._started:
            return
        s = self.settings
        job = {"misfire_grace_time": None, "coalesce": True, "replace_existing": True}
        self.aps.add_job(self.safety_sweep, IntervalTrigger(seconds=s.sweep_seconds, timezone=TZ),
                         id=SWEEP, name="safety sweep", max_instances=1, **job)
        if s.catch_up:
            self.aps.add_job(self.catch_up, DateTrigger(timezone=TZ),  # now, on the scheduler's clock
                             id=CATCH_UP, name="catch-up sweep", **job)
        if self.delivery is not None:
            self.aps.add_job(self.deliver, IntervalTrigger(seconds=s.deliver_seconds, timezone=TZ),
                             id=DELIVER, name="outbox delivery", max_instances=1, **job)
        if self.reports is not None and s.monthly_report:
            self.aps.add_job(self.monthly_report, CronTrigger(timezone=TZ, **dict(s.monthly_report)),
                             id=MONTHLY, name="monthly report", **job)
        if self.digest is not None and s.daily_digest:
            self.aps.add_job(self.daily_digest, CronTrigger(timezone=TZ, **dict(s.daily_digest)),
                             id=DIGEST, name="daily digest", **job)
        self.engine.listeners.append(self.rearm)
        self.aps.start(paused=paused)
        self._started = True
        if not s.catch_up:  # otherwise the catch-up sweep arms the wake-up when it ends
            self.rearm(self.engine.store.earliest_pending_due())

    def shutdown(self, wait: bool = True) -> None:
        if not self._started:
            return
        try:
            self.engine.listeners.remove(self.rearm)
        except ValueError:
            pass
        # APScheduler 3 marks itself stopped before it takes its job-store lock, so a one-shot job
        # falling due at that moment makes its thread die on JobLookupError (a traceback on
        # stderr, agronholm/apscheduler#104). Removing the one-shot jobs first, under that lock
        # while still running, leaves the thread nothing to remove.
        for job_id in (CATCH_UP, WAKE):
            try:
                self.aps.remove_job(job_id)
            except JobLookupError:
                pass
        self.aps.shutdown(wait=wait)
        self._started = False

    def __enter__(self) -> Scheduler:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    @property
    def running(self) -> bool:
        return self._started and self.aps.running

    def jobs(self) -> dict[str, Any]:
        """The scheduler's jobs by id (O(1): never one per case)."""
        return {j.id: j for j in self.aps.get_jobs()}

    # -- the wake-up -------------------------------------------------------------------------------

    def rearm(self, earliest: datetime | None) -> None:
        """Point the one-shot ``wake`` job at ``earliest`` (the engine's listener). None removes
        it; an instant already past runs it at once."""
        with self._arm_lock:
            if earliest == self._armed and (earliest is None or self.aps.get_job(WAKE) is not None):
                return
            if earliest is None:
                try:
                    self.aps.remove_job(WAKE)
                except JobLookupError:
                    pass
                self._armed = None
                return
            self.aps.add_job(
                self._wake, DateTrigger(run_date=earliest, timezone=TZ), id=WAKE, name="wake-up",
                replace_existing=True, misfire_grace_time=None, coalesce=True, max_instances=3,
            )
            self._armed = earliest

    def _wake(self) -> None:
        with self._arm_lock:
            self._armed = None  # the one-shot job is spent
        self.sweep("wake")

    # -- sweeps --------------------------------------------------------------------------------

    def sweep(self, reason: str = "sweep") -> list[Escalation]:
        """One sweep (never two at once in this process: a call meanwhile makes the running one
        go round again). Re-arms the wake-up and nudges the delivery when something fired."""
        if not self._sweep_lock.acquire(blocking=False):
            self._again.set()
            return []
        fired: list[Escalation] = []
        try:
            while True:
                self._again.clear()
                try:
                    fired.extend(self.engine.sweep())
                except Exception:  # noqa: BLE001 - a failed sweep is retried by the next one
                    log.exception("%s sweep failed", reason)
                    break
                if not self._again.is_set():
                    break
        finally:
            self._sweep_lock.release()
        if fired:
            late = [e for e in fired if (e.seen - e.due) > timedelta(minutes=1)]
            log.info("%s: %d escalations fired (%d seen more than a minute late)", reason, len(fired), len(late))
            self._nudge_delivery()
        self.rearm(self.engine.store.earliest_pending_due())
        return fired

    def catch_up(self) -> list[Escalation]:
        """The start-up sweep: everything that fell due while nothing ran, fired once."""
        return self.sweep("catch-up")

    def safety_sweep(self) -> list[Escalation]:
        return self.sweep("safety")

    def _nudge_delivery(self) -> None:
        if self.delivery is None or not self._started:
            return
        try:
            self.aps.modify_job(DELIVER, next_run_time=datetime.now(TZ))
        except JobLookupError:
            pass

    # -- delivery and cron jobs ------------------------------------------------------------------

    def deliver(self) -> Any:
        if self.delivery is None:
            return None
        try:
            return self.delivery.run()
        except Exception:  # noqa: BLE001 - retried at the next interval
            log.exception("outbox delivery failed")
            return None

    def monthly_report(self, year: int | None = None, month: int | None = None) -> Any:
        """Generate and store the report of the previous month (or of ``year``-``month``), once."""
        if self.reports is None:
            return None
        now = self.engine.now()
        if year is None or month is None:
            year, month = previous_month(now.date())
        key = f"cron:monthly_report:{year:04d}-{month:02d}"

        def job() -> Any:
            return once(self.engine.store, key, now, lambda: self.reports.generate(year, month))[1]

        return self._exclusive(MONTHLY, job)

    def daily_digest(self) -> Any:
        """Queue today's digests (nothing when nobody has anything), once a day."""
        if self.digest is None:
            return None
        now = self.engine.now()
        key = f"cron:daily_digest:{now.date().isoformat()}"

        def job() -> Any:
            ran, queued = once(self.engine.store, key, now, lambda: self.digest.enqueue(now.date()))
            if ran and queued:
                self._nudge_delivery()
            return queued

        return self._exclusive(DIGEST, job)

    def _exclusive(self, name: str, fn: Callable[[], Any]) -> Any:
        try:
            return run_exclusive(self.engine.store, name, fn)[1]
        except Exception:  # noqa: BLE001 - the job runs again at its next time
            log.exception("%s failed", name)
            return None
