"""Change-feed benchmark: does a follower keep up with the store's peak write rate?

    .venv/bin/python bench/feed_bench.py                          # SQLite (NORMAL) and PostgreSQL
    .venv/bin/python bench/feed_bench.py --backend sqlite --sync FULL --writers 2 --seconds 20
    .venv/bin/python bench/feed_bench.py --backend postgres --pg postgresql+psycopg://postgres@127.0.0.1:5432/test

For each backend, on a fresh database (a SQLite file in a temporary folder under bench/, or a
fresh schema on the PostgreSQL server, dropped afterwards):

1. **writers alone**: ``--writers`` processes drive pledge cases through ``Engine.fire`` as fast
   as they can for ``--seconds`` (open, accept, request a supplement, resubmit, approve, open
   the next): the store's peak write rate on this machine, in events (history entries) per
   second;
2. **writers and a follower**: the same again while ``caseclock serve`` (one process, no
   scheduler) serves the feed and a follower process pages ``GET /api/changes?limit=1000&wait=5``
   over HTTP from the head of phase 1, as an integrator would. When the writers stop, the follower
   is told the final head and runs until it has it;
3. **reading the history**: a new follower pages the whole feed from the beginning as fast as the
   server answers (the rate a follower that fell behind catches up at).

It prints the write rate of both phases, the follower's rate, how far behind it was (events, at
its worst), the time from a step to the follower holding it (p50, p99, max: the step's ``at``,
taken before its commit, to the moment its page arrived), and how long the follower needed after
the writers stopped. The follower checks that it saw every event once, in feed order.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import select
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PLEDGE = "patent_pledge_registration"
OPEN_DATA = {"channel": "online", "pledgor": "武汉光谷智能装备有限公司", "pledgee": "招商银行武汉分行",
             "patent_numbers": "ZL202310000001.X"}  # what accepting and approving need (issue 16)
STEPS = [("accept", {}), ("request_supplement", {"supplement_items": "补正：质押合同原件"}),
         ("resubmit", {}), ("approve", {})]


# --- the writer and follower processes ------------------------------------------------------------


def writer(url: str, sync: str | None, seconds: float, seed: int) -> None:
    from adapters import build_engine
    from workflow.errors import VersionConflict
    from workflow.model import Actor

    engine = build_engine(url, store_options={"synchronous": sync} if sync else None)
    actor = Actor(f"bench-{seed}", {"clerk", "examiner"}, "420100")
    events = conflicts = 0
    case, step = None, 0
    start, cpu = time.perf_counter(), time.process_time()
    end = start + seconds
    while time.perf_counter() < end:
        try:
            if case is None:
                case, step = engine.open_case(PLEDGE, actor=actor, data=OPEN_DATA).id, 0
            else:
                trigger, data = STEPS[step]
                engine.fire(case, trigger, actor=actor, data=data)
                step += 1
                if step == len(STEPS):
                    case = None
            events += 1
        except VersionConflict:
            conflicts += 1
    took = time.perf_counter() - start
    print(json.dumps({"events": events, "seconds": took, "cpu": time.process_time() - cpu,
                      "conflicts": conflicts}), flush=True)
    engine.store.dispose()


def follower(base: str, token: str, after: str) -> None:
    import httpx

    cursor, seen, pages = after, 0, 0
    lags: list[float] = []
    behind_max = 0
    last_position = int(after or 0)
    final: int | None = None
    told_at = caught_at = None
    start = time.perf_counter()
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        while final is None or last_position < final:
            r = client.get("/api/changes", params={"after": cursor, "limit": 1000, "wait": 5})
            arrived = time.time()
            r.raise_for_status()
            body = r.json()
            pages += 1
            for item in body["items"]:
                position = int(item["cursor"])
                if position <= last_position:
                    raise SystemExit(f"out of order or repeated: {position} after {last_position}")
                last_position = position
                lags.append(arrived - datetime.fromisoformat(item["at"]).timestamp())
            seen += len(body["items"])
            behind_max = max(behind_max, int(body["head"]) - int(body["next"]))
            cursor = body["next"]
            last_position = max(last_position, int(cursor))
            if final is None and select.select([sys.stdin], [], [], 0)[0]:
                final, told_at = int(sys.stdin.readline()), time.perf_counter()
        caught_at = time.perf_counter()
    lags.sort()
    print(json.dumps({
        "seen": seen, "pages": pages, "seconds": caught_at - start,
        "catch_up": caught_at - (told_at or caught_at), "behind_max": behind_max,
        "lag_p50": lags[len(lags) // 2] if lags else 0.0,
        "lag_p99": lags[min(len(lags) - 1, int(len(lags) * 0.99))] if lags else 0.0,
        "lag_max": lags[-1] if lags else 0.0,
    }), flush=True)


# --- the orchestration ------------------------------------------------------------------------------


def _spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, __file__, *args], cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _result(proc: subprocess.Popen[str], timeout: float = 600) -> dict[str, Any]:
    out, err = proc.communicate(timeout=timeout)
    if proc.returncode != 0:
        raise SystemExit(f"a bench process failed:\n{err}")
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _writers(url: str, sync: str | None, n: int, seconds: float, offset: int) -> list[subprocess.Popen[str]]:
    return [_spawn("--role", "writer", "--url", url, "--sync", sync or "", "--seconds", str(seconds),
                   "--seed", str(offset + i)) for i in range(n)]


def _rate(results: list[dict[str, Any]]) -> tuple[int, float]:
    events = sum(r["events"] for r in results)
    return events, events / max(r["seconds"] for r in results)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _serve(url: str, folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    import httpx

    from bench.http_load import _free_port

    port = _free_port()
    env = {**os.environ, "CASECLOCK_DB": url}
    env.pop("CASECLOCK_DEFINITIONS", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--log-level", "warning",
         "--no-access-log", "--no-scheduler"], cwd=folder, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the server did not start:\n{proc.stderr.read().decode() if proc.stderr else ''}")
        time.sleep(0.2)


def run_backend(url: str, sync: str | None, writers: int, seconds: float, folder: Path) -> dict[str, Any]:
    from adapters import build_engine
    from adapters.changes import feed_for
    from api.auth import issue_token
    from api.tokens import tokens_for

    engine = build_engine(url, store_options={"synchronous": sync} if sync else None)  # migrates
    token, _ = issue_token(tokens_for(engine), user="feed-bench", roles="leader", org="420000",
                           now=engine.now(), orgs=engine.orgs)
    feed = feed_for(engine.store)
    # 1. writers alone
    alone = [_result(p) for p in _writers(url, sync, writers, seconds, 0)]
    events_a, rate_a = _rate(alone)
    start_head = feed.head()
    # 2. writers and a follower over HTTP
    server, base = _serve(url, folder)
    try:
        follow = _spawn("--role", "follower", "--base", base, "--token", token, "--after", str(start_head))
        time.sleep(0.5)  # the follower is waiting at the head
        together = [_result(p) for p in _writers(url, sync, writers, seconds, 100)]
        final = feed.head()
        assert follow.stdin is not None
        follow.stdin.write(f"{final}\n")
        follow.stdin.flush()
        f = _result(follow)
        # 3. a new follower reads the whole history (both phases) as fast as it can
        drain = _spawn("--role", "follower", "--base", base, "--token", token, "--after", "")
        assert drain.stdin is not None
        drain.stdin.write(f"{final}\n")
        drain.stdin.flush()
        served = _cpu_seconds(server.pid)
        d = _result(drain)
        served = _cpu_seconds(server.pid) - served
    finally:
        server.terminate()
        server.wait(30)
    events_b, rate_b = _rate(together)
    if f["seen"] != final - start_head or d["seen"] != final:
        raise SystemExit(f"the followers saw {f['seen']} and {d['seen']} events; the writers committed "
                         f"{final - start_head} (of {final})")
    engine.store.dispose()
    return {"writers": writers, "seconds": seconds, "alone_events": events_a, "alone_rate": rate_a,
            "with_events": events_b, "with_rate": rate_b, "follower": f, "history": d["seen"],
            "read_rate": d["seen"] / d["seconds"] if d["seconds"] else 0.0,
            # CPU per event: the writers' own (Engine.fire and the store), the server's to hand it out
            "write_cpu_us": 1e6 * sum(r["cpu"] for r in alone) / max(1, events_a),
            "read_cpu_us": 1e6 * served / max(1, d["seen"])}


def _pg_admin(base: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(base.split("?")[0].replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as c:
        c.execute(sql)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--role", choices=("orchestrate", "writer", "follower"), default="orchestrate")
    ap.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    ap.add_argument("--sync", default="NORMAL", help="SQLite synchronous: FULL or NORMAL")
    ap.add_argument("--writers", type=int, default=None, help="writer processes (default: 2 SQLite, 4 PostgreSQL)")
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--pg", default=os.environ.get("CASECLOCK_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--url"), ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--base"), ap.add_argument("--token"), ap.add_argument("--after", default="")
    args = ap.parse_args()
    if args.role == "writer":
        writer(args.url, args.sync or None, args.seconds, args.seed)
        return 0
    if args.role == "follower":
        follower(args.base, args.token, args.after)
        return 0
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    rows = []
    folder = Path(tempfile.mkdtemp(prefix="feed-", dir=ROOT / "bench"))
    try:
        if args.backend in ("sqlite", "both"):
            url = f"sqlite:///{folder / 'feed.db'}"
            rows.append(("sqlite " + args.sync, run_backend(url, args.sync, args.writers or 2, args.seconds, folder)))
        if args.backend in ("postgres", "both"):
            from tests.backends import with_schema

            schema = f"feed_bench_{uuid.uuid4().hex[:8]}"
            _pg_admin(args.pg, f"CREATE SCHEMA {schema}")
            try:
                url = with_schema(args.pg, schema)
                rows.append(("postgres", run_backend(url, None, args.writers or 4, args.seconds, folder)))
            finally:
                _pg_admin(args.pg, f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    print("| backend | writers | writers alone: events/s | with the follower: events/s | follower: events seen "
          "(pages) | behind at worst | step → follower p50 / p99 / max | catch-up after the writers stop | "
          "reading the history: events/s | CPU per event: written / served |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, r in rows:
        f = r["follower"]
        print(f"| {name} | {r['writers']} | {r['alone_rate']:,.0f} ({r['alone_events']:,} in {r['seconds']:g} s) | "
              f"{r['with_rate']:,.0f} ({r['with_events']:,}) | {f['seen']:,} ({f['pages']}) | "
              f"{f['behind_max']:,} events | {f['lag_p50'] * 1000:,.0f} / {f['lag_p99'] * 1000:,.0f} / "
              f"{f['lag_max'] * 1000:,.0f} ms | {f['catch_up']:.2f} s | {r['read_rate']:,.0f} ({r['history']:,}) | "
              f"{r['write_cpu_us']:,.0f} / {r['read_cpu_us']:,.0f} µs |")
    print(json.dumps({name: r for name, r in rows}, default=str), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
