"""督办 over HTTP (issue 18 part 6): every line of the contract — issue (201, due, open), reply
(200, answered), the list of the caller's scope, 403 for a clerk, 404 for another city's case or
another org's reply, 409 for a second reply, 422 naming the field, idempotency keys, and the
escalation to the leaders once (the service's clock moved, the sweep run twice)."""

from __future__ import annotations

from datetime import datetime

from tests.e2e.conftest import open_pledge, problem

ORDER = {"reason": "企业反映办理进度慢", "action": "核实进度并书面答复", "reply_days": 3}


def _issue(client, case_id, **over):
    return client.post(f"/api/cases/{case_id}/orders", json={**ORDER, **over})


def test_issue_reply_and_list(live):
    case = open_pledge(live.wuhan_clerk)
    r = _issue(live.wuhan_supervisor, case["id"])
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["status"] == "open" and order["id"] and order["due"] and order["overdue"] is False
    assert order["reason"] == ORDER["reason"] and order["reply_days"] == 3
    mine = live.wuhan_clerk.get(f"/api/cases/{case['id']}/orders").json()["items"]
    assert [o["id"] for o in mine] == [order["id"]]
    listed = live.wuhan_supervisor.get("/api/orders", params={"status": "open"}).json()["items"]
    assert order["id"] in [o["id"] for o in listed]
    assert order["id"] in [o["id"] for o in live.province_leader.get("/api/orders?status=open").json()["items"]]
    assert order["id"] not in [o["id"] for o in live.yichang_clerk.get("/api/orders").json()["items"]]

    r = live.wuhan_examiner.post(f"/api/cases/{case['id']}/orders/{order['id']}/reply", json={"text": "已核实，今日办结"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "answered" and r.json()["reply"] == "已核实，今日办结"
    assert order["id"] not in [o["id"] for o in live.wuhan_supervisor.get("/api/orders?status=open").json()["items"]]
    answered = live.wuhan_supervisor.get("/api/orders?status=answered").json()["items"]
    assert order["id"] in [o["id"] for o in answered]
    problem(live.wuhan_clerk.post(f"/api/cases/{case['id']}/orders/{order['id']}/reply", json={"text": "再答"}), 409)
    history = live.wuhan_clerk.get(f"/api/cases/{case['id']}/history").json()["items"]
    assert [e["kind"] for e in history][-2:] == ["order_issued", "order_answered"]


def test_roles_scope_and_validation(live):
    case = open_pledge(live.wuhan_clerk)
    other = open_pledge(live.yichang_clerk)
    problem(_issue(live.wuhan_clerk, case["id"]), 403)
    problem(_issue(live.wuhan_supervisor, other["id"]), 404)
    problem(_issue(live.wuhan_supervisor, "no-such-case"), 404)
    for field, value in (("reason", ""), ("reason", "   "), ("action", ""), ("action", None)):
        body = problem(_issue(live.wuhan_supervisor, case["id"], **{field: value}), 422)
        assert field in body["fields"], body
    for days in (0, 61, -3, 2.5, "三", "3", True, None, [3]):
        body = problem(_issue(live.wuhan_supervisor, case["id"], reply_days=days), 422)
        assert "reply_days" in body["fields"], body
    assert live.wuhan_clerk.get(f"/api/cases/{case['id']}/orders").json()["items"] == []  # nothing issued
    order = _issue(live.province_leader, case["id"]).json()
    reply = f"/api/cases/{case['id']}/orders/{order['id']}/reply"
    problem(live.yichang_clerk.post(reply, json={"text": "答复"}), 404)
    problem(live.wuhan_supervisor.post(reply, json={"text": "答复"}), 403)
    problem(live.wuhan_clerk.post(f"/api/cases/{case['id']}/orders/nope/reply", json={"text": "答复"}), 404)
    assert "text" in problem(live.wuhan_clerk.post(reply, json={"text": " "}), 422)["fields"]
    problem(live.wuhan_supervisor.get("/api/orders?status=closed"), 400)


def test_orders_are_the_offices_own_reading(live):
    """A portal token (the province's integrating system) reads no supervision order: they are
    the office's internal supervision, not the applicant's business."""
    case = open_pledge(live.wuhan_clerk)
    assert _issue(live.wuhan_supervisor, case["id"]).status_code == 201
    portal = live.client("portal")
    problem(portal.get("/api/orders"), 403)
    problem(portal.get(f"/api/cases/{case['id']}/orders"), 403)
    assert live.wuhan_clerk.get(f"/api/cases/{case['id']}/orders").json()["items"]


def test_idempotency_keys(live):
    case = open_pledge(live.wuhan_clerk)
    first = live.wuhan_supervisor.post(f"/api/cases/{case['id']}/orders", json=ORDER, headers={"Idempotency-Key": "o-1"})
    again = live.wuhan_supervisor.post(f"/api/cases/{case['id']}/orders", json=ORDER, headers={"Idempotency-Key": "o-1"})
    assert first.status_code == again.status_code == 201 and first.json()["id"] == again.json()["id"]
    assert len(live.wuhan_clerk.get(f"/api/cases/{case['id']}/orders").json()["items"]) == 1
    problem(live.wuhan_supervisor.post(f"/api/cases/{case['id']}/orders", json={**ORDER, "reply_days": 5},
                                       headers={"Idempotency-Key": "o-1"}), 409)
    reply = f"/api/cases/{case['id']}/orders/{first.json()['id']}/reply"
    a = live.wuhan_clerk.post(reply, json={"text": "好"}, headers={"Idempotency-Key": "r-1"})
    b = live.wuhan_clerk.post(reply, json={"text": "好"}, headers={"Idempotency-Key": "r-1"})
    assert a.status_code == b.status_code == 200 and a.json() == b.json()


def test_unanswered_escalates_to_the_leaders_once(timed):
    timed.clock.at = datetime.fromisoformat("2024-03-04T10:00:00+08:00")
    case = open_pledge(timed.wuhan_clerk)
    order = _issue(timed.wuhan_supervisor, case["id"], reply_days=1).json()
    assert order["due"] == "2024-03-05"
    timed.clock.at = datetime.fromisoformat("2024-03-06T00:00:01+08:00")
    first = [e for e in timed.engine.sweep() if e.clock == f"order:{order['id']}"]
    second = [e for e in timed.engine.sweep() if e.clock == f"order:{order['id']}"]
    assert len(first) == 1 and second == []
    (listed,) = [o for o in timed.wuhan_supervisor.get("/api/orders?status=open").json()["items"] if o["id"] == order["id"]]
    assert listed["overdue"] is True and listed["escalated_at"]
    kinds = [e["kind"] for e in timed.wuhan_clerk.get(f"/api/cases/{case['id']}/history").json()["items"]]
    assert kinds.count("order_escalated") == 1
    changes = timed.wuhan_supervisor.get("/api/changes", params={"after": "", "limit": 500}).json()["items"]
    assert {"order_issued", "order_escalated"} <= {c["kind"] for c in changes}


ORDER_KINDS = {"order_issued", "order_answered", "order_escalated", "order_lapsed"}


def test_a_portal_sees_no_order_in_the_history_the_change_feed_or_webhooks(timed):
    """Orders are the office's internal supervision: a portal token (the province's integrating
    system) finds none of their events (issued, answered, escalated, lapsed), nor their texts, in a
    case's history or in the change feed, while the staff see them all; nor may it subscribe a
    webhook (the root admin's alone)."""
    timed.clock.at = datetime.fromisoformat("2024-03-04T10:00:00+08:00")
    case = open_pledge(timed.wuhan_clerk)
    answered = _issue(timed.wuhan_supervisor, case["id"], reason="答复过的督办事由", reply_days=1).json()
    assert timed.wuhan_clerk.post(f"/api/cases/{case['id']}/orders/{answered['id']}/reply",
                                  json={"text": "内部答复文字"}).status_code == 200
    late = _issue(timed.wuhan_supervisor, case["id"], reason="逾期的督办事由", reply_days=1).json()
    timed.clock.at = datetime.fromisoformat("2024-03-06T00:00:01+08:00")
    assert [e.clock for e in timed.engine.sweep() if e.clock.startswith("order:")] == [f"order:{late['id']}"]
    _issue(timed.wuhan_supervisor, case["id"], reason="失效的督办事由")
    r = timed.wuhan_clerk.post(f"/api/cases/{case['id']}/transitions/withdraw")
    assert r.status_code == 200, r.text
    staff_kinds = {e["kind"] for e in timed.wuhan_clerk.get(f"/api/cases/{case['id']}/history").json()["items"]}
    assert ORDER_KINDS <= staff_kinds  # the test writes every kind an order writes
    staff_feed = timed.wuhan_supervisor.get("/api/changes", params={"after": "", "limit": 500}).json()["items"]
    assert ORDER_KINDS <= {c["kind"] for c in staff_feed}

    portal = timed.client("portal")
    r = portal.get(f"/api/cases/{case['id']}/history")
    assert r.status_code == 200, r.text
    history = r.json()["items"]
    assert {"opened", "transition"} <= {e["kind"] for e in history}  # the case's own steps are still there
    assert not ORDER_KINDS & {e["kind"] for e in history}
    r = portal.get("/api/changes", params={"after": "", "limit": 500})
    assert r.status_code == 200, r.text
    feed = r.json()
    assert [c for c in feed["items"] if c["case_id"] == case["id"]]
    assert not ORDER_KINDS & {c["kind"] for c in feed["items"]}
    assert feed["next"] == timed.wuhan_supervisor.get("/api/changes", params={"after": "", "limit": 500}).json()["next"]
    for text in ("答复过的督办事由", "逾期的督办事由", "失效的督办事由", "内部答复文字", ORDER["action"], answered["id"]):
        assert text not in r.text and text not in str(history)
    problem(portal.get("/api/webhooks"), 403)
    problem(portal.post("/api/webhooks", json={"url": "https://portal.example.cn/hook"}), 403)


def test_a_lapsed_order_says_so_and_a_bad_reply_days_is_named(live):
    case = open_pledge(live.wuhan_clerk)
    order = _issue(live.wuhan_supervisor, case["id"]).json()
    assert live.wuhan_clerk.post(f"/api/cases/{case['id']}/transitions/withdraw").status_code == 200
    body = problem(live.wuhan_clerk.post(f"/api/cases/{case['id']}/orders/{order['id']}/reply",
                                         json={"text": "答复"}), 409)
    assert "lapsed" in body["detail"] and "已失效（案件已办结）" in body["detail"], body
    assert "answered already" not in body["detail"]
    other = open_pledge(live.wuhan_clerk)
    for days in (0, 61):
        body = problem(_issue(live.wuhan_supervisor, other["id"], reply_days=days), 422)
        assert "needs" not in body["detail"] and "1 to 60" in body["detail"], body
        assert "1 to 60" in body["fields"]["reply_days"]
    body = problem(_issue(live.wuhan_supervisor, other["id"], reason="", reply_days=61), 422)
    assert body["detail"].startswith("a supervision order needs reason;") and "reply_days: " in body["detail"]
    body = problem(_issue(live.wuhan_supervisor, other["id"], reason="理" * 1001), 422)
    assert "needs" not in body["detail"] and "at most 1000 characters" in body["detail"], body


def test_the_list_of_orders_comes_a_page_at_a_time(timed):
    from workflow import Actor

    supervisor = Actor("s1", {"supervisor"}, "420100")
    case = open_pledge(timed.wuhan_clerk)
    issued = [timed.engine.issue_order(case["id"], actor=supervisor, reason=f"事由{i}", action="办", reply_days=3).id
              for i in range(53)]
    first = timed.wuhan_supervisor.get("/api/orders").json()
    assert len(first["items"]) == 50 and first["next"]  # a bounded default page
    rest = timed.wuhan_supervisor.get("/api/orders", params={"cursor": first["next"]}).json()
    assert [o["id"] for o in first["items"] + rest["items"]] == sorted(
        issued, key=lambda i: next(o.issued_at for o in timed.engine.orders() if o.id == i).isoformat() + i)
    assert rest["next"] is None
    seen, cursor = [], None
    while True:
        got = timed.wuhan_supervisor.get("/api/orders", params={"limit": 20, **({"cursor": cursor} if cursor else {})}).json()
        seen += [o["id"] for o in got["items"]]
        cursor = got["next"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(issued) and len(seen) == 53
    problem(timed.wuhan_supervisor.get("/api/orders", params={"cursor": "bm9wZQ"}), 400)
    lapsed = timed.wuhan_supervisor.get("/openapi.json").json()["paths"]["/api/orders"]["get"]["parameters"]
    assert "lapsed" in next(p for p in lapsed if p["name"] == "status")["description"]
