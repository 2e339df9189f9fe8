"""A writers' queue for one SQLite file, shared by every thread and process that writes to it.

SQLite lets one writer in at a time and makes the others poll (``busy_timeout`` sleeps up to
100 ms between tries), so a process that writes in a tight loop — a sweep escalating a storm of
deadlines — can starve a clerk's single transition for seconds. Writers here first take an
exclusive ``flock`` on ``<database>-writelock``: a waiting writer sleeps in the kernel and is
woken the moment the lock is released, instead of polling. The sweep pauses briefly between its
batches (``SqlStore.sweep_pause``) so a waiting clerk gets in before the next batch.

POSIX only; elsewhere it is a no-op and SQLite's own busy handler remains.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class WriteLock:
    def __init__(self, database: str | Path) -> None:
        self.path = f"{Path(database).expanduser().resolve()}-writelock"
        self._local = threading.local()  # one open file per thread: flock is per open file

    def _fd(self) -> int:
        fd = getattr(self._local, "fd", None)
        if fd is None:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._local.fd = fd
        return fd

    def acquire(self) -> None:
        if fcntl is not None:
            fcntl.flock(self._fd(), fcntl.LOCK_EX)

    def release(self) -> None:
        if fcntl is not None:
            fd = getattr(self._local, "fd", None)
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
