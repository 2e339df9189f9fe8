"""PostgreSQL restarted under HTTP load: while it is down, requests fail cleanly (503, a problem
document, ``Retry-After``), never a 500 or a dropped connection; once it is back, the same
``caseclock serve`` process answers again, with no restart of its own.

This restarts the shared PostgreSQL server: it runs only with ``CASECLOCK_FAULT_PG_RESTART=1``
(and ``CASECLOCK_TEST_PG``); the restart command is ``$CASECLOCK_PG_RESTART_CMD`` or
``pg_ctlcluster --skip-systemctl-redirect <version> main restart``.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.backends import PgSchema

from .conftest import PLEDGE, PLEDGE_DATA, Serve, make_token

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _restart_command() -> list[str]:
    cmd = os.environ.get("CASECLOCK_PG_RESTART_CMD")
    if cmd:
        return shlex.split(cmd)
    versions = sorted(p.name for p in Path("/etc/postgresql").iterdir()) if Path("/etc/postgresql").is_dir() else []
    if not versions:
        pytest.skip("no PostgreSQL cluster to restart here (/etc/postgresql is empty)")
    return ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "restart"]


@pytest.fixture()
def pg_url() -> str:
    if os.environ.get("CASECLOCK_FAULT_PG_RESTART") != "1":
        pytest.skip("restarts the shared PostgreSQL server: set CASECLOCK_FAULT_PG_RESTART=1 to run it")
    base = os.environ.get("CASECLOCK_TEST_PG")
    if not base:
        pytest.skip("no PostgreSQL: set CASECLOCK_TEST_PG")
    schema = PgSchema(base)
    yield schema.url
    for _ in range(60):  # the server may still be coming back
        try:
            schema.drop()
            return
        except Exception:  # noqa: BLE001
            time.sleep(0.5)


def test_postgres_restart_gives_503_then_recovers(pg_url: str, tmp_path: Path) -> None:
    token = make_token(pg_url, user="clerk", roles="clerk,examiner", org="420100")
    serve = Serve(pg_url, tmp_path, sweep_seconds=1).start()
    statuses: Counter[int] = Counter()
    bad: list[str] = []
    stop = threading.Event()
    phase = {"name": "before"}
    seen: dict[str, Counter[int]] = {"before": Counter(), "during": Counter(), "after": Counter()}

    def load() -> None:
        with httpx.Client(base_url=serve.url, headers={"Authorization": f"Bearer {token}"}, timeout=20) as c:
            while not stop.is_set():
                got = []
                try:
                    got.append(c.post("/api/cases", json={"item_id": PLEDGE, "data": PLEDGE_DATA}))
                    if got[-1].status_code == 201:
                        case = got[-1].json()
                        got.append(c.post(f"/api/cases/{case['id']}/transitions/accept", json={}))
                    got.append(c.get("/api/cases", params={"limit": 5}))
                except httpx.TransportError as exc:
                    bad.append(f"transport error: {exc!r}")
                for resp in got:
                    statuses[resp.status_code] += 1
                    seen[phase["name"]][resp.status_code] += 1
                    if resp.status_code >= 500:
                        if resp.status_code != 503:
                            bad.append(f"{resp.status_code}: {resp.text[:300]}")
                        elif not (resp.headers["content-type"].startswith("application/problem+json")
                                  and resp.json().get("status") == 503 and resp.headers.get("retry-after")):
                            bad.append(f"503 without a problem document: {resp.headers} {resp.text[:300]}")
                time.sleep(0.01)

    threads = [threading.Thread(target=load, daemon=True) for _ in range(3)]
    try:
        for t in threads:
            t.start()
        time.sleep(2)
        phase["name"] = "during"
        t0 = time.monotonic()
        done = subprocess.run(_restart_command(), capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        restart_s = time.monotonic() - t0
        phase["name"] = "after"
        # the same process recovers: a success within 30 s, then only successes
        deadline = time.monotonic() + 30
        while not seen["after"][201]:
            assert time.monotonic() < deadline, f"no recovery after the restart: {seen}"
            time.sleep(0.2)
        seen["after"].clear()
        time.sleep(3)
        stop.set()
        for t in threads:
            t.join(timeout=30)
        assert serve.proc is not None and serve.proc.poll() is None, "caseclock died"
        with httpx.Client(base_url=serve.url, headers={"Authorization": f"Bearer {token}"}, timeout=20) as c:
            assert c.get("/api/cases", params={"limit": 1}).status_code == 200
            assert c.get("/api/sla/board").status_code in (200, 403)
    finally:
        stop.set()
        serve.stop()
    assert not bad, bad[:10]
    assert sum(v for k, v in seen["after"].items() if k >= 500) == 0, seen
    print(f"\nPostgreSQL restart ({restart_s:.1f} s) under load: {dict(statuses)}; during: "
          f"{dict(seen['during'])}; after recovery: {dict(seen['after'])}")
