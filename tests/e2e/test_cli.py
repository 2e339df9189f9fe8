"""The ``caseclock`` command: every subcommand on a real SQLite file, and ``serve`` as a process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from api.cli import app

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
runner = CliRunner()


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    r = runner.invoke(app, list(args), env=env)
    return r.exit_code, r.output


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    db = f"sqlite:///{tmp_path_factory.mktemp('cli') / 'demo.db'}"
    code, out = run("demo", "--db", db, "--cases", "40", "--seed", "3")
    assert code == 0, out
    # 40, 10 showcase cases (one per level in two cities, and a dispute filed today in each: 暂定
    # dates into next year) and 11 online applications
    assert "opened 61 cases" in out and "open cases by SLA level" in out
    assert out.count("cc_") == 7  # the demo tokens, the portal's among them
    assert "online applications: 11, 7 rated" in out
    return db


def test_demo_fills_orgs_items_and_colours(demo_db: str) -> None:
    from adapters import build_engine

    engine = build_engine(demo_db)
    cases = engine.list_cases()
    # a bundle opens its children too; two 差评 opened their rectifications
    assert len([c for c in cases if c.parent_id is None]) == 61 + 2
    assert len([c for c in cases if c.item_id == "rating_rectification"]) == 2
    assert len({c.org for c in cases}) >= 3 and len({c.item_id for c in cases}) >= 4
    assert any(c.closed_at is not None for c in cases)
    for org in ("420100", "420500"):
        levels = {c.sla for c in cases if c.closed_at is None and c.org == org}
        assert {"on_track", "warning", "overdue", "over_statutory"} <= levels, (org, levels)
        # 督办 on the board: one answered, one waiting within its days, one past them (escalated)
        orders = engine.orders(org=org)
        now = engine.now()
        assert sorted((o.status, o.overdue_at(now)) for o in orders) == \
            [("answered", False), ("open", False), ("open", True)], (org, orders)


def test_token_create_prints_the_token_last(demo_db: str) -> None:
    code, out = run("token", "create", "--db", demo_db, "--user", "t1", "--roles", "clerk", "--org", "420100")
    assert code == 0, out
    assert out.strip().splitlines()[-1].startswith("cc_")
    code, out = run("token", "list", "--db", demo_db)
    assert code == 0 and "t1" in out


def test_sweep_report_calendar_audit_db(demo_db: str, tmp_path: Path) -> None:
    code, out = run("sweep", "--db", demo_db)
    assert code == 0 and "escalations" in out
    code, out = run("report", "--db", demo_db, "--format", "json")
    assert code == 0, out
    assert "lines" in json.loads(out)
    target = tmp_path / "r.xlsx"
    code, out = run("report", "--db", demo_db, "--format", "xlsx", "--out", str(target))
    assert code == 0 and target.read_bytes()[:2] == b"PK"
    code, out = run("report", "--db", demo_db)
    assert code == 0 and "（合计）" in out
    code, out = run("report", "--db", demo_db, "--month", "2024-13")
    assert code == 1 and "YYYY-MM" in out
    code, out = run("calendar", "status", "--db", demo_db)
    assert code == 0 and "official: 2004" in out
    from adapters import build_engine

    engine = build_engine(demo_db)
    today = engine.today()
    line = next(x for x in out.splitlines() if x.startswith("open cases with provisional (暂定) dates: "))
    if not engine.calendar.is_official(today.year + 1) and today.month >= 10:
        # the demo's disputes filed today run three months into next year: their dates are 暂定
        assert int(line.split(": ")[1].split()[0]) >= 2, line
        assert f"{today.year + 1}: " in line
    assert "open cases whose party period waits for the calendar: " in out
    code, out = run("calendar", "template", "2027")
    assert code == 0 and out.startswith("# 2027年节假日安排覆盖文件") and "  - 2027-01-01   # 元旦（周五）" in out
    override = tmp_path / "2031.yaml"
    override.write_text("year: 2031\nsource: 测试通知\nholidays: [2031-01-01]\nworkdays: []\n", encoding="utf-8")
    code, out = run("calendar", "load", str(override), "--db", demo_db, "--actor", "li.admin")
    assert code == 0 and "loaded 2031: 测试通知" in out and "recomputed" in out
    # 2031's other statutory days are left working days: loaded as given, with a warning each
    assert "2031-01-22 农历除夕" in out and "loaded as given" in out
    code, out = run("calendar", "status", "--db", demo_db)
    assert "2031" in out.split("overridden:")[1].splitlines()[0]
    bad = tmp_path / "bad.yaml"
    bad.write_text("year: 2031\nholidays: [2030-01-01]\n", encoding="utf-8")
    code, out = run("calendar", "load", str(bad), "--db", demo_db)
    assert code == 1 and "source" in out
    code, out = run("audit", "verify", "--db", demo_db)
    assert code == 0 and "intact" in out
    code, out = run("db", "upgrade", "--db", demo_db)
    assert code == 0 and "revision" in out


def test_users(demo_db: str, tmp_path: Path) -> None:
    code, out = run("user", "add", "zhang.san", "--roles", "clerk", "--org", "420100", "--name", "张三",
                    "--email", "zs@example.org", "--db", demo_db)
    assert code == 0, out
    assert "zhang.san" in run("user", "list", "--db", demo_db, "--org", "420100")[1]
    people = tmp_path / "people.yaml"
    people.write_text("people:\n  - {id: li.si, name: 李四, roles: [supervisor], org: '420500'}\n", encoding="utf-8")
    assert run("user", "load", str(people), "--db", demo_db)[0] == 0
    assert run("user", "remove", "zhang.san", "--db", demo_db)[0] == 0
    code, out = run("user", "remove", "zhang.san", "--db", demo_db)
    assert code == 1 and "no person" in out
    assert run("user", "add", "x", "--roles", "wizard", "--org", "420100", "--db", demo_db)[0] == 1


def test_definitions_commands(tmp_path: Path) -> None:
    code, out = run("validate")
    assert code == 0 and "patent_pledge_registration" in out
    code, out = run("diagram", "patent_pledge_registration")
    assert code == 0 and out.startswith("stateDiagram-v2")
    code, out = run("diagram", "pledge", "--definitions", str(FIXTURES / "pledge.yaml"))
    assert code == 0 and "received --> under_review" in out
    code, out = run("diagram", "no_such_item")
    assert code == 1 and "no_such_item" in out
    code, out = run("validate", "--definitions", str(FIXTURES / "invalid"))
    assert code == 1
    code, out = run("items", env={"CASECLOCK_DEFINITIONS": str(FIXTURES / "pledge.yaml")})
    assert code == 0 and "pledge" in out and "patent_pledge_registration" not in out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_with_env_and_definitions(tmp_path: Path) -> None:
    """``caseclock serve`` as a process: CASECLOCK_DB and CASECLOCK_DEFINITIONS, --host, --port;
    a token made by the command works against it."""
    db = f"sqlite:///{tmp_path / 'served.db'}"
    env = {**os.environ, "CASECLOCK_DB": db, "CASECLOCK_DEFINITIONS": str(FIXTURES / "pledge.yaml"),
           "CASECLOCK_SWEEP_SECONDS": "3600"}
    made = subprocess.run([sys.executable, "-m", "api.cli", "token", "create", "--user", "c1", "--roles",
                           "clerk", "--org", "420100"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1]
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port",
                             str(port), "--log-level", "warning"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            assert time.monotonic() < deadline, "serve did not come up"
            time.sleep(0.2)
        h = {"Authorization": f"Bearer {token}"}
        items = httpx.get(f"{url}/api/definitions", headers=h).json()["items"]
        assert [d["id"] for d in items] == ["pledge"]  # --definitions replaces the bundled ones
        r = httpx.post(f"{url}/api/cases", json={"item_id": "pledge", "data": {}}, headers=h)
        assert r.status_code == 201 and r.headers["etag"] == '"1"'
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert not (tmp_path / "caseclock.db").exists()  # the env's database was used
