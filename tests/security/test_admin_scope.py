"""Issue 14, class 1: an admin act whose effect reaches beyond the actor's org subtree (the
calendar, definition versions, another org's suspension, the stored province report) needs the
admin role at the root of the org tree. A city admin gets 403 and nothing changes: over HTTP, on
the pages and in the library (the engine refuses it too). Every admin route states its scope in
the OpenAPI description (``x-scope`` and a ``Scope:`` sentence).

On the old code a Yichang admin loaded the province's 2027 calendar through ``POST /api/calendar``
and the calendar page, and a Wuhan case's deadlines were recomputed."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from adapters import build_engine
from api.app import create_app
from tests.security.scope_stack import (
    PLEDGE,
    PLEDGE_DATA,
    Stack,
    actor,
    at,
    csrf_of,
    problem,
    stack_at,  # noqa: F401 - the fixture
)
from workflow import errors

NOTICE_2027 = {"year": 2027, "source": "国务院办公厅关于2027年部分节假日安排的通知（测试）",
               "holidays": ["2027-01-01"], "workdays": []}
NOW = "2026-12-28 10:00"  # Mon: a 5-working-day limit ends in 2027, which no package knows yet
PAPER = {**PLEDGE_DATA, "channel": "paper"}  # 5 working days (online: 2)

OFFICE, SUBTREE, CASE = "office", "subtree", "case"  # the x-scope values (api/scope.py)

# a valid body (None: none) for each office-wide route: the test sends each one as a city admin;
# ``{sub_id}`` is filled in with a subscriber the root admin added
OFFICE_BODIES: dict[tuple[str, str], Any] = {
    ("post", "/api/calendar"): NOTICE_2027,
    ("post", "/api/migrations"): {"item_id": PLEDGE, "from_version": 1, "to_version": 1,
                                  "reason": "城市管理员试图迁移全省案件"},
    ("get", "/api/webhooks"): None,
    ("post", "/api/webhooks"): {"url": "https://oa.example.cn/hook", "note": "城市管理员试图订阅全省"},
    ("get", "/api/webhooks/{sub_id}"): None,
    ("delete", "/api/webhooks/{sub_id}"): None,
}


def _operations(app: Any) -> list[tuple[str, str, dict[str, Any]]]:
    spec = app.openapi()
    return [(m, path, op) for path, item in spec["paths"].items() for m, op in item.items()
            if isinstance(op, dict) and "responses" in op]


def test_every_admin_route_states_its_scope() -> None:
    app = create_app(build_engine("memory://"))
    admin_routes = []
    for method, path, op in _operations(app):
        text = f"{op.get('summary', '')} {op.get('description', '')}"
        if "admin" not in text.lower() and "x-scope" not in op:
            continue
        admin_routes.append((method, path))
        assert op.get("x-scope") in (OFFICE, SUBTREE, CASE), (method, path)
        assert "Scope:" in op.get("description", ""), (method, path, op.get("description"))
    scopes = {(m, p): op.get("x-scope") for m, p, op in _operations(app) if "x-scope" in op}
    assert scopes[("post", "/api/calendar")] == OFFICE
    assert scopes[("post", "/api/migrations")] == OFFICE
    assert scopes[("post", "/api/suspensions")] == SUBTREE
    assert {("post", "/api/cases/{case_id}/assign"), ("post", "/api/cases/{case_id}/transfer"),
            ("post", "/api/cases/{case_id}/correct")} <= set(admin_routes)
    # every office-wide route is sent as a city admin below: a new one needs a body there
    office = {k for k, v in scopes.items() if v == OFFICE}
    assert office == set(OFFICE_BODIES), office ^ set(OFFICE_BODIES)


def _state(s: Stack, case_id: str) -> tuple[Any, ...]:
    """What a refused act must leave as it was: the case, its history, the calendar, the cases,
    the webhook subscribers."""
    root = s.client("root_admin")
    return (root.get(f"/api/cases/{case_id}").json(), root.get(f"/api/cases/{case_id}/history").json(),
            root.get("/api/calendar").json(), root.get("/api/cases", params={"limit": 500}).json(),
            root.get("/api/webhooks").json())


@pytest.mark.parametrize("city_admin", ["yichang_admin", "wuhan_admin"])
def test_a_city_admin_cannot_act_office_wide_over_http_or_the_pages(stack_at, sql_url: str, city_admin: str) -> None:  # noqa: F811
    s: Stack = stack_at(sql_url, at(NOW))
    wuhan = s.client("wuhan_clerk").post("/api/cases", json={"item_id": PLEDGE, "data": PAPER})
    assert wuhan.status_code == 201, wuhan.text
    case = wuhan.json()
    assert any(c["provisional"] for c in case["clocks"].values())  # its deadline lies in 2027
    hook = s.client("root_admin").post("/api/webhooks", json={"url": "https://oa.example.cn/province"})
    assert hook.status_code == 201, hook.text
    before = _state(s, case["id"])

    admin = s.client(city_admin)
    for (method, path), body in OFFICE_BODIES.items():
        url = path.replace("{sub_id}", hook.json()["id"])
        sent = admin.request(method.upper(), url, **({} if body is None else {"json": body}))
        p = problem(sent, 403)
        assert "root of the org tree" in p["detail"], (method, path, p)
    # another org's suspension: 403 (the city's own cases only)
    other = "420500" if city_admin == "wuhan_admin" else "420100"
    suspension = {"org": other, "first": "2026-12-28", "last": "2026-12-29", "reason": "停电"}
    problem(admin.post("/api/suspensions", json=suspension), 403)
    problem(admin.post("/api/suspensions", json={**suspension, "org": "420000"}), 403)

    # the pages: no upload form, and a posted file is refused
    page = s.page_client(city_admin)
    html = page.get("/web/calendar").text
    assert 'action="/web/calendar"' not in html
    r = page.post("/web/calendar", data={"csrf": csrf_of(html)},
                  files={"file": ("2027.yaml", b"year: 2027\nsource: x\nholidays: [2027-01-01]\nworkdays: []\n",
                                  "text/yaml")})
    assert r.status_code == 403, r.text

    assert _state(s, case["id"]) == before  # nothing changed anywhere

    # the root admin may: the Wuhan case is recomputed, its event names who loaded the notice
    root = s.client("root_admin")
    loaded = root.post("/api/calendar", json=NOTICE_2027)
    assert loaded.status_code == 200, loaded.text
    assert loaded.json()["recomputed"] == [case["id"]]
    last = root.get(f"/api/cases/{case['id']}/history").json()["items"][-1]
    assert (last["kind"], last["actor_id"]) == ("calendar_recomputed", "root_admin")
    # a city admin's suspension of the city's own cases still works
    own = {"org": "420100" if city_admin == "wuhan_admin" else "420500", "first": "2026-12-28",
           "last": "2026-12-29", "reason": "系统停机"}
    done = admin.post("/api/suspensions", json=own)
    assert done.status_code == 201, done.text
    assert (case["id"] in done.json()["cases"]) is (city_admin == "wuhan_admin")


def test_a_city_admin_is_refused_by_the_engine_itself(store_url: str, tmp_path) -> None:
    clock_at = at(NOW)
    engine = build_engine(store_url, now=lambda: clock_at)
    try:
        case = engine.open_case(PLEDGE, actor=actor("wuhan_clerk"), data=PAPER)
        notice = tmp_path / "2027.yaml"
        notice.write_text("year: 2027\nsource: 通知\nholidays: [2027-01-01]\nworkdays: []\n", encoding="utf-8")

        def snapshot() -> tuple[Any, ...]:
            return (engine.get_case(case.id), engine.history(case.id), engine.deadlines(case.id),
                    engine.calendar.is_official(2027), sorted(getattr(engine.calendar, "overrides", {}) or {}))

        before = snapshot()
        for who in ("yichang_admin", "wuhan_admin"):
            city = actor(who)
            with pytest.raises(errors.Forbidden, match="root of the org tree"):
                engine.load_calendar(notice, city)
            with pytest.raises(errors.Forbidden, match="root of the org tree"):
                engine.recompute_calendar(2027, actor=city)
            with pytest.raises(errors.Forbidden, match="root of the org tree"):
                engine.migrate(PLEDGE, from_version=1, to_version=1, actor=city, reason="越权迁移")
        with pytest.raises(errors.Forbidden):
            engine.suspend("420100", date(2026, 12, 28), date(2026, 12, 29), actor=actor("yichang_admin"),
                           reason="越权中止")
        with pytest.raises(errors.Forbidden):  # not an admin at all
            engine.load_calendar(notice, actor("province_leader"))
        assert snapshot() == before

        assert engine.suspend("420500", date(2026, 12, 28), date(2026, 12, 29), actor=actor("yichang_admin"),
                              reason="宜昌停机") == []  # the city's own: allowed (no open case there)
        assert engine.load_calendar(notice, actor("root_admin")) == [case.id]
        assert engine.history(case.id)[-1].actor_id == "root_admin"
    finally:
        dispose = getattr(engine.store, "dispose", None)
        if dispose is not None:
            dispose()


def test_a_city_refresh_leaves_the_stored_province_report_alone(stack_at, sql_url: str) -> None:  # noqa: F811
    s: Stack = stack_at(sql_url, at("2026-11-10 10:00"))
    s.client("wuhan_clerk").post("/api/cases", json={"item_id": PLEDGE, "data": PLEDGE_DATA})
    s.clock.at = at("2026-12-02 09:00")
    stored = s.client("province_leader").get("/api/reports/monthly", params={"month": "2026-11"}).json()
    s.clock.at = at("2026-12-03 09:00")
    city = s.client("yichang_supervisor")
    fresh = city.get("/api/reports/monthly", params={"month": "2026-11", "refresh": "true"}).json()
    assert fresh["generated_at"] == at("2026-12-03 09:00").isoformat()  # computed afresh for them
    assert {ln["org"] for ln in fresh["lines"]} <= {"420500"}
    page = s.page_client("yichang_supervisor")
    r = page.post("/web/reports", data={"csrf": csrf_of(page.get("/web/reports").text), "month": "2026-11"})
    assert r.status_code == 303 and "fresh=1" in r.headers["location"]
    again = s.client("province_leader").get("/api/reports/monthly", params={"month": "2026-11"}).json()
    assert again == stored  # the province's stored report is the one it was
    root = s.client("province_leader").get("/api/reports/monthly", params={"month": "2026-11", "refresh": "true"})
    assert root.json()["generated_at"] == at("2026-12-03 09:00").isoformat()
    assert s.client("province_leader").get("/api/reports/monthly", params={"month": "2026-11"}).json() == root.json()
