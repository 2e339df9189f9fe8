"""ETag / If-Match (optimistic concurrency over HTTP) and Idempotency-Key replays."""

from __future__ import annotations

import threading

from .conftest import PLEDGE, Stack, open_pledge, pledge_data, problem


def test_etag_on_every_case_response(live: Stack) -> None:
    c = live.wuhan_clerk
    r = c.post("/api/cases", json={"item_id": PLEDGE, "data": pledge_data()})
    case = r.json()
    assert r.headers["etag"] == f'"{case["version"]}"' == '"1"'
    g = c.get(f"/api/cases/{case['id']}")
    assert g.headers["etag"] == '"1"'
    f = c.post(f"/api/cases/{case['id']}/transitions/accept")
    assert f.headers["etag"] == '"2"' and f.json()["version"] == 2


def test_if_match_quoted_unquoted_weak_and_star(live: Stack) -> None:
    c = live.wuhan_clerk
    for header in ('"1"', "1", 'W/"1"', "*", '"0", "1"'):
        case = open_pledge(c)
        r = c.post(f"/api/cases/{case['id']}/transitions/accept", headers={"If-Match": header})
        assert r.status_code == 200, (header, r.text)


def test_lost_update_prevented(live: Stack) -> None:
    """Two clerks read version 2; the first write wins, the second gets 412 and nothing of it
    is applied."""
    clerk, examiner = live.wuhan_clerk, live.wuhan_examiner
    case = open_pledge(clerk)
    etag = clerk.post(f"/api/cases/{case['id']}/transitions/accept").headers["etag"]
    first = examiner.post(f"/api/cases/{case['id']}/transitions/request_supplement",
                          json={"data": {"supplement_items": "合同"}}, headers={"If-Match": etag})
    assert first.status_code == 200
    second = examiner.post(f"/api/cases/{case['id']}/transitions/refuse",
                           json={"data": {"reason": "材料不全"}}, headers={"If-Match": etag})
    assert problem(second, 412)["current_version"] == 3
    assert clerk.get(f"/api/cases/{case['id']}").json()["state"] == "awaiting_supplement"
    # without If-Match the second writer's intent is judged on the current state instead
    assert examiner.post(f"/api/cases/{case['id']}/transitions/refuse",
                         json={"data": {"reason": "逾期未补正"}}).status_code == 200


def test_idempotency_key_replays_a_transition(live: Stack) -> None:
    c = live.wuhan_clerk
    case = open_pledge(c)
    url = f"/api/cases/{case['id']}/transitions/accept"
    first = c.post(url, headers={"Idempotency-Key": "retry-accept-1"})
    again = c.post(url, headers={"Idempotency-Key": "retry-accept-1"})
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json() and again.headers["etag"] == '"2"'
    history = c.get(f"/api/cases/{case['id']}/history").json()["items"]
    assert [e["trigger"] for e in history] == [None, "accept"]  # applied once
    # without the key the retry is judged as a new call
    problem(c.post(url), 409)


def test_idempotency_key_replays_an_opening(live: Stack) -> None:
    c = live.wuhan_clerk
    body = {"item_id": PLEDGE, "data": pledge_data(pledgor="幂等测试公司")}
    a = c.post("/api/cases", json=body, headers={"Idempotency-Key": "portal-submission-778"})
    b = c.post("/api/cases", json=body, headers={"Idempotency-Key": "portal-submission-778"})
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] == b.json()["id"] and a.json()["number"] == b.json()["number"]
    named = [x for x in c.get("/api/cases", params={"limit": 500}).json()["items"]
             if x["data"].get("pledgor") == "幂等测试公司"]
    assert len(named) == 1
    changed = {"item_id": PLEDGE, "data": pledge_data(pledgor="另一家公司")}
    problem(c.post("/api/cases", json=changed, headers={"Idempotency-Key": "portal-submission-778"}), 409)


def test_keys_belong_to_their_caller(live: Stack) -> None:
    """The same key from two callers is two keys (one caller cannot replay another's result)."""
    case_a = open_pledge(live.wuhan_clerk)
    case_b = open_pledge(live.wuhan_clerk)
    key = {"Idempotency-Key": "shared-name"}
    assert live.wuhan_clerk.post(f"/api/cases/{case_a['id']}/transitions/accept", headers=key).status_code == 200
    r = live.wuhan_examiner.post(f"/api/cases/{case_b['id']}/transitions/refuse",
                                 json={"data": {"reason": "不符合条件"}}, headers=key)
    assert r.status_code == 200 and r.json()["id"] == case_b["id"]


def test_concurrent_transitions_one_wins(live: Stack) -> None:
    """Eight clients fire at once on version 1: exactly one 200, the rest 412."""
    case = open_pledge(live.wuhan_clerk)
    results: list[int] = []
    lock = threading.Lock()

    def go() -> None:
        with live.client("wuhan_clerk") as c:
            r = c.post(f"/api/cases/{case['id']}/transitions/accept", headers={"If-Match": '"1"'})
        with lock:
            results.append(r.status_code)

    threads = [threading.Thread(target=go) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200] + [412] * 7, results
