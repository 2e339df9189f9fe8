"""Profile of the transition request in-process: the ASGI app called directly (no sockets, no
uvicorn), the route ``bench/http_load.py`` drives (``POST /api/cases/{id}/transitions/{trigger}``).

    .venv/bin/python bench/profile_http.py                      # opcodes and CPU a request, then cProfile's top 30
    .venv/bin/python bench/profile_http.py --requests 600 --sort cumulative --top 40
    .venv/bin/python bench/profile_http.py --no-profile        # only the counts

A fresh SQLite file (``synchronous=NORMAL``), the app as ``caseclock serve`` builds it (metrics,
body limit, rate limits on: the per-token and per-client rates raised so that nothing is refused
in-process), one token with the clerk and examiner roles. ``--cases`` pledge registrations are
opened first (not measured), then each goes ``accept``, then ``request_supplement`` (with a body)
and ``resubmit`` in turn, as in ``http_load.py``; the requests are sent one after another.

Only the event loop's thread is measured: the engine runs on a worker thread (``api.deps.write``),
so what is counted is the HTTP side of a request: routing, middleware, dependencies, validation,
authentication, the JSON response. Printed: Python bytecodes a request on that thread (sys.settrace
with opcode events: other processes' load cannot change it; code in C counts as the one
instruction that calls it), its CPU time a request (``time.thread_time``), and the process's CPU
time a request (both threads), then cProfile's top entries for the loop thread.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from http_load import PLEDGE, SUPPLEMENT  # noqa: E402  (the same cases and bodies as the HTTP bench)

from api.app import create_app  # noqa: E402
from api.auth import issue_token  # noqa: E402
from api.ratelimit import Rate, RateLimits  # noqa: E402
from api.runtime import make_engine  # noqa: E402
from api.settings import ApiSettings  # noqa: E402


class _Opcodes:
    """Python bytecodes executed on the thread that enables it (sys.settrace, opcode events),
    in all and by function (the function's own, not its callees')."""

    def __init__(self) -> None:
        self.n = 0
        self.by: dict[Any, int] = {}

    def __call__(self, frame, event, arg):  # type: ignore[no-untyped-def]
        frame.f_trace_opcodes = True
        if event == "opcode":
            self.n += 1
            code = frame.f_code
            self.by[code] = self.by.get(code, 0) + 1
        return self

    def top(self, n: int, requests: int) -> str:
        rows = sorted(self.by.items(), key=lambda kv: -kv[1])[:n]
        out = []
        for code, count in rows:
            where = code.co_filename.split("site-packages/")[-1].replace(str(ROOT) + "/", "")
            out.append(f"{count / requests:9,.0f}  {where}:{code.co_firstlineno}({code.co_name})")
        groups: dict[str, int] = {}
        for code, count in self.by.items():
            f = code.co_filename.split("site-packages/")[-1].replace(str(ROOT) + "/", "")
            key = f.split("/")[0] if "/" in f and not f.startswith("/") else ("stdlib" if f.startswith("/") else f)
            if key == "api":
                key = f
            groups[key] = groups.get(key, 0) + count
        out.append("by package (api/ by module):")
        out += [f"{c / requests:9,.0f}  {g}" for g, c in sorted(groups.items(), key=lambda kv: -kv[1])[:20]]
        return "\n".join(out)

    def enable(self) -> None:
        sys.settrace(self)

    def disable(self) -> None:
        sys.settrace(None)


class Client:
    """Calls the ASGI app as uvicorn would: one ``http`` scope, the body in one message."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self.auth = f"Bearer {token}".encode()

    async def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, bytes]:
        payload = json.dumps(body).encode() if body is not None else b""
        headers = [(b"host", b"127.0.0.1:8000"), (b"authorization", self.auth),
                   (b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        scope = {
            "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
            "method": method, "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
            "root_path": "", "headers": headers, "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8000),
            "state": {},
        }
        sent = False
        status = 0
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": payload, "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, b"".join(chunks)


class Steps:
    def __init__(self, ids: list[str]) -> None:
        self.ids = ids
        self.step = dict.fromkeys(ids, 0)
        self.i = 0

    def next(self) -> tuple[str, dict[str, Any] | None]:
        cid = self.ids[self.i % len(self.ids)]
        self.i += 1
        k = self.step[cid]
        self.step[cid] = k + 1
        if k == 0:
            return f"/api/cases/{cid}/transitions/accept", None
        if k % 2 == 1:
            return f"/api/cases/{cid}/transitions/request_supplement", SUPPLEMENT
        return f"/api/cases/{cid}/transitions/resubmit", None


async def _fire(client: Client, steps: Steps, n: int, on: Callable[[], None], off: Callable[[], None]) -> None:
    for _ in range(n):
        path, body = steps.next()
        on()
        status, out = await client.request("POST", path, body)
        off()
        if status != 200:
            raise SystemExit(f"{path}: {status} {out[:300]!r}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=100)
    ap.add_argument("--requests", type=int, default=300, help="transitions measured in each pass")
    ap.add_argument("--repeat", type=int, default=3, help="timed passes (CPU: the least and the median)")
    ap.add_argument("--sort", default="tottime", choices=["tottime", "cumulative"])
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--opcode-top", type=int, default=0, help="print the functions with the most bytecodes")
    ap.add_argument("--no-opcodes", action="store_true", help="skip the bytecode-counting pass")
    ap.add_argument("--no-profile", action="store_true", help="skip the cProfile pass")
    ap.add_argument("--out", type=Path, help="write the cProfile stats here")
    args = ap.parse_args()
    if args.cases > 10_000 or args.requests > 20_000 or not 1 <= args.repeat <= 20:
        raise SystemExit("bounded: at most 10,000 cases, 20,000 requests, 20 passes")
    with tempfile.TemporaryDirectory(prefix="profile-http-", dir=ROOT / "bench") as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'http.db'}", synchronous="NORMAL", env={})
        fast = Rate(per_second=1e9, burst=10**9)
        app = create_app(engine, ApiSettings(rate_limits=RateLimits(per_token=fast, per_client=fast)))
        token, _ = issue_token(app.state.ctx.tokens, user="bench", roles="clerk,examiner", org="420100",
                               now=engine.now())
        client = Client(app, token)
        loop = asyncio.new_event_loop()
        try:
            ids = []
            for _ in range(args.cases):
                status, out = loop.run_until_complete(client.request("POST", "/api/cases", PLEDGE))
                if status != 201:
                    raise SystemExit(f"opening a case failed: {status} {out[:300]!r}")
                ids.append(json.loads(out)["id"])
            steps = Steps(ids)
            n = args.requests
            loop.run_until_complete(_fire(client, steps, min(n, 50), lambda: None, lambda: None))  # warm-up

            counter = _Opcodes()
            if not args.no_opcodes:
                loop.run_until_complete(_fire(client, steps, n, counter.enable, counter.disable))

            loop_cpu = [0.0]
            t = [0.0]

            def start() -> None:
                t[0] = time.thread_time()

            def stop() -> None:
                loop_cpu[0] += time.thread_time() - t[0]

            loops, procs = [], []
            for _ in range(args.repeat):
                loop_cpu[0] = 0.0
                p0 = time.process_time()
                loop.run_until_complete(_fire(client, steps, n, start, stop))
                procs.append((time.process_time() - p0) / n)
                loops.append(loop_cpu[0] / n)

            prof = None
            if not args.no_profile:
                prof = cProfile.Profile(time.thread_time)
                loop.run_until_complete(_fire(client, steps, n, prof.enable, prof.disable))
        finally:
            loop.close()
            engine.store.dispose()
    load = os.getloadavg()[0]
    print(f"{n} transitions a pass, {args.cases} cases; load average {load:.2f}")
    print(f"event-loop thread: {counter.n / n:,.0f} bytecodes a request; CPU a request, least / median of "
          f"{args.repeat} passes: {min(loops) * 1e6:,.0f} / {statistics.median(loops) * 1e6:,.0f} µs")
    print(f"process (loop + engine thread): CPU a request, least / median: {min(procs) * 1e6:,.0f} / "
          f"{statistics.median(procs) * 1e6:,.0f} µs")
    if args.opcode_top:
        print(f"\nbytecodes a request by function (own), top {args.opcode_top}:")
        print(counter.top(args.opcode_top, n))
        print()
    if prof is not None:
        if args.out:
            prof.dump_stats(str(args.out))
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats(args.sort).print_stats(args.top)
        print(buf.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
