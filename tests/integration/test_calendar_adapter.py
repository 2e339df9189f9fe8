"""The official calendar adapter: chinesecalendar plus override files (DESIGN.md rule 10)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import chinese_calendar
import pytest

from adapters.calendar import (
    CalendarOverride,
    ChineseCalendar,
    parse_override,
    read_override,
)
from workflow.calendar import WorkingCalendar
from workflow.errors import CalendarError, WorkflowError
from workflow.legaltime import ClockState, evaluate, start
from workflow.limits import Limit

# An override in the documented format. The 2027 dates are made up for the test (the State
# Council had not published 2027 when chinesecalendar 1.11.0 was released).
NOTICE_2027 = """\
year: 2027
source: 国务院办公厅关于2027年部分节假日安排的通知（测试用）
holidays: [2027-01-01, 2027-02-05, 2027-02-08, 2027-02-09, 2027-02-10, 2027-02-11, 2027-02-12]
workdays: [2027-02-13]   # a Saturday worked (调休)
"""


def d(text: str) -> date:
    return date.fromisoformat(text)


def good(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "year": 2027,
        "source": "国务院办公厅关于2027年部分节假日安排的通知",
        "holidays": ["2027-01-01"],
        "workdays": [],
    }
    data.update(changes)
    return data


# --- the library's years ------------------------------------------------------------------------


def test_is_a_working_calendar() -> None:
    assert isinstance(ChineseCalendar(), WorkingCalendar)


@pytest.mark.parametrize(
    "day",
    ["2024-02-09", "2024-02-10", "2024-02-18", "2024-10-01", "2024-10-12", "2025-01-26",
     "2025-10-08", "2026-02-28", "2026-09-20", "2026-10-10", "2004-10-01", "2015-09-03"],
)
def test_known_years_follow_the_library(day: str) -> None:
    assert ChineseCalendar().is_workday(d(day)) == chinese_calendar.is_workday(d(day))


def test_official_years() -> None:
    cal = ChineseCalendar()
    assert cal.is_official(2004) and cal.is_official(2024) and cal.is_official(2026)
    assert not cal.is_official(2003) and not cal.is_official(2027)
    assert cal.year_status(2025) == "official"
    assert cal.year_status(2027) == "provisional"


def test_unknown_year_counts_weekends_and_statutory_holidays_unless_strict() -> None:
    cal = ChineseCalendar()
    assert not cal.is_workday(d("2027-01-01"))  # a Friday, but 元旦: a rest day by law
    assert not cal.is_workday(d("2027-01-02"))  # Saturday
    assert cal.is_workday(d("2027-01-04"))  # Monday
    assert not cal.is_workday(d("2027-02-10"))  # Wednesday given in lieu of 春节 on Sun 02-07
    assert cal.year_status(2027) == "provisional"
    # beyond the years the law's dates can be computed for (1950-2100): weekends only
    assert cal.is_workday(d("2101-01-03")) and not cal.is_workday(d("2101-01-01"))
    with pytest.raises(CalendarError, match="no official working-day calendar for 2027"):
        ChineseCalendar(strict=True).is_workday(d("2027-01-01"))
    # CalendarError is a WorkflowError: the API maps it like every other refusal
    assert issubclass(CalendarError, WorkflowError)


# --- override files -------------------------------------------------------------------------------


def test_parse_override() -> None:
    ov = parse_override(good(source="  通知  ", holidays=["2027-01-01", date(2027, 2, 10)],
                             workdays=["2027-02-13"]))
    assert ov == CalendarOverride(2027, "通知", frozenset({d("2027-01-01"), d("2027-02-10")}),
                                  frozenset({d("2027-02-13")}), path="<override>")
    assert ov.to_dict() == {
        "year": 2027,
        "source": "通知",
        "holidays": ["2027-01-01", "2027-02-10"],
        "workdays": ["2027-02-13"],
    }
    assert parse_override(ov.to_dict()).holidays == ov.holidays
    # holidays and workdays may be empty or omitted
    empty = parse_override({"year": 2027, "source": "通知", "workdays": None})
    assert empty.holidays == frozenset() and empty.workdays == frozenset()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (good(holidays=["2027-02-30"]), r"holidays\[0\]: '2027-02-30' is not a date"),
        (good(holidays=["2027-01-01", "next friday"]), r"holidays\[1\]: 'next friday' is not a date"),
        (good(holidays=[20270101]), r"holidays\[0\]: 20270101 is not a date"),
        (good(holidays=["2026-10-01"]), r"holidays\[0\]: 2026-10-01 is not in 2027"),
        (good(workdays=["2028-01-01"]), r"workdays\[0\]: 2028-01-01 is not in 2027"),
        (good(workdays=["2027-01-04"]), r"workdays: 2027-01-04 is a weekday already"),
        (good(notes="x", url="y"), r"unknown keys: notes, url"),
        ({"year": 2027, "holidays": []}, r"source: the notice's title or address is required"),
        (good(source="   "), r"source: the notice's title or address is required"),
        (good(source=None), r"source: "),
        (good(year="2027"), r"year: must be a year like 2027, got '2027'"),
        (good(year=True), r"year: must be a year like 2027"),
        (good(year=27), r"year: must be a year like 2027, got 27"),
        ({"source": "通知"}, r"year: must be a year like 2027, got None"),
        (good(holidays="2027-01-01"), r"holidays: must be a list of dates"),
        (good(workdays={"a": 1}), r"workdays: must be a list of dates"),
        (good(holidays=["2027-01-02"], workdays=["2027-01-02"]),
         r"both a holiday and a workday: 2027-01-02"),
    ],
)
def test_override_errors_name_the_field(data: object, message: str) -> None:
    with pytest.raises(CalendarError, match=message):
        parse_override(data, "calendars/2027.yaml")


def test_override_errors_name_the_file_and_list_every_problem() -> None:
    with pytest.raises(CalendarError) as err:
        parse_override(
            {"year": 2027, "holidays": ["2027-13-01", "2026-01-01"], "workdays": ["2027-01-04"],
             "extra": 1},
            "calendars/2027.yaml",
        )
    text = str(err.value)
    assert text.startswith("calendars/2027.yaml: ")
    for part in ("unknown keys: extra", "source:", "holidays[0]", "holidays[1]: 2026-01-01",
                 "workdays: 2027-01-04"):
        assert part in text, part


@pytest.mark.parametrize("data", [None, [], "year: 2027", 2027])
def test_override_must_be_a_mapping(data: object) -> None:
    with pytest.raises(CalendarError, match="an override file is a mapping"):
        parse_override(data, "x.yaml")


def test_read_override_file(tmp_path: Path) -> None:
    path = tmp_path / "2027.yaml"
    path.write_text(NOTICE_2027, encoding="utf-8")
    ov = read_override(path)
    assert ov.year == 2027 and ov.path == str(path)
    assert d("2027-02-10") in ov.holidays and ov.workdays == {d("2027-02-13")}
    assert ov.source.startswith("国务院办公厅")


def test_read_override_errors(tmp_path: Path) -> None:
    with pytest.raises(CalendarError, match=r"missing\.yaml: cannot read"):
        read_override(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("year: [2027\n", encoding="utf-8")
    with pytest.raises(CalendarError, match=r"bad\.yaml: not valid YAML"):
        read_override(bad)
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(NOTICE_2027.replace("2027-02-05", "2026-02-05"), encoding="utf-8")
    with pytest.raises(CalendarError, match=r"wrong\.yaml: .*holidays\[1\]: 2026-02-05 is not in 2027"):
        read_override(wrong)


def test_override_for_an_unknown_year_makes_it_official(tmp_path: Path) -> None:
    path = tmp_path / "2027.yaml"
    path.write_text(NOTICE_2027, encoding="utf-8")
    cal = ChineseCalendar(strict=True)
    cal.add_override(read_override(path))
    assert cal.is_official(2027) and cal.year_status(2027) == "override"
    assert not cal.is_workday(d("2027-01-01"))  # listed holiday
    assert cal.is_workday(d("2027-02-13"))  # Saturday listed as a workday
    assert not cal.is_workday(d("2027-02-14"))  # Sunday not listed: a rest day
    assert cal.is_workday(d("2027-02-15"))  # Monday not listed: a working day
    # a clock over the Spring Festival of the override: 2027-02-04 Thu + 5 wd: 02-05 and
    # 02-08..12 off, Sat 02-13 (1, 调休), 02-15 (2), 16 (3), 17 (4), 18 (5). Without the notice,
    # by law: 02-05 除夕 .. 02-08 初三 and 02-09, 02-10 in lieu of the weekend's 初一, 初二 off;
    # 02-11 (1), 02-12 (2), 02-15 (3), 16 (4), 17 (5) -> 02-17, provisional.
    clock = start(ClockState(name="c", limit=Limit.parse("5个工作日")), d("2027-02-04"))
    ev = evaluate(clock, cal)
    assert ev.statutory_due == d("2027-02-18") and ev.provisional is False
    ev = evaluate(clock, ChineseCalendar())
    assert ev.statutory_due == d("2027-02-17") and ev.provisional is True


def test_override_wins_over_the_library_for_its_year() -> None:
    cal = ChineseCalendar()
    cal.add_override(parse_override({
        "year": 2024, "source": "更正通知（测试用）", "holidays": ["2024-10-08"], "workdays": [],
    }))
    assert cal.year_status(2024) == "override" and cal.is_official(2024)
    assert cal.is_workday(d("2024-10-01"))  # a library holiday, not in the override
    assert not cal.is_workday(d("2024-10-08"))  # an override holiday, a library working day
    assert not cal.is_workday(d("2024-09-29"))  # a library 调休 Sunday, not listed: a rest day
    assert cal.is_workday(d("2025-10-09"))  # other years still follow the library
    assert not cal.is_workday(d("2025-10-08"))
    # worked example 1 under this override: 2024-09-27 + 5 wd: 09-30, 10-01, 02, 03, 04
    clock = start(ClockState(name="c", limit=Limit.parse("5 working days")), d("2024-09-27"))
    assert evaluate(clock, cal).statutory_due == d("2024-10-04")


def test_a_later_override_replaces_an_earlier_one() -> None:
    cal = ChineseCalendar()
    cal.add_override(parse_override(good(holidays=["2027-01-01"])))
    cal.add_override(parse_override(good(holidays=["2027-01-04"])))
    assert cal.is_workday(d("2027-01-01")) and not cal.is_workday(d("2027-01-04"))


# --- status (no wall clock: the day is given) ----------------------------------------------------


def test_status_warns_from_november_when_next_year_is_unknown() -> None:
    cal = ChineseCalendar()
    assert cal.status(d("2026-10-31"))["warnings"] == []
    info = cal.status(d("2026-11-01"))
    assert len(info["warnings"]) == 1 and "2027" in info["warnings"][0]
    assert "暂定" in info["warnings"][0] and "provisional" in info["warnings"][0]
    assert cal.status(d("2026-12-31"))["warnings"] == info["warnings"]
    assert info["years"][2026] == "official" and info["years"][2027] == "provisional"
    assert info["years"][2004] == "official" and info["strict"] is False
    assert info["overrides"] == {}
    # next year known: no warning in November
    assert cal.status(d("2025-11-15"))["warnings"] == []


def test_status_after_loading_next_year() -> None:
    cal = ChineseCalendar(strict=True)
    cal.add_override(parse_override(good()))
    info = cal.status(d("2026-11-20"))
    assert info["warnings"] == []
    assert info["years"][2027] == "override"
    assert info["overrides"] == {2027: "国务院办公厅关于2027年部分节假日安排的通知"}
    assert info["strict"] is True


def test_status_in_an_unknown_current_year() -> None:
    info = ChineseCalendar().status(d("2027-03-01"))
    assert any("2027" in w and "current year" in w for w in info["warnings"])
    # in November of an unknown year both are reported
    info = ChineseCalendar().status(d("2027-11-02"))
    assert len(info["warnings"]) == 2
    assert any("2028" in w for w in info["warnings"])


def test_load_file_and_folder(tmp_path: Path) -> None:
    (tmp_path / "2027.yaml").write_text(NOTICE_2027, encoding="utf-8")
    (tmp_path / "2028.yml").write_text(
        "year: 2028\nsource: 通知（测试用）\nholidays: [2028-01-03]\n", encoding="utf-8"
    )
    (tmp_path / "readme.txt").write_text("not an override", encoding="utf-8")
    cal = ChineseCalendar()
    assert cal.load_folder(tmp_path) == [2027, 2028]
    assert sorted(cal.overrides) == [2027, 2028]
    assert not cal.is_workday(d("2028-01-03"))
    assert ChineseCalendar().load_file(tmp_path / "2027.yaml") == 2027
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "2029.yaml").write_text("year: 2029\nholidays: [2029-01-01]\n", encoding="utf-8")
    cal = ChineseCalendar()
    with pytest.raises(CalendarError, match=r"2029\.yaml: source:"):
        cal.load_folder(broken)
    assert cal.overrides == {}  # nothing half-loaded from the broken file
