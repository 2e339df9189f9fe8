"""Backup and restore of the embedded SQLite database, with its attachments, while the service runs.

``backup(db, out)`` copies the database with SQLite's online backup API in one step: the copy is
one read transaction, so it is the database exactly as it was at one commit, whatever other
threads and processes write meanwhile (in WAL mode they are not blocked). The attachments the
copy refers to are added from the folder beside the database: their files are written (and
fsynced) before the row that names them commits and never change afterwards, so every file the
copy needs is there. The archive (``.tar.gz``) holds::

    manifest.json                  format, time, counts, SHA-256 of every member
    caseclock.db                   the database copy (integrity-checked)
    attachments/ab/abcdef…         each file, named by its SHA-256

It is written to a temporary file beside ``out``, fsynced and renamed: a crash leaves the old
backup or the new one, never half of one.

``restore(archive, db)`` checks every member against the manifest, writes the attachments first
and then puts the database in place by rename (removing a stale ``-wal``/``-shm`` of the old
file). Stop the service before restoring; start it again afterwards.

PostgreSQL has its own tools (``pg_dump``/``pg_restore``, base backups with WAL archiving for
point-in-time recovery): see docs/operations.md.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import tarfile
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from workflow.errors import WorkflowError
from workflow.legaltime import TZ

from .attachments import BlobFolder, _fsync_dir, attachments_folder, blob_path

FORMAT = "caseclock-backup/1"
DB_MEMBER = "caseclock.db"


class BackupError(WorkflowError):
    """A backup cannot be taken, or an archive is not a sound caseclock backup."""

    code = "backup_error"


@dataclass
class BackupReport:
    path: Path
    created_at: str
    db_bytes: int
    cases: int
    events: int
    attachments: int
    missing: list[str] = field(default_factory=list)  # attachment files absent or damaged

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "created_at": self.created_at, "db_bytes": self.db_bytes,
                "cases": self.cases, "events": self.events, "attachments": self.attachments,
                "missing": list(self.missing)}


def sqlite_path(url: str | os.PathLike[str]) -> Path:
    """The database file of ``sqlite:///file.db`` (or a plain path). PostgreSQL URLs are refused
    with the tools to use instead."""
    text = os.fspath(url)
    if text.startswith(("postgresql", "postgres")):
        raise BackupError(
            "a PostgreSQL database is backed up with PostgreSQL's tools: pg_dump -Fc (logical) or "
            "pg_basebackup with WAL archiving (point-in-time recovery); see docs/operations.md")
    if text.startswith("sqlite"):
        from sqlalchemy.engine import make_url

        database = make_url(text).database or ""
        if database in ("", ":memory:") or "mode=memory" in text:
            raise BackupError("an in-memory database has nothing on disk to back up")
        return Path(database).expanduser().resolve()
    if "://" in text:
        raise BackupError(f"cannot back up {text!r}: give sqlite:///path.db or the file's path")
    return Path(text).expanduser().resolve()


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _count(conn: sqlite3.Connection, table: str) -> int:
    try:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608
    except sqlite3.OperationalError:
        return 0


def _check(conn: sqlite3.Connection, what: str) -> None:
    rows = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
    if rows != ["ok"]:
        raise BackupError(f"{what} fails SQLite's integrity check: {'; '.join(map(str, rows[:5]))}")


def _snapshot(db: Path, into: Path, busy_timeout_ms: int) -> None:
    src = sqlite3.connect(db, timeout=busy_timeout_ms / 1000)
    try:
        src.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        dst = sqlite3.connect(into)
        try:
            src.backup(dst, pages=-1)  # one step: one read transaction, one consistent state
            dst.execute("PRAGMA journal_mode=DELETE")  # a self-contained file, no -wal beside it
            _check(dst, "the copy")
        finally:
            dst.close()
    finally:
        src.close()


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mtime: float) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(mtime)
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


def backup(db: str | os.PathLike[str], out: str | os.PathLike[str], *,
           attachments: str | os.PathLike[str] | None = None, busy_timeout_ms: int = 30_000,
           now: datetime | None = None) -> BackupReport:
    """Back up a live SQLite database and its attachments into the archive ``out``."""
    db_path = sqlite_path(db)
    if not db_path.is_file():
        raise BackupError(f"no database at {db_path}")
    folder = BlobFolder(Path(attachments) if attachments is not None else attachments_folder(db_path))
    out_path = Path(out).expanduser().resolve()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    created = (now or datetime.now(TZ)).isoformat()
    with tempfile.TemporaryDirectory(prefix="caseclock-backup-", dir=out_path.parent) as work:
        copy = Path(work) / DB_MEMBER
        _snapshot(db_path, copy, busy_timeout_ms)
        conn = sqlite3.connect(copy)
        try:
            cases, events = _count(conn, "cases"), _count(conn, "events")
            try:
                rows = conn.execute("SELECT path, sha256, size FROM attachments").fetchall()
            except sqlite3.OperationalError:
                rows = []
        finally:
            conn.close()
        members: dict[str, dict[str, Any]] = {}
        missing: list[str] = []
        blobs: list[tuple[str, Path]] = []
        for rel, digest, _size in rows:
            name = rel or blob_path(digest)
            if f"attachments/{name}" in members:
                continue
            file = folder.root / name
            if not file.is_file() or _sha256_file(file) != digest:
                missing.append(name)
                continue
            members[f"attachments/{name}"] = {"sha256": digest, "size": file.stat().st_size}
            blobs.append((name, file))
        db_sha = _sha256_file(copy)
        manifest: dict[str, Any] = {
            "format": FORMAT, "created_at": created, "source": str(db_path),
            "database": DB_MEMBER, "db_sha256": db_sha, "db_bytes": copy.stat().st_size,
            "cases": cases, "events": events, "attachments": members, "missing": missing,
        }
        tmp = Path(work) / "archive.tar.gz"
        mtime = datetime.now(TZ).timestamp()
        with tarfile.open(tmp, "w:gz") as tar:
            _add_bytes(tar, "manifest.json",
                       json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8"), mtime)
            tar.add(copy, arcname=DB_MEMBER)
            for name, file in blobs:  # immutable once written: safe to read while serving
                tar.add(file, arcname=f"attachments/{name}")
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, out_path)
        _fsync_dir(out_path.parent)
    return BackupReport(path=out_path, created_at=created, db_bytes=int(manifest["db_bytes"]),
                        cases=cases, events=events, attachments=len(members), missing=missing)


def read_manifest(archive: str | os.PathLike[str]) -> dict[str, Any]:
    try:
        with tarfile.open(archive, "r:*") as tar:
            member = tar.extractfile("manifest.json")
            if member is None:
                raise KeyError("manifest.json")
            manifest = json.loads(member.read().decode("utf-8"))
    except (OSError, KeyError, tarfile.TarError, ValueError) as exc:
        raise BackupError(f"{archive} is not a caseclock backup: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{archive} is not a caseclock backup (format {manifest.get('format')!r})")
    return manifest


def _extract(tar: tarfile.TarFile, name: str) -> bytes:
    member = tar.getmember(name)
    if not member.isfile():
        raise BackupError(f"archive member {name} is not a file")
    f = tar.extractfile(member)
    if f is None:
        raise BackupError(f"archive member {name} cannot be read")
    return f.read()


def verify(archive: str | os.PathLike[str]) -> dict[str, Any]:
    """Check every member against the manifest and the database copy's integrity; returns the
    manifest. Raises :class:`BackupError` on the first problem."""
    manifest = read_manifest(archive)
    with tarfile.open(archive, "r:*") as tar, tempfile.TemporaryDirectory() as work:
        db = Path(work) / DB_MEMBER
        db.write_bytes(_extract(tar, DB_MEMBER))
        if _sha256_file(db) != manifest["db_sha256"]:
            raise BackupError("the database in the archive does not match its manifest")
        conn = sqlite3.connect(db)
        try:
            _check(conn, "the database in the archive")
        finally:
            conn.close()
        for name, meta in manifest["attachments"].items():
            if hashlib.sha256(_extract(tar, name)).hexdigest() != meta["sha256"]:
                raise BackupError(f"{name} in the archive is damaged")
    return manifest


def restore(archive: str | os.PathLike[str], db: str | os.PathLike[str], *,
            attachments: str | os.PathLike[str] | None = None, force: bool = False) -> dict[str, Any]:
    """Put a backup in place as the database ``db`` (stop the service first). Refuses to replace
    an existing database unless ``force``. Returns the manifest."""
    manifest = verify(archive)
    db_path = sqlite_path(db)
    if db_path.exists() and not force:
        raise BackupError(f"{db_path} exists: stop the service, then restore with --force to replace it")
    db_path.parent.mkdir(parents=True, exist_ok=True)
    folder = BlobFolder(Path(attachments) if attachments is not None else attachments_folder(db_path))
    with tarfile.open(archive, "r:*") as tar:
        for name, meta in manifest["attachments"].items():
            rel = name.removeprefix("attachments/")
            if blob_path(meta["sha256"]) != rel:  # never a path out of the folder
                raise BackupError(f"unexpected attachment member {name}")
            folder.put(_extract(tar, name), meta["sha256"])
        fd, tmp = tempfile.mkstemp(prefix=".restore-", dir=db_path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(_extract(tar, DB_MEMBER))
                f.flush()
                os.fsync(f.fileno())
            for suffix in ("-wal", "-shm", "-journal"):  # a stale log would be replayed onto it
                stale = db_path.with_name(db_path.name + suffix)
                if stale.exists():
                    stale.unlink()
            os.replace(tmp, db_path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
    _fsync_dir(db_path.parent)
    return manifest


__all__ = ["FORMAT", "BackupError", "BackupReport", "backup", "read_manifest", "restore", "sqlite_path", "verify"]
