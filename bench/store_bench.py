"""Store benchmark: N cases × M transitions through ``Engine.fire`` on SQLite, beside raw sqlite3
executing the very same statements (recorded from the store's trace) in the same run.

    .venv/bin/python bench/store_bench.py                 # N=300 cases × M=4 transitions
    .venv/bin/python bench/store_bench.py --cases 1000 --sync NORMAL
    .venv/bin/python bench/store_bench.py --memory 100000    # and resident memory over 100k cases

For each ``synchronous`` setting (FULL, NORMAL) it prints transitions/s through the engine, the
same statements on raw sqlite3 (same PRAGMAs, same BEGIN IMMEDIATE/COMMIT per transition), and
their ratio. Each run uses a fresh database file in a temporary folder beside this script (or
``--dir``), so the disk is the project's own.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters import build_engine  # noqa: E402
from workflow import Actor  # noqa: E402

PLEDGE = ROOT / "tests" / "fixtures" / "pledge.yaml"
ACTOR = Actor("bench", {"clerk", "examiner", "leader"}, org="420000")
# one case's life: M = 4 transitions (a pause and a resume included)
SCRIPT = [
    ("accept", None),
    ("request_supplement", {"notice": "补正通知书"}),
    ("resubmit", None),
    ("approve", None),
]


def _engine(path: Path, sync: str):
    return build_engine(f"sqlite:///{path}", definitions=[PLEDGE], store_options={"synchronous": sync})


def run_engine(folder: Path, sync: str, cases: int, steps: int) -> tuple[float, float, list[list[tuple[str, object]]]]:
    """Transitions/s through Engine.fire, with every statement recorded (the trace is a list
    append per statement: it slows the engine, never the raw replay)."""
    db = folder / f"engine-{sync}.db"
    engine = _engine(db, sync)
    ids = [engine.open_case("pledge", actor=ACTOR, data={"applicant": "甲公司"}).id for _ in range(cases)]
    store = engine.store
    # the raw replay starts from this very database: same rows, same indexes, same versions
    with sqlite3.connect(db) as s, sqlite3.connect(folder / f"raw-{sync}.db") as d:
        s.backup(d)
    traces: list[list[tuple[str, object]]] = []
    t0, c0 = time.perf_counter(), time.process_time()
    for step in range(steps):
        trigger, data = SCRIPT[step % len(SCRIPT)]
        for cid in ids:
            store.trace = trace = []
            engine.fire(cid, trigger, actor=ACTOR, data=data)
            traces.append(trace)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    store.trace = None
    store.dispose()
    return cases * steps / elapsed, cases * steps / cpu, traces


def run_raw(folder: Path, sync: str, traces: list[list[tuple[str, object]]]) -> tuple[float, float]:
    """The recorded statements, in order, on raw sqlite3 with the store's settings."""
    conn = sqlite3.connect(folder / f"raw-{sync}.db", isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(f"PRAGMA synchronous={sync}")
    # the store's writers checkpoint only as a backstop (a thread does it): the same here, so the
    # raw side never pays for a checkpoint inside a commit either
    conn.execute("PRAGMA wal_autocheckpoint=10000")
    conn.execute(f"PRAGMA journal_size_limit={64 * 2**20}")
    cur = conn.cursor()
    t0, c0 = time.perf_counter(), time.process_time()
    for trace in traces:
        for sql, params in trace:
            if params is None:
                cur.execute(sql)
            elif isinstance(params, list):
                cur.executemany(sql, params)
            else:
                cur.execute(sql, params)
                cur.fetchall()
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    conn.close()
    return len(traces) / elapsed, len(traces) / cpu


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def run_memory(folder: Path, cases: int) -> None:
    """Resident memory while opening ``cases`` cases (the engine's caches are bounded)."""
    import gc

    engine = _engine(folder / "memory.db", "NORMAL")
    marks = []
    step = max(1, cases // 10)
    for i in range(1, cases + 1):
        engine.open_case("pledge", actor=ACTOR)
        if i % step == 0:
            gc.collect()
            marks.append((i, rss_mib()))
    engine.store.dispose()
    print("memory: resident MiB after opening n cases: "
          + ", ".join(f"{n:,}: {m:.1f}" for n, m in marks))
    print(f"memory: growth from {marks[0][0]:,} to {marks[-1][0]:,} cases: {marks[-1][1] - marks[0][1]:+.1f} MiB")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=300, help="N cases")
    ap.add_argument("--steps", type=int, default=4, help="M transitions per case")
    ap.add_argument("--sync", action="append", help="FULL and/or NORMAL (default both)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per setting (median reported)")
    ap.add_argument("--dir", default=None, help="folder for the database files")
    ap.add_argument("--memory", type=int, default=0, metavar="N",
                    help="also open N cases and report resident memory (e.g. 100000)")
    args = ap.parse_args()
    syncs = args.sync or ["FULL", "NORMAL"]
    base = Path(args.dir) if args.dir else ROOT / "bench"
    print(f"caseclock store bench: {args.cases} cases x {args.steps} transitions, "
          f"median of {args.repeat}, load average {os.getloadavg()[0]:.2f}, Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
          f"{os.cpu_count()} CPUs, {platform.machine()}")
    print("wall: transitions per second of elapsed time; cpu: per second of this process's CPU "
          "time (what an idle machine would give a CPU-bound run; other processes' load does not count)")
    print(f"{'synchronous':<12}{'engine tx/s':>12}{'raw tx/s':>10}{'ratio':>7}"
          f"{'engine tx/cpu-s':>17}{'raw tx/cpu-s':>14}{'ratio':>7}{'stmts/tx':>10}")
    for sync in syncs:
        runs = []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory(dir=base, prefix=".bench-") as tmp:
                e, ec, traces = run_engine(Path(tmp), sync, args.cases, args.steps)
                r, rc = run_raw(Path(tmp), sync, traces)
            runs.append((e, r, ec, rc))
        e, r, ec, rc = (statistics.median(x) for x in zip(*runs, strict=True))
        per = sum(len(t) for t in traces) / len(traces)
        print(f"{sync:<12}{e:>12,.0f}{r:>10,.0f}{e / r:>7.2f}{ec:>17,.0f}{rc:>14,.0f}{ec / rc:>7.2f}{per:>10.1f}")
    if args.memory:
        with tempfile.TemporaryDirectory(dir=base, prefix=".bench-") as tmp:
            run_memory(Path(tmp), args.memory)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
