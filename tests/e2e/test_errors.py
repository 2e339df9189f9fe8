"""Every error status, as an RFC 9457 problem naming what is at fault; bad input never a 5xx."""

from __future__ import annotations

import httpx
import pytest

from .conftest import PLEDGE, Stack, open_pledge, problem


def test_400_bad_request(live: Stack) -> None:
    c = live.wuhan_clerk
    body = problem(c.get("/api/cases", params={"limit": 0}), 400)
    assert body["field"] == "query.limit"
    assert problem(c.get("/api/cases", params={"sla": "purple"}), 400)["field"] == "query.sla"
    assert problem(c.get("/api/cases", params={"opened_from": "yesterday"}), 400)["field"].startswith("query.opened_from")
    assert problem(c.get("/api/cases", params={"cursor": "%%%not-ours"}), 400)["field"] == "cursor"
    assert problem(c.post("/api/cases", json={"data": {}}), 400)["field"] == "body.item_id"
    assert problem(c.post("/api/cases", json={"item_id": PLEDGE, "data": [1, 2]}), 400)["field"] == "body.data"
    assert problem(c.post("/api/cases", json={"item_id": PLEDGE, "colour": "red"}), 400)["field"] == "body.colour"
    r = c.post("/api/cases", content=b'{"item_id": ', headers={"content-type": "application/json"})
    problem(r, 400)
    # text no database could store, numbers JSON cannot carry
    r = c.post("/api/cases", content=b'{"item_id":"%s","data":{"pledgor":"\\ud800"}}' % PLEDGE.encode(),
               headers={"content-type": "application/json"})
    assert problem(r, 400)["field"] == "data.pledgor"
    r = c.post("/api/cases", content=b'{"item_id":"%s","data":{"n":NaN}}' % PLEDGE.encode(),
               headers={"content-type": "application/json"})
    assert problem(r, 400)["status"] == 400
    # a 400 that names a field says it in ``fields`` and ``errors`` too, as a 422 does
    r = c.post("/api/cases", content=b'{"item_id":"%s","data":{"secured_amount":1e400}}' % PLEDGE.encode(),
               headers={"content-type": "application/json"})
    body = problem(r, 400)
    assert body["field"] == "data.secured_amount"
    # a data field by its name, as the 422 of a field rule names it
    assert body["fields"] == {"secured_amount": "data.secured_amount must be a finite number"}
    assert body["errors"] == [{"field": "data.secured_amount", "message": body["fields"]["secured_amount"]}]
    for query in ("limit=abc", "limit=0", "opened_from=2026-13-01"):
        body = problem(c.get(f"/api/cases?{query}"), 400)
        name = "query." + query.split("=")[0]
        assert body["field"].startswith(name) and body["fields"] and all(
            k.startswith(name) and v for k, v in body["fields"].items())  # opened_from.date: a union's member
    case = open_pledge(c)
    r = c.post(f"/api/cases/{case['id']}/transitions/accept", headers={"Idempotency-Key": "x" * 500})
    assert problem(r, 400)["field"].endswith("Idempotency-Key")
    assert problem(c.post(f"/api/cases/{case['id']}/transitions/accept", json={"data": "no"}), 400)["field"] == "body.data"


def test_401_no_or_bad_token(live: Stack) -> None:
    anon = live.client()
    r = anon.get("/api/cases")
    assert problem(r, 401)["field"] == "Authorization"
    assert r.headers["www-authenticate"].startswith("Bearer")
    problem(live.client(Authorization="Bearer cc_000000000000_notarealtoken").get("/api/cases"), 401)
    problem(live.client(Authorization="Basic d2FuZzpwdw==").get("/api/cases"), 401)
    problem(live.client(Authorization="Bearer a.b.c").get("/api/worklist"), 401)
    problem(anon.post("/api/cases", json={"item_id": PLEDGE}), 401)


def test_403_forbidden(live: Stack) -> None:
    case = open_pledge(live.wuhan_clerk)
    r = live.wuhan_clerk.post(f"/api/cases/{case['id']}/transitions/refuse", json={"data": {"reason": "x"}})
    body = problem(r, 403)
    assert "examiner" in body["detail"] and body["rule"] == "forbidden"
    problem(live.wuhan_clerk.get("/api/sla/board"), 403)
    problem(live.wuhan_examiner.post("/api/cases", json={"item_id": PLEDGE, "data": {}}), 403)
    # opening a case for another city
    r = live.wuhan_clerk.post("/api/cases", json={"item_id": PLEDGE, "org": "420500", "data": {}})
    problem(r, 403)


def test_404_not_found(live: Stack) -> None:
    c = live.wuhan_clerk
    problem(c.get("/api/cases/no-such-case"), 404)
    problem(c.get("/api/cases/no-such-case/history"), 404)
    problem(c.get("/api/cases/no-such-case/triggers"), 404)
    problem(c.post("/api/cases/no-such-case/transitions/accept"), 404)
    problem(c.post("/api/cases", json={"item_id": "no_such_item", "data": {}}), 404)
    problem(c.get("/api/no-such-route"), 404)


def test_409_conflicts(live: Stack) -> None:
    c = live.wuhan_clerk
    case = open_pledge(c)
    body = problem(c.post(f"/api/cases/{case['id']}/transitions/resubmit"), 409)
    assert body["rule"] == "transition_not_allowed"
    problem(c.post(f"/api/cases/{case['id']}/transitions/fly_to_the_moon"), 409)
    # an idempotency key reused for a different call
    key = {"Idempotency-Key": f"k-{case['id']}"}
    assert c.post(f"/api/cases/{case['id']}/transitions/accept", headers=key).status_code == 200
    reused = problem(c.post(f"/api/cases/{case['id']}/transitions/withdraw", headers=key), 409)
    assert reused["field"] == "Idempotency-Key"


def test_412_if_match(live: Stack) -> None:
    c = live.wuhan_clerk
    case = open_pledge(c)
    body = problem(c.post(f"/api/cases/{case['id']}/transitions/accept", headers={"If-Match": '"7"'}), 412)
    assert body["field"] == "If-Match" and body["current_version"] == 1
    problem(c.post(f"/api/cases/{case['id']}/transitions/accept", headers={"If-Match": "not-a-version"}), 412)
    # nothing happened
    assert c.get(f"/api/cases/{case['id']}").json()["state"] == "received"


def test_422_missing_data(live: Stack) -> None:
    c = live.wuhan_clerk
    body = problem(c.post("/api/cases", json={"item_id": PLEDGE, "data": {"channel": "fax"}}), 422)
    assert body["fields"] == {"channel": "must be one of online, paper"}
    case = open_pledge(c)
    r = c.post(f"/api/cases/{case['id']}/transitions/request_supplement", json={"data": {"supplement_deadline": "soon"}})
    body = problem(r, 422)
    assert body["fields"] == {"supplement_items": "required", "supplement_deadline": "must be a date (YYYY-MM-DD)"}


def test_405_and_unknown_methods_are_problems(live: Stack) -> None:
    r = live.wuhan_clerk.delete("/api/cases")
    problem(r, 405)
    assert "POST" in r.headers["allow"]


@pytest.mark.parametrize("path", [
    "/api/cases/%00", "/api/cases/%ED%A0%80", "/api/cases?item=%00", "/api/cases?limit=99999999999999999999",
    "/api/cases?opened_from=2024-02-30", "/api/cases?opened_to=9999-12-31T99:99", "/api/worklist?cursor=eyJvIjotMX0",
    "/api/sla/breaches?cursor=W10", "/api/definitions/%00/diagram", "/api/reports/monthly?month=0000-00",
    "/api/definitions/x?version=-1",
])
def test_odd_input_is_never_a_5xx(live: Stack, path: str) -> None:
    for who in ("wuhan_supervisor", "wuhan_clerk"):
        r = getattr(live, who).get(path)
        assert r.status_code < 500, (path, r.status_code, r.text)
        if r.status_code >= 400:
            assert r.headers["content-type"].startswith("application/problem+json")


def test_odd_bodies_are_never_a_5xx(live: Stack) -> None:
    c = live.wuhan_clerk
    case = open_pledge(c)
    url = f"/api/cases/{case['id']}/transitions/accept"
    for content, ctype in [
        (b"[" * 5000 + b"]" * 5000, "application/json"), (b"\xff\xfe", "application/json"),
        (b"data=1", "application/x-www-form-urlencoded"), (b"null", "application/json"),
        (b'{"data": {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": {"j": {"k": {"l": {"m": {"n": {"o": {"p": {"q": {"r": {"s": {"t": {"u": {"v": {"w": {"x": {"y": {"z": {"0": {"1": {"2": {"3": {"4": {"5": {"6": 1}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}', "application/json"),
    ]:
        r = c.post(url, content=content, headers={"content-type": ctype, "If-Match": '"99"'})
        assert r.status_code < 500, (content[:40], r.status_code, r.text)
    r = httpx.post(f"{live.url}/api/cases", content=b"{}", headers={"Authorization": "Bearer \x7f"})
    assert r.status_code in (400, 401)  # the HTTP parser (httptools) or the API refuses it
