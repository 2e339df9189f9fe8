"""Crash test: a child firing transitions on a SQLite file is SIGKILLed at random moments, many
times. After every kill: each transition the child saw acknowledged is there, each case's state is
its last event's, no transition is half-written, and every history chain verifies."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adapters.sql import SqlStore, verify_history
from workflow.ports import CaseQuery

CHILD = Path(__file__).with_name("crash_child.py")
ROUNDS = 16


def _check(url: str, acks: Path) -> tuple[int, int]:
    store = SqlStore(url, create=False)
    try:
        with store.unit_of_work() as uow:
            cases = {r.id: r for r in uow.query_cases(CaseQuery())}
            histories = {cid: uow.events(cid) for cid in cases}
        acked = 0
        for line in acks.read_text().splitlines():
            cid, version, state = line.split()
            acked += 1
            assert cid in cases, f"acknowledged case {cid} is gone"
            rec, events = cases[cid], histories[cid]
            assert rec.version >= int(version), f"{cid}: acknowledged version {version} lost"
            by_seq = {e.seq: e for e in events}
            assert by_seq[int(version)].to_state == state, f"{cid}: acknowledged {state} lost"
        for cid, rec in cases.items():
            events = histories[cid]
            transitions = [e for e in events if e.kind == "transition"]
            assert rec.version == 1 + len(transitions), f"{cid}: half a transition"
            assert rec.state == events[-1].to_state
            assert rec.seq == len(events) and rec.last_hash == events[-1].hash
        assert verify_history(store) == []
        return acked, len(cases)
    finally:
        store.dispose()


@pytest.mark.slow
def test_sigkill_never_loses_an_acknowledged_transition(tmp_path):
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    acks = tmp_path / "acks.txt"
    acks.touch()
    rnd = random.Random(20240304)
    deadline = time.monotonic() + 120
    total = 0
    for _ in range(ROUNDS):
        child = subprocess.Popen([sys.executable, str(CHILD), url, str(acks)], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        try:
            line = child.stdout.readline()
            assert line.strip() == "ready", child.stderr.read()
            before = acks.stat().st_size
            time.sleep(rnd.uniform(0.05, 0.6))
            assert child.poll() is None, child.stderr.read()
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        assert acks.stat().st_size > before, "the child acknowledged nothing before the kill"
        total, _ = _check(url, acks)
        if time.monotonic() > deadline:
            break
    assert total > 100
