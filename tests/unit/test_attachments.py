"""Attachments: size and type checks, content-addressed storage, the ``attached`` history event."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from adapters import build_engine
from adapters.attachments import (
    AttachmentCorrupted,
    AttachmentPolicy,
    AttachmentRejected,
    Attachments,
    BlobFolder,
    MemoryAttachmentStore,
    attachments_folder,
    clean_filename,
)
from workflow import Actor, errors

FIX = Path(__file__).resolve().parents[1] / "fixtures"
CLERK = Actor(id="c1", roles={"clerk"}, org="420100")
YICHANG = Actor(id="c9", roles={"clerk"}, org="420500")
PUBLIC = Actor(id="p1", roles=(), org="420100")

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPG = b"\xff\xd8\xff\xe0" + b"\x00" * 32


def office_zip(*members: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for m in members:
            z.writestr(m, "<xml/>")
    return buf.getvalue()


DOCX = office_zip("[Content_Types].xml", "word/document.xml")
XLSX = office_zip("[Content_Types].xml", "xl/workbook.xml")
OFD = office_zip("OFD.xml", "Doc_0/Document.xml")


@pytest.fixture
def engine():
    return build_engine("memory://", definitions=[FIX / "pledge.yaml"])


@pytest.fixture
def files(engine):
    return Attachments(engine, MemoryAttachmentStore(), AttachmentPolicy(max_bytes=1024))


def test_accepted_types_are_stored_listed_and_in_the_history(engine, files):
    case = engine.open_case("pledge", actor=CLERK)
    added = [
        files.add(case.id, "申请书.pdf", PDF, actor=CLERK, content_type="application/pdf", label="申请书"),
        files.add(case.id, "scan.PNG", PNG, actor=CLERK),
        files.add(case.id, "证据1.jpg", JPG, actor=CLERK, content_type="image/jpeg"),
        files.add(case.id, "合同.docx", DOCX, actor=CLERK),
        files.add(case.id, "清单.xlsx", XLSX, actor=CLERK, content_type="application/octet-stream"),
    ]
    assert [a.content_type for a in added] == [
        "application/pdf", "image/png", "image/jpeg",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ]
    listed = files.list(case.id, actor=CLERK)
    assert [a.id for a in listed] == [a.id for a in added]
    assert listed[0].label == "申请书" and listed[0].sha256 == hashlib.sha256(PDF).hexdigest()
    att, content = files.get(case.id, added[3].id, actor=CLERK)
    assert content == DOCX and att.filename == "合同.docx"
    events = [e for e in engine.history(case.id) if e.kind == "attached"]
    assert [e.data["attachment_id"] for e in events] == [a.id for a in added]
    assert events[0].data["sha256"] == added[0].sha256 and events[0].actor_id == "c1"
    # the chain holds: each event names the one before it
    hist = engine.history(case.id)
    assert all(b.prev_hash == a.hash and b.hash == b.compute_hash() for a, b in zip(hist, hist[1:], strict=False))
    assert engine.get_case(case.id).version == case.version  # a file is not a state change


@pytest.mark.parametrize(("name", "content", "declared", "reason"), [
    ("big.pdf", PDF + b"x" * 2000, None, "too_large"),
    ("virus.exe", b"MZ\x90\x00", None, "forbidden_type"),
    ("fake.pdf", b"MZ\x90\x00 not a pdf", None, "forbidden_type"),
    ("fake.png", JPG, None, "forbidden_type"),
    ("zip.docx", office_zip("a.txt"), None, "forbidden_type"),
    ("book.docx", XLSX, None, "forbidden_type"),
    ("doc.pdf", PDF, "image/png", "forbidden_type"),
    ("noext", PDF, None, "forbidden_type"),
    ("电子证照.ofd", OFD, None, "forbidden_type"),  # OFD is off unless the office turns it on
    ("empty.pdf", b"", None, "empty"),
])
def test_refused_files_leave_nothing_behind(engine, files, name, content, declared, reason):
    case = engine.open_case("pledge", actor=CLERK)
    with pytest.raises(AttachmentRejected) as info:
        files.add(case.id, name, content, actor=CLERK, content_type=declared)
    assert info.value.reason == reason
    assert isinstance(info.value, errors.MissingData)
    assert files.list(case.id, actor=CLERK) == []
    assert [e.kind for e in engine.history(case.id)] == ["opened"]


def test_ofd_when_the_office_allows_it(engine):
    files = Attachments(engine, MemoryAttachmentStore(), AttachmentPolicy(allow_ofd=True))
    case = engine.open_case("pledge", actor=CLERK)
    assert files.add(case.id, "电子证照.ofd", OFD, actor=CLERK).content_type == "application/ofd"


def test_scoping_and_roles(engine, files):
    case = engine.open_case("pledge", actor=CLERK)
    with pytest.raises(errors.CaseNotFound):
        files.add(case.id, "a.pdf", PDF, actor=YICHANG)
    with pytest.raises(errors.CaseNotFound):
        files.add("nope", "a.pdf", PDF, actor=CLERK)
    with pytest.raises(errors.Forbidden):
        files.add(case.id, "a.pdf", PDF, actor=PUBLIC)
    att = files.add(case.id, "a.pdf", PDF, actor=CLERK)
    with pytest.raises(errors.CaseNotFound):
        files.get(case.id, att.id, actor=YICHANG)
    with pytest.raises(errors.CaseNotFound):
        files.get(case.id, "missing", actor=CLERK)
    other = engine.open_case("pledge", actor=CLERK)
    with pytest.raises(errors.CaseNotFound):
        files.get(other.id, att.id, actor=CLERK)


def test_record_event_refuses_the_engines_own_kinds(engine):
    case = engine.open_case("pledge", actor=CLERK)
    for kind in ("transition", "corrected", "opened", "escalation", "Bad Kind", ""):
        with pytest.raises(errors.TransitionNotAllowed):
            engine.record_event(case.id, kind, {}, actor=CLERK)
    ev = engine.record_event(case.id, "document_issued", {"template": "receipt"}, actor=CLERK)
    assert engine.history(case.id)[-1] == ev


def test_filenames_are_cleaned():
    assert clean_filename("C:\\Users\\x\\申请书.pdf") == "申请书.pdf"
    assert clean_filename("../../etc/passwd.pdf") == "passwd.pdf"
    assert clean_filename("a\x00b\n.pdf") == "ab.pdf"
    with pytest.raises(AttachmentRejected):
        clean_filename("../")


def test_blob_folder_is_content_addressed_atomic_and_checked(tmp_path):
    folder = BlobFolder(tmp_path / "db.sqlite-attachments")
    digest = hashlib.sha256(PDF).hexdigest()
    rel = folder.put(PDF)
    assert rel == f"{digest[:2]}/{digest}" and folder.put(PDF) == rel
    assert folder.get(rel) == PDF and folder.files() == [rel]
    assert not list((tmp_path / "db.sqlite-attachments").rglob(".incoming-*"))
    assert attachments_folder(tmp_path / "x.db") == (tmp_path / "x.db-attachments").resolve()


def test_damaged_content_is_reported_not_served(engine):
    store = MemoryAttachmentStore()
    files = Attachments(engine, store)
    case = engine.open_case("pledge", actor=CLERK)
    att = files.add(case.id, "a.pdf", PDF, actor=CLERK)
    store._blobs[att.sha256] = PDF + b"tampered"
    with pytest.raises(AttachmentCorrupted):
        files.get(case.id, att.id, actor=CLERK)
