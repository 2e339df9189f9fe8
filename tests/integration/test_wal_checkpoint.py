"""WAL checkpoints run in a thread of their own on SQLite files (adapters/sql/checkpoint.py), not
inside a clerk's commit; the writers' automatic checkpoint stays as a backstop."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import pytest

from adapters.sql import SqlStore
from workflow.errors import WorkflowError
from workflow.legaltime import TZ
from workflow.model import OutboxMessage

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=TZ)


def _write(store: SqlStore, n: int) -> None:
    for i in range(n):
        with store.unit_of_work() as uow:
            uow.add_outbox([OutboxMessage("transition", f"c{i}", {"i": i, "pad": "x" * 2000}, T0)])
            uow.commit()


def _pragma(store: SqlStore, name: str) -> int:
    with store.unit_of_work() as uow:
        return int(uow.fetch_one(f"PRAGMA {name}")[0])


def test_writers_keep_only_a_backstop_and_the_thread_checkpoints(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'a.db'}", synchronous="NORMAL", checkpoint_interval=3600)
    try:
        assert store.checkpointer is not None
        assert _pragma(store, "wal_autocheckpoint") == 10_000
        assert _pragma(store, "journal_size_limit") == 64 * 2**20
        runs = store.checkpointer.runs
        _write(store, 300)  # ~300 pages: more than SQLite's default 1,000-frame trigger in frames
        wal = tmp_path / "a.db-wal"
        assert wal.stat().st_size > 1000 * 4096  # nobody checkpointed in a commit
        assert store.checkpointer.runs == runs  # the interval has not elapsed
        busy, frames, copied = store.checkpointer.run_once()
        assert (busy, copied) == (0, frames) and frames > 1000
        # a later writer starts the WAL over (its file is reused, not grown)
        size = wal.stat().st_size
        _write(store, 5)
        assert wal.stat().st_size == size
    finally:
        store.dispose()


def test_the_thread_runs_after_commits_and_stops_on_dispose(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'b.db'}", checkpoint_interval=0.01)
    cp = store.checkpointer
    assert cp is not None
    try:
        _write(store, 3)
        deadline = time.monotonic() + 10  # bounded: the thread's interval is 10 ms
        while cp.runs == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert cp.runs >= 1
        thread = cp._thread
        assert thread is not None and thread.is_alive() and thread.name == "caseclock-wal-checkpoint"
    finally:
        store.dispose()
    assert not thread.is_alive() and cp._thread is None
    # usable after dispose: the next commit starts the thread again
    _write(store, 1)
    assert cp._thread is not None and cp._thread.is_alive()
    store.dispose()


def test_auto_leaves_sqlite_default_and_bad_values_are_refused(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'c.db'}", checkpoint="auto")
    try:
        assert store.checkpointer is None
        assert _pragma(store, "wal_autocheckpoint") == 1000
        _write(store, 2)
    finally:
        store.dispose()
    with pytest.raises(WorkflowError, match="checkpoint must be"):
        SqlStore(f"sqlite:///{tmp_path / 'd.db'}", checkpoint="sometimes")
    memory = SqlStore("sqlite://")
    assert memory.checkpointer is None  # no WAL in memory
    memory.dispose()


def test_an_idle_thread_ends_and_the_next_commit_starts_another(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'e.db'}", checkpoint_interval=0.01)
    cp = store.checkpointer
    assert cp is not None
    cp.idle_seconds = 0.05
    try:
        _write(store, 1)
        first = cp._thread
        assert first is not None
        first.join(timeout=10)  # bounded: it ends after 50 ms without a commit
        assert not first.is_alive() and cp._thread is None
        _write(store, 1)
        assert cp._thread is not None and cp._thread is not first and cp._thread.is_alive()
    finally:
        store.dispose()
