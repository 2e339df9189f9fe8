"""Deadline storm: N deadlines falling due at once on SQLite, swept while clerks keep working.

    .venv/bin/python bench/deadline_storm.py                 # 100,000 deadlines
    .venv/bin/python bench/deadline_storm.py --n 20000 --batch 100 --json

What it does:

1. seeds N cases of a party-clock item (one ``expired`` deadline each, all due at the same
   instant, 40 days ago) in a fresh SQLite file (``bench.storm_seed``: one case opened through the
   engine, cloned through the store's port), and 200 office cases for the clerks;
2. starts a second *process* of clerks that fires ``hold`` / ``resume`` on those 200 cases at a
   steady pace (``--rate`` per second, default 50) and times every ``Engine.fire`` call;
3. runs ``Engine.sweep()`` in this process until nothing is due, timing it;
4. prints the time to escalate all N, the escalations per second, and the clerks' fire latency
   (p50 / p95 / p99 / max), and checks that N escalations were recorded.

Targets (issue 6): all N escalated in < 20 s; p99 of the concurrent fire calls < 100 ms.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from adapters import build_engine  # noqa: E402
from bench.storm_seed import CLERK, seed, write_items  # noqa: E402
from workflow.legaltime import TZ  # noqa: E402

SEED_AT = datetime.now(TZ) - timedelta(days=40)


def _seed_now() -> datetime:
    return SEED_AT


def clerks(url: str, items: list[str], case_ids: list[str], rate: float, go, stop, out) -> None:
    """The second process: fire hold/resume at ``rate`` per second until ``stop``; time each."""
    engine = build_engine(url, definitions=items)
    state = dict.fromkeys(case_ids, "received")
    latencies: list[float] = []
    errors = 0
    go.wait(120)
    interval = 1.0 / rate
    nxt = time.perf_counter()
    i = 0
    limit = time.monotonic() + 600
    while not stop.is_set() and time.monotonic() < limit:
        cid = case_ids[i % len(case_ids)]
        i += 1
        trigger = "hold" if state[cid] == "received" else "resume"
        t0 = time.perf_counter()
        try:
            engine.fire(cid, trigger, actor=CLERK)
            state[cid] = "on_hold" if trigger == "hold" else "received"
        except Exception:  # noqa: BLE001 - counted, reported
            errors += 1
        latencies.append(time.perf_counter() - t0)
        nxt += interval
        pause = nxt - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        else:
            nxt = time.perf_counter()
    engine.store.dispose()
    out.put({"latencies": latencies, "errors": errors})


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def run(n: int, batch: int, rate: float, folder: Path, synchronous: str) -> dict:
    items = [str(p) for p in write_items(folder)]
    url = f"sqlite:///{folder / 'storm.db'}"
    opts = {"synchronous": synchronous}
    seeder = build_engine(url, definitions=items, now=_seed_now, store_options=opts)
    t0 = time.perf_counter()
    seed(seeder, n, item="storm_answer", progress=lambda k: print(f"\rseeded {k:,}", end="", file=sys.stderr))
    seed_s = time.perf_counter() - t0
    print(file=sys.stderr)
    seeder.store.dispose()

    engine = build_engine(url, definitions=items, store_options=opts)
    office = [engine.open_case("storm_review", actor=CLERK).id for _ in range(200)]

    ctx = mp.get_context("spawn")
    go, stop, out = ctx.Event(), ctx.Event(), ctx.Queue()
    proc = ctx.Process(target=clerks, args=(url, items, office, rate, go, stop, out))
    proc.start()
    time.sleep(2.0)  # let the clerks' process import and connect before the clock starts
    go.set()
    time.sleep(0.5)  # a baseline of fires before the storm
    t0 = time.perf_counter()
    fired = 0
    while True:
        got = engine.sweep(batch=batch)
        fired += len(got)
        if not got:
            break
    sweep_s = time.perf_counter() - t0
    stop.set()
    res = out.get(timeout=120)
    proc.join(30)
    lat = res["latencies"]
    during = lat  # the clerks ran from 0.5 s before the storm until it ended
    return {
        "deadlines": n,
        "escalated": fired,
        "seed_seconds": round(seed_s, 1),
        "sweep_seconds": round(sweep_s, 2),
        "escalations_per_second": round(fired / sweep_s) if sweep_s else None,
        "sweep_batch": batch,
        "synchronous": synchronous,
        "fires": len(during),
        "fire_errors": res["errors"],
        "fire_ms": {
            "p50": round(pct(during, 50) * 1000, 1),
            "p95": round(pct(during, 95) * 1000, 1),
            "p99": round(pct(during, 99) * 1000, 1),
            "max": round(max(during) * 1000, 1) if during else None,
            "mean": round(statistics.fmean(during) * 1000, 1) if during else None,
        },
        "targets_met": {"sweep_under_20s": sweep_s < 20, "fire_p99_under_100ms": pct(during, 99) < 0.1},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000, help="deadlines falling due at once")
    ap.add_argument("--batch", type=int, default=200, help="cases per sweep transaction (the engine default)")
    ap.add_argument("--rate", type=float, default=50.0, help="clerks' fire calls per second")
    ap.add_argument("--synchronous", default="FULL", choices=["FULL", "NORMAL"])
    ap.add_argument("--dir", type=Path, default=None, help="where to put the database (default: a temp dir)")
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="caseclock-storm-") as tmp:
        folder = args.dir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        result = run(args.n, args.batch, args.rate, folder, args.synchronous)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        f = result["fire_ms"]
        print(f"{result['escalated']:,} of {result['deadlines']:,} deadlines escalated in {result['sweep_seconds']} s "
              f"({result['escalations_per_second']:,}/s; batch {result['sweep_batch']}, synchronous={result['synchronous']})")
        print(f"{result['fires']} concurrent fire calls ({result['fire_errors']} errors): "
              f"p50 {f['p50']} ms, p95 {f['p95']} ms, p99 {f['p99']} ms, max {f['max']} ms")
        print(f"targets: sweep < 20 s {'met' if result['targets_met']['sweep_under_20s'] else 'MISSED'}; "
              f"p99 < 100 ms {'met' if result['targets_met']['fire_p99_under_100ms'] else 'MISSED'}")
    return 0 if result["escalated"] == result["deadlines"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
