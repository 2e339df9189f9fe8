"""HTTP load benchmark: transitions per second, and latency at a fixed request rate.

    .venv/bin/python bench/http_load.py                    # starts `caseclock serve` on a fresh SQLite file
    .venv/bin/python bench/http_load.py --sync NORMAL --workers 2
    .venv/bin/python bench/http_load.py --url http://127.0.0.1:8000 --token cc_…   # a running server

Bounded: it talks to 127.0.0.1 only, for a fixed time, with a fixed number of connections.

1. Set-up: ``--cases`` pledge registrations are opened over HTTP (POST /api/cases).
2. Throughput (closed loop): ``--concurrency`` clients fire transitions as fast as the server
   answers for ``--seconds``: each case goes ``accept``, then ``request_supplement`` and
   ``resubmit`` in turn (a pause and a resume: every request is a real transition with its clock
   work, audit event and deadline rows). Reports transitions/s and p50/p99.
3. Fixed rate (open loop), after ``--settle`` seconds of rest: ``--rate`` requests/s for
   ``--seconds``, sent on schedule whether or not earlier ones have returned; latency is measured
   from the scheduled instant (no coordinated omission). Reports p50/p99/max and errors.

The load generator shares the machine with the server; on a 2-core box it takes a good part of
one core, so the figures are a floor.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parents[1]
PLEDGE = {
    "item_id": "patent_pledge_registration",
    "data": {"request_type": "registration", "channel": "paper", "pledgor": "武汉光谷智能装备有限公司",
             "pledgee": "招商银行武汉分行", "patent_numbers": "ZL202310000001.X"},
}
SUPPLEMENT = {"data": {"supplement_items": "质押合同原件"}}


class Http:
    """A small HTTP/1.1 client on asyncio streams: keep-alive connections from a pool, one request
    at a time on each, ``Content-Length`` bodies (what uvicorn sends). A fraction of httpx's CPU per
    request, so the load generator leaves the server most of the machine."""

    def __init__(self, url: str, token: str, max_connections: int = 256) -> None:
        u = urlsplit(url)
        self.host, self.port = u.hostname or "127.0.0.1", u.port or 80
        self.head = f"Host: {self.host}:{self.port}\r\nAuthorization: Bearer {token}\r\n"
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.open = 0
        self.max = max_connections
        self.freed = asyncio.Condition()

    async def _conn(self, fresh: bool = False) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        async with self.freed:
            while not self.idle and self.open >= self.max and not fresh:
                await self.freed.wait()
            if self.idle and not fresh:
                return self.idle.pop()
            self.open += 1
        return await asyncio.open_connection(self.host, self.port)

    async def _release(self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None) -> None:
        async with self.freed:
            if conn is None:
                self.open -= 1
            else:
                self.idle.append(conn)
            self.freed.notify()

    async def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        payload = json.dumps(body).encode() if body is not None else b""
        req = (f"{method} {path} HTTP/1.1\r\n{self.head}Content-Type: application/json\r\n"
               f"Content-Length: {len(payload)}\r\n\r\n").encode() + payload
        try:
            return await self._send(req, await self._conn())
        except (asyncio.IncompleteReadError, ConnectionError):
            # the server closed an idle keep-alive connection before it read the request: again,
            # on a new connection
            return await self._send(req, await self._conn(fresh=True))

    async def _send(self, req: bytes, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> tuple[int, bytes]:
        reader, writer = conn
        try:
            writer.write(req)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            data = await reader.readexactly(length) if length else b""
        except BaseException:
            writer.close()
            await self._release(None)
            raise
        await self._release(conn)
        return status, data

    async def close(self) -> None:
        for _, w in self.idle:
            w.close()


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: dict[int, int] = field(default_factory=dict)

    def add(self, seconds: float, status: int) -> None:
        self.latencies.append(seconds)
        if status >= 400:
            self.errors[status] = self.errors.get(status, 0) + 1

    def pct(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, int(p / 100 * len(xs)))] * 1000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(*args: str, env: dict[str, str], timeout: float = 300) -> str:
    """``caseclock ARGS`` in a subprocess (bench/scale.py uses it too); its output, or exit."""
    r = subprocess.run([sys.executable, "-m", "api.cli", *args], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=timeout)
    if r.returncode != 0:
        raise SystemExit(f"caseclock {' '.join(args)} failed:\n{r.stdout}\n{r.stderr}")
    return r.stdout


def start_server(folder: Path, sync: str, workers: int) -> tuple[subprocess.Popen[bytes], str, str]:
    db = f"sqlite:///{folder / 'bench.db'}"
    # the rate limits stay on (their cost is part of every request) but far above what one load
    # generator sends: the default 200 a second per token would answer most of it 429
    env = {**os.environ, "CASECLOCK_DB": db, "CASECLOCK_SWEEP_SECONDS": "3600",
           "CASECLOCK_RATE_PER_TOKEN": "1000000/s:1000000", "CASECLOCK_RATE_PER_CLIENT": "1000000/s:1000000"}
    env.pop("CASECLOCK_DEFINITIONS", None)
    _cli("db", "upgrade", env=env)
    token = _cli("token", "create", "--user", "bench", "--roles", "clerk,examiner", "--org", "420100",
                 env=env).strip().splitlines()[-1]
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--log-level", "warning",
         "--no-access-log", "--synchronous", sync, "--workers", str(workers), "--no-scheduler"],
        cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                return proc, url, token
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise SystemExit(f"the server did not start:\n{err}")
        time.sleep(0.2)


async def open_cases(client: Http, n: int, concurrency: int) -> list[str]:
    ids: list[str] = []
    sem = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with sem:
            status, body = await client.request("POST", "/api/cases", PLEDGE)
            if status != 201:
                raise SystemExit(f"opening a case failed: {status} {body[:300]!r}")
            ids.append(json.loads(body)["id"])

    await asyncio.gather(*(one() for _ in range(n)))
    return ids


class Cases:
    """Hands out the next transition of each case in turn (accept, then supplement/resubmit)."""

    def __init__(self, ids: list[str]) -> None:
        self.ids = ids
        self.step = dict.fromkeys(ids, 0)
        self.i = 0

    def next(self) -> tuple[str, str, dict | None]:
        cid = self.ids[self.i % len(self.ids)]
        self.i += 1
        k = self.step[cid]
        self.step[cid] = k + 1
        if k == 0:
            return cid, "accept", None
        return (cid, "request_supplement", SUPPLEMENT) if k % 2 == 1 else (cid, "resubmit", None)


async def fire(client: Http, cases: Cases, tally: Tally, started: float | None = None) -> None:
    cid, trigger, body = cases.next()
    t0 = started if started is not None else time.perf_counter()
    status, _ = await client.request("POST", f"/api/cases/{cid}/transitions/{trigger}", body)
    tally.add(time.perf_counter() - t0, status)


async def closed_loop(client: Http, cases: Cases, concurrency: int, seconds: float) -> tuple[Tally, float]:
    tally = Tally()
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < stop:
            await fire(client, cases, tally)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return tally, time.perf_counter() - t0


async def open_loop(client: Http, cases: Cases, rate: float, seconds: float) -> Tally:
    tally = Tally()
    interval = 1.0 / rate
    t0 = time.perf_counter()
    tasks = []
    for k in range(int(rate * seconds)):
        at = t0 + k * interval
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(fire(client, cases, tally, started=at)))
    await asyncio.gather(*tasks)
    return tally


async def main_async(args: argparse.Namespace, url: str, token: str) -> dict[str, float]:
    client = Http(url, token)
    try:
        t0 = time.perf_counter()
        ids = await open_cases(client, args.cases, args.concurrency)
        opened = len(ids) / (time.perf_counter() - t0)
        cases = Cases(ids)
        await closed_loop(client, cases, args.concurrency, min(2.0, args.seconds))  # warm-up
        tally, elapsed = Tally(), 1.0
        if "closed" in args.phases:
            tally, elapsed = await closed_loop(client, cases, args.concurrency, args.seconds)
        fixed = Tally()
        if "rate" in args.phases:
            await asyncio.sleep(args.settle)  # let the saturated server drain (WAL checkpoint, queues)
            fixed = await open_loop(client, cases, args.rate, args.seconds)
    finally:
        await client.close()
    n = len(tally.latencies)
    out = {
        "opened_per_s": opened,
        "transitions": n, "transitions_per_s": n / elapsed, "closed_p50_ms": tally.pct(50),
        "closed_p99_ms": tally.pct(99), "closed_errors": sum(tally.errors.values()),
        "rate": args.rate, "rate_requests": len(fixed.latencies), "rate_p50_ms": fixed.pct(50),
        "rate_p99_ms": fixed.pct(99), "rate_max_ms": max(fixed.latencies) * 1000 if fixed.latencies else 0,
        "rate_errors": sum(fixed.errors.values()),
    }
    if tally.errors or fixed.errors:
        print(f"errors by status: closed {tally.errors}, fixed-rate {fixed.errors}")
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--url", help="a running server on 127.0.0.1 (default: start one)")
    p.add_argument("--token", help="with --url: a token with the clerk and examiner roles")
    p.add_argument("--sync", default="FULL", choices=["FULL", "NORMAL"], help="SQLite synchronous")
    p.add_argument("--workers", type=int, default=1, help="server worker processes")
    p.add_argument("--cases", type=int, default=500)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--rate", type=float, default=300.0, help="requests/s of the fixed-rate phase")
    p.add_argument("--phases", default="closed,rate", help="closed (throughput), rate (fixed rate), or both")
    p.add_argument("--settle", type=float, default=2.0, help="seconds of rest before the fixed-rate phase")
    p.add_argument("--dir", type=Path, help="where the database goes (default: a temporary folder in bench/)")
    args = p.parse_args()
    if args.seconds > 120 or args.cases > 100_000 or args.concurrency > 512 or args.rate > 5000:
        raise SystemExit("bounded: at most 120 s, 100,000 cases, 512 connections, 5,000 requests/s")
    proc = None
    folder = None
    if args.url:
        if not args.url.startswith(("http://127.0.0.1", "http://localhost")):
            raise SystemExit("bounded: 127.0.0.1 only")
        if not args.token:
            raise SystemExit("--url needs --token")
        url, token = args.url, args.token
    else:
        folder = Path(tempfile.mkdtemp(prefix="http-bench-", dir=args.dir or ROOT / "bench"))
        proc, url, token = start_server(folder, args.sync, args.workers)
    try:
        res = asyncio.run(main_async(args, url, token))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; "
          f"SQLite synchronous={args.sync}, {args.workers} worker(s), {args.concurrency} connections")
    print(f"opened {args.cases} cases at {res['opened_per_s']:.0f}/s")
    print(f"closed loop: {res['transitions']} transitions in {args.seconds:.0f} s = "
          f"{res['transitions_per_s']:.0f} transitions/s; p50 {res['closed_p50_ms']:.1f} ms, "
          f"p99 {res['closed_p99_ms']:.1f} ms; errors {res['closed_errors']}")
    print(f"fixed rate {res['rate']:.0f} req/s: {res['rate_requests']} transitions; p50 {res['rate_p50_ms']:.1f} ms, "
          f"p99 {res['rate_p99_ms']:.1f} ms, max {res['rate_max_ms']:.1f} ms; errors {res['rate_errors']}")
    print(f"targets: ≥ 1,000 transitions/s: {'met' if res['transitions_per_s'] >= 1000 else 'missed'}; "
          f"p99 < 50 ms at 300 req/s: {'met' if res['rate_p99_ms'] < 50 and res['rate'] >= 300 else 'missed'}")


if __name__ == "__main__":
    main()
