"""caseclock beside SpiffWorkflow: the same process, N cases each, on the same SQLite database.

    .venv/bin/pip install -e '.[bench]'                 # SpiffWorkflow (not a runtime dependency)
    .venv/bin/python bench/spiff_compare.py             # 300 cases x 4 steps, FULL and NORMAL, median of 3
    .venv/bin/python bench/spiff_compare.py --cases 100 --repeat 1 --json

The process: patent pledge registration with one supplement round, four steps a case —
``accept``, ``request_supplement``, ``resubmit``, ``approve``.

- caseclock: the shipped definition ``patent_pledge_registration`` through the public
  ``Engine.fire`` on the SQLite store (each step: its clock paused, resumed or stopped on the
  working-day calendar, deadline rows rewritten, a hash-chained audit event, the versioned case row).
- SpiffWorkflow (from PyPI): ``bench/pledge.bpmn`` (user tasks, an exclusive gateway for the
  supplement loop). One row per workflow in table ``spiff_workflows`` of the *same* database file
  holds its ``BpmnWorkflowSerializer`` JSON; each step is one transaction: ``BEGIN IMMEDIATE``,
  read the row, deserialise, complete the ready user task (with the step's data), run the engine
  steps, serialise, write the row back, ``COMMIT``.

Both run with the same PRAGMAs (WAL, ``synchronous`` FULL then NORMAL, the WAL checkpointed by
the writer only past 10,000 pages: caseclock's store checkpoints in a thread, see
adapters/sql/checkpoint.py). Opening the cases is not timed; the 4 × N steps are, in the same
order for both (every case's first step, then every case's
second, …). Every statement of both sides is recorded and then replayed on raw ``sqlite3``
against a copy of the database taken just before the timed steps: the *raw* rate is what the SQL
alone costs, the floor both are bound by when each commit waits for the disk (FULL).

Printed: steps per second (wall and process CPU) for each side, the ratio caseclock ÷ Spiff, and
each side's ratio to its raw statements. Target (issue 10): caseclock ≥ 10× SpiffWorkflow with NORMAL.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from store_bench import run_raw  # noqa: E402  (bench/ is on sys.path: the script's folder)

from adapters import build_engine  # noqa: E402
from workflow import Actor  # noqa: E402

BPMN = Path(__file__).resolve().parent / "pledge.bpmn"
ITEM = "patent_pledge_registration"
ACTOR = Actor("bench", {"clerk", "examiner"}, org="420100")
OPEN_DATA = {
    "request_type": "registration", "channel": "paper", "pledgor": "武汉光谷智能装备有限公司",
    "pledgee": "招商银行武汉分行", "patent_numbers": "ZL202310000001.X", "patent_count": 1,
    "secured_amount": 5_000_000,
}
# (caseclock trigger, its data, the BPMN user task completed, the data set on it)
STEPS: list[tuple[str, dict[str, Any] | None, str, dict[str, Any]]] = [
    ("accept", None, "accept", {"accepted_by": "bench"}),
    ("request_supplement", {"supplement_items": "质押合同原件"}, "review",
     {"decision": "supplement", "supplement_items": "质押合同原件"}),
    ("resubmit", None, "resubmit", {"resubmitted": True}),
    ("approve", None, "review", {"decision": "approve"}),
]
# the store's own settings (adapters/sql/store.py), Spiff's connection too: same WAL, same checkpointing
PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA busy_timeout=30000", "PRAGMA foreign_keys=ON",
           "PRAGMA wal_autocheckpoint=10000", f"PRAGMA journal_size_limit={64 * 2**20}")

Trace = list[tuple[str, Any]]


def _connect(path: Path, sync: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for p in PRAGMAS:
        conn.execute(p)
    conn.execute(f"PRAGMA synchronous={sync}")
    return conn


# --- SpiffWorkflow ---------------------------------------------------------------------------------


class Spiff:
    """The BPMN process, its parsed spec (parsed once) and the serializer."""

    def __init__(self) -> None:
        from SpiffWorkflow.bpmn import BpmnWorkflow
        from SpiffWorkflow.bpmn.parser import BpmnParser
        from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
        from SpiffWorkflow.util.task import TaskState

        parser = BpmnParser()
        parser.add_bpmn_file(str(BPMN))
        self.spec = parser.get_spec(ITEM)
        self.serializer = BpmnWorkflowSerializer()
        self.Workflow = BpmnWorkflow
        self.READY = TaskState.READY
        import SpiffWorkflow

        self.version = getattr(SpiffWorkflow, "__version__", None) or _dist_version("SpiffWorkflow")

    def create_table(self, conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE IF NOT EXISTS spiff_workflows "
                     "(id INTEGER PRIMARY KEY, state TEXT NOT NULL, steps INTEGER NOT NULL)")

    def open_cases(self, conn: sqlite3.Connection, n: int) -> list[int]:
        conn.execute("BEGIN IMMEDIATE")
        ids = []
        for _ in range(n):
            wf = self.Workflow(self.spec)
            wf.do_engine_steps()
            cur = conn.execute("INSERT INTO spiff_workflows (state, steps) VALUES (?, 0)",
                               (self.serializer.serialize_json(wf),))
            ids.append(int(cur.lastrowid or 0))
        conn.execute("COMMIT")
        return ids

    def step(self, cur: sqlite3.Cursor, wid: int, task_name: str, data: dict[str, Any], trace: Trace) -> None:
        """One step in one transaction: read, deserialise, complete the task, serialise, write."""
        sel = "SELECT state FROM spiff_workflows WHERE id = ?"
        upd = "UPDATE spiff_workflows SET state = ?, steps = steps + 1 WHERE id = ?"
        cur.execute("BEGIN IMMEDIATE")
        (state,) = cur.execute(sel, (wid,)).fetchone()
        wf = self.serializer.deserialize_json(state)
        task = next(t for t in wf.get_tasks(state=self.READY, manual=True) if t.task_spec.name == task_name)
        task.set_data(**data)
        task.run()
        wf.do_engine_steps()
        new = self.serializer.serialize_json(wf)
        cur.execute(upd, (new, wid))
        cur.execute("COMMIT")
        trace += [("BEGIN IMMEDIATE", None), (sel, (wid,)), (upd, (new, wid)), ("COMMIT", None)]


def _dist_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "?"


# --- one run -------------------------------------------------------------------------------------


def run_once(folder: Path, sync: str, cases: int, spiff: Spiff) -> dict[str, float]:
    db = folder / "compare.db"
    engine = build_engine(f"sqlite:///{db}", store_options={"synchronous": sync})
    ids = [engine.open_case(ITEM, actor=ACTOR, data=OPEN_DATA).id for _ in range(cases)]
    conn = _connect(db, sync)
    spiff.create_table(conn)
    wids = spiff.open_cases(conn, cases)
    with sqlite3.connect(db) as src, sqlite3.connect(folder / f"raw-{sync}.db") as dst:
        src.backup(dst)  # the raw replays (store_bench.run_raw) start from this very state

    store = engine.store
    cc_traces: list[Trace] = []
    t0, c0 = time.perf_counter(), time.process_time()
    for trigger, data, _, _ in STEPS:
        for cid in ids:
            store.trace = trace = []
            engine.fire(cid, trigger, actor=ACTOR, data=data)
            cc_traces.append(trace)
    cc_wall, cc_cpu = time.perf_counter() - t0, time.process_time() - c0
    store.trace = None
    final = {c.state for c in engine.list_cases()}
    store.dispose()
    assert final == {"registered"}, final

    sp_traces: list[Trace] = []
    cur = conn.cursor()
    t0, c0 = time.perf_counter(), time.process_time()
    for _, _, task, data in STEPS:
        for wid in wids:
            trace: Trace = []
            spiff.step(cur, wid, task, data, trace)
            sp_traces.append(trace)
    sp_wall, sp_cpu = time.perf_counter() - t0, time.process_time() - c0
    done = conn.execute("SELECT state FROM spiff_workflows LIMIT 1").fetchone()[0]
    state_bytes = statistics.mean(len(t[2][1][0].encode()) for t in sp_traces)
    conn.close()
    assert spiff.serializer.deserialize_json(done).is_completed()

    steps = cases * len(STEPS)
    cc_raw, cc_raw_cpu = run_raw(folder, sync, cc_traces)
    sp_raw, sp_raw_cpu = run_raw(folder, sync, sp_traces)
    return {
        "caseclock": steps / cc_wall, "caseclock_cpu": steps / cc_cpu,
        "spiff": steps / sp_wall, "spiff_cpu": steps / sp_cpu,
        "caseclock_raw": cc_raw, "caseclock_raw_cpu": cc_raw_cpu,
        "spiff_raw": sp_raw, "spiff_raw_cpu": sp_raw_cpu,
        "spiff_state_bytes": state_bytes,
    }


def measure(cases: int, syncs: list[str], repeat: int, folder: Path | None = None) -> dict[str, Any]:
    spiff = Spiff()
    base = folder or ROOT / "bench"
    out: dict[str, Any] = {
        "cases": cases, "steps_per_case": len(STEPS), "repeat": repeat,
        "spiffworkflow": spiff.version, "sqlite": sqlite3.sqlite_version,
        "load_average": os.getloadavg()[0], "results": {},
    }
    for sync in syncs:
        runs = []
        for _ in range(repeat):
            with tempfile.TemporaryDirectory(dir=base, prefix=".spiff-") as tmp:
                runs.append(run_once(Path(tmp), sync, cases, spiff))
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        med["ratio"] = statistics.median(r["caseclock"] / r["spiff"] for r in runs)
        med["ratio_cpu"] = statistics.median(r["caseclock_cpu"] / r["spiff_cpu"] for r in runs)
        med["caseclock_vs_raw"] = statistics.median(r["caseclock"] / r["caseclock_raw"] for r in runs)
        med["spiff_vs_raw"] = statistics.median(r["spiff"] / r["spiff_raw"] for r in runs)
        out["results"][sync] = med
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=300, help="N cases on each side")
    ap.add_argument("--sync", action="append", help="FULL and/or NORMAL (default both)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per setting (median reported)")
    ap.add_argument("--dir", default=None, help="folder for the database files (default bench/)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args()
    try:
        res = measure(args.cases, args.sync or ["FULL", "NORMAL"], args.repeat,
                      Path(args.dir) if args.dir else None)
    except ImportError as exc:
        print(f"spiff_compare: {exc}; install the bench extra: .venv/bin/pip install -e '.[bench]'",
              file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    print(f"caseclock vs SpiffWorkflow {res['spiffworkflow']}: {args.cases} cases x {len(STEPS)} steps, "
          f"median of {args.repeat}, Python {platform.python_version()}, SQLite {res['sqlite']}, "
          f"{os.cpu_count()} CPUs, load average {res['load_average']:.2f}")
    print(f"{'sync':<8}{'caseclock/s':>12}{'spiff/s':>9}{'ratio':>7}{'cc cpu/s':>10}{'sp cpu/s':>10}"
          f"{'ratio':>7}{'cc raw/s':>10}{'cc÷raw':>8}{'sp raw/s':>10}{'sp÷raw':>8}{'state B':>9}")
    for sync, r in res["results"].items():
        print(f"{sync:<8}{r['caseclock']:>12,.0f}{r['spiff']:>9,.0f}{r['ratio']:>7.2f}"
              f"{r['caseclock_cpu']:>10,.0f}{r['spiff_cpu']:>10,.0f}{r['ratio_cpu']:>7.2f}"
              f"{r['caseclock_raw']:>10,.0f}{r['caseclock_vs_raw']:>8.2f}{r['spiff_raw']:>10,.0f}"
              f"{r['spiff_vs_raw']:>8.2f}{r['spiff_state_bytes']:>9,.0f}")
    normal = res["results"].get("NORMAL")
    if normal is not None:
        verdict = "met" if normal["ratio"] >= 10 else "MISSED"
        print(f"target caseclock >= 10x SpiffWorkflow with NORMAL: {normal['ratio']:.1f}x, {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
