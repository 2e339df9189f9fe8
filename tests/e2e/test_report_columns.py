"""The monthly report over real HTTP across two months: the same columns in the same order every
month whatever items closed (their figures on a sheet of their own), the CSV's first row its
header, the running month saying 截至 … in the JSON's metadata and the workbook's notes (never a CSV
row) and judging open cases now (no month-end projection), withdrawn cases counted as withdrawn."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from openpyxl import load_workbook

from workflow.legaltime import TZ

from .conftest import PLEDGE, Stack, pledge_data

LICENSE = "patent_license_filing"


def at(stack: Stack, text: str) -> None:
    stack.clock.at = datetime.fromisoformat(text).replace(tzinfo=TZ)


def fire(client, case_id: str, trigger: str, **data) -> None:
    r = client.post(f"/api/cases/{case_id}/transitions/{trigger}", json={"data": data})
    assert r.status_code == 200, r.text


def csv_rows(r) -> list[list[str]]:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))


def test_two_months_one_set_of_columns(timed: Stack) -> None:
    clerk, examiner, boss = timed.wuhan_clerk, timed.wuhan_examiner, timed.wuhan_supervisor

    # September 2024: a pledge registered, another withdrawn
    at(timed, "2024-09-02T10:00")
    done = clerk.post("/api/cases", json={"item_id": PLEDGE, "data": pledge_data(
        channel="paper", secured_amount=5_000_000, patent_count=2)}).json()
    gone = clerk.post("/api/cases", json={"item_id": PLEDGE, "data": pledge_data(channel="paper")}).json()
    fire(clerk, done["id"], "accept")
    at(timed, "2024-09-03T10:00")
    fire(examiner, done["id"], "approve")
    r = clerk.post(f"/api/cases/{gone['id']}/transitions/withdraw")
    assert r.status_code == 200, r.text

    # October: a licence contract filed (other figures); a pledge opened on Mon 10-21 on paper:
    # statutory last day Mon 10-28, committed Thu 10-24 — on track on the 23rd, over the statutory
    # limit by the 31st
    at(timed, "2024-10-08T10:00")
    lic = clerk.post("/api/cases", json={"item_id": LICENSE, "data": {
        "licensor": "武汉甲科技有限公司", "licensee": "武汉乙制造有限公司", "patent_numbers": "ZL1、ZL2、ZL3",
        "patent_count": 3, "license_type": "ordinary", "contract_effective_on": "2024-10-01",
        "license_fee": 100_000}})
    assert lic.status_code == 201, lic.text
    fire(clerk, lic.json()["id"], "accept")
    at(timed, "2024-10-09T10:00")
    fire(examiner, lic.json()["id"], "approve")
    at(timed, "2024-10-21T10:00")
    late = clerk.post("/api/cases", json={"item_id": PLEDGE, "data": pledge_data(channel="paper")}).json()
    assert late["clocks"]["handling"]["statutory_due"] == "2024-10-28"

    at(timed, "2024-10-23T10:00")
    sep = boss.get("/api/reports/monthly", params={"month": "2024-09"}).json()
    oct_ = boss.get("/api/reports/monthly", params={"month": "2024-10"}).json()

    # withdrawn counts as withdrawn, never as on time
    total = next(ln for ln in sep["lines"] if ln["item_id"] == PLEDGE and ln["scope"] == "total")
    assert (total["closed"], total["withdrawn"], total["measured"], total["on_time"]) == (2, 1, 1, 1)
    assert total["on_time_rate"] == 1.0

    # September is over: complete, nothing "as of"; October is running: 截至 the 23rd
    assert sep["metadata"]["complete"] is True and sep["as_of"] is None and sep["metadata"]["note"] == ""
    assert oct_["metadata"]["complete"] is False
    assert oct_["as_of"].startswith("2024-10-23T10:00")
    assert oct_["metadata"]["note"].startswith("截至2024年10月23日")
    # judged now, not projected to the month's end: the pledge of the 21st is no breach yet
    wuhan = next(ln for ln in oct_["lines"] if ln["org"] == "420100" and ln["item_id"] == "*" and ln["scope"] == "total")
    assert wuhan["open_breaches"] == 0

    # the same columns, in the same order, both months, whatever items closed in them
    a = csv_rows(boss.get("/api/reports/monthly", params={"month": "2024-09", "format": "csv"}))
    b = csv_rows(boss.get("/api/reports/monthly", params={"month": "2024-10", "format": "csv"}))
    assert a[0] == b[0] and a[0][0] == "统计月份"  # the first row is the header, both months
    assert a[0] == [c["heading"] for c in sep["metadata"]["columns"]] == [c["heading"] for c in oct_["metadata"]["columns"]]
    assert "撤回数" in a[0] and "质押担保金额" not in a[0] and "许可使用费合计" not in b[0]
    assert all(row[0] == "2024-10" for row in b[1:])  # no 截至 row in the CSV
    assert not any("截至" in cell for row in b for cell in row)
    # each item's own figures on a sheet of their own
    fa = csv_rows(boss.get("/api/reports/monthly", params={"month": "2024-09", "format": "csv", "sheet": "figures"}))
    fb = csv_rows(boss.get("/api/reports/monthly", params={"month": "2024-10", "format": "csv", "sheet": "figures"}))
    assert fa[0] == fb[0] == ["统计月份", "单位代码", "单位", "范围", "事项代码", "事项", "指标代码", "指标", "数值", "说明"]
    assert ["质押担保金额", "5000000", ""] in [r[-3:] for r in fa[1:]]
    assert ["许可使用费合计", "100000", ""] in [r[-3:] for r in fb[1:]]

    # the workbook: the same 月报 columns; the notes say 截至 for the running month only, in
    # timestamps as people write them
    sheets = {}
    for month in ("2024-09", "2024-10"):
        r = boss.get("/api/reports/monthly", params={"month": month, "format": "xlsx"})
        assert r.status_code == 200
        sheets[month] = load_workbook(io.BytesIO(r.content))
    heads = {m: [c.value for c in wb["月报"][1]] for m, wb in sheets.items()}
    assert heads["2024-09"] == heads["2024-10"] == a[0]
    notes = {m: {row[0].value: row[1].value for row in wb["说明"].iter_rows() if row[0].value}
             for m, wb in sheets.items()}
    assert "截至" not in notes["2024-09"]
    assert notes["2024-10"]["截至"].startswith("截至2024年10月23日 10:00")
    assert notes["2024-10"]["生成时间"] == "2024-10-23 10:00"
    assert [c.value for c in sheets["2024-10"]["事项指标"][1]] == fb[0]

    # by the month's end the pledge is over its statutory limit: a breach then, not before
    at(timed, "2024-11-04T09:00")
    oct_done = boss.get("/api/reports/monthly", params={"month": "2024-10"}).json()
    wuhan = next(ln for ln in oct_done["lines"] if ln["org"] == "420100" and ln["item_id"] == "*" and ln["scope"] == "total")
    assert oct_done["metadata"]["complete"] is True and wuhan["open_breaches"] == 1


def test_a_withdrawn_case_shows_as_withdrawn_never_on_time(timed: Stack) -> None:
    """QA D4: the report counts a withdrawal as withdrawn; the case and the list say so too."""
    clerk = timed.wuhan_clerk
    at(timed, "2024-09-02T10:00")
    gone = clerk.post("/api/cases", json={"item_id": PLEDGE, "data": pledge_data(channel="paper")}).json()
    r = clerk.post(f"/api/cases/{gone['id']}/transitions/withdraw")
    assert r.status_code == 200, r.text
    assert r.json()["sla"] == "withdrawn"
    assert r.json()["clocks"]["handling"]["sla"] == "met"  # the clock stopped in time; the case was withdrawn
    assert clerk.get(f"/api/cases/{gone['id']}").json()["sla"] == "withdrawn"
    listed = clerk.get("/api/cases", params={"q": gone["number"]}).json()["items"]
    assert [c["sla"] for c in listed] == ["withdrawn"]
    assert [c["id"] for c in clerk.get("/api/cases", params={"sla": "withdrawn"}).json()["items"]] == [gone["id"]]
    assert clerk.get("/api/cases", params={"sla": "met"}).json()["items"] == []


def test_a_month_that_has_not_begun_is_refused(timed: Stack) -> None:
    """QA D6: a later month has nothing to report: 422 naming ``month``, nothing stored."""
    boss = timed.wuhan_supervisor
    at(timed, "2024-10-23T10:00")
    for month in ("2024-11", "2100-01"):
        for fmt in ("json", "csv", "xlsx"):
            r = boss.get("/api/reports/monthly", params={"month": month, "format": fmt, "refresh": "true"})
            assert r.status_code == 422, r.text
            body = r.json()
            assert body["fields"] == {"month": f"{month} has not begun (the current month is 2024-10)"}
    assert boss.get("/api/reports/monthly", params={"month": "2024-10"}).status_code == 200
    assert boss.get("/api/reports/monthly", params={"month": "2024-09"}).status_code == 200


def test_the_command_line_refuses_a_month_that_has_not_begun(tmp_path) -> None:
    from typer.testing import CliRunner

    from api.cli import app as cli_app

    db = f"sqlite:///{tmp_path / 'r.db'}"
    r = CliRunner().invoke(cli_app, ["report", "--db", db, "--month", "2100-01", "--format", "json"])
    assert r.exit_code == 1 and "month: 2100-01 has not begun" in r.output, r.output
    assert "Traceback" not in r.output
