"""Works where offices work (issue 16), the ``caseclock`` command: every command that takes
``--db`` refuses a folder that is not there, a folder, and a file that is not a caseclock
database, in one line and changing nothing; a new file in an existing folder is created and
migrated; a busy port is one line with the ``--port`` hint before any banner; ``--version``;
``caseclock passwd USER`` (and ``python -m api.web passwd``, which runs it)."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from adapters import build_engine
from api.cli import app
from api.web.accounts import accounts_for
from api.web.security import verify_password

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> tuple[int, str]:
    r = runner.invoke(app, list(args), env=env, input=stdin)
    return r.exit_code, r.output


def commands_with_db() -> list[tuple[str, ...]]:
    """Every command of the tree that takes --db (so a new one cannot be forgotten)."""
    def walk(group: object, prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
        out: list[tuple[str, ...]] = []
        for name, cmd in group.commands.items():  # type: ignore[attr-defined]
            if hasattr(cmd, "commands"):
                out += walk(cmd, (*prefix, name))
            elif any("--db" in getattr(p, "opts", []) for p in cmd.params):
                out.append((*prefix, name))
        return out

    return walk(typer.main.get_command(app), ())


def arguments(command: tuple[str, ...], tmp: Path) -> list[str]:
    """What each command needs besides --db to get as far as opening the database."""
    people = tmp / "people.yaml"
    people.write_text("people:\n  - {id: li.si, name: 李四, roles: [clerk], org: '420500'}\n", encoding="utf-8")
    return {
        ("passwd",): ["zhang.san"],
        ("backup",): ["--out", str(tmp / "b.tar.gz")],
        ("restore",): ["--from", str(tmp / "b.tar.gz")],
        ("token", "create"): ["--user", "u", "--roles", "clerk", "--org", "420100"],
        ("token", "revoke"): ["t1"],
        ("calendar", "load"): [str(tmp / "2031.yaml")],
        ("user", "add"): ["u", "--roles", "clerk", "--org", "420100"],
        ("user", "remove"): ["u"],
        ("user", "load"): [str(people)],
        ("webhook", "add"): ["https://oa.example/hook"],
        ("webhook", "remove"): ["w1"],
        ("serve",): ["--port", "0"],
    }.get(command, [])


def test_every_command_with_db_refuses_what_is_no_caseclock_database(tmp_path: Path) -> None:
    commands = commands_with_db()
    assert {("serve",), ("demo",), ("passwd",), ("db", "upgrade"), ("backup",), ("user", "load")} <= set(commands)
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n", encoding="utf-8")
    foreign = tmp_path / "other.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    before = foreign.read_bytes()
    cases = [
        (str(tmp_path / "nowhere" / "caseclock.db"), "no folder"),
        (f"sqlite:///{tmp_path / 'nowhere' / 'caseclock.db'}", "no folder"),
        (str(tmp_path), "is a folder"),
        (str(text), "not a caseclock database (not an SQLite file)"),
        (str(foreign), "not a caseclock database (an SQLite database with other tables: invoices)"),
    ]
    for command in commands:
        for db, why in cases:
            code, out = run(*command, *arguments(command, tmp_path), "--db", db)
            assert code == 1, (command, db, out)
            assert why in out and "--db" in out, (command, db, out)
            assert len(out.strip().splitlines()) == 1, (command, out)  # one line, no traceback
    assert not (tmp_path / "nowhere").exists()  # nothing created
    assert foreign.read_bytes() == before  # nothing migrated into someone else's database


def test_a_new_file_in_a_folder_that_exists_is_created_and_migrated(tmp_path: Path) -> None:
    db = tmp_path / "fresh.db"
    code, out = run("db", "upgrade", "--db", str(db))
    assert code == 0 and "schema at revision" in out, out
    code, out = run("sweep", "--db", str(db))  # and then it is a caseclock database
    assert code == 0, out
    empty = tmp_path / "empty.db"
    empty.touch()  # an empty file is an empty SQLite database: taken, as a new one
    assert run("token", "list", "--db", str(empty))[0] == 0


def test_version() -> None:
    code, out = run("--version")
    assert code == 0 and out.strip() == f"caseclock {version('caseclock')}"
    r = subprocess.run([sys.executable, "-m", "api.cli", "--version"], cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == f"caseclock {version('caseclock')}"


def test_a_busy_port_is_one_line_with_the_port_hint(tmp_path: Path) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        r = subprocess.run([sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--db",
                            str(tmp_path / "served.db")], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                           env={**os.environ, "CASECLOCK_SWEEP_SECONDS": "3600"})
    finally:
        taken.close()
    assert r.returncode == 1
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and f"port {port}" in lines[0] and "in use" in lines[0] and "--port" in lines[0], r.stderr
    assert "serving" not in r.stderr
    assert not (tmp_path / "served.db").exists()  # refused before anything was touched


@pytest.fixture
def people_db(tmp_path: Path) -> str:
    db = str(tmp_path / "people.db")
    code, out = run("user", "add", "zhang.san", "--roles", "clerk", "--org", "420100", "--name", "张三", "--db", db)
    assert code == 0, out
    return db


def stored_hash(db: str, person: str) -> str | None:
    engine = build_engine(f"sqlite:///{db}")
    try:
        return accounts_for(engine).password_hash(person)
    finally:
        engine.store.dispose()


def test_passwd(people_db: str) -> None:
    # an unknown person: said at once, before any password is asked for (no input given)
    code, out = run("passwd", "nobody", "--db", people_db, stdin="")
    assert code == 1 and "no such person" in out and "password" not in out.split("no such person")[0]
    # twice, the same: stored as a hash the sign-in accepts
    code, out = run("passwd", "zhang.san", "--db", people_db, stdin="Wuhan-window-2026\nWuhan-window-2026\n")
    assert code == 0 and "password set for zhang.san" in out, out
    assert out.count("Wuhan-window-2026") == 0  # never echoed
    hashed = stored_hash(people_db, "zhang.san")
    assert hashed and verify_password("Wuhan-window-2026", hashed)
    # two different ones, or too short: refused, nothing changed
    code, out = run("passwd", "zhang.san", "--db", people_db, stdin="Wuhan-window-2027\nWuhan-window-2028\n")
    assert code == 1 and "differ" in out
    code, out = run("passwd", "zhang.san", "--db", people_db, stdin="short\nshort\n")
    assert code == 1 and "at least 10" in out
    assert stored_hash(people_db, "zhang.san") == hashed
    # scripts: $CASECLOCK_PASSWORD
    code, out = run("passwd", "zhang.san", "--db", people_db, env={"CASECLOCK_PASSWORD": "From-a-script-01"})
    assert code == 0 and verify_password("From-a-script-01", stored_hash(people_db, "zhang.san") or "")


def test_python_m_api_web_passwd_runs_the_same_command(people_db: str) -> None:
    env = {**os.environ, "CASECLOCK_PASSWORD": "Old-habits-2026"}
    r = subprocess.run([sys.executable, "-m", "api.web", "passwd", "zhang.san", "--db", people_db], cwd=ROOT,
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "password set for zhang.san" in r.stdout, r.stdout + r.stderr
    assert verify_password("Old-habits-2026", stored_hash(people_db, "zhang.san") or "")
    r = subprocess.run([sys.executable, "-m", "api.web", "passwd", "nobody", "--db", people_db], cwd=ROOT,
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "no such person" in r.stderr
