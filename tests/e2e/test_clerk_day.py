"""A window clerk's day (and the examiner beside them), over real HTTP."""

from __future__ import annotations

from datetime import datetime

from workflow.legaltime import TZ

from .conftest import PLEDGE, Stack, open_pledge, pledge_data, problem


def test_clerk_day(timed: Stack) -> None:
    clerk, examiner = timed.wuhan_clerk, timed.wuhan_examiner
    # Friday 2024-09-27, 09:30: a paper filing (5 working days; DESIGN's first worked example)
    timed.clock.at = datetime(2024, 9, 27, 9, 30, tzinfo=TZ)
    r = clerk.post("/api/cases", json={"item_id": PLEDGE, "data": pledge_data(channel="paper")})
    assert r.status_code == 201, r.text
    case = r.json()
    assert r.headers["etag"] == '"1"'
    assert r.headers["location"] == f"/api/cases/{case['id']}"
    for key in ("id", "number", "item_id", "definition_version", "state", "version", "org", "assignee",
                "data", "clocks"):
        assert key in case
    assert (case["item_id"], case["state"], case["version"], case["org"]) == (PLEDGE, "received", 1, "420100")
    assert case["data"]["pledgor"] == "武汉光谷智能装备有限公司"
    clock = case["clocks"]["handling"]
    assert clock["status"] == "running"
    assert clock["statutory_due"] == "2024-10-10"  # Sun 09-29 is a workday; 10-01..07 off
    assert clock["commitment_due"] == "2024-10-08"
    assert clock["sla"] == "on_track" and clock["provisional"] is False and clock["party"] is False

    # it is on the clerk's worklist, not yet on the examiner's
    assert case["id"] in [c["id"] for c in clerk.get("/api/worklist").json()["items"]]
    assert case["id"] not in [c["id"] for c in examiner.get("/api/worklist").json()["items"]]

    # what may I do now?
    t = clerk.get(f"/api/cases/{case['id']}/triggers").json()
    assert t["triggers"][0] == "accept" and "approve" not in t["triggers"]
    assert t["items"][0]["dest"] == "under_review"
    assert examiner.get(f"/api/cases/{case['id']}/triggers").json()["triggers"] == ["request_supplement", "refuse"]

    # Monday 09-30: accept, conditionally on the version read
    timed.clock.at = datetime(2024, 9, 30, 10, 0, tzinfo=TZ)
    r = clerk.post(f"/api/cases/{case['id']}/transitions/accept", headers={"If-Match": r.headers["etag"]})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "under_review" and r.headers["etag"] == '"2"'
    assert case["id"] in [c["id"] for c in examiner.get("/api/worklist").json()["items"]]

    # the examiner asks for a supplement: first forgetting what is missing
    url = f"/api/cases/{case['id']}/transitions/request_supplement"
    assert problem(examiner.post(url, json={"data": {}}), 422)["fields"] == {"supplement_items": "required"}
    r = examiner.post(url, json={"data": {"supplement_items": "质押合同原件"}})
    assert r.status_code == 200, r.text
    assert r.json()["clocks"]["handling"]["status"] == "paused"

    # Tuesday 10-08 (after the holiday) the applicant supplements; the clock resumes
    timed.clock.at = datetime(2024, 10, 8, 9, 0, tzinfo=TZ)
    r = clerk.post(f"/api/cases/{case['id']}/transitions/resubmit", json={"data": {}})
    assert r.status_code == 200, r.text
    resumed = r.json()["clocks"]["handling"]
    assert resumed["status"] == "running" and resumed["used_units"] == 2  # Sun 09-29 (a workday) and 09-30

    # the examiner approves the same day
    r = examiner.post(f"/api/cases/{case['id']}/transitions/approve", json={"data": {"registration_number": "Z2024420100001"}})
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["state"] == "registered" and done["final"] is True and done["version"] == 5
    assert done["clocks"]["handling"]["status"] == "stopped"
    assert done["clocks"]["handling"]["sla"] == "met"
    assert case["id"] not in [c["id"] for c in examiner.get("/api/worklist").json()["items"]]

    # the history: every step, who did it, hash-chained
    h = clerk.get(f"/api/cases/{case['id']}/history").json()
    assert h["next"] is None
    events = h["items"]
    assert [e["trigger"] for e in events] == [None, "accept", "request_supplement", "resubmit", "approve"]
    assert [e["actor_id"] for e in events] == ["wuhan_clerk", "wuhan_clerk", "wuhan_examiner", "wuhan_clerk", "wuhan_examiner"]
    assert events[0]["prev_hash"] == "" and all(b["prev_hash"] == a["hash"] for a, b in zip(events, events[1:], strict=False))

    # and the closed case is found by state
    found = clerk.get("/api/cases", params={"state": "registered", "item": PLEDGE}).json()["items"]
    assert [c["id"] for c in found] == [case["id"]]
    assert clerk.get(f"/api/cases/{case['id']}").headers["etag"] == '"5"'


def test_listing_filters_and_cursor_pages(live: Stack) -> None:
    clerk = live.wuhan_clerk
    opened = [open_pledge(clerk, pledgor=f"翻页测试{i}") for i in range(5)]
    ids = {c["id"] for c in opened}
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 2, "item": PLEDGE, "state": "received"}
        if cursor:
            params["cursor"] = cursor
        body = clerk.get("/api/cases", params=params).json()
        assert set(body) >= {"items", "next"} and len(body["items"]) <= 2
        seen += [c["id"] for c in body["items"]]
        pages += 1
        cursor = body["next"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)), "a case appeared on two pages"
    assert ids <= set(seen) and pages >= 3
    # opened between: today is inside, a past window is not
    today = opened[0]["opened_at"][:10]
    inside = clerk.get("/api/cases", params={"opened_from": today, "opened_to": today, "limit": 500}).json()
    assert ids <= {c["id"] for c in inside["items"]}
    before = clerk.get("/api/cases", params={"opened_to": "2020-01-01"}).json()
    assert before["items"] == [] and before["next"] is None
    closed = clerk.get("/api/cases", params={"closed_from": today}).json()
    assert not ids & {c["id"] for c in closed["items"]}
    assert all(c["sla"] in ("on_track", "warning") for c in clerk.get("/api/cases", params={"open": "true"}).json()["items"])
    by_alias = clerk.get("/api/cases", params={"item_id": PLEDGE, "limit": 500}).json()["items"]
    assert ids <= {c["id"] for c in by_alias} and {c["item_id"] for c in by_alias} == {PLEDGE}
    assert clerk.get("/api/cases", params={"item_id": "no_such_item"}).json()["items"] == []
