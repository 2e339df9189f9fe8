"""SIGKILL of ``caseclock serve`` (SQLite, scheduler on, a sweep every second) under HTTP load,
round after round, while cases opened in the past keep falling due (their escalations are swept by
the server while clerks work).

After every kill, with the server down: every transition the clients saw acknowledged (2xx) is in
the database; no escalation is recorded twice; every history chain verifies; the board's counters
equal the cases. At the end, one more start: the catch-up sweep fires whatever fell due meanwhile,
so every due deadline is fired exactly once — none lost, none doubled.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters import build_engine
from adapters.sql import SqlStore, counters, verify_history
from api.demo import SimClock
from workflow import TZ, Actor
from workflow.ports import CaseQuery

from .conftest import PLEDGE, PLEDGE_DATA, Serve, make_token

ROUNDS = 5
THREADS = 3
SCRIPT = [("accept", {}), ("request_supplement", {"supplement_items": "质押合同原件"}), ("resubmit", {}),
          ("approve", {})]
CLERK = Actor("past-clerk", {"clerk"}, "420100")


@dataclass
class Acks:
    """What the clients were told succeeded: (case id, version, state, trigger or "open")."""

    rows: list[tuple[str, int, str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, body: dict, trigger: str) -> None:
        with self.lock:
            self.rows.append((body["id"], body["version"], body["state"], trigger))


def _clerk(url: str, token: str, acks: Acks, stop: threading.Event, seed: int) -> None:
    rng = random.Random(seed)
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as c:
        while not stop.is_set():
            try:
                r = c.post("/api/cases", json={"item_id": PLEDGE, "data": PLEDGE_DATA})
                if r.status_code != 201:
                    continue
                case = r.json()
                acks.add(case, "open")
                for trigger, data in SCRIPT[: rng.randrange(1, len(SCRIPT) + 1)]:
                    if stop.is_set():
                        return
                    r = c.post(f"/api/cases/{case['id']}/transitions/{trigger}", json={"data": data},
                               headers={"If-Match": f'"{case["version"]}"'})
                    if r.status_code != 200:
                        break
                    case = r.json()
                    acks.add(case, trigger)
            except httpx.TransportError:
                time.sleep(0.05)  # the server is gone (killed): wait for the round to end


def _past_opener(engine: Any, clock: SimClock, acks: Acks, stop: threading.Event, seed: int) -> int:
    """Cases opened 20-40 days ago (by this process, straight into the database while the server
    runs): all three levels of their clock are due, for the server's sweeps to fire. The engine
    is built before the round starts: building one (parsing every definition) under this load
    took longer than a round (pure-Python YAML, 2.8 s idle before libyaml), and the opener then
    opened nothing: the "0 escalations" of 2026-12-07."""
    rng = random.Random(seed)
    opened = 0
    try:
        while not stop.is_set() and opened < 30:
            clock.at = datetime.now(TZ) - timedelta(days=rng.randint(20, 40), hours=rng.randint(0, 8))
            try:
                case = engine.open_case(PLEDGE, actor=CLERK, data=PLEDGE_DATA)
            except Exception:  # noqa: BLE001 - busy with the server's writers: try the next one
                continue
            acks.add(case.to_dict(), "open")
            opened += 1
            time.sleep(0.02)
    finally:
        engine.store.dispose()
    return opened


def _escalations(store: SqlStore) -> tuple[Counter, int, list]:
    with store.unit_of_work() as uow:
        rows = uow.fetch_all("SELECT case_id, data FROM events WHERE kind = 'escalation'")
        fired = uow.fetch_one("SELECT COUNT(*) FROM deadlines WHERE state = 'fired'")[0]
        pending_due = uow.fetch_all("SELECT case_id, level FROM deadlines WHERE state = 'pending' AND due_at <= :now",
                                    {"now": store.dialect.ts(datetime.now(TZ))})
    keys = Counter()
    for cid, data in rows:
        d = json.loads(data)
        keys[(cid, d["clock"], d["run"], d["level"])] += 1
    return keys, fired, pending_due


def _check(db: str, acks: Acks) -> dict[str, int]:
    store = SqlStore(db, create=False)
    try:
        with store.unit_of_work() as uow:
            cases = {r.id: r for r in uow.query_cases(CaseQuery())}
            histories = {cid: uow.events(cid) for cid in cases}
        for cid, version, state, trigger in acks.rows:
            assert cid in cases, f"acknowledged case {cid} lost"
            rec, events = cases[cid], histories[cid]
            assert rec.version >= version, f"{cid}: acknowledged version {version} lost (now {rec.version})"
            if trigger != "open":
                assert any(e.kind == "transition" and e.trigger == trigger and e.to_state == state
                           for e in events), f"{cid}: acknowledged {trigger} lost"
        acked_by_case = Counter((cid, t) for cid, _, _, t in acks.rows if t != "open")
        for (cid, trigger), n in acked_by_case.items():
            have = sum(1 for e in histories[cid] if e.kind == "transition" and e.trigger == trigger)
            assert have >= n, f"{cid}: {n} acknowledged {trigger}, {have} recorded"
        keys, fired, _ = _escalations(store)
        doubled = {k: n for k, n in keys.items() if n > 1}
        assert not doubled, f"escalations recorded twice: {doubled}"
        assert sum(keys.values()) == fired, "an escalation event without its fired deadline (or the reverse)"
        assert verify_history(store) == []
        assert counters.differences(store) == {}
        return {"cases": len(cases), "escalations": fired}
    finally:
        store.dispose()


@pytest.mark.slow
def test_sigkill_under_load_loses_nothing(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'served.db'}"
    token = make_token(db, user="clerk", roles="clerk,examiner", org="420100")
    serve = Serve(db, tmp_path, sweep_seconds=1)
    acks = Acks()
    rng = random.Random(10)
    started = time.monotonic()
    kills = 0
    try:
        for r in range(ROUNDS):
            serve.start()
            stop = threading.Event()
            threads = [threading.Thread(target=_clerk, args=(serve.url, token, acks, stop, r * 10 + i), daemon=True)
                       for i in range(THREADS)]
            past_clock = SimClock()
            past_engine = build_engine(db, now=past_clock)
            threads.append(threading.Thread(target=_past_opener, args=(past_engine, past_clock, acks, stop, r),
                                            daemon=True))
            for t in threads:
                t.start()
            time.sleep(rng.uniform(1.0, 3.0))  # the load runs, the sweeps fire; then, mid-flight:
            serve.kill()
            kills += 1
            stop.set()
            for t in threads:
                t.join(timeout=30)
                assert not t.is_alive(), "a load thread did not stop"
            _check(db, acks)
            assert time.monotonic() - started < 240, "the fault loop ran out of its time"
        # one more start: the catch-up sweep fires what fell due while nothing ran
        serve.start()
        deadline = time.monotonic() + 60
        store = SqlStore(db, create=False)
        try:
            while _escalations(store)[2]:
                assert time.monotonic() < deadline, "the catch-up sweep did not fire every due deadline"
                time.sleep(0.25)
        finally:
            store.dispose()
        serve.stop()
        totals = _check(db, acks)
    finally:
        serve.stop()
    transitions = sum(1 for row in acks.rows if row[3] != "open")
    assert kills == ROUNDS
    assert transitions > 20 and totals["escalations"] > 50, (transitions, totals)
    print(f"\nSIGKILL x{kills}: {len(acks.rows)} acknowledged writes ({transitions} transitions), "
          f"{totals['cases']} cases, {totals['escalations']} escalations, each exactly once")
