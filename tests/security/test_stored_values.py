"""Issue 14, class 3: no stored value can break a read.

Values no check lets in today — but an older version, a direct database edit or an import could
have stored — are written straight into the ``cases`` row on SQLite and PostgreSQL (bypassing the
engine): a 4,300-digit integer amount, two amounts of 1.7e308 (their sum overflows to inf), NaN,
a 300,000-character name, 9999-12-31 and 0001-01-01 in date fields, a list and a map where text
or a number is expected, and clocks whose legal start is 0001-01-01 or 9999-12-20. Every read then
answers below 500: the monthly report in JSON, CSV and XLSX (the bad values left out of the sums
with 数值异常), the board, breaches, worklist, case lists and search, the case, its history,
triggers, receipt and documents, the change feed, the pages, and ``caseclock report`` /
``caseclock export stages``.

On the old code the report answered 500 for the whole province (OverflowError: cannot convert
Infinity to integer; ValueError: exceeds the limit (4300 digits) when the report was stored), and
a clock started on 0001-01-01 took tens of seconds to read."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from typer.testing import CliRunner

from api.cli import app as cli_app
from tests.security.scope_stack import PLEDGE, PLEDGE_DATA, Stack, at, stack_at  # noqa: F401
from workflow.model import Actor

CLERK = Actor("wuhan_clerk", {"clerk"}, "420100")
EXAMINER = Actor("wuhan_examiner", {"examiner"}, "420100")
GIANT = int("9" * 4300)
HUGE_TEXT = "甲" * 300_000
TOO_SLOW = 5.0  # seconds: a read that takes longer grew with a value it carries


def _raw(stack: Stack, url: str, case_id: str, data: dict[str, Any] | None = None,
         start: date | None = None) -> None:
    """Write into the cases row as a direct database edit would: no engine, no check."""
    pg = url.startswith("postgresql")
    sa_engine = sa.create_engine(url)
    with sa_engine.begin() as conn:
        if data is not None:
            text = json.dumps(data, ensure_ascii=False)  # NaN as NaN: what Python's json writes
            text = text.replace('"<5000 digits>"', "1" + "0" * 4999)  # past what Python's int() reads
            cast = "CAST(:d AS json)" if pg else ":d"
            conn.execute(sa.text(f"UPDATE cases SET data = {cast} WHERE id = :id"), {"d": text, "id": case_id})
        if start is not None:
            row = conn.execute(sa.text("SELECT CAST(clocks AS text) FROM cases WHERE id = :id"),
                               {"id": case_id}).one()
            clocks = json.loads(row[0])
            for c in clocks.values():
                if c.get("started_on"):
                    c["started_on"] = start.isoformat()
                for seg in c.get("segments") or []:
                    seg[0] = start.isoformat()
            cast = "CAST(:c AS json)" if pg else ":c"
            conn.execute(sa.text(f"UPDATE cases SET clocks = {cast}, started_on = :s WHERE id = :id"),
                         {"c": json.dumps(clocks), "s": start if pg else start.isoformat(), "id": case_id})
    sa_engine.dispose()


def _pledge(stack: Stack, *, close: bool) -> str:
    e = stack.engine
    case = e.open_case(PLEDGE, actor=CLERK, data=PLEDGE_DATA)
    e.fire(case.id, "accept", actor=CLERK)
    if close:
        e.fire(case.id, "approve", actor=EXAMINER, data={"registration_number": "R-1"})
    return case.id


def _seed(stack: Stack, url: str) -> dict[str, str]:
    nan: Any = "NaN" if url.startswith("postgresql") else float("nan")  # PostgreSQL's json refuses NaN
    ids = {name: _pledge(stack, close=name.startswith("closed")) for name in
           ("closed_giant", "closed_huge_1", "closed_huge_2", "closed_nan", "open_odd", "open_ancient",
            "open_far")}
    base = dict(PLEDGE_DATA)
    _raw(stack, url, ids["closed_giant"], {**base, "secured_amount": GIANT, "patent_count": 2})
    _raw(stack, url, ids["closed_huge_1"], {**base, "secured_amount": 1.7e308, "patent_count": ["x"]})
    _raw(stack, url, ids["closed_huge_2"], {**base, "secured_amount": 1.7e308, "patent_count": "Infinity"})
    _raw(stack, url, ids["closed_nan"], {**base, "secured_amount": nan, "patent_count": 3})
    _raw(stack, url, ids["open_odd"], {**base, "pledgor": HUGE_TEXT, "pledgee": {"name": ["乙"]},
                                       "patent_numbers": ["ZL1", GIANT], "secured_amount": GIANT,
                                       "debt_term_end": "9999-12-31", "supplement_deadline": "0001-01-01",
                                       "patent_count": -1e308, "registration_number": "<5000 digits>"})
    _raw(stack, url, ids["open_ancient"], start=date(1, 1, 1))
    _raw(stack, url, ids["open_far"], {**base, "debt_term_end": "0001-01-01"}, start=date(9999, 12, 20))
    return ids


@pytest.fixture
def odd(stack_at, sql_url):  # noqa: F811 - the fixture
    stack = stack_at(sql_url, at("2024-03-05 10:00"))
    ids = _seed(stack, sql_url)
    stack.clock.at = at("2024-04-08 10:00")  # March is over: its report is stored when first asked for
    return stack, ids, sql_url


def _timed(client: Any, path: str, **kw: Any) -> Any:
    t0 = time.monotonic()
    r = client.get(path, **kw)
    took = time.monotonic() - t0
    assert r.status_code < 500, (path, r.status_code, r.text[:300])
    assert took < TOO_SLOW, (path, took)
    return r


def test_the_monthly_report_leaves_abnormal_values_out_with_a_note(odd):
    stack, ids, _ = odd
    boss = stack.client("province_leader")
    for month in ("2024-03", "2024-04"):  # a stored past month, and the running one
        r = _timed(boss, "/api/reports/monthly", params={"month": month, "format": "json"})
        assert r.status_code == 200
        json.loads(r.text, parse_constant=lambda c: pytest.fail(f"{c} in the JSON"))  # strict JSON
        for fmt in ("csv", "xlsx"):
            assert _timed(boss, "/api/reports/monthly", params={"month": month, "format": fmt}).status_code == 200
    march = json.loads(_timed(boss, "/api/reports/monthly", params={"month": "2024-03"}).text)
    line = next(ln for ln in march["lines"] if ln["org"] == "420000" and ln["item_id"] == PLEDGE
                and ln["scope"] == "total")
    # the four closed cases: the 4,300-digit integer, both 1.7e308 and NaN are left out; the count
    # of patents keeps 2 + 3 and leaves out the list and "Infinity"
    assert line["closed"] == 4
    assert line["figures"] == {"secured_amount": 0, "patent_count": 5}
    assert line["figure_anomalies"] == {"secured_amount": 4, "patent_count": 2}
    figures = list(csv.reader(io.StringIO(_timed(boss, "/api/reports/monthly", params={
        "month": "2024-03", "format": "csv", "sheet": "figures"}).text[1:])))
    assert figures[0][-2:] == ["数值", "说明"]
    row = next(r for r in figures if r[1] == "420000" and r[4] == PLEDGE and r[6] == "secured_amount")
    assert row[-2:] == ["0", "数值异常：4件的值未计入合计"]
    wb = load_workbook(io.BytesIO(_timed(boss, "/api/reports/monthly", params={
        "month": "2024-03", "format": "xlsx"}).content))
    cells = [[c.value for c in r] for r in wb["事项指标"].iter_rows()]
    assert any(r[6] == "secured_amount" and r[-1] == "数值异常：4件的值未计入合计" for r in cells)
    page = stack.page_client("province_leader")
    html = _timed(page, "/web/reports", params={"month": "2024-03"}).text
    assert "数值异常：4件的值未计入合计" in html


def test_every_read_of_the_odd_cases_answers(odd):
    stack, ids, _ = odd
    admin = stack.client("root_admin")
    leader = stack.client("province_leader")
    clerk = stack.client("wuhan_clerk")
    for cid in ids.values():
        for path in ("", "/history", "/triggers", "/receipt", "/documents", "/attachments"):
            _timed(clerk, f"/api/cases/{cid}{path}")
        docs = clerk.get(f"/api/cases/{cid}/documents").json()
        for d in docs.get("documents", docs if isinstance(docs, list) else []):
            name = d.get("template") or d.get("name")
            if name:
                _timed(clerk, f"/api/cases/{cid}/documents/{name}")
                _timed(clerk, f"/api/cases/{cid}/documents/{name}", params={"format": "pdf"})
    for client in (admin, leader, clerk):
        for path, params in (("/api/cases", {}), ("/api/cases", {"q": "甲"}), ("/api/cases", {"q": "ZL1"}),
                             ("/api/cases", {"state": "registered"}), ("/api/worklist", {}),
                             ("/api/sla/board", {}), ("/api/sla/breaches", {}), ("/api/changes", {})):
            _timed(client, path, params=params)
    page = stack.page_client("wuhan_clerk")
    for cid in ids.values():
        html = _timed(page, f"/web/cases/{cid}").text
        assert str(GIANT) not in html  # a giant number is shown abbreviated
        _timed(page, f"/web/cases/{cid}/receipt")
    for path in ("/web/worklist", "/web/cases", "/web/cases?q=%E7%94%B2"):
        _timed(page, path)
    boss = stack.page_client("province_leader")
    for path in ("/web/board", "/web/breaches", "/web/charts", "/web/reports",
                 "/web/reports/monthly.csv?month=2024-03", "/web/reports/monthly.xlsx?month=2024-03",
                 "/web/reports/monthly.csv?month=2024-03&sheet=figures", "/web/live.json"):
        _timed(boss, path)
    html = _timed(page, f"/web/cases/{ids['open_odd']}").text
    assert "甲" * 1000 in html  # the long name is shown, as stored


def test_exports_of_the_odd_cases(odd, tmp_path):
    stack, ids, url = odd
    runner = CliRunner()
    out = tmp_path / "stages.jsonl"
    r = runner.invoke(cli_app, ["export", "stages", "--db", url, "--out", str(out)])
    assert r.exit_code == 0, (r.stdout, r.stderr)
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert {m["case_id"] for m in lines} >= set(ids.values())
    for fmt in ("json", "csv", "table"):
        r = runner.invoke(cli_app, ["report", "--db", url, "--month", "2024-03", "--format", fmt])
        assert r.exit_code == 0, (fmt, r.stdout, r.stderr)
    r = runner.invoke(cli_app, ["report", "--db", url, "--month", "2024-03", "--format", "xlsx",
                                "--out", str(tmp_path / "m.xlsx")])
    assert r.exit_code == 0, (r.stdout, r.stderr)
