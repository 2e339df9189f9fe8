"""Case search at scale (issue 16): ``GET /api/cases?q=`` over HTTP at 1,000,000 cases, SQLite and
PostgreSQL.

    .venv/bin/python bench/search_bench.py                         # 1M cases, both backends
    .venv/bin/python bench/search_bench.py --cases 100000 --backend sqlite   # a quicker look
    .venv/bin/python bench/search_bench.py --db sqlite:///big.db --cases 1000000  # seed (or reuse) this one
    .venv/bin/python bench/search_bench.py --db sqlite:///big.db --cases 0 --no-rebuild  # ask it as it is
    .venv/bin/python bench/search_bench.py --db sqlite:///big.db --in-process  # the store itself: which way, what cost

Targets: by number p95 < 20 ms, by a name's first characters p95 < 100 ms, on both stores.

1. Seed (``bench/scale_seed.py``): the demo's cases cloned in bulk, each clone with party names
   of its own (``bench/parties.py``: ~200,000 companies of Hubei's cities drawn with a skew,
   bank branches as pledgees, some persons) and its ``case_search`` row. Incremental: a database
   that already has the cases is reused.
2. Queries: ``--queries`` cases drawn at random; for each, as a clerk of that case's city (the
   org scope every clerk has), one request of each kind, ``limit=50``:
   - ``number``: the whole case number;
   - ``number part``: its last seven characters (the serial);
   - ``number inner``: from the org on, with the serial's first digits (``420100-2026-0001``:
     a part of the number, ``case_number_parts``), a few hundred cases;
   - ``org and year``: ``420100-2026``, every case of the org that year (a part too);
   - ``name start``: the first 2, 3 or 4 characters (a third each) of one of its party names —
     a city's name alone (``武汉``) matches a large share of the cases, a brand's first characters
     a few hundred or thousand;
   - ``name part``: four characters from inside a company's name (brand and trade, ``长飞智能``).
   Each is checked: the first page holds the case (by number) or only cases that match.
3. Before the queries, every search row is written again (``adapters/sql/search.py``'s
   ``rebuild``, what migration 0007 does to a database that has cases), timed: the seeder's
   clones come in no order of opening, cases opened one by one (and the migration's backfill) lay
   their rows in page order, which the walk of a common query reads. Then ANALYZE, the index's
   size.

A fresh ``caseclock serve`` (one worker, no scheduler) answers; latencies are client-side, p50
and p95, after one warm-up request of each kind.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scale import Server, _db_size, _pg_admin  # noqa: E402
from bench.scale_seed import seed  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_DB = "caseclock_search"  # created on the server of --pg, dropped at the end unless --keep
TARGETS = {"number": 20.0, "number part": 20.0, "number inner": 20.0, "org and year": 20.0, "name start": 100.0}


def _tokens(url: str, orgs: set[str]) -> dict[str, str]:
    from adapters import build_engine
    from api.auth import issue_token
    from api.tokens import tokens_for

    engine = build_engine(url)
    try:
        store = tokens_for(engine)
        return {org: issue_token(store, user=f"search.{org}", roles="clerk", org=org, now=engine.now(),
                                 orgs=engine.orgs)[0] for org in sorted(orgs)}
    finally:
        engine.store.dispose()


def _sample(url: str, n: int, seed_: int) -> list[dict[str, Any]]:
    """``n`` cases at random: id, number, org, and the names in their searchable fields."""
    from adapters import build_engine

    engine = build_engine(url)
    store = engine.store
    try:
        with store.unit_of_work() as uow:
            low, high = uow.fetch_one("SELECT MIN(id), MAX(id) FROM case_search")
            rng = random.Random(seed_)
            out: list[dict[str, Any]] = []
            data = "c.data" if store.is_sqlite else "CAST(c.data AS text)"
            sql = uow.d.prepare(f"SELECT c.id, c.number, c.org, c.item_id, {data} FROM case_search s "
                                "JOIN cases c ON c.id = s.case_id WHERE s.id >= :id ORDER BY s.id LIMIT 1")
            seen: set[str] = set()
            while len(out) < n:
                row = uow.fetch_one(sql, {"id": rng.randint(low, high)})
                if row is None or row[0] in seen:
                    continue
                seen.add(row[0])
                names = [str(v) for f in store.search.fields.get(row[3], ()) if (v := json.loads(row[4]).get(f))]
                if names:
                    out.append({"id": row[0], "number": row[1], "org": row[2], "names": names})
        return out
    finally:
        store.dispose()


def _queries(cases: list[dict[str, Any]], seed_: int) -> list[tuple[str, dict[str, Any], str]]:
    rng = random.Random(seed_)
    out = []
    for c in cases:
        name = rng.choice(c["names"])
        out.append(("number", c, c["number"]))
        out.append(("number part", c, c["number"][-7:]))
        inner = c["number"].split("-", 1)[1]  # 420100-2026-0001234: from the org on
        out.append(("number inner", c, inner[:16]))  # the org, the year, the serial's first digits
        out.append(("org and year", c, inner[:11]))  # 420100-2026: every case of the org that year
        out.append(("name start", c, name[: rng.choice((2, 3, 4))]))
        companies = [x for x in c["names"] if x.endswith("公司") and len(x) >= 8]
        if companies:
            x = rng.choice(companies)
            out.append(("name part", c, x[2:6]))
    rng.shuffle(out)
    return out


def measure(url: str, folder: Path, n_queries: int, seed_: int) -> dict[str, Any]:
    from workflow.search import normalize

    cases = _sample(url, n_queries, seed_)
    tokens = _tokens(url, {c["org"] for c in cases})
    queries = _queries(cases, seed_)
    srv = Server(url, folder)
    times: dict[str, list[float]] = {}
    more: dict[str, int] = {}
    try:
        clients = {org: httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {t}"}, timeout=120)
                   for org, t in tokens.items()}
        warmed: set[str] = set()
        for kind, case, q in queries:
            client = clients[case["org"]]
            params = {"q": q, "limit": 50}
            if kind not in warmed:
                client.get("/api/cases", params=params).raise_for_status()
                warmed.add(kind)
            t0 = time.perf_counter()
            r = client.get("/api/cases", params=params)
            ms = (time.perf_counter() - t0) * 1000
            r.raise_for_status()
            body = r.json()
            for k in ((kind, f"{kind} {len(normalize(q))}") if kind == "name start" else (kind,)):
                times.setdefault(k, []).append(ms)  # name start: also by its length (2, 3, 4)
                more[k] = more.get(k, 0) + (body["next"] is not None)
            if kind == "number":
                assert [c["id"] for c in body["items"]] == [case["id"]], (q, body["items"][:3])
            needle = normalize(q)
            for item in body["items"]:
                assert case["org"] == "420000" or item["org"] == case["org"], (q, item["org"])  # the scope
                if kind.startswith("number"):
                    assert needle in normalize(item["number"]), (q, item["number"])
        for c in clients.values():
            c.close()
    finally:
        srv.stop()
    return {kind: {**_spread(xs), "more_pages": more[kind]} for kind, xs in sorted(times.items())}


def _spread(xs: list[float]) -> dict[str, Any]:
    """n, p50, p95, p99 and max of some latencies."""
    xs = sorted(xs)
    return {"n": len(xs), "p50": statistics.median(xs), "p95": xs[min(len(xs) - 1, int(0.95 * len(xs)))],
            "p99": xs[min(len(xs) - 1, int(0.99 * len(xs)))], "max": xs[-1]}


def measure_in_process(url: str, n_queries: int, seed_: int, slowest: int = 5, wall: bool = False) -> dict[str, Any]:
    """The same queries asked of the store itself (``query_cases`` in a unit of work, no HTTP, no
    case views), each timed with the statements it ran: which way each kind takes, and what it
    costs. SQLite in CPU time of this process (the load of other processes hardly moves it),
    PostgreSQL (the server is another process), or with ``wall``, in wall time."""
    from adapters import build_engine
    from workflow.ports import CaseQuery
    from workflow.search import normalize

    clock = time.perf_counter if wall or url.startswith("postgres") else time.process_time
    cases = _sample(url, n_queries, seed_)
    queries = _queries(cases, seed_)
    engine = build_engine(url)
    store = engine.store
    times: dict[str, list[float]] = {}
    slow: list[tuple[float, str, str, list[tuple[float, str]]]] = []
    try:
        for kind, case, q in queries:
            with store.unit_of_work() as uow:
                statements: list[tuple[float, str]] = []
                run_all = uow._all

                def traced(sql: str, params: Any, write: bool = False, _run: Any = run_all,
                           _out: list[tuple[float, str]] = statements) -> Any:
                    t = clock()
                    rows = _run(sql, params, write=write)
                    _out.append(((clock() - t) * 1000, " ".join(sql.split())[:100]))
                    return rows

                uow._all = traced
                t0 = clock()
                uow.query_cases(CaseQuery(q=q, orgs=frozenset({case["org"]}), limit=50))
                ms = (clock() - t0) * 1000
            k = f"{kind} {len(normalize(q))}" if kind == "name start" else kind
            for key in {kind, k}:
                times.setdefault(key, []).append(ms)
            slow.append((ms, k, q, statements))
    finally:
        store.dispose()
    out: dict[str, Any] = {kind: _spread(xs) for kind, xs in sorted(times.items())}
    slow.sort(key=lambda x: -x[0])
    out["slowest"] = [{"ms": round(ms, 1), "kind": k, "q": q, "statements": [[round(t, 1), sql] for t, sql in st]}
                      for ms, k, q, st in slow[:slowest]]
    return out


def index_facts(url: str) -> dict[str, Any]:
    """Rebuild every search row (timed), then the rows and the index's size."""
    from adapters import build_engine
    from adapters.sql import search

    engine = build_engine(url)
    store = engine.store
    try:
        t0 = time.perf_counter()
        rebuilt = search.rebuild(store, force=True)
        seconds = time.perf_counter() - t0
        with store.unit_of_work() as uow:
            uow.execute("ANALYZE")
            uow.commit()
        with store.unit_of_work() as uow:
            rows = uow.fetch_one("SELECT COUNT(*) FROM case_search")[0]
            if store.is_sqlite:
                size = {name: uow.fetch_one("SELECT SUM(pgsize) FROM dbstat WHERE name = :n", {"n": name})[0] or 0
                        for name in ("case_search", "ix_case_search_opened", "ix_case_search_number",
                                     "ix_case_search_rnumber", "sqlite_autoindex_case_search_1",
                                     "case_search_fts_data", "case_search_fts_idx", "case_search_fts_docsize",
                                     "case_heads",
                                     "case_number_parts", "ix_case_number_parts_part")}
            else:
                size = {name: uow.fetch_one(uow.d.prepare("SELECT pg_relation_size(CAST(:n AS regclass))"),
                                            {"n": name})[0]
                        for name in ("case_search", "ix_case_search_opened", "ix_case_search_number",
                                     "ix_case_search_rnumber", "case_search_case_id_key", "ix_case_search_trgm",
                                     "case_heads", "case_heads_pkey",
                                     "case_number_parts", "ix_case_number_parts_part")}
        return {"rows": rows, "mib": {k: round(v / 2**20, 1) for k, v in size.items()},
                "rebuild_cases": rebuilt, "rebuild_seconds": round(seconds, 1)}
    finally:
        store.dispose()


def _count(url: str) -> int:
    from adapters import build_engine

    engine = build_engine(url)
    try:
        with engine.store.unit_of_work() as uow:
            return int(uow.fetch_one("SELECT COUNT(*) FROM case_search")[0])
    finally:
        engine.store.dispose()


def run(backend: str, url: str, cases: int, folder: Path, n_queries: int, seed_: int, rebuild: bool) -> dict[str, Any]:
    if cases:
        print(f"{backend}: seeding to {cases:,} cases", flush=True)
        s = seed(url, cases, quiet=True)
        print(f"{backend}: {s['open_cases']:,} cases ({s['added']:,} added in {s['seconds']:.0f} s)", flush=True)
    else:  # --cases 0: the database as it is (seeded before, with bench/scale_seed.py)
        s = {"open_cases": _count(url)}
        print(f"{backend}: {s['open_cases']:,} cases as they are", flush=True)
    row: dict[str, Any] = {"backend": backend, "cases": s["open_cases"]}
    if rebuild:  # what migration 0007 does to a database that has cases (and lays the rows in page order)
        row["index"] = index_facts(url)
        print(f"  index: {row['index']}", flush=True)
    row["db_mib"] = round(_db_size(url))
    row["load_before"] = os.getloadavg()
    row["latency"] = measure(url, folder, n_queries, seed_)
    row["load_after"] = os.getloadavg()
    print(f"  load average before {row['load_before'][0]:.2f}, after {row['load_after'][0]:.2f} "
          f"(1 min; 5 min {row['load_after'][1]:.2f})", flush=True)
    for kind, m in row["latency"].items():
        target = TARGETS.get(kind)
        verdict = "" if target is None else ("  met" if m["p95"] < target else "  NOT met") + f" (< {target:.0f} ms)"
        print(f"  {kind:<14} n={m['n']:<4} p50 {m['p50']:6.1f}  p95 {m['p95']:6.1f}  p99 {m['p99']:6.1f}  max {m['max']:6.1f} ms"
              f"  more pages {m['more_pages']}{verdict}", flush=True)
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--backend", action="append", choices=["sqlite", "postgres"])
    ap.add_argument("--pg", default=os.environ.get("CASECLOCK_TEST_PG", DEFAULT_PG),
                    help=f"a PostgreSQL URL on the server to use (a database {PG_DB} is created)")
    ap.add_argument("--db", default=None, help="use (and seed) this database instead")
    ap.add_argument("--queries", type=int, default=200, help="cases drawn; one query of each kind each")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--no-rebuild", action="store_true", help="skip timing a rebuild of every search row")
    ap.add_argument("--keep", action="store_true", help="keep the databases")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--in-process", action="store_true",
                    help="with --db: ask the store itself, no HTTP; per kind, and the slowest queries' statements")
    ap.add_argument("--wall", action="store_true", help="with --in-process on SQLite: wall time, not CPU time")
    args = ap.parse_args()
    print(f"caseclock search bench: {args.cases:,} cases, Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}", flush=True)
    folder = ROOT / "bench"
    rows = []
    if args.in_process:
        if not args.db:
            ap.error("--in-process needs --db (a database seeded before, asked as it is)")
        found = measure_in_process(args.db, args.queries, args.seed, wall=args.wall)
        unit = "wall" if args.wall or args.db.startswith("postgres") else "CPU"
        for kind, m in found.items():
            if kind != "slowest":
                print(f"  {kind:<14} n={m['n']:<4} p50 {m['p50']:6.1f}  p95 {m['p95']:6.1f}  max {m['max']:6.1f} ms ({unit})")
        for q in found["slowest"]:
            print(f"  {q['ms']:6.1f} ms  {q['kind']:<14} {q['q']!r}")
            for t, sql in q["statements"]:
                print(f"      {t:6.1f}  {sql}")
        if args.json:
            print(json.dumps(found, indent=2, ensure_ascii=False))
        return 0
    if args.db:
        backend = "postgres" if args.db.startswith("postgres") else "sqlite"
        rows.append(run(backend, args.db, args.cases, folder, args.queries, args.seed, not args.no_rebuild))
    else:
        for backend in args.backend or ["sqlite", "postgres"]:
            if backend == "sqlite":
                path = folder / ".search.db"
                url = f"sqlite:///{path}"
                try:
                    rows.append(run(backend, url, args.cases, folder, args.queries, args.seed, not args.no_rebuild))
                finally:
                    if not args.keep:
                        for p in folder.glob(".search.db*"):  # the file, its WAL, its attachments folder
                            shutil.rmtree(p) if p.is_dir() else p.unlink()
            else:
                _pg_admin(args.pg, f"DROP DATABASE IF EXISTS {PG_DB}")
                _pg_admin(args.pg, f"CREATE DATABASE {PG_DB}")
                url = args.pg.rsplit("/", 1)[0] + "/" + PG_DB
                try:
                    rows.append(run(backend, url, args.cases, folder, args.queries, args.seed, not args.no_rebuild))
                finally:
                    if not args.keep:
                        _pg_admin(args.pg, f"DROP DATABASE IF EXISTS {PG_DB}")
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
