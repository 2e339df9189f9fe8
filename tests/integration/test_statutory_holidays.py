"""Statutory holidays of a year with no notice (DESIGN rule 10, issue 15 point 1).

《全国年节及纪念日放假办法》 (国务院令第795号, in force 2025-01-01) 第二条 fixes 13 rest days; 第六条
gives a working day in lieu of one that falls on a weekend. The dates come from the ``holidays``
package; everything expected below was worked out by hand from the law and a 2027/2099/2100 calendar.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import pytest
import yaml

from adapters.calendar import (
    ChineseCalendar,
    law_warnings,
    override_template,
    parse_override,
    read_override,
)
from adapters.statutory import fixed_holidays, in_lieu_days, statutory_holidays
from workflow.errors import CalendarError
from workflow.legaltime import ClockKind, ClockState, Sla, evaluate, midnight, sla_at, start
from workflow.limits import Limit


def d(text: str) -> date:
    return date.fromisoformat(text)


def days(*texts: str) -> set[date]:
    return {d(t) for t in texts}


def clock(limit: str, on: str, **kw: object) -> ClockState:
    return start(ClockState(name="c", limit=Limit.parse(limit), **kw), d(on))  # type: ignore[arg-type]


# --- the law's days -------------------------------------------------------------------------------


def test_2027_by_hand() -> None:
    # 2027: 元旦 Fri 01-01. 春节: 正月初一 is Sat 02-06, so 除夕 Fri 02-05 .. 初三 Mon 02-08.
    # 清明 (solar term) Mon 04-05. 劳动节 Sat 05-01, Sun 05-02. 端午 (五月初五) Wed 06-09.
    # 中秋 (八月十五) Wed 09-15. 国庆 Fri 10-01 .. Sun 10-03.
    fixed = fixed_holidays(2027)
    assert set(fixed) == days(
        "2027-01-01", "2027-02-05", "2027-02-06", "2027-02-07", "2027-02-08", "2027-04-05",
        "2027-05-01", "2027-05-02", "2027-06-09", "2027-09-15", "2027-10-01", "2027-10-02",
        "2027-10-03",
    )
    assert len(fixed) == 13
    assert fixed[d("2027-01-01")] == "元旦" and fixed[d("2027-02-05")] == "农历除夕"
    # 第六条: 初一 Sat and 初二 Sun -> the next working days after the festival, Tue 02-09 and
    # Wed 02-10; 5-1 Sat, 5-2 Sun -> Mon 05-03, Tue 05-04; 10-02 Sat, 10-03 Sun -> Mon 10-04,
    # Tue 10-05.
    assert set(in_lieu_days(2027)) == days(
        "2027-02-09", "2027-02-10", "2027-05-03", "2027-05-04", "2027-10-04", "2027-10-05"
    )
    assert set(statutory_holidays(2027)) == set(fixed) | set(in_lieu_days(2027))


def test_2100_by_hand() -> None:
    # the acceptance tests' stand-in year: 元旦 2100-01-01 is a Friday
    assert d("2100-01-01").weekday() == 4
    assert statutory_holidays(2100)[d("2100-01-01")] == "元旦"
    assert d("2100-01-04") not in statutory_holidays(2100)
    # beyond the package's range nothing is computed (the calendar counts weekends only)
    assert statutory_holidays(2101) == {} and fixed_holidays(1949) == {}


# Every day of 2025 and 2026 (the years of the 2024 revision chinesecalendar knows) where the law
# alone and the official calendar differ, and why: each is the notice's 调休, a weekday given as
# rest (休) in exchange for a weekend day worked (班). The law never makes a day a rest day that
# the official calendar works.
NOTICE_EXCHANGES = {
    2025: {
        # 春节 01-28 .. 02-04: 除夕 .. 初三 are law (01-28 .. 01-31); Mon 02-03, Tue 02-04 added,
        # paid for by Sun 01-26 and Sat 02-08.
        "2025-01-26": "班", "2025-02-03": "休", "2025-02-04": "休", "2025-02-08": "班",
        # 劳动节 05-01 .. 05-05: 5-1, 5-2 law; Mon 05-05 added, paid for by Sun 04-27.
        "2025-04-27": "班", "2025-05-05": "休",
        # 国庆 + 中秋 10-01 .. 10-08: 10-1..3 and 中秋 Mon 10-06 law; Tue 10-07, Wed 10-08 added,
        # paid for by Sun 09-28 and Sat 10-11.
        "2025-09-28": "班", "2025-10-07": "休", "2025-10-08": "休", "2025-10-11": "班",
    },
    2026: {
        # 元旦 01-01 .. 01-03: Fri 01-02 added, paid for by Sun 01-04.
        "2026-01-02": "休", "2026-01-04": "班",
        # 春节 02-15 .. 02-23: 除夕 Mon 02-16 .. 初三 Thu 02-19 law; Fri 02-20 and Mon 02-23
        # added, paid for by Sat 02-14 and Sat 02-28.
        "2026-02-14": "班", "2026-02-20": "休", "2026-02-23": "休", "2026-02-28": "班",
        # 劳动节 05-01 .. 05-05: 5-1 law, 5-2 Sat law with Mon 05-04 in lieu (第六条, agrees);
        # Tue 05-05 added, paid for by Sat 05-09.
        "2026-05-05": "休", "2026-05-09": "班",
        # 中秋 09-25 .. 09-27 and 国庆 10-01 .. 10-07: 10-03 Sat law with Mon 10-05 in lieu
        # (agrees); Tue 10-06, Wed 10-07 added, paid for by Sun 09-20 and Sat 10-10.
        "2026-09-20": "班", "2026-10-06": "休", "2026-10-07": "休", "2026-10-10": "班",
    },
}


def law_rest(day: date) -> bool:
    return day.weekday() >= 5 or day in statutory_holidays(day.year)


@pytest.mark.parametrize("year", [2025, 2026])
def test_law_and_chinesecalendar_agree_but_for_the_notice_exchanges(year: int) -> None:
    expected = {d(k): v for k, v in NOTICE_EXCHANGES[year].items()}
    found = {}
    day = date(year, 1, 1)
    while day.year == year:
        official_rest = not chinese_calendar.is_workday(day)
        if official_rest != law_rest(day):
            found[day] = "休" if official_rest else "班"
        day += timedelta(days=1)
    assert found == expected
    # every difference is an exchange: as many weekdays given as rest as weekend days worked
    values = list(found.values())
    assert values.count("休") == values.count("班")
    assert all((k.weekday() >= 5) == (v == "班") for k, v in found.items())
    # agreeing days include every in-lieu day the law gives that year
    for lieu in in_lieu_days(year):
        assert not chinese_calendar.is_workday(lieu), lieu


@pytest.mark.parametrize("year", range(2019, 2025))
def test_before_2025_every_rest_day_by_law_is_an_official_rest_day(year: int) -> None:
    # the package applies the rule in force in each year (11 days before 2025); the notices only
    # ever add rest days to the law's and trade weekends for weekdays
    for day in statutory_holidays(year):
        assert not chinese_calendar.is_workday(day), day


# --- the calendar on a year with no notice ----------------------------------------------------------


def test_contract_2099_to_2100_working_days() -> None:
    # 2099-12-28 Mon + 5 wd: 12-29, 12-30, 12-31 (3), 2100-01-01 元旦, 01-04 (4), 01-05 (5)
    cal = ChineseCalendar()
    ev = evaluate(clock("5 working days", "2099-12-28"), cal)
    assert ev.statutory_due == d("2100-01-05") and ev.provisional and ev.statutory_provisional
    cal.add_override(parse_override({"year": 2099, "source": "2099年通知（测试用）"}))
    cal.add_override(parse_override(
        {"year": 2100, "source": "2100年通知（测试用）", "holidays": ["2100-01-01"]}
    ))
    ev = evaluate(clock("5 working days", "2099-12-28"), cal)
    assert ev.statutory_due == d("2100-01-05") and not ev.provisional


def test_contract_party_clock_ending_on_new_year() -> None:
    # served Thu 2099-12-17; 15 days -> Fri 2100-01-01 (元旦) -> Mon 2100-01-04
    assert d("2099-12-17").weekday() == 3
    party = clock("15 days", "2099-12-17", kind=ClockKind.PARTY)
    ev = evaluate(party, ChineseCalendar())
    assert ev.statutory_due == d("2100-01-04") and ev.expiry_provisional
    assert ev.expires_at == midnight(d("2100-01-05"))
    assert sla_at(party, ev, midnight(d("2100-01-02"))) is Sla.ON_TRACK


# --- an override is the notice -----------------------------------------------------------------------


def test_an_override_with_fewer_rest_days_is_loaded_with_warnings() -> None:
    ov = parse_override({"year": 2100, "source": "通知（测试用）", "holidays": ["2100-01-01"]})
    cal = ChineseCalendar()
    cal.add_override(ov)
    # taken as given: 除夕 2100-02-08 (Mon) is a working day under this override
    assert cal.is_workday(d("2100-02-08"))
    warnings = law_warnings(ov)
    assert any(w.startswith("2100-02-08 农历除夕") for w in warnings)
    assert not any(w.startswith("2100-01-01") for w in warnings)
    # weekend statutory days are rest days anyway: only weekdays the override works are named
    assert not any(w.startswith("2100-05-01") for w in warnings)  # a Saturday
    assert all("loaded as given" in w for w in warnings)
    # a notice listing every statutory day draws no warning; a weekend day of the law listed as
    # a worked day does
    full = parse_override({
        "year": 2027, "source": "通知（测试用）",
        "holidays": [str(x) for x in statutory_holidays(2027)],
    })
    assert law_warnings(full) == []
    worked = parse_override({
        "year": 2027, "source": "通知（测试用）",
        "holidays": [str(x) for x in statutory_holidays(2027) if x != d("2027-05-01")],
        "workdays": ["2027-05-01"],
    })
    assert law_warnings(worked) == [
        "2027-05-01 劳动节: 《全国年节及纪念日放假办法》第二条 makes it a rest day, the override "
        "leaves it a working day (loaded as given)"
    ]


def test_template_lists_the_law_and_is_refused_until_the_notice_is_named(tmp_path: Path) -> None:
    text = override_template(2027)
    data = yaml.safe_load(text)
    assert data["year"] == 2027 and data["workdays"] == []
    assert set(data["holidays"]) == set(statutory_holidays(2027))
    assert "# 元旦（周五）" in text and "in lieu of Spring Festival" in text
    path = tmp_path / "2027.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CalendarError, match="source: the notice's title or address is required"):
        read_override(path)
    # the office writes the title in (and the notice's 调休): it loads, and counts like the law
    path.write_text(text.replace('source: ""', "source: 国务院办公厅关于2027年部分节假日安排的通知"),
                    encoding="utf-8")
    cal = ChineseCalendar()
    assert cal.load_file(path) == 2027 and cal.year_status(2027) == "override"
    law = ChineseCalendar()
    day = date(2027, 1, 1)
    while day.year == 2027:
        assert cal.is_workday(day) == law.is_workday(day), day
        day += timedelta(days=1)
    assert law_warnings(read_override(path)) == []


def test_template_outside_the_law_range_and_bad_years() -> None:
    text = override_template(2150)
    assert yaml.safe_load(text)["holidays"] == []
    with pytest.raises(CalendarError, match="year: must be a year like 2027"):
        override_template(27)
