"""Files on a case (application, notices, evidence): checked, stored durably, listed in the history.

``Attachments(engine, store, policy)`` is the use case: :meth:`Attachments.add` checks the file
against the :class:`AttachmentPolicy` (size; type by extension *and* magic bytes), stores its
content, writes its row and appends an ``attached`` event to the case's hash-chained history in
the same unit of work (``Engine.record_event``), so a file is on record exactly when its event is.

Stores (``attachment_store_for(engine)`` picks one for the engine's store):

- :class:`MemoryAttachmentStore` for ``memory://`` engines and tests;
- :class:`SqlAttachmentStore` on the ``attachments`` table: on SQLite the content lives in a
  folder beside the database file (``caseclock.db`` → ``caseclock.db-attachments/``), named by
  its SHA-256 and written atomically (temporary file, fsync, rename, fsync of the folder) before
  the row commits; on PostgreSQL it is the row's ``content`` (bytea), in the same transaction.

Content is addressed by its SHA-256: the same file uploaded twice is stored once; every read is
checked against the hash.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import threading
import unicodedata
import uuid
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from workflow.engine import Engine
from workflow.errors import CaseNotFound, MissingData, WorkflowError
from workflow.model import Actor

MiB = 1024 * 1024


class AttachmentRejected(MissingData):
    """The file is refused: too large (``reason`` ``too_large``) or of a type not allowed
    (``forbidden_type``: extension not allowed, or content that is not what the extension says)."""

    code = "attachment_rejected"

    def __init__(self, message: str, reason: str) -> None:
        self.reason = reason
        super().__init__(message, {"file": reason})


class AttachmentCorrupted(WorkflowError):
    """Stored content no longer matches its SHA-256 (or is missing): restore it from a backup."""

    code = "attachment_corrupted"


# --- the policy ----------------------------------------------------------------------------------


def _zip_with(*members: str) -> Callable[[bytes], bool]:
    """A zip (Office Open XML, OFD) that holds every one of ``members`` (prefixes end with /)."""

    def check(content: bytes) -> bool:
        if not content.startswith(b"PK\x03\x04"):
            return False
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as z:
                names = z.namelist()
        except (zipfile.BadZipFile, ValueError, OSError):
            return False
        for m in members:
            if m.endswith("/"):
                if not any(n.startswith(m) for n in names):
                    return False
            elif m not in names:
                return False
        return True

    return check


def _magic(*prefixes: bytes) -> Callable[[bytes], bool]:
    return lambda content: content.startswith(prefixes)


@dataclass(frozen=True)
class FileType:
    extension: str
    content_type: str
    label: str
    check: Callable[[bytes], bool] = field(repr=False, compare=False)


FILE_TYPES: dict[str, FileType] = {
    t.extension: t
    for t in (
        FileType("pdf", "application/pdf", "PDF", _magic(b"%PDF-")),
        FileType("jpg", "image/jpeg", "JPEG 图片", _magic(b"\xff\xd8\xff")),
        FileType("jpeg", "image/jpeg", "JPEG 图片", _magic(b"\xff\xd8\xff")),
        FileType("png", "image/png", "PNG 图片", _magic(b"\x89PNG\r\n\x1a\n")),
        FileType("docx",
                 "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                 "Word 文档", _zip_with("[Content_Types].xml", "word/")),
        FileType("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                 "Excel 表格", _zip_with("[Content_Types].xml", "xl/")),
        FileType("ofd", "application/ofd", "OFD 版式文件", _zip_with("OFD.xml")),
    )
}


@dataclass(frozen=True, kw_only=True)
class AttachmentPolicy:
    """What may be attached. ``max_bytes`` defaults to 20 MiB (``CASECLOCK_ATTACHMENT_MAX_MB``);
    ``extensions`` lists the allowed types (OFD, the national e-document format, is off unless
    ``allow_ofd`` or listed)."""

    max_bytes: int = 20 * MiB
    extensions: tuple[str, ...] = ("pdf", "jpg", "jpeg", "png", "docx", "xlsx")
    allow_ofd: bool = False

    @property
    def allowed(self) -> tuple[str, ...]:
        exts = tuple(e.lower().lstrip(".") for e in self.extensions)
        return exts + (("ofd",) if self.allow_ofd and "ofd" not in exts else ())

    def check(self, filename: str, content: bytes, declared_type: str | None = None) -> FileType:
        """The file's type, or :class:`AttachmentRejected`."""
        if len(content) > self.max_bytes:
            raise AttachmentRejected(
                f"{filename}: {len(content)} bytes is over the limit of {self.max_bytes} bytes "
                f"({self.max_bytes / MiB:g} MiB)", "too_large")
        if not content:
            raise AttachmentRejected(f"{filename}: the file is empty", "empty")
        ext = Path(filename).suffix.lower().lstrip(".")
        allowed = self.allowed
        if ext not in allowed or ext not in FILE_TYPES:
            raise AttachmentRejected(
                f"{filename}: files of type .{ext or '?'} are not accepted (allowed: "
                f"{', '.join('.' + e for e in allowed)})", "forbidden_type")
        ft = FILE_TYPES[ext]
        if not ft.check(content):
            raise AttachmentRejected(
                f"{filename}: the content is not a {ft.label} file as its name says", "forbidden_type")
        declared = (declared_type or "").split(";")[0].strip().lower()
        generic = ("", "application/octet-stream", "binary/octet-stream", "application/zip",
                   "application/x-zip-compressed")
        if declared not in generic and declared != ft.content_type and not (
            ext in ("jpg", "jpeg") and declared in ("image/jpg", "image/pjpeg")
        ):
            raise AttachmentRejected(
                f"{filename}: declared as {declared}, but it is {ft.content_type}", "forbidden_type")
        return ft


def clean_filename(name: str) -> str:
    """The base name only (no folders), NFC, no control characters, at most 200 characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = unicodedata.normalize("NFC", base)
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip().strip(".")
    if not base:
        raise AttachmentRejected("the file needs a name with an extension", "no_name")
    if len(base) > 200:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: 200 - len(ext) - 1] + "." + ext) if dot else base[:200]
    return base


# --- what is stored ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attachment:
    id: str
    case_id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime
    label: str = ""  # what the file is (申请书, 补正材料, 证据 …), as the uploader said
    path: str | None = None  # SQLite: where the content lies, relative to the attachments folder

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["uploaded_at"] = self.uploaded_at.isoformat()
        d.pop("path", None)
        return d


class AttachmentStore(Protocol):
    """Where attachment rows and content live."""

    def stage(self, content: bytes, sha256: str) -> str | None:
        """Store the content durably before the row commits; returns its path (or None when the
        row carries the content)."""
        ...

    def writer(self, att: Attachment, content: bytes) -> Callable[[Any], None]:
        """A function that writes the row inside the engine's unit of work (``record_event``)."""
        ...

    def list(self, case_id: str) -> list[Attachment]: ...

    def get(self, case_id: str, attachment_id: str) -> Attachment | None: ...

    def content(self, att: Attachment) -> bytes: ...


def _verify(att: Attachment, content: bytes | None) -> bytes:
    if content is None or hashlib.sha256(content).hexdigest() != att.sha256:
        raise AttachmentCorrupted(
            f"attachment {att.id} ({att.filename}) is missing or damaged in storage: restore it from a backup")
    return content


class MemoryAttachmentStore:
    def __init__(self) -> None:
        self._rows: dict[str, Attachment] = {}
        self._blobs: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def stage(self, content: bytes, sha256: str) -> str | None:
        with self._lock:
            self._blobs.setdefault(sha256, bytes(content))
        return None

    def writer(self, att: Attachment, content: bytes) -> Callable[[Any], None]:
        def write(_uow: Any) -> None:
            with self._lock:
                self._rows[att.id] = att

        return write

    def list(self, case_id: str) -> list[Attachment]:
        with self._lock:
            rows = [a for a in self._rows.values() if a.case_id == case_id]
        return sorted(rows, key=lambda a: (a.uploaded_at, a.id))

    def get(self, case_id: str, attachment_id: str) -> Attachment | None:
        with self._lock:
            a = self._rows.get(attachment_id)
        return a if a is not None and a.case_id == case_id else None

    def content(self, att: Attachment) -> bytes:
        with self._lock:
            return _verify(att, self._blobs.get(att.sha256))


# --- content-addressed files beside the SQLite database ------------------------------------------


def blob_path(sha256: str) -> str:
    """Where a file's content lies inside the attachments folder: ``ab/abcdef…``."""
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise ValueError(f"not a SHA-256: {sha256!r}")
    return f"{sha256[:2]}/{sha256}"


def _fsync_dir(path: Path) -> None:
    """Make a rename or a new file in ``path`` durable (POSIX: fsync the folder)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


class BlobFolder:
    """Content-addressed files: written once, atomically (temporary file in the same folder,
    ``fsync``, ``os.replace``, ``fsync`` of the folder), never changed afterwards."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def put(self, content: bytes, sha256: str | None = None) -> str:
        digest = sha256 or hashlib.sha256(content).hexdigest()
        rel = blob_path(digest)
        final = self.root / rel
        if final.exists() and final.stat().st_size == len(content):
            return rel
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".incoming-", dir=final.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(content)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, final)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        _fsync_dir(final.parent)
        _fsync_dir(self.root)
        return rel

    def get(self, rel: str) -> bytes | None:
        p = self.root / rel
        try:
            return p.read_bytes()
        except FileNotFoundError:
            return None

    def files(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(
            str(p.relative_to(self.root)).replace(os.sep, "/")
            for p in self.root.glob("??/*") if p.is_file() and not p.name.startswith(".")
        )


def attachments_folder(db_file: str | Path) -> Path:
    """The folder beside a SQLite database that holds its attachments: ``<db>-attachments``."""
    p = Path(db_file).expanduser().resolve()
    return p.with_name(p.name + "-attachments")


# --- the SQL store's attachments table -----------------------------------------------------------

_COLS = "id, case_id, filename, content_type, size, sha256, path, uploaded_by, uploaded_at"


class SqlAttachmentStore:
    """The ``attachments`` table of the SQL store (``adapters.sql``). On SQLite the content is
    a file in :func:`attachments_folder` (``path``); on PostgreSQL the row's ``content``.

    ``label`` is kept in the ``attached`` event (the table has no column for it)."""

    def __init__(self, store: Any, folder: str | Path | None = None) -> None:
        self.store = store
        self.postgres = bool(getattr(store, "is_postgres", False))
        self.folder: BlobFolder | None = None
        if not self.postgres:
            if folder is None:
                database = store.url.database or ""
                if database in ("", ":memory:"):
                    folder = Path(tempfile.mkdtemp(prefix="caseclock-attachments-"))
                else:
                    folder = attachments_folder(database)
            self.folder = BlobFolder(folder)

    def _sql(self, text: str) -> str:
        return self.store.dialect.prepare(text)  # :named → the driver's style

    def stage(self, content: bytes, sha256: str) -> str | None:
        if self.folder is None:
            return None
        return self.folder.put(content, sha256)

    def writer(self, att: Attachment, content: bytes) -> Callable[[Any], None]:
        d = self.store.dialect
        params = {
            "id": att.id, "case_id": att.case_id, "filename": att.filename,
            "content_type": att.content_type, "size": att.size, "sha256": att.sha256,
            "content": content if self.postgres else None, "path": att.path,
            "uploaded_by": att.uploaded_by, "uploaded_at": d.ts(att.uploaded_at),
        }
        sql = self._sql(
            f"INSERT INTO attachments ({_COLS}, content) VALUES (:id, :case_id, :filename, "
            ":content_type, :size, :sha256, :path, :uploaded_by, :uploaded_at, :content)"
        )

        def write(uow: Any) -> None:
            uow.execute(sql, params)  # the engine's transaction: row and event together

        return write

    def _row(self, row: Any) -> Attachment:
        return Attachment(
            id=row[0], case_id=row[1], filename=row[2], content_type=row[3], size=int(row[4]),
            sha256=row[5], path=row[6], uploaded_by=row[7],
            uploaded_at=self.store.dialect.ts_out(row[8]),
        )

    def list(self, case_id: str) -> list[Attachment]:
        with self.store.unit_of_work() as uow:
            rows = uow.fetch_all(self._sql(
                f"SELECT {_COLS} FROM attachments WHERE case_id = :case_id ORDER BY uploaded_at, id"
            ), {"case_id": case_id})
        return [self._row(r) for r in rows]

    def get(self, case_id: str, attachment_id: str) -> Attachment | None:
        with self.store.unit_of_work() as uow:
            row = uow.fetch_one(self._sql(
                f"SELECT {_COLS} FROM attachments WHERE id = :id AND case_id = :case_id"
            ), {"id": attachment_id, "case_id": case_id})
        return self._row(row) if row else None

    def content(self, att: Attachment) -> bytes:
        if self.folder is not None:
            return _verify(att, self.folder.get(att.path or blob_path(att.sha256)))
        with self.store.unit_of_work() as uow:
            row = uow.fetch_one(self._sql("SELECT content FROM attachments WHERE id = :id"), {"id": att.id})
        blob = row[0] if row else None
        return _verify(att, bytes(blob) if blob is not None else None)


def attachment_store_for(engine: Engine, folder: str | Path | None = None) -> AttachmentStore:
    """The attachment store that goes with the engine's store (memory or SQL)."""
    store = engine.store
    if hasattr(store, "dialect") and hasattr(store, "url"):
        return SqlAttachmentStore(store, folder)
    return MemoryAttachmentStore()


# --- the use case --------------------------------------------------------------------------------


class Attachments:
    """Add, list and read the files on a case, with the engine's org scoping."""

    def __init__(self, engine: Engine, store: AttachmentStore | None = None,
                 policy: AttachmentPolicy | None = None) -> None:
        self.engine = engine
        self.store = store if store is not None else attachment_store_for(engine)
        self.policy = policy or AttachmentPolicy()

    def add(self, case_id: str, filename: str, content: bytes, *, actor: Actor,
            content_type: str | None = None, label: str = "") -> Attachment:
        """Check, store and record a file on the case (an ``attached`` event in its history)."""
        name = clean_filename(filename)
        ft = self.policy.check(name, content, content_type)
        self.engine.get_case(case_id, actor)  # CaseNotFound before anything is written
        digest = hashlib.sha256(content).hexdigest()
        att = Attachment(
            id=uuid.uuid4().hex, case_id=case_id, filename=name, content_type=ft.content_type,
            size=len(content), sha256=digest, uploaded_by=actor.id, uploaded_at=self.engine.now(),
            label=(label or "").strip()[:100],
        )
        path = self.store.stage(content, digest)
        att = Attachment(**{**att.__dict__, "path": path})
        self.engine.record_event(case_id, "attached", {
            "attachment_id": att.id, "filename": att.filename, "content_type": att.content_type,
            "size": att.size, "sha256": att.sha256, "label": att.label,
        }, actor=actor, within=self.store.writer(att, content))
        return att

    def list(self, case_id: str, *, actor: Actor | None) -> list[Attachment]:
        self.engine.get_case(case_id, actor)
        labels = self._labels(case_id, actor)
        return [Attachment(**{**a.__dict__, "label": labels.get(a.id, a.label)})
                for a in self.store.list(case_id)]

    def get(self, case_id: str, attachment_id: str, *, actor: Actor | None) -> tuple[Attachment, bytes]:
        self.engine.get_case(case_id, actor)
        att = self.store.get(case_id, attachment_id)
        if att is None:
            raise CaseNotFound(f"case {case_id!r} has no attachment {attachment_id!r}")
        labels = self._labels(case_id, actor)
        att = Attachment(**{**att.__dict__, "label": labels.get(att.id, att.label)})
        return att, self.store.content(att)

    def _labels(self, case_id: str, actor: Actor | None) -> Mapping[str, str]:
        return {
            str(e.data.get("attachment_id")): str(e.data.get("label") or "")
            for e in self.engine.history(case_id, actor) if e.kind == "attached"
        }


__all__ = [
    "FILE_TYPES",
    "Attachment",
    "AttachmentCorrupted",
    "AttachmentPolicy",
    "AttachmentRejected",
    "AttachmentStore",
    "Attachments",
    "BlobFolder",
    "MemoryAttachmentStore",
    "SqlAttachmentStore",
    "attachment_store_for",
    "attachments_folder",
    "blob_path",
    "clean_filename",
]
