"""Signed change webhooks (issue 19): subscribers with filters receive each event of the feed once
through the outbox, signed with their own secret, on every store; managed by the root admin."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from adapters import build_engine
from adapters.directory import directory_for
from adapters.notify import OutboxDelivery, verify
from adapters.webhooks import (
    ChangeDelivery,
    SubscriberNotifier,
    WebhookDispatcher,
    new_subscriber,
    subscribers_for,
)
from api.app import create_app
from api.auth import issue_token
from api.settings import ApiSettings
from api.tokens import tokens_for
from tests.integration.test_notify import hook_factory  # noqa: F401 - the local webhook receiver (fixture)
from workflow.model import Actor

PLEDGE = "patent_pledge_registration"
DATA = {"pledgor": "甲", "pledgee": "乙", "patent_numbers": "ZL1", "channel": "paper"}
WUHAN, YICHANG = "420100", "420500"
SECRET = "change-hook-secret-0123456789"


class Clock:
    def __init__(self, engine) -> None:
        self.at = engine.now()

    def __call__(self):
        return self.at


@pytest.fixture
def engine(store_url):
    e = build_engine(store_url)
    yield e
    dispose = getattr(e.store, "dispose", None)
    if dispose is not None:
        dispose()


def _steps(engine, org: str) -> str:
    clerk = Actor("c", {"clerk"}, org)
    case = engine.open_case(PLEDGE, actor=clerk, data=DATA)
    engine.fire(case.id, "accept", actor=clerk)
    engine.assign(case.id, "e", actor=Actor("s", {"supervisor"}, org))
    engine.fire(case.id, "approve", actor=Actor("e", {"examiner"}, org))
    return case.id


def _delivery(engine, clock=None) -> ChangeDelivery:
    outbox = OutboxDelivery(engine.store, directory_for(engine.store), [SubscriberNotifier(engine.store)],
                            orgs=engine.orgs, now=clock or engine.now)
    return ChangeDelivery(WebhookDispatcher(engine), outbox)


def test_each_subscriber_gets_its_filtered_events_once_signed(engine, hook_factory):  # noqa: F811
    early = _steps(engine, WUHAN)  # before the subscriber: not sent (it starts at the head)
    wh_hook, all_hook = hook_factory(), hook_factory()
    transitions = new_subscriber(engine, wh_hook.url, created_by="root", org=WUHAN, kinds=["transition"],
                                 secret=SECRET)
    everything = new_subscriber(engine, all_hook.url, created_by="root", since="0")
    wh = _steps(engine, WUHAN)
    yc = _steps(engine, YICHANG)
    result = _delivery(engine).run()
    assert len(result.delivered) == 2 + 12
    got = [json.loads(body) for _, body in wh_hook.received]
    assert [(g["change"]["case_id"], g["change"]["trigger"]) for g in got] == [(wh, "accept"), (wh, "approve")]
    for headers, body in wh_hook.received:
        assert verify(SECRET, headers["X-Caseclock-Timestamp"], body, headers["X-Caseclock-Signature"])
        assert headers["X-Caseclock-Topic"] == "change"
        assert headers["X-Caseclock-Cursor"] == json.loads(body)["change"]["cursor"]
    change = got[0]["change"]
    assert got[0]["subscriber"] == transitions.id
    for key in ("case_id", "seq", "number", "item_id", "org", "kind", "trigger", "to_state", "at", "cursor"):
        assert key in change
    # the other subscriber: everything from the start, in feed order, with its own secret
    other = [json.loads(body)["change"] for _, body in all_hook.received]
    assert [(c["case_id"], c["seq"]) for c in other] == [(cid, s) for cid in (early, wh, yc) for s in (1, 2, 3, 4)]
    headers, body = all_hook.received[0]
    assert verify(everything.secret, headers["X-Caseclock-Timestamp"], body, headers["X-Caseclock-Signature"])
    assert not verify(SECRET, headers["X-Caseclock-Timestamp"], body, headers["X-Caseclock-Signature"])
    # nothing twice: a second run queues and sends nothing
    assert _delivery(engine).run().handled == 0
    assert len(wh_hook.received) == 2 and len(all_hook.received) == 12
    assert subscribers_for(engine.store).get(transitions.id).after >= int(other[-1]["cursor"])


def test_a_failing_receiver_gets_its_changes_later_and_a_removed_one_none(engine, hook_factory):  # noqa: F811
    hook = hook_factory(fail=1)
    sub = new_subscriber(engine, hook.url, created_by="root", kinds=["opened"])
    a = engine.open_case(PLEDGE, actor=Actor("c", {"clerk"}, WUHAN), data=DATA)
    clock = Clock(engine)
    clock.at += timedelta(seconds=5)  # the delivery runs a little after the step
    first = _delivery(engine, clock).run()
    assert first.retried and not first.delivered
    clock.at += timedelta(minutes=5)  # past the backoff
    second = _delivery(engine, clock).run()
    assert len(second.delivered) == 1
    assert [json.loads(b)["change"]["case_id"] for _, b in hook.received] == [a.id]
    # removed: its queued changes are not sent, nothing new is queued
    b = engine.open_case(PLEDGE, actor=Actor("c", {"clerk"}, WUHAN), data=DATA)
    WebhookDispatcher(engine).run_once()
    assert subscribers_for(engine.store).remove(sub.id)
    _delivery(engine, clock).run()
    assert b.id not in [json.loads(body)["change"]["case_id"] for _, body in hook.received]


def test_two_dispatchers_at_once_queue_each_change_once(sql_url, hook_factory):  # noqa: F811
    engine = build_engine(sql_url)
    try:
        hook = hook_factory()
        new_subscriber(engine, hook.url, created_by="root")
        for _ in range(6):
            _steps(engine, WUHAN)
        queued: list[int] = []
        barrier = threading.Barrier(3)

        def run() -> None:
            d = WebhookDispatcher(engine, batch=5)
            barrier.wait()
            queued.append(d.run_once())

        threads = [threading.Thread(target=run) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sum(queued) == 24
        _delivery(engine).run()
        seen = [(c["case_id"], c["seq"]) for c in (json.loads(b)["change"] for _, b in hook.received)]
        assert len(seen) == len(set(seen)) == 24
    finally:
        engine.store.dispose()


# --- managed by the root admin ------------------------------------------------------------------


def _api(engine):
    app = create_app(engine, ApiSettings(metrics=False))
    tokens = {}
    for who, roles, org in (("root", "admin", "420000"), ("city", "admin", WUHAN), ("clerk", "clerk", "420000")):
        tokens[who], _ = issue_token(tokens_for(engine), user=who, roles=roles, org=org, now=engine.now(),
                                     orgs=engine.orgs)
    client = TestClient(app)

    def call(who, method, path, **kw):
        return client.request(method, path, headers={"Authorization": f"Bearer {tokens[who]}"}, **kw)

    return call


def test_the_root_admin_manages_subscribers_and_a_city_admin_gets_403(engine):
    call = _api(engine)
    body = {"url": "https://oa.example.cn/hooks/caseclock", "org": WUHAN, "kinds": ["transition", "escalation"],
            "item_id": PLEDGE, "note": "OA"}
    for who in ("city", "clerk"):
        assert call(who, "POST", "/api/webhooks", json=body).status_code == 403
        assert call(who, "GET", "/api/webhooks").status_code == 403
    r = call("root", "POST", "/api/webhooks", json=body)
    assert r.status_code == 201, r.text
    made = r.json()
    assert len(made["secret"]) >= 32 and made["org"] == WUHAN and made["kinds"] == ["transition", "escalation"]
    assert r.headers["Location"] == f"/api/webhooks/{made['id']}"
    listed = call("root", "GET", "/api/webhooks").json()["items"]
    assert [s["id"] for s in listed] == [made["id"]] and "secret" not in listed[0]
    assert call("root", "GET", f"/api/webhooks/{made['id']}").json()["url"] == body["url"]
    assert call("city", "DELETE", f"/api/webhooks/{made['id']}").status_code == 403
    assert call("root", "DELETE", f"/api/webhooks/{made['id']}").status_code == 204
    assert call("root", "DELETE", f"/api/webhooks/{made['id']}").status_code == 404
    assert call("root", "GET", "/api/webhooks").json()["items"] == []


def test_bad_subscribers_are_refused(engine):
    call = _api(engine)
    for url in ("ftp://x.example/", "not a url", "https://user:pw@x.example/", "javascript:alert(1)"):
        r = call("root", "POST", "/api/webhooks", json={"url": url})
        assert r.status_code == 400, (url, r.text)
    assert call("root", "POST", "/api/webhooks", json={"url": "https://x.example/", "item_id": "nope"}).status_code == 422
    assert call("root", "POST", "/api/webhooks", json={"url": "https://x.example/", "since": "12345"}).status_code == 422
    assert call("root", "POST", "/api/webhooks", json={"url": "https://x.example/", "secret": "short"}).status_code == 400
    assert call("root", "POST", "/api/webhooks", json={"url": "https://x.example/", "org": "999999"}).status_code == 400
    assert call("root", "POST", "/api/webhooks", json={"url": "https://x.example/", "extra": 1}).status_code == 400
