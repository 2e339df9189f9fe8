"""Issue 14, class 3: no request's cost grows with a value it carries.

On the old code ``started_on: 0001-01-01`` took 35 s to open a case (every working day since the
year 1 counted one by one, the SQLite write lock held meanwhile) and
``notice_received_on: 9999-12-31`` was a 500 (OverflowError past the last date there is). Now the
engine's own date parameters are bounded before anything counts from them — the back-dated legal
start (one year by default, ``EngineSettings.max_backdate_days``), the days of a suspension, the
list filters' dates — each refusal a 422 naming the parameter, the case unchanged; and the legal
time arithmetic neither walks a span day by day past twenty years nor raises OverflowError."""

from __future__ import annotations

import time
from datetime import date

import pytest

from adapters import build_engine
from api.demo import SimClock
from tests.security.scope_stack import PLEDGE, PLEDGE_DATA, at, problem, stack_at  # noqa: F401
from workflow import legaltime as lt
from workflow.bounds import OutOfRange
from workflow.calendar import WeekendCalendar
from workflow.engine import EngineSettings
from workflow.limits import Limit
from workflow.model import Actor

NOW = "2024-03-05 10:00"
CLERK = Actor("wuhan_clerk", {"clerk"}, "420100")
TM_DATA = {"request_type": "registration", "channel": "paper", "pledgor": "宜昌三峡新材料股份有限公司",
           "pledgee": "中国银行宜昌分行", "trademark_numbers": "12345678"}
QUICK = 2.0  # seconds: far above what any of these takes now, far below what they took


def _count(engine) -> int:
    return len(engine.list_cases())


def test_a_back_dated_legal_start_is_bounded_before_anything_counts(stack_at, sql_url):  # noqa: F811
    stack = stack_at(sql_url, at(NOW))
    clerk = stack.client("wuhan_clerk")
    before = _count(stack.engine)
    for started in ("0001-01-01", "1899-12-31", "2023-03-04"):  # the last: one day past a year back
        t0 = time.monotonic()
        r = clerk.post("/api/cases", json={"item_id": PLEDGE, "data": PLEDGE_DATA, "started_on": started,
                                           "reason": "邮寄"})
        assert time.monotonic() - t0 < QUICK
        body = problem(r, 422)
        assert body["field"] == "started_on" and "started_on" in body["fields"], body
    assert _count(stack.engine) == before
    r = clerk.post("/api/cases", json={"item_id": PLEDGE, "data": PLEDGE_DATA, "started_on": "2023-03-05",
                                       "reason": "邮寄"})  # exactly 366 days back: allowed
    assert r.status_code == 201, r.text
    assert r.json()["started_on"] == "2023-03-05"
    # the pages say it in Chinese
    page = stack.page_client("wuhan_clerk")
    from tests.security.scope_stack import csrf_of

    form = page.get(f"/web/cases/new?item={PLEDGE}")
    r = page.post("/web/cases/new", data={"csrf": csrf_of(form.text), "item": PLEDGE, "started_on": "0001-01-01",
                                          "reason": "邮寄", **{f"f_{k}": v for k, v in PLEDGE_DATA.items()}})
    assert r.status_code == 422 and "年份应在1900至2199年之间" in r.text
    assert _count(stack.engine) == before + 1


def test_the_library_refuses_with_a_clear_exception_and_the_span_is_configurable():
    clock = SimClock()
    clock.at = at(NOW)
    engine = build_engine("memory://", now=clock, settings=EngineSettings(max_backdate_days=30))
    with pytest.raises(OutOfRange) as err:
        engine.open_case(PLEDGE, actor=CLERK, data=PLEDGE_DATA, started_on=date(2024, 2, 1), reason="邮寄")
    assert err.value.fields == {"started_on": "at most 30 days back: not before 2024-02-04"}
    with pytest.raises(OutOfRange) as err:
        engine.open_case(PLEDGE, actor=CLERK, data=PLEDGE_DATA, started_on=date(1, 1, 1), reason="邮寄")
    assert list(err.value.fields) == ["started_on"]
    assert engine.list_cases() == []
    case = engine.open_case(PLEDGE, actor=CLERK, data=PLEDGE_DATA, started_on=date(2024, 2, 4), reason="邮寄")
    assert case.started_on == date(2024, 2, 4)


def test_suspension_days_and_list_filters_are_bounded(stack_at, sql_url):  # noqa: F811
    stack = stack_at(sql_url, at(NOW))
    admin = stack.client("root_admin")
    case = stack.engine.open_case(PLEDGE, actor=CLERK, data=PLEDGE_DATA)
    version = stack.engine.get_case(case.id).version
    for first, last, field in (("0001-01-01", "2024-03-01", "first"), ("2024-03-01", "9999-12-31", "last"),
                               ("2020-01-01", "2024-03-01", "first"),  # more than three years back
                               ("2024-03-01", "2025-06-01", "last")):  # more than a year of days
        t0 = time.monotonic()
        r = admin.post("/api/suspensions", json={"org": "420100", "first": first, "last": last, "reason": "停机"})
        assert time.monotonic() - t0 < QUICK
        assert problem(r, 422)["field"] == field, (first, last, r.text)
    assert stack.engine.get_case(case.id).version == version
    r = admin.post("/api/suspensions", json={"org": "420100", "first": "2024-03-04", "last": "2024-03-05",
                                             "reason": "停机"})
    assert r.status_code == 201, r.text
    clerk = stack.client("wuhan_clerk")
    for name, value in (("opened_from", "0001-01-01"), ("opened_to", "9999-12-31"),
                        ("closed_to", "9999-12-31T23:59:59-12:00"), ("closed_from", "0001-01-01T00:00:00+14:00")):
        body = problem(clerk.get("/api/cases", params={name: value}), 422)
        assert body["field"] == name, body
    assert clerk.get("/api/cases", params={"opened_from": "2024-01-01", "opened_to": "2024-12-31"}).status_code == 200


def test_a_date_far_out_of_range_does_not_break_a_transition(stack_at, sql_url):  # noqa: F811
    """notice_received_on starts the party's period; its own field rule belongs to the definition
    format. Whatever that rule says, the engine's arithmetic neither fails nor lingers."""
    stack = stack_at(sql_url, at(NOW))
    clerk = stack.client("yichang_clerk")
    for day in ("9999-12-31", "0001-01-01"):
        r = clerk.post("/api/cases", json={"item_id": "trademark_pledge_registration", "data": TM_DATA})
        assert r.status_code == 201, r.text
        cid = r.json()["id"]
        assert clerk.post(f"/api/cases/{cid}/transitions/accept").status_code == 200
        t0 = time.monotonic()
        r = clerk.post(f"/api/cases/{cid}/transitions/request_supplement",
                       json={"data": {"supplement_items": "签章页", "notice_received_on": day}})
        assert time.monotonic() - t0 < QUICK
        assert r.status_code in (200, 422), r.text
        assert clerk.get(f"/api/cases/{cid}").status_code == 200


def test_legal_time_costs_the_same_for_any_date():
    cal = WeekendCalendar()
    limit = Limit.parse("20 working days")
    for start in (date(1, 1, 1), date(9999, 12, 20), date(9999, 12, 31)):
        st = lt.start(lt.ClockState(name="h", limit=limit), start)
        t0 = time.monotonic()
        d = lt.evaluate(st, cal, today=date(2024, 3, 5))
        assert time.monotonic() - t0 < QUICK
        if start.year == 1:  # counted by rule past twenty years, and it says so
            assert d.provisional and d.used_units > 500_000 and d.statutory_due == date(1, 1, 29)
        else:
            assert d.statutory_due is None and d.provisional  # past the last date there is
    stopped = lt.stop(lt.start(lt.ClockState(name="h", limit=limit), date(1, 1, 1)), date(2024, 3, 5))
    t0 = time.monotonic()
    assert lt.evaluate(stopped, cal).statutory_due == date(1, 1, 29)
    assert time.monotonic() - t0 < QUICK


def test_a_report_month_out_of_range_is_refused_before_any_date_is_made(tmp_path):
    """On the old code ``caseclock report --month 0001-01`` stopped with an OverflowError traceback."""
    from typer.testing import CliRunner

    from adapters.reports import ReportService
    from api.cli import app as cli_app

    engine = build_engine("memory://")
    for year, month in ((1, 1), (9999, 12), (2200, 1)):
        with pytest.raises(OutOfRange) as err:
            ReportService(engine).compute(year, month)
        assert list(err.value.fields) == ["month"]
    db = f"sqlite:///{tmp_path / 'r.db'}"
    for month in ("0001-01", "9999-12"):
        r = CliRunner().invoke(cli_app, ["report", "--db", db, "--month", month, "--format", "json"])
        assert r.exit_code == 1 and "month: must lie between 1900-01 and 2199-12" in r.output, r.output
        assert "Traceback" not in r.output
