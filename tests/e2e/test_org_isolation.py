"""A Wuhan (420100) clerk cannot list, read or act on a Yichang (420500) case: it does not exist
for them (404, never 403). The province (420000) sees both."""

from __future__ import annotations

from .conftest import Stack, open_pledge, problem


def test_wuhan_clerk_cannot_see_or_touch_a_yichang_case(live: Stack) -> None:
    yc = open_pledge(live.yichang_clerk, pledgor="宜昌三峡新材料股份有限公司")
    wh = open_pledge(live.wuhan_clerk)
    wuhan = live.wuhan_clerk
    cid = yc["id"]

    # list: not there, whatever the filters say
    listed = {c["id"] for c in wuhan.get("/api/cases", params={"limit": 500}).json()["items"]}
    assert wh["id"] in listed and cid not in listed
    assert wuhan.get("/api/cases", params={"org": "420500"}).json() == {"items": [], "next": None}
    assert cid not in {c["id"] for c in wuhan.get("/api/worklist", params={"limit": 500}).json()["items"]}

    # read: not found
    for path in (f"/api/cases/{cid}", f"/api/cases/{cid}/history", f"/api/cases/{cid}/triggers"):
        problem(wuhan.get(path), 404)

    # act: not found, with or without If-Match (no 412 that would reveal its version) or a key
    problem(wuhan.post(f"/api/cases/{cid}/transitions/accept"), 404)
    problem(wuhan.post(f"/api/cases/{cid}/transitions/accept", headers={"If-Match": '"1"'}), 404)
    problem(wuhan.post(f"/api/cases/{cid}/transitions/accept", headers={"If-Match": '"5"'}), 404)
    problem(wuhan.post(f"/api/cases/{cid}/transitions/accept", headers={"Idempotency-Key": "peek"}), 404)
    problem(wuhan.post(f"/api/cases/{cid}/transitions/no_such_trigger"), 404)

    # nothing changed; Yichang's own clerk carries on
    assert live.yichang_clerk.get(f"/api/cases/{cid}").json()["version"] == 1
    assert live.yichang_clerk.post(f"/api/cases/{cid}/transitions/accept").status_code == 200

    # the province sees both; Yichang does not see Wuhan's
    assert live.province_leader.get(f"/api/cases/{cid}").status_code == 200
    assert live.province_leader.get(f"/api/cases/{wh['id']}").status_code == 200
    problem(live.yichang_clerk.get(f"/api/cases/{wh['id']}"), 404)
    prov = {c["id"] for c in live.province_leader.get("/api/cases", params={"org": "420500", "limit": 500}).json()["items"]}
    assert cid in prov and wh["id"] not in prov


def test_wuhan_supervisor_board_and_breaches_stay_in_wuhan(live: Stack) -> None:
    open_pledge(live.yichang_clerk)
    board = live.wuhan_supervisor.get("/api/sla/board").json()
    assert {r["org"] for r in board["items"]} <= {"420100"}
    assert live.wuhan_supervisor.get("/api/sla/board", params={"org": "420500"}).json()["items"] == []
    breaches = live.wuhan_supervisor.get("/api/sla/breaches", params={"org": "420500"}).json()
    assert breaches == {"items": [], "next": None}
