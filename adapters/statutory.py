"""The statutory holidays of any year, as 《全国年节及纪念日放假办法》 fixes them (DESIGN rule 10).

The law (国务院令第795号 revision, in force 2025-01-01) gives every citizen 13 rest days a year
(第二条): 元旦 (1-1); 春节 (农历除夕 to 正月初三); 清明节 (the 清明 solar-term day); 劳动节 (5-1, 5-2);
端午节 (农历五月初五); 中秋节 (农历八月十五); 国庆节 (10-1 to 10-3). 第六条: when one falls on a Saturday
or Sunday, a working day is given in lieu (补假). What the State Council's yearly notice adds (调休:
weekend days worked, weekdays given as rest in exchange) is not in the law, so a year counted from
these days alone stays provisional until its notice is loaded.

The lunar and solar-term dates and the in-lieu days come from the ``holidays`` package's China
calendar (1950-2100), never from lunar code of our own. Its China class also carries the notices
it knows (the days off a notice arranged, 2001-2026); :class:`_LawOnly` leaves those out, so what
this module returns is the law and nothing else. Years outside the package's range return nothing
(the caller counts weekends only, still provisional).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from holidays.countries.china import China

# 第二条 in English, for the glossary and the template's comments
NAMES = {
    "元旦": "New Year's Day",
    "农历除夕": "Spring Festival Eve",
    "春节": "Spring Festival",
    "清明节": "Qingming",
    "劳动节": "Labour Day",
    "端午节": "Dragon Boat Festival",
    "中秋节": "Mid-Autumn Festival",
    "国庆节": "National Day",
}
LAW = "《全国年节及纪念日放假办法》"
FIRST_YEAR, LAST_YEAR = 1950, 2100  # the range the holidays package computes for China


class _LawOnly(China):
    """China's statutory holidays and their in-lieu days, without any notice's arrangements."""

    def _add_special_holidays(self, *args: object, **kwargs: object) -> None:
        return None  # the notices' days off (2001-2026) are chinesecalendar's and the overrides' job


@lru_cache(maxsize=256)
def _days(year: int, observed: bool) -> dict[date, str]:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        return {}
    found = _LawOnly(years=year, observed=observed, language="zh_CN")
    return {day: name for day, name in sorted(found.items()) if day.year == year}


def fixed_holidays(year: int) -> dict[date, str]:
    """The rest days 第二条 fixes for ``year`` (13 from 2025), by Chinese name; no in-lieu days."""
    return dict(_days(year, False))


def statutory_holidays(year: int) -> dict[date, str]:
    """The rest days of ``year`` by law: 第二条's days and 第六条's in-lieu days (named …（补假）)."""
    out = dict(_days(year, True))
    for day, name in fixed_holidays(year).items():
        out[day] = name  # a fixed day keeps its own name
    return out


def in_lieu_days(year: int) -> dict[date, str]:
    """第六条's working days given in lieu of a statutory day that fell on a weekend."""
    fixed = fixed_holidays(year)
    return {day: name for day, name in statutory_holidays(year).items() if day not in fixed}


def law_covers(year: int) -> bool:
    """Whether this module can give ``year``'s statutory holidays (1950-2100)."""
    return FIRST_YEAR <= year <= LAST_YEAR


@lru_cache(maxsize=256)
def statutory_rest_days(year: int) -> frozenset[date]:
    """The weekdays and weekend days the law makes rest days in ``year`` (fast membership)."""
    return frozenset(statutory_holidays(year))
