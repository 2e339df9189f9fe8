"""Scale benchmark: 10k, 100k, 1M open cases on SQLite and PostgreSQL, the SLA board and the
breach list over HTTP, and how each cost grows.

    .venv/bin/python bench/scale.py                                  # 10k, 100k, 1M; SQLite and PostgreSQL
    .venv/bin/python bench/scale.py --sizes 2000,10000 --backend sqlite   # a quick look
    .venv/bin/python bench/scale.py --json --keep                    # keep the databases for another look

Bounded: requests only to 127.0.0.1, a fixed number of each, each with a timeout.

For each backend one database grows in steps (``bench/scale_seed.py``: demo cases as templates,
cloned in bulk through the store's tables, the board's counters kept in the same transactions).
SQLite: a file in ``bench/`` (or ``--dir``). PostgreSQL: a database ``caseclock_scale`` created on
the server of ``--pg`` (dropped at the end unless ``--keep``). After each step a fresh
``caseclock serve`` process (one worker, no scheduler: nothing else runs) answers, as a
province-level user holding every role:

- ``GET /api/sla/board`` — the counts per org, item and level (``sla_counts``, a few hundred rows);
- ``GET /api/sla/breaches?limit=50`` — the first page, worst first (partial index
  ``ix_cases_open_breaches``), and a narrower one (``level=overdue&org=420500``);
- ``GET /api/cases?limit=50`` — the first page of the case list;
- ``POST /api/cases`` then ``POST …/transitions/accept`` — the write path;
- ``GET /api/worklist?limit=50`` — a clerk's worklist, last, up to ``--worklist-max`` cases (it
  reads every open case the clerk's roles work, then pages: it grows with the cases).

Latencies are client-side over HTTP (keep-alive), p50 and p95 of ``--requests`` each after two
warm-up calls. The server's resident memory (VmRSS) is read after the board, breach, list and
write requests, and again after the worklist.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from http_load import PLEDGE, _cli, _free_port  # noqa: E402  (bench/ is on sys.path: the script's folder)
from scale_seed import seed  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_DB = "caseclock_scale"


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Server:
    def __init__(self, url: str, folder: Path) -> None:
        self.env = {**os.environ, "CASECLOCK_DB": url}
        self.env.pop("CASECLOCK_DEFINITIONS", None)
        self.port = _free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--port", str(self.port), "--log-level", "warning",
             "--no-access-log", "--no-scheduler"],
            cwd=folder, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{self.url}/api/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise SystemExit(f"the server did not start:\n{err}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=20)


def _timed(client: httpx.Client, n: int, method: str, path: str, **kw: Any) -> dict[str, float]:
    for _ in range(2):  # warm-up
        client.request(method, path, **kw).raise_for_status()
    xs = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = client.request(method, path, **kw)
        xs.append((time.perf_counter() - t0) * 1000)
        r.raise_for_status()
    xs.sort()
    return {"p50": statistics.median(xs), "p95": xs[min(len(xs) - 1, int(0.95 * len(xs)))], "max": xs[-1]}


def measure(url: str, folder: Path, token: str, requests: int, worklist: bool) -> dict[str, Any]:
    srv = Server(url, folder)
    out: dict[str, Any] = {}
    try:
        with httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {token}"}, timeout=300) as c:
            out["rss_start"] = rss_mib(srv.proc.pid)
            out["board"] = _timed(c, requests, "GET", "/api/sla/board")
            out["breaches"] = _timed(c, requests, "GET", "/api/sla/breaches", params={"limit": 50})
            out["breaches_narrow"] = _timed(c, requests, "GET", "/api/sla/breaches",
                                            params={"limit": 50, "level": "overdue", "org": "420500"})
            out["cases_page"] = _timed(c, requests, "GET", "/api/cases", params={"limit": 50})
            xs, ys = [], []
            for _ in range(requests):
                t0 = time.perf_counter()
                r = c.post("/api/cases", json=PLEDGE)
                xs.append((time.perf_counter() - t0) * 1000)
                r.raise_for_status()
                case = r.json()
                t0 = time.perf_counter()
                c.post(f"/api/cases/{case['id']}/transitions/accept", json={},
                       headers={"If-Match": f'"{case["version"]}"'}).raise_for_status()
                ys.append((time.perf_counter() - t0) * 1000)
            out["open"] = {"p50": statistics.median(xs), "max": max(xs)}
            out["fire"] = {"p50": statistics.median(ys), "max": max(ys)}
            board = c.get("/api/sla/board").json()
            out["board_total"] = board["totals"]["total"]
            out["rss"] = rss_mib(srv.proc.pid)
            if worklist:  # reads every open case the clerk's roles work: only up to --worklist-max
                t0 = time.perf_counter()
                r = c.get("/api/worklist", params={"limit": 50})
                out["worklist_ms"] = (time.perf_counter() - t0) * 1000
                r.raise_for_status()
                out["rss_after_worklist"] = rss_mib(srv.proc.pid)
    finally:
        srv.stop()
    return out


def _pg_admin(base: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(base.split("?")[0].replace("postgresql+psycopg://", "postgresql://"),
                         autocommit=True) as conn:
        conn.execute(sql)


def _db_size(url: str) -> float:
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 2**20
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        return conn.execute("SELECT pg_database_size(current_database())").fetchone()[0] / 2**20


def run_backend(backend: str, sizes: list[int], folder: Path, pg: str, requests: int, keep: bool,
                worklist: bool, worklist_max: int = 100_000) -> list[dict[str, Any]]:
    if backend == "sqlite":
        url = f"sqlite:///{folder / 'scale.db'}"
    else:
        _pg_admin(pg, f"DROP DATABASE IF EXISTS {PG_DB}")
        _pg_admin(pg, f"CREATE DATABASE {PG_DB}")
        url = pg.rsplit("/", 1)[0] + "/" + PG_DB
    rows = []
    try:
        token = None
        for n in sizes:
            print(f"{backend}: seeding to {n:,} open cases", flush=True)
            s = seed(url, n, quiet=True)
            if token is None:
                env = {**os.environ, "CASECLOCK_DB": url}
                token = _cli("token", "create", "--user", "scale", "--org", "420000",
                             "--roles", "clerk,examiner,supervisor,leader", env=env, timeout=600).strip().splitlines()[-1]
            m = measure(url, folder, token, requests, worklist and n <= worklist_max)
            row = {"backend": backend, "cases": s["open_cases"], "seed_seconds": s["seconds"],
                   "seeded": s["added"], "levels": s["levels"], "db_mib": _db_size(url), **m}
            rows.append(row)
            print(_line(row), flush=True)
    finally:
        if backend == "postgres" and not keep:
            _pg_admin(pg, f"DROP DATABASE IF EXISTS {PG_DB}")
    return rows


HEAD = (f"{'backend':<9}{'open cases':>11}{'seed/s':>8}{'db MiB':>8}{'board p50/p95':>15}"
        f"{'breaches p50/p95':>18}{'narrow p50':>11}{'list p50':>9}{'open p50':>9}{'fire p50':>9}"
        f"{'RSS MiB':>9}{'worklist':>10}")


def _line(r: dict[str, Any]) -> str:
    rate = f"{r['seeded'] / r['seed_seconds']:,.0f}" if r["seeded"] else "-"
    wl = f"{r['worklist_ms']:,.0f} ms" if "worklist_ms" in r else "-"
    return (f"{r['backend']:<9}{r['cases']:>11,}{rate:>8}{r['db_mib']:>8,.0f}"
            f"{r['board']['p50']:>8.1f}/{r['board']['p95']:<6.1f}{r['breaches']['p50']:>11.1f}/{r['breaches']['p95']:<6.1f}"
            f"{r['breaches_narrow']['p50']:>11.1f}{r['cases_page']['p50']:>9.1f}{r['open']['p50']:>9.1f}"
            f"{r['fire']['p50']:>9.1f}{r['rss']:>9.1f}{wl:>10}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000,1000000", help="open cases at each step, ascending")
    ap.add_argument("--backend", action="append", choices=["sqlite", "postgres"],
                    help="sqlite and/or postgres (default both; postgres only when --pg answers)")
    ap.add_argument("--pg", default=os.environ.get("CASECLOCK_TEST_PG", DEFAULT_PG),
                    help="a PostgreSQL URL on the server to use (a database caseclock_scale is created)")
    ap.add_argument("--requests", type=int, default=30, help="requests of each kind per step")
    ap.add_argument("--no-worklist", action="store_true", help="skip the worklist request")
    ap.add_argument("--worklist-max", type=int, default=100_000,
                    help="largest size at which the worklist is requested (it grows with the cases)")
    ap.add_argument("--dir", default=None, help="folder for the SQLite file (default bench/)")
    ap.add_argument("--keep", action="store_true", help="keep the databases")
    ap.add_argument("--json", action="store_true", help="print the rows as JSON at the end")
    args = ap.parse_args()
    sizes = sorted(int(x) for x in args.sizes.split(","))
    backends = args.backend or ["sqlite", "postgres"]
    print(f"caseclock scale: sizes {sizes}, Python {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}")
    print(HEAD)
    base = Path(args.dir) if args.dir else ROOT / "bench"
    rows: list[dict[str, Any]] = []
    folder = Path(tempfile.mkdtemp(dir=base, prefix=".scale-"))
    try:
        for b in backends:
            if b == "postgres":
                try:
                    _pg_admin(args.pg, "SELECT 1")
                except Exception as exc:  # noqa: BLE001 - report and go on with SQLite
                    print(f"postgres: skipped ({exc})")
                    continue
            rows += run_backend(b, sizes, folder, args.pg, args.requests, args.keep, not args.no_worklist,
                                args.worklist_max)
    finally:
        if args.keep:
            print(f"kept: {folder}" + (f" and database {PG_DB}" if "postgres" in backends else ""))
        else:
            shutil.rmtree(folder, ignore_errors=True)
    if args.json:
        print(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
