"""Fault tests: ``caseclock serve`` as a real process on 127.0.0.1, killed, restarted, starved of
its database, fed malformed input. Every loop here is bounded in count and in time."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
PLEDGE = "patent_pledge_registration"
PLEDGE_DATA = {"request_type": "registration", "channel": "paper", "pledgor": "武汉光谷智能装备有限公司",
               "pledgee": "招商银行武汉分行", "patent_numbers": "ZL202310000001.X"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Serve:
    """``python -m api.cli serve`` on a free port of 127.0.0.1 (its own process group)."""

    def __init__(self, db: str, folder: Path, *, scheduler: bool = True, sweep_seconds: float = 1.0,
                 extra_env: dict[str, str] | None = None, args: list[str] | None = None) -> None:
        self.db, self.folder = db, folder
        self.args = list(args or [])  # more options for ``serve``
        self.env = {**os.environ, "CASECLOCK_DB": db, "CASECLOCK_SWEEP_SECONDS": str(sweep_seconds),
                    **(extra_env or {})}
        self.env.pop("CASECLOCK_DEFINITIONS", None)
        self.scheduler = scheduler
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.log = folder / "serve.log"

    def start(self, timeout: float = 60) -> Serve:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        args = [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--log-level", "warning",
                "--no-access-log"]
        if not self.scheduler:
            args.append("--no-scheduler")
        args += self.args
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(args, cwd=self.folder, env=self.env, stdout=log, stderr=log,
                                         start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{self.url}/api/health", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"serve did not start:\n{self.log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no shutdown handler, no flush, no goodbye."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=20)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=20)


def make_token(db: str, *, user: str, roles: str, org: str, **kw: object) -> str:
    """An API token in the database (made in this process, as ``caseclock token create`` would)."""
    from adapters import build_engine
    from api.auth import issue_token
    from api.tokens import tokens_for

    engine = build_engine(db)
    try:
        token, _ = issue_token(tokens_for(engine), user=user, roles=roles, org=org, now=engine.now(),
                               orgs=engine.orgs, **kw)  # type: ignore[arg-type]
        return token
    finally:
        engine.store.dispose()
