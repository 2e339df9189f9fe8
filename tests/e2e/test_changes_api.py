"""``GET /api/changes`` over real HTTP (issue 19): scope, cursor, limits, bad input, long poll."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from .conftest import Stack, open_pledge, problem

WRITER = Path(__file__).resolve().parents[1] / "integration" / "feed_writer.py"


def _all(client, **params) -> list[dict]:
    got, at = [], ""
    while True:
        r = client.get("/api/changes", params={"after": at, **params})
        assert r.status_code == 200, r.text
        body = r.json()
        got += body["items"]
        if body["next"] == at:
            return got
        at = body["next"]


def test_each_caller_sees_its_org_subtree_in_commit_order(timed: Stack):
    wh = open_pledge(timed.wuhan_clerk)
    r = timed.wuhan_clerk.post(f"/api/cases/{wh['id']}/transitions/accept")
    assert r.status_code == 200, r.text
    yc = open_pledge(timed.yichang_clerk)
    mine = _all(timed.wuhan_clerk)
    assert [(c["case_id"], c["seq"], c["kind"], c["trigger"], c["to_state"]) for c in mine] == [
        (wh["id"], 1, "opened", None, "received"), (wh["id"], 2, "transition", "accept", "under_review")]
    first = mine[0]
    for key in ("case_id", "seq", "number", "item_id", "org", "kind", "trigger", "to_state", "at", "cursor"):
        assert key in first
    assert (first["number"], first["item_id"], first["org"]) == (wh["number"], "patent_pledge_registration", "420100")
    assert [c["stage"] for c in mine] == ["申办", "受理"]  # the platform stage each step reached
    # the history endpoint numbers the events the same way
    hist = timed.wuhan_clerk.get(f"/api/cases/{wh['id']}/history").json()["items"]
    assert [(e["seq"], e["kind"]) for e in hist] == [(c["seq"], c["kind"]) for c in mine]
    assert [c["case_id"] for c in _all(timed.yichang_clerk)] == [yc["id"]]
    assert [c["case_id"] for c in _all(timed.province_leader)] == [wh["id"], wh["id"], yc["id"]]
    assert [c["case_id"] for c in _all(timed.province_leader, item="patent_pledge_registration")] == \
        [wh["id"], wh["id"], yc["id"]]
    assert _all(timed.province_leader, item="no_such_item") == []


def test_next_resumes_exactly_after_the_last_item(timed: Stack):
    for _ in range(5):
        open_pledge(timed.wuhan_clerk)
    everything = _all(timed.wuhan_clerk)
    assert len(everything) == 5
    r = timed.wuhan_clerk.get("/api/changes", params={"limit": 2})
    body = r.json()
    assert [c["cursor"] for c in body["items"]] == [everything[0]["cursor"], everything[1]["cursor"]]
    assert body["next"] == everything[1]["cursor"]
    again = timed.wuhan_clerk.get("/api/changes", params={"after": body["next"], "limit": 2}).json()
    assert again["items"] == everything[2:4]
    tail = timed.wuhan_clerk.get("/api/changes", params={"after": everything[-1]["cursor"]}).json()
    assert tail["items"] == [] and tail["next"] == everything[-1]["cursor"] == tail["head"]
    # one page of the default size holds them all; an empty cursor is the beginning
    assert timed.wuhan_clerk.get("/api/changes", params={"after": ""}).json()["items"] == everything


def test_bad_cursors_and_limits_are_422_problems(timed: Stack):
    open_pledge(timed.wuhan_clerk)
    c = timed.wuhan_clerk
    for bad in ("abc", "-1", "1e3", "0x10", "9" * 30, "%00", "12345"):
        body = problem(c.get("/api/changes", params={"after": bad}), 422)
        assert body["field"] == "after", body
    for limit in (0, -3, 1001, 10**9):
        assert problem(c.get("/api/changes", params={"limit": limit}), 422)["field"] == "limit"
    for wait in (-1, 61, "nan"):
        assert problem(c.get("/api/changes", params={"wait": wait}), 422)["field"] == "wait"
    problem(c.get("/api/changes", params={"limit": "many"}), 400)
    assert len(c.get("/api/changes", params={"limit": 1000}).json()["items"]) == 1
    assert len(c.get("/api/changes", params={"limit": 1}).json()["items"]) == 1
    problem(timed.client().get("/api/changes"), 401)


def test_a_long_poll_returns_when_an_event_commits(timed: Stack):
    head = timed.wuhan_clerk.get("/api/changes").json()["next"]
    # nothing happens: an empty page after about the wait
    started = time.monotonic()
    body = timed.wuhan_clerk.get("/api/changes", params={"after": head, "wait": 0.5}).json()
    assert body["items"] == [] and body["next"] == head
    assert 0.4 < time.monotonic() - started < 5
    # another city's step does not answer a Wuhan poll; a Wuhan opening does, long before the wait
    answers: list[dict] = []
    waiter = threading.Thread(target=lambda: answers.append(timed.client("wuhan_clerk").get(
        "/api/changes", params={"after": head, "wait": 30}).json()))
    started = time.monotonic()
    waiter.start()
    time.sleep(0.3)  # the poll is waiting (the test needs real time here: a long poll is about time)
    open_pledge(timed.yichang_clerk)
    time.sleep(0.3)
    assert waiter.is_alive()
    case = open_pledge(timed.wuhan_clerk)
    waiter.join(30)
    assert [c["case_id"] for c in answers[0]["items"]] == [case["id"]]
    assert time.monotonic() - started < 10


def test_a_long_poll_sees_a_commit_of_another_process(timed: Stack):
    head = timed.province_leader.get("/api/changes").json()["next"]
    answers: list[dict] = []
    waiter = threading.Thread(target=lambda: answers.append(timed.client("province_leader").get(
        "/api/changes", params={"after": head, "wait": 60, "limit": 1}).json()))
    waiter.start()
    time.sleep(0.3)
    out = subprocess.run([sys.executable, str(WRITER), timed.db, "420100", "1", "9"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    waiter.join(60)
    assert [c["kind"] for c in answers[0]["items"]] == ["opened"]
