"""Every benchmark in one command; the results table, with the machine it ran on, goes to the top
of docs/performance.md (section "Summary"; the detailed sections below it are left as they are).

    .venv/bin/python bench/run_all.py            # full sizes (1M cases twice): about 10 minutes here
    .venv/bin/python bench/run_all.py --quick    # small N: about a minute
    .venv/bin/python bench/run_all.py --only spiff,scale --no-write

Needs the bench extra for SpiffWorkflow (``pip install -e '.[bench]'``) and PostgreSQL for the
PostgreSQL rows (``$CASECLOCK_TEST_PG`` or ``--pg``; skipped when unreachable). Each benchmark runs
as its own process, one after the other; a benchmark that fails is reported in the table and the
others still run. Everything talks to 127.0.0.1 only.

| benchmark | script | full | --quick |
| --- | --- | --- | --- |
| store | bench/store_bench.py | 500 cases x 4 transitions, median of 3 | 100 x 4, 1 run |
| spiff | bench/spiff_compare.py | 300 cases each, median of 3 | 50 each, 1 run |
| http | bench/http_load.py | 500 cases, 32 connections, 10 s, 300 req/s | 100 cases, 3 s |
| storm | bench/deadline_storm.py | 100,000 deadlines, batch 200 (the engine default) | 5,000 |
| scale | bench/scale.py | 10k, 100k, 1M open cases, SQLite and PostgreSQL | 2k, 10k |
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sqlite3
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
DOC = ROOT / "docs" / "performance.md"
NAMES = ("store", "spiff", "http", "storm", "scale")


def _run(args: list[str], timeout: float) -> str:
    r = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if r.returncode not in (0, 1):  # the storm exits 1 when it misses escalations: still a result
        raise RuntimeError(f"{' '.join(args)} exited {r.returncode}:\n{r.stderr[-2000:]}")
    return r.stdout


def _json_tail(out: str) -> Any:
    """The JSON document a script printed last (after its progress lines)."""
    starts = [0] + [i + 1 for i, ch in enumerate(out) if ch == "\n"]
    for i in starts:
        if out[i:i + 1] in ("{", "["):
            try:
                return json.loads(out[i:])
            except json.JSONDecodeError:
                continue
    raise ValueError("no JSON in the output")


# --- one function per benchmark: (rows for the table, raw result) ----------------------------------


def bench_store(quick: bool) -> tuple[list[list[str]], Any]:
    args = ["bench/store_bench.py", "--cases", "100" if quick else "500", "--repeat", "1" if quick else "3"]
    out = _run(args, 1800)
    rows, raw = [], {}
    for line in out.splitlines():
        m = re.match(r"(FULL|NORMAL)\s+([\d,]+)\s+([\d,]+)\s+([\d.]+)\s+([\d,]+)\s+([\d,]+)\s+([\d.]+)", line)
        if m:
            sync, eng, raw_, ratio, ecpu, rcpu, rratio = m.groups()
            raw[sync] = {"engine": eng, "raw": raw_, "ratio": ratio, "engine_cpu": ecpu, "raw_cpu": rcpu}
            # issue 20: engine ÷ raw sqlite3 (same statements, same PRAGMAs, one run)
            want = 0.8 if sync == "FULL" else 0.7
            ok = float(ratio) >= want
            rows.append([f"store ({sync})", "Engine.fire on SQLite vs the same statements on raw sqlite3",
                         f"{eng} tx/s (cpu {ecpu}/s); raw {raw_} tx/s (cpu {rcpu}/s)",
                         f"ratio {ratio} (cpu {rratio})",
                         f"ratio ≥ {want} " + ("**met**" if ok else "**missed**")])
    if not rows:
        raise RuntimeError(f"store_bench printed no result:\n{out[-1500:]}")
    return rows, raw


def bench_spiff(quick: bool) -> tuple[list[list[str]], Any]:
    n = "50" if quick else "300"
    res = _json_tail(_run(["bench/spiff_compare.py", "--cases", n, "--repeat", "1" if quick else "3", "--json"],
                          3600))
    rows = []
    for sync, r in res["results"].items():
        target = "≥ 10× Spiff" if sync == "NORMAL" else "(disk-bound: ratio to raw)"
        met = (" **met**" if r["ratio"] >= 10 else " **missed**") if sync == "NORMAL" else ""
        rows.append([
            f"vs SpiffWorkflow {res['spiffworkflow']} ({sync})",
            f"pledge flow, 4 steps × {res['cases']} cases each, one SQLite file",
            f"caseclock {r['caseclock']:,.0f} steps/s, Spiff {r['spiff']:,.0f}/s "
            f"(cpu {r['caseclock_cpu']:,.0f} vs {r['spiff_cpu']:,.0f}); raw sqlite3 of each "
            f"{r['caseclock_raw']:,.0f} / {r['spiff_raw']:,.0f}",
            f"{r['ratio']:.1f}× (cpu {r['ratio_cpu']:.1f}×); ÷raw {r['caseclock_vs_raw']:.2f} / {r['spiff_vs_raw']:.2f}",
            target + met,
        ])
    return rows, res


def bench_http(quick: bool) -> tuple[list[list[str]], Any]:
    args = ["bench/http_load.py", "--cases", "100" if quick else "500", "--seconds", "3" if quick else "10"]
    out = _run(args, 900)
    m1 = re.search(r"= ([\d.]+) transitions/s; p50 ([\d.]+) ms, p99 ([\d.]+) ms; errors (\d+)", out)
    m2 = re.search(r"fixed rate ([\d.]+) req/s: (\d+) transitions; p50 ([\d.]+) ms, p99 ([\d.]+) ms, "
                   r"max ([\d.]+) ms; errors (\d+)", out)
    if not (m1 and m2):
        raise RuntimeError(f"http_load printed no result:\n{out[-1500:]}")
    tps, p50, p99, err = m1.groups()
    rate, n, rp50, rp99, rmax, rerr = m2.groups()
    rows = [
        ["HTTP closed loop", "32 connections firing transitions, SQLite FULL, 1 worker",
         f"{float(tps):,.0f} transitions/s, p50 {p50} ms, p99 {p99} ms, errors {err}", "",
         "≥ 1,000/s " + ("**met**" if float(tps) >= 1000 else "**missed**")],
        [f"HTTP fixed rate {float(rate):,.0f}/s", f"{n} transitions on schedule",
         f"p50 {rp50} ms, p99 {rp99} ms, max {rmax} ms, errors {rerr}", "",
         "p99 < 50 ms " + ("**met**" if float(rp99) < 50 else "**missed**")],
    ]
    return rows, {"closed": m1.groups(), "fixed": m2.groups()}


def bench_storm(quick: bool) -> tuple[list[list[str]], Any]:
    n = 5000 if quick else 100_000
    res = _json_tail(_run(["bench/deadline_storm.py", "--n", str(n), "--batch", "200", "--json"], 3600))
    f = res["fire_ms"]
    rows = [[
        "deadline storm", f"{n:,} deadlines due at once, sweep batch {res['sweep_batch']}, clerks at 50/s",
        f"{res['escalated']:,} escalated in {res['sweep_seconds']} s ({res['escalations_per_second']:,}/s); "
        f"clerks' fire p50 {f['p50']} ms, p99 {f['p99']} ms",
        "", ("100k < 8 s " + ("**met**" if res["sweep_seconds"] < 8 else "**missed**")
             if n >= 100_000 else "(the 100k target needs the full run)")
        + "; p99 < 100 ms " + ("**met**" if res["targets_met"]["fire_p99_under_100ms"] else "**missed**"),
    ]]
    return rows, res


def bench_scale(quick: bool, pg: str | None) -> tuple[list[list[str]], Any]:
    sizes = "2000,10000" if quick else "10000,100000,1000000"
    args = ["bench/scale.py", "--sizes", sizes, "--requests", "10" if quick else "30", "--json"]
    if pg:
        args += ["--pg", pg]
    res = _json_tail(_run(args, 4 * 3600))
    rows = []
    for r in res:
        ok = r["board"]["p95"] < 50 and r["breaches"]["p95"] < 50
        wl = f"; worklist {r['worklist_ms']:,.0f} ms" if "worklist_ms" in r else ""
        rows.append([
            f"scale {r['backend']} {r['cases']:,}", "open cases; board and breach list over HTTP",
            f"board p50 {r['board']['p50']:.1f} / p95 {r['board']['p95']:.1f} ms; breaches p50 "
            f"{r['breaches']['p50']:.1f} / p95 {r['breaches']['p95']:.1f} ms; fire {r['fire']['p50']:.1f} ms"
            f"{wl}; server RSS {r['rss']:.0f} MiB",
            f"db {r['db_mib']:,.0f} MiB",
            "< 50 ms " + ("**met**" if ok else "**missed**"),
        ])
    return rows, res


# --- the machine and the document ----------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        kb = int(next(x for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal")).split()[1])
        mem = f"{kb / 2**20:.0f} GiB"
    except (OSError, StopIteration):
        pass
    pg = "-"
    try:
        pg = subprocess.run(["psql", "--version"], capture_output=True, text=True, timeout=10).stdout.strip() or "-"
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = "?"
    return {"cpu": cpu, "cores": str(os.cpu_count()), "memory": mem, "os": platform.platform(),
            "python": platform.python_version(), "sqlite": sqlite3.sqlite_version, "postgresql": pg,
            "commit": commit}


def summary(rows: list[list[str]], mach: dict[str, str], quick: bool, started: datetime, seconds: float,
            loads: tuple[float, float], failed: dict[str, str]) -> str:
    lines = [
        "## Summary",
        "",
        f"Written by `bench/run_all.py{' --quick' if quick else ''}` on {started:%Y-%m-%d %H:%M} UTC "
        f"({seconds / 60:.0f} min; commit {mach['commit']}). "
        + ("Quick run: small N, figures are indicative only. " if quick else "")
        + "Each row's details and how to reproduce it are in the sections below.",
        "",
        f"Machine: {mach['cpu']}, {mach['cores']} cores, {mach['memory']}; {mach['os']}; Python {mach['python']}, "
        f"SQLite {mach['sqlite']}, {mach['postgresql']}. Load average at the start {loads[0]:.1f}, at the end "
        f"{loads[1]:.1f} (the machine is shared: other sessions' test suites run on it).",
        "",
        "| benchmark | what | result | ratio / size | target |",
        "| --- | --- | --- | --- | --- |",
        *("| " + " | ".join(c.replace("|", "/") for c in r) + " |" for r in rows),
    ]
    if failed:
        lines += ["", "Did not run to the end: " + "; ".join(f"{k}: {v}" for k, v in failed.items())]
    return "\n".join(lines) + "\n"


def write_summary(text: str, doc: Path = DOC) -> None:
    """Put ``text`` (a "## Summary" section) right under the document's title, replacing the
    previous Summary; every other section is kept as it is."""
    body = doc.read_text(encoding="utf-8") if doc.exists() else "# Performance\n"
    lines = body.splitlines(keepends=True)
    title = next((i for i, ln in enumerate(lines) if ln.startswith("# ")), None)
    if title is None:
        lines, title = ["# Performance\n", *lines], 0
    start = next((i for i, ln in enumerate(lines) if ln.strip() == "## Summary"), None)
    if start is not None:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        del lines[start:end]
    at = title + 1
    lines[at:at] = ["\n", text, "\n"]
    out = re.sub(r"\n{3,}", "\n\n", "".join(lines))
    doc.write_text(out, encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small N (minutes, not an hour)")
    ap.add_argument("--only", default=",".join(NAMES), help=f"comma-separated subset of {', '.join(NAMES)}")
    ap.add_argument("--pg", default=os.environ.get("CASECLOCK_TEST_PG"), help="PostgreSQL URL for the scale rows")
    ap.add_argument("--no-write", action="store_true", help="print the summary, leave docs/performance.md alone")
    ap.add_argument("--json", type=Path, default=None, help="also save every raw result to this file")
    args = ap.parse_args()
    wanted = [n for n in args.only.split(",") if n]
    unknown = set(wanted) - set(NAMES)
    if unknown:
        raise SystemExit(f"unknown benchmarks: {', '.join(sorted(unknown))}")
    started, t0, load0 = datetime.utcnow(), time.monotonic(), os.getloadavg()[0]
    rows: list[list[str]] = []
    raw: dict[str, Any] = {}
    failed: dict[str, str] = {}
    for name in NAMES:
        if name not in wanted:
            continue
        print(f"run_all: {name} …", flush=True)
        t = time.monotonic()
        try:
            if name == "scale":
                got, raw[name] = bench_scale(args.quick, args.pg)
            else:
                got, raw[name] = globals()[f"bench_{name}"](args.quick)
            rows += got
        except Exception as exc:  # noqa: BLE001 - one failing benchmark must not hide the others
            failed[name] = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            rows.append([name, "did not run to the end", failed[name], "", ""])
        print(f"run_all: {name} done in {time.monotonic() - t:.0f} s", flush=True)
    text = summary(rows, machine(), args.quick, started, time.monotonic() - t0, (load0, os.getloadavg()[0]),
                   failed)
    print(text)
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "results": raw}, indent=2, default=str),
                             encoding="utf-8")
    if not args.no_write:
        write_summary(text)
        print(f"written to {DOC.relative_to(ROOT)} (section Summary)")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
