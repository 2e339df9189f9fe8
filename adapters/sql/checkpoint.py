"""WAL checkpoints off the writers' path, for SQLite files.

In WAL mode every commit appends its pages to ``<database>-wal``; a *checkpoint* copies them
back into the database file (and, at ``synchronous=NORMAL``, is the only step that syncs).
SQLite's default runs it inside whichever commit pushes the WAL past 1,000 pages, so every few
hundred transitions one clerk's commit also pays for copying everyone's pages, and a page written
by many transactions (an index root, an SLA counter) is copied again at each of those checkpoints.

Here a daemon thread of each process runs ``PRAGMA wal_checkpoint(PASSIVE)`` on its own
connection every ``interval`` seconds when there were commits since its last run. PASSIVE never
blocks a reader or a writer: it copies what it can and leaves the rest for next time. The
writers' own automatic checkpoint stays on as a backstop, at ``backstop_pages`` (so the WAL stays
bounded if the thread falls behind, or in a process that never starts it), and
``journal_size_limit`` truncates a WAL file that grew past it once it has been checkpointed.

Measured (docs/store.md, docs/performance.md "Deadline storm"): a transition's statements
replayed on raw sqlite3 with the writers' checkpoint out of the way spent 39 µs in COMMIT instead
of 59 µs, and the 100,000-deadline sweep alone took 15.6 s instead of 17.3 s.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger("caseclock.sql")


class Checkpointer:
    """One thread per process and database file; started by the first commit (so a forked
    worker starts its own), stopped by :meth:`close`."""

    def __init__(self, database: str | Path, *, interval: float = 0.5, busy_timeout_ms: int = 5_000,
                 idle_seconds: float = 60.0) -> None:
        self.path = str(Path(database).expanduser().resolve())
        self.interval = interval
        self.idle_seconds = idle_seconds  # no commit for this long: the thread ends (the next starts it)
        self.busy_timeout_ms = busy_timeout_ms
        self.runs = 0  # checkpoints run (tests, metrics)
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._conn: sqlite3.Connection | None = None

    def committed(self) -> None:
        """A writer committed: the next round has work (and the thread runs in this process)."""
        if not self._dirty.is_set():  # set() takes a lock and notifies: not again for every commit
            self._dirty.set()  # (the round that clears it checkpoints after this commit anyway)
        if self._pid != os.getpid() and not self._stop.is_set():
            self._start()

    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid() or self._stop.is_set():
                return
            self._pid = os.getpid()
            self._conn = None  # a connection inherited through fork is never used
            self._thread = threading.Thread(target=self._loop, name="caseclock-wal-checkpoint", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        idle = 0.0
        while not self._stop.wait(self.interval):
            if not self._dirty.is_set():
                idle += self.interval
                if idle >= self.idle_seconds and self._retire():
                    return
                continue
            idle = 0.0
            self._dirty.clear()
            try:
                self.run_once()
            except Exception:  # noqa: BLE001 - a failed round is retried; the backstop remains
                log.warning("WAL checkpoint failed", exc_info=True)
                self._close_conn()

    def _retire(self) -> bool:
        """End an idle thread (a store nobody writes to, or one dropped without ``dispose``): the
        next commit starts a new one."""
        with self._lock:
            if self._dirty.is_set() or self._stop.is_set():
                return False
            self._thread = None
            self._pid = 0
        self._close_conn()
        if self._dirty.is_set():  # a commit came in between: it found this thread still running
            self._start()
        return True

    def run_once(self) -> tuple[int, int, int]:
        """One PASSIVE checkpoint: ``(busy, wal_frames, frames_checkpointed)`` as SQLite reports."""
        if self._conn is None:
            self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")
        row = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        self.runs += 1
        return int(row[0]), int(row[1]), int(row[2])

    def _close_conn(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001
                pass

    def close(self) -> None:
        """Stop the thread (after one last round, so the WAL is checkpointed at shutdown). A
        later commit starts it again (a store is usable after ``dispose``)."""
        with self._lock:
            self._stop.set()
            thread, self._thread = self._thread, None
            mine = self._pid == os.getpid()
            if thread is not None and mine:
                thread.join(timeout=10)
                if self._dirty.is_set():
                    self._dirty.clear()
                    try:
                        self.run_once()
                    except Exception:  # noqa: BLE001
                        pass
            if mine:
                self._close_conn()
            self._pid = 0
            self._stop = threading.Event()
