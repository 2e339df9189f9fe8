"""Notifiers and the outbox delivery against real local servers (issue 6).

A real HTTP server (http.server on 127.0.0.1, in a thread) that fails N times then succeeds, one
that always fails (→ dead-lettered), one that holds a request while a clerk works; a tiny SMTP
server on 127.0.0.1. Time is frozen: backoff is stepped through by moving the clock, never slept.
"""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from adapters import build_engine
from adapters.directory import MemoryDirectory, Person, load_people, resolve, sync
from adapters.notify import (
    DailyDigest,
    LogNotifier,
    Notifier,
    OutboxDelivery,
    SmtpNotifier,
    WebhookNotifier,
    render,
    verify,
)
from workflow import TZ, Actor
from workflow.errors import WorkflowError
from workflow.model import OutboxMessage
from workflow.orgs import OrgTree

FIX = Path(__file__).resolve().parents[1] / "fixtures"
PLEDGE = FIX / "pledge.yaml"
CLERK = Actor(id="c1", roles={"clerk"}, org="420100")
EXAMINER = Actor(id="e1", roles={"examiner"}, org="420100")
SECRET = "s3cret"


# --- local servers -------------------------------------------------------------------------------


class Hook:
    """A webhook receiver: fails the first ``fail`` requests with HTTP 500 (``fail=-1``: always);
    ``hold`` makes a request wait until released."""

    def __init__(self, fail: int = 0, hold: bool = False) -> None:
        self.fail = fail
        self.calls = 0
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.hold = threading.Event() if hold else None
        self.entered = threading.Event()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.calls += 1
                hook.entered.set()
                if hook.hold is not None:
                    hook.hold.wait(10)
                if hook.fail < 0 or hook.calls <= hook.fail:
                    self.send_response(500)
                    self.end_headers()
                    return
                hook.received.append((dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        if self.hold is not None:
            self.hold.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook_factory() -> Iterator:
    made: list[Hook] = []

    def make(**kw) -> Hook:
        h = Hook(**kw)
        made.append(h)
        return h

    yield make
    for h in made:
        h.close()


class SmtpServer:
    """Just enough SMTP (RFC 5321) to receive a message: EHLO/HELO, MAIL, RCPT, DATA, QUIT."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        box = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                def say(line: str) -> None:
                    self.wfile.write((line + "\r\n").encode())

                say("220 localhost test SMTP")
                sender, rcpts = "", []
                while True:
                    raw = self.rfile.readline()
                    if not raw:
                        return
                    cmd = raw.decode("utf-8", "replace").strip()
                    verb = cmd.split(" ", 1)[0].upper()
                    if verb in ("EHLO", "HELO"):
                        say("250 localhost")
                    elif verb == "MAIL":
                        sender, rcpts = cmd.split(":", 1)[1].strip().strip("<>"), []
                        say("250 OK")
                    elif verb == "RCPT":
                        rcpts.append(cmd.split(":", 1)[1].strip().strip("<>"))
                        say("250 OK")
                    elif verb == "DATA":
                        say("354 end with .")
                        data = b""
                        while True:
                            line = self.rfile.readline()
                            if line in (b".\r\n", b".\n", b""):
                                break
                            data += line[1:] if line.startswith(b"..") else line
                        box.messages.append((sender, rcpts, data))
                        say("250 queued")
                    elif verb == "QUIT":
                        say("221 bye")
                        return
                    else:
                        say("250 OK")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    s = SmtpServer()
    yield s
    s.close()


# --- the office ---------------------------------------------------------------------------------

PEOPLE = [
    Person("c1", "王窗口", frozenset({"clerk"}), "420100", {"email": "c1@example.org"}),
    Person("s1", "李科长", frozenset({"supervisor"}), "420100", {"email": "s1@example.org", "phone": "1"}),
    Person("l1", "赵局长", frozenset({"leader"}), "420100", {"email": "l1@example.org"}),
    Person("p1", "钱厅长", frozenset({"leader"}), "420000", {"email": "p1@example.org"}),
]


def overdue_case(freezer, engine, **kw):
    """A case opened Mon 2024-03-04 and left alone until Tue 03-12 10:00: all three levels due."""
    freezer.move_to("2024-03-04 10:00:00+08:00")
    case = engine.open_case("pledge", actor=CLERK, assignee="c1", **kw)
    freezer.move_to("2024-03-12 10:00:00+08:00")
    return case


def outbox(engine, state=None):
    with engine.store.unit_of_work() as uow:
        return uow.list_outbox(state, limit=1000)


def now():
    return datetime.now(TZ)


# --- tests ----------------------------------------------------------------------------------------


def test_webhook_fails_twice_is_retried_with_backoff_then_delivered_signed(freezer, hook_factory):
    engine = build_engine(definitions=[PLEDGE])
    hook = hook_factory(fail=2)
    case = overdue_case(freezer, engine)
    assert len(engine.sweep()) == 3
    delivery = OutboxDelivery(engine.store, MemoryDirectory(PEOPLE), [WebhookNotifier(hook.url, secret=SECRET)],
                              orgs=OrgTree(), backoff=timedelta(seconds=30))
    r1 = delivery.run_once()
    # one webhook call per message: the first two fail (HTTP 500), the third succeeds
    assert hook.calls == 3 and len(r1.retried) == 2 and len(r1.delivered) == 1
    failed = {m.id: m for m in outbox(engine) if m.state == "pending"}
    for m in failed.values():
        assert m.attempts == 1 and "HTTP 500" in m.last_error
        assert m.next_attempt_at == now() + timedelta(seconds=30)  # first wait: 30 s
    assert delivery.run_once().handled == 0  # not yet due
    freezer.tick(timedelta(seconds=31))
    r2 = delivery.run_once()
    assert sorted(r2.delivered) == sorted(failed) and hook.calls == 5
    assert all(m.state == "delivered" for m in outbox(engine))
    # what arrived: three signed JSON documents, one per level, each once
    docs = []
    for headers, body in hook.received:
        assert verify(SECRET, headers["X-Caseclock-Timestamp"], body, headers["X-Caseclock-Signature"],
                      tolerance=None)
        assert not verify("wrong", headers["X-Caseclock-Timestamp"], body, headers["X-Caseclock-Signature"],
                          tolerance=None)
        docs.append(json.loads(body))
    assert sorted(d["payload"]["level"] for d in docs) == ["over_statutory", "overdue", "warning"]
    by_level = {d["payload"]["level"]: d for d in docs}
    assert [r["id"] for r in by_level["warning"]["recipients"]] == ["c1"]
    assert [r["id"] for r in by_level["overdue"]["recipients"]] == ["s1"]
    assert [r["id"] for r in by_level["over_statutory"]["recipients"]] == ["l1", "p1"]
    assert by_level["overdue"]["case_id"] == case.id
    assert "已超过承诺时限" in by_level["overdue"]["text"]


def test_a_webhook_that_always_fails_is_dead_lettered_and_clerks_are_never_blocked(freezer, hook_factory):
    engine = build_engine(definitions=[PLEDGE])
    hook = hook_factory(fail=-1)
    case = overdue_case(freezer, engine)
    other = engine.open_case("pledge", actor=CLERK)
    engine.sweep()
    delivery = OutboxDelivery(engine.store, MemoryDirectory(PEOPLE), [WebhookNotifier(hook.url, secret=SECRET)],
                              max_attempts=4, backoff=timedelta(seconds=10))
    waits = []
    for attempt in range(1, 5):
        r = delivery.run_once()
        assert r.handled == 3
        # meanwhile the clerks' work goes on
        if attempt == 1:
            engine.fire(case.id, "accept", actor=CLERK)
        if attempt == 2:
            engine.fire(other.id, "accept", actor=CLERK)
        pending = [m for m in outbox(engine) if m.state == "pending"]
        if attempt < 4:
            assert {m.attempts for m in pending} == {attempt}
            waits.append(pending[0].next_attempt_at - now())
            freezer.tick(waits[-1] + timedelta(seconds=1))
    assert waits == [timedelta(seconds=10), timedelta(seconds=20), timedelta(seconds=40)]  # doubling
    dead = outbox(engine, "dead")
    assert len(dead) == 3 and all(m.attempts == 4 and "HTTP 500" in m.last_error for m in dead)
    assert hook.calls == 12
    freezer.tick(timedelta(days=1))
    assert delivery.run_once().handled == 0  # dead rows are left alone
    engine.fire(case.id, "approve", actor=EXAMINER)
    assert engine.get_case(case.id).state == "registered"


def test_delivery_runs_outside_the_clerks_transaction(freezer, hook_factory):
    """While a webhook call hangs, a clerk's transition commits (delivery holds no lock)."""
    engine = build_engine(definitions=[PLEDGE])
    hook = hook_factory(hold=True)
    case = overdue_case(freezer, engine)
    engine.sweep()
    delivery = OutboxDelivery(engine.store, MemoryDirectory(PEOPLE), [WebhookNotifier(hook.url, timeout=20)])
    t = threading.Thread(target=delivery.run_once)
    t.start()
    try:
        assert hook.entered.wait(5)  # the first webhook call is in flight, and stuck
        done = engine.fire(case.id, "accept", actor=CLERK)
        assert done.state == "under_review"
    finally:
        hook.hold.set()
        t.join(10)
    assert all(m.state == "delivered" for m in outbox(engine))


def test_webhook_timeout_and_refused_connection_are_failures(freezer):
    engine = build_engine(definitions=[PLEDGE])
    overdue_case(freezer, engine)
    engine.sweep()
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    delivery = OutboxDelivery(engine.store, MemoryDirectory(PEOPLE),
                              [WebhookNotifier(f"http://127.0.0.1:{port}/", timeout=1)])
    r = delivery.run_once()
    assert len(r.retried) == 3
    assert all("127.0.0.1" in m.last_error for m in outbox(engine, "pending"))


def test_email_through_a_local_smtp_server(freezer, smtp):
    engine = build_engine(definitions=[PLEDGE])
    overdue_case(freezer, engine)
    engine.sweep()
    delivery = OutboxDelivery(engine.store, MemoryDirectory(PEOPLE),
                              [SmtpNotifier("127.0.0.1", smtp.port, sender="caseclock@ipo.example")],
                              orgs=OrgTree())
    assert len(delivery.run().delivered) == 3
    assert len(smtp.messages) == 3
    rcpts = sorted(tuple(sorted(r)) for _, r, _ in smtp.messages)
    assert rcpts == [("c1@example.org",), ("l1@example.org", "p1@example.org"), ("s1@example.org",)]
    mails = [message_from_bytes(data) for _, _, data in smtp.messages]
    subjects = sorted(str(make_header(decode_header(m["Subject"]))) for m in mails)
    assert any(s.startswith("【超承诺时限】PLEDGE-420100-2024-00001") for s in subjects)
    body = next(m for m in mails if "s1@" in m["To"]).get_payload(decode=True).decode("utf-8")
    assert "已超过承诺时限" in body and "2024-03-08 00:00" in body


def test_nobody_is_told_the_same_thing_twice(freezer, hook_factory, smtp):
    """A person named twice in an audience hears it once; a retry after one channel failed does
    not repeat the channel that worked; another message about the same level for a person already
    told is not sent to them again."""
    engine = build_engine(definitions=[PLEDGE])
    hook = hook_factory(fail=1)
    case = overdue_case(freezer, engine)
    engine.sweep()
    # the supervisor is also the case's assignee's role holder: name them twice
    people = [*PEOPLE, Person("s1b", "李科长（兼）", frozenset({"supervisor", "clerk"}), "420100",
                              {"email": "s1b@example.org"})]
    directory = MemoryDirectory(people)
    assert [p.id for p in resolve(directory, [{"user": "s1b"}, {"role": "supervisor", "org": "420100"}])] == ["s1b", "s1"]
    mail, web = SmtpNotifier("127.0.0.1", smtp.port), WebhookNotifier(hook.url)
    delivery = OutboxDelivery(engine.store, directory, [mail, web], orgs=OrgTree(), backoff=timedelta(seconds=5))
    first = delivery.run_once()
    assert len(first.retried) == 1 and len(first.delivered) == 2  # the first webhook call failed
    assert len(smtp.messages) == 3
    freezer.tick(timedelta(seconds=6))
    second = delivery.run_once()
    assert len(second.delivered) == 1
    assert len(smtp.messages) == 3  # e-mail had worked: not sent again on the retry
    assert hook.calls == 4
    # the same news about the same case, clock, run and level queued again (say, replayed by an
    # operator): the people already told are skipped, and the row is closed as delivered
    overdue = next(m for m in outbox(engine) if m.payload["level"] == "overdue")
    with engine.store.unit_of_work() as uow:
        uow.add_outbox([OutboxMessage(topic="escalation", case_id=case.id, payload=dict(overdue.payload),
                                      created_at=now())])
        uow.commit()
    third = delivery.run_once()
    assert len(third.delivered) == 1
    assert len(smtp.messages) == 3 and hook.calls == 4


def test_an_audience_nobody_holds_goes_up_the_org_tree_or_is_dead_lettered(freezer):
    engine = build_engine(definitions=[PLEDGE])
    overdue_case(freezer, engine)
    engine.sweep()
    log = LogNotifier()
    # no supervisor in 420100, one at the province: the overdue goes there; nobody holds the
    # warning's target (no assignee c1 in the directory, no clerk anywhere): dead-lettered
    directory = MemoryDirectory([Person("ps", "省局督办", frozenset({"supervisor"}), "420000"),
                                 Person("p1", "钱厅长", frozenset({"leader"}), "420000")])
    r = OutboxDelivery(engine.store, directory, [log], orgs=OrgTree()).run_once()
    assert len(r.delivered) == 2 and len(r.dead) == 1
    told = {m.payload["level"]: ids for m, ids in log.sent}
    assert told == {"overdue": ["ps"], "over_statutory": ["p1"]}
    (dead,) = outbox(engine, "dead")
    assert dead.payload["level"] == "warning" and "nobody in the directory" in dead.last_error


def test_the_daily_digest_is_not_sent_when_there_is_nothing_in_it(freezer):
    freezer.move_to("2024-03-04 10:00:00+08:00")
    engine = build_engine(definitions=[PLEDGE])
    directory = MemoryDirectory(PEOPLE)
    digest = DailyDigest(engine, directory)
    case = engine.open_case("pledge", actor=CLERK, assignee="c1")
    assert digest.enqueue() == [] and outbox(engine) == []  # on track: nothing to say, nothing sent
    freezer.move_to("2024-03-08 08:00:00+08:00")  # overdue since 00:00
    queued = digest.enqueue()
    assert [m.payload["person"] for m in queued] == ["s1"]  # overdue → the org's supervisors
    assert [i["number"] for i in queued[0].payload["items"]] == [case.number]
    subject, body = render(queued[0])
    assert "每日待办（1 件）" in subject and case.number in body
    assert digest.enqueue() == []  # the same day again: nothing new
    freezer.move_to("2024-03-09 08:00:00+08:00")
    assert len(digest.enqueue()) == 1
    engine.fire(case.id, "accept", actor=CLERK)
    engine.fire(case.id, "approve", actor=EXAMINER)
    freezer.move_to("2024-03-10 08:00:00+08:00")
    assert digest.enqueue() == []


def test_an_integrators_notifier_plugs_in_through_the_protocol(freezer):
    class OfficeIM:
        name = "office_im"

        def __init__(self) -> None:
            self.sent: list[tuple[str, list[str]]] = []

        def send(self, message: OutboxMessage, recipients) -> None:
            self.sent.append((render(message)[0], [r.id for r in recipients]))

    im = OfficeIM()
    assert isinstance(im, Notifier)
    engine = build_engine(definitions=[PLEDGE])
    overdue_case(freezer, engine)
    engine.sweep()
    OutboxDelivery(engine.store, MemoryDirectory(PEOPLE), [im, LogNotifier()]).run()
    assert sorted(ids for _, ids in im.sent) == [["c1"], ["l1", "p1"], ["s1"]]


def test_people_from_yaml(tmp_path):
    f = tmp_path / "people.yaml"
    f.write_text(
        "people:\n"
        "  - {id: zhang, name: 张三, roles: [clerk], org: '420100', contacts: {email: z@example.org}}\n"
        "  - {id: li, name: 李四, roles: [supervisor, leader], org: '420100', contacts: {webhook: 'http://127.0.0.1/x'}}\n",
        encoding="utf-8",
    )
    people = load_people(f)
    d = MemoryDirectory([Person("old", "离职", frozenset({"clerk"}), "420100")])
    sync(d, people, deactivate_missing=True)
    assert [p.id for p in d.with_role("clerk", "420100")] == ["zhang"]
    assert d.get("old") is not None and not d.get("old").active
    assert d.get("li").webhook == "http://127.0.0.1/x"
    bad = tmp_path / "bad.yaml"
    bad.write_text("people:\n  - {id: x, contacts: {fax: '1'}}\n", encoding="utf-8")
    with pytest.raises(WorkflowError, match="fax"):
        load_people(bad)
