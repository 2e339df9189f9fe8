"""Online backup of the embedded SQLite database (and its attachments) while transitions fire,
and a restore that loses nothing acknowledged before the backup began."""

from __future__ import annotations

import sqlite3
import tarfile
import threading
import time
from pathlib import Path

import pytest

from adapters import build_engine
from adapters.attachments import Attachments, SqlAttachmentStore, attachments_folder
from adapters.backup import BackupError, backup, read_manifest, restore, sqlite_path, verify
from adapters.sql import verify_history
from workflow import Actor

FIX = Path(__file__).resolve().parents[1] / "fixtures"
CLERK = Actor(id="c1", roles={"clerk"}, org="420100")
EXAMINER = Actor(id="e1", roles={"examiner"}, org="420100")
PDF = b"%PDF-1.4\n%caseclock test\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 64


def _engine(url: str):
    return build_engine(url, definitions=[FIX / "pledge.yaml"])


def test_backup_while_writing_then_restore_loses_nothing(tmp_path):
    db = tmp_path / "live" / "caseclock.db"
    url = f"sqlite:///{db}"
    engine = _engine(url)
    files = Attachments(engine, SqlAttachmentStore(engine.store))
    seed = []
    for i in range(5):
        c = engine.open_case("pledge", actor=CLERK, data={"applicant": f"申请人{i}"})
        files.add(c.id, f"申请书{i}.pdf", PDF + bytes([i]), actor=CLERK)
        seed.append(c.id)
    files.add(seed[0], "scan.png", PNG, actor=CLERK)

    acked: list[tuple[str, int]] = []  # (case id, events in its history) once the call returned
    lock = threading.Lock()
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            n = 0
            while not stop.is_set() and n < 400:
                c = engine.open_case("pledge", actor=CLERK, data={"applicant": f"并发{n}"})
                with lock:
                    acked.append((c.id, 1))
                engine.fire(c.id, "accept", actor=CLERK)
                with lock:
                    acked.append((c.id, 2))
                n += 1
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    t = threading.Thread(target=writer)
    t.start()
    deadline = time.monotonic() + 20
    while len(acked) < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    with lock:
        before = list(acked)  # everything acknowledged before the backup began
    report = backup(url, tmp_path / "backups" / "caseclock.tar.gz")
    time.sleep(0.05)  # the writer goes on after the copy
    stop.set()
    t.join(30)
    assert not errors and not t.is_alive()
    assert len(before) >= 20 and len(acked) > len(before)
    assert report.missing == [] and report.attachments == 6
    assert report.cases >= 5 + len({c for c, _ in before})

    manifest = verify(report.path)
    assert manifest["cases"] == report.cases and len(manifest["attachments"]) == 6

    target = tmp_path / "restored" / "caseclock.db"
    restore(report.path, target)
    restored = _engine(f"sqlite:///{target}")
    assert verify_history(restored.store) == []
    live_ids = {c.id for c in engine.list_cases()}
    got = {c.id for c in restored.list_cases()}
    assert got <= live_ids and len(got) == report.cases
    for case_id, events in before + [(s, 2) for s in seed]:
        assert case_id in got
        hist = restored.history(case_id)
        assert len(hist) >= events
        assert [e.hash for e in hist] == [e.hash for e in engine.history(case_id)][: len(hist)]
    # the restored database keeps working, attachments included
    rfiles = Attachments(restored, SqlAttachmentStore(restored.store))
    listed = rfiles.list(seed[0], actor=CLERK)
    assert [a.filename for a in listed] == ["申请书0.pdf", "scan.png"]
    assert rfiles.get(seed[0], listed[1].id, actor=CLERK)[1] == PNG
    assert attachments_folder(target).is_dir()
    c = restored.fire(seed[1], "accept", actor=CLERK)
    assert c.state == "under_review"
    engine.store.dispose()
    restored.store.dispose()


def test_restore_refuses_to_overwrite_and_damaged_archives(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    engine = _engine(url)
    engine.open_case("pledge", actor=CLERK)
    report = backup(url, tmp_path / "b.tar.gz")
    engine.store.dispose()
    with pytest.raises(BackupError, match="exists"):
        restore(report.path, url)
    restore(report.path, url, force=True)
    assert read_manifest(report.path)["cases"] == 1

    bad = tmp_path / "bad.tar.gz"
    with tarfile.open(report.path) as src, tarfile.open(bad, "w:gz") as dst:
        for m in src.getmembers():
            data = src.extractfile(m).read()
            if m.name == "caseclock.db":
                data = data[:-100] + bytes(b ^ 0xFF for b in data[-100:])  # changed, whatever was there
            m.size = len(data)
            import io

            dst.addfile(m, io.BytesIO(data))
    with pytest.raises(BackupError, match="manifest"):
        verify(bad)
    with pytest.raises(BackupError):
        restore(bad, tmp_path / "c.db")
    assert not (tmp_path / "c.db").exists()
    (tmp_path / "junk.tar.gz").write_bytes(b"not a tar")
    with pytest.raises(BackupError, match="not a caseclock backup"):
        read_manifest(tmp_path / "junk.tar.gz")


def test_urls_and_postgres():
    with pytest.raises(BackupError, match="pg_dump"):
        sqlite_path("postgresql+psycopg://u@h/db")
    with pytest.raises(BackupError):
        sqlite_path("sqlite:///:memory:")
    assert sqlite_path("sqlite:////var/lib/caseclock/c.db") == Path("/var/lib/caseclock/c.db")


def test_a_missing_attachment_file_is_reported(tmp_path):
    db = tmp_path / "m.db"
    engine = _engine(f"sqlite:///{db}")
    files = Attachments(engine, SqlAttachmentStore(engine.store))
    c = engine.open_case("pledge", actor=CLERK)
    att = files.add(c.id, "a.pdf", PDF, actor=CLERK)
    (attachments_folder(db) / att.path).unlink()
    report = backup(db, tmp_path / "m.tar.gz")
    assert report.missing == [att.path] and report.attachments == 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM attachments").fetchone()[0] == 1
    engine.store.dispose()
