"""Attachments on every backend: memory, SQLite (files beside the database), PostgreSQL (bytea)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from adapters import build_engine
from adapters.attachments import (
    AttachmentCorrupted,
    AttachmentRejected,
    Attachments,
    SqlAttachmentStore,
    attachment_store_for,
    attachments_folder,
)
from tests.backends import pg_schema, sqlite_template, store_url  # noqa: F401  (fixtures)
from workflow import Actor

FIX = Path(__file__).resolve().parents[1] / "fixtures"
CLERK = Actor(id="c1", roles={"clerk"}, org="420100")
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"


@pytest.fixture
def engine(store_url):  # noqa: F811  (the fixture imported above)
    e = build_engine(store_url, definitions=[FIX / "pledge.yaml"])
    yield e
    dispose = getattr(e.store, "dispose", None)
    if dispose is not None:
        dispose()


def test_add_list_read_and_history(engine):
    files = Attachments(engine)
    case = engine.open_case("pledge", actor=CLERK)
    a = files.add(case.id, "申请书.pdf", PDF, actor=CLERK, label="申请书")
    b = files.add(case.id, "副本.pdf", PDF, actor=CLERK)  # same content: stored once
    assert a.sha256 == b.sha256 == hashlib.sha256(PDF).hexdigest()
    listed = files.list(case.id, actor=CLERK)
    assert [(x.id, x.filename, x.size, x.label) for x in listed] == [
        (a.id, "申请书.pdf", len(PDF), "申请书"), (b.id, "副本.pdf", len(PDF), "")]
    assert files.get(case.id, b.id, actor=CLERK)[1] == PDF
    attached = [e for e in engine.history(case.id) if e.kind == "attached"]
    assert [e.data["attachment_id"] for e in attached] == [a.id, b.id]
    store = files.store
    if isinstance(store, SqlAttachmentStore):
        if store.postgres:
            assert store.folder is None and a.path is None
        else:
            db = engine.store.url.database
            assert store.folder.root == attachments_folder(db)
            assert (attachments_folder(db) / a.path).read_bytes() == PDF
            assert store.folder.files() == [a.path]


def test_refusal_writes_no_row_and_no_event(engine):
    files = Attachments(engine)
    case = engine.open_case("pledge", actor=CLERK)
    with pytest.raises(AttachmentRejected):
        files.add(case.id, "x.pdf", b"GIF89a", actor=CLERK)
    assert files.list(case.id, actor=CLERK) == []
    assert [e.kind for e in engine.history(case.id)] == ["opened"]


def test_a_failing_row_write_leaves_no_event(engine):
    store = attachment_store_for(engine)
    case = engine.open_case("pledge", actor=CLERK)

    def boom(_uow):
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        engine.record_event(case.id, "attached", {"filename": "x.pdf"}, actor=CLERK, within=boom)
    assert [e.kind for e in engine.history(case.id)] == ["opened"]
    assert store.list(case.id) == []


def test_damaged_file_on_disk_is_refused(engine):
    files = Attachments(engine)
    if not isinstance(files.store, SqlAttachmentStore) or files.store.folder is None:
        pytest.skip("content on disk only with SQLite")
    case = engine.open_case("pledge", actor=CLERK)
    a = files.add(case.id, "a.pdf", PDF, actor=CLERK)
    (files.store.folder.root / a.path).write_bytes(PDF[:-1])
    with pytest.raises(AttachmentCorrupted):
        files.get(case.id, a.id, actor=CLERK)
