"""``caseclock backup`` and ``caseclock restore`` on a SQLite file."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from adapters import build_engine
from adapters.attachments import Attachments
from api.cli import app
from workflow import Actor

FIX = Path(__file__).resolve().parents[1] / "fixtures"
CLERK = Actor(id="c1", roles={"clerk"}, org="420100")


def test_backup_check_and_restore_from_the_command_line(tmp_path, monkeypatch):
    monkeypatch.setenv("CASECLOCK_DEFINITIONS", str(FIX / "pledge.yaml"))
    db = tmp_path / "live.db"
    engine = build_engine(f"sqlite:///{db}", definitions=[FIX / "pledge.yaml"])
    case = engine.open_case("pledge", actor=CLERK)
    Attachments(engine).add(case.id, "a.pdf", b"%PDF-1.4\n%%EOF\n", actor=CLERK)
    runner = CliRunner()
    out = tmp_path / "b" / "backup.tar.gz"
    r = runner.invoke(app, ["backup", "--db", f"sqlite:///{db}", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "1 cases" in r.output and "1 attachments" in r.output
    r = runner.invoke(app, ["restore", "--from", str(out), "--check"])
    assert r.exit_code == 0, r.output
    target = tmp_path / "restored.db"
    r = runner.invoke(app, ["restore", "--db", str(target), "--from", str(out)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["restore", "--db", str(target), "--from", str(out)])
    assert r.exit_code == 1 and "--force" in r.output
    r = runner.invoke(app, ["backup", "--db", "postgresql+psycopg://u@h/db", "--out", str(out)])
    assert r.exit_code == 1 and "pg_dump" in r.output
    restored = build_engine(f"sqlite:///{target}", definitions=[FIX / "pledge.yaml"])
    assert [c.id for c in restored.list_cases()] == [case.id]
    assert [a.filename for a in Attachments(restored).list(case.id, actor=CLERK)] == ["a.pdf"]
    engine.store.dispose()
    restored.store.dispose()
