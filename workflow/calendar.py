"""The working-day calendar the core counts on (a port; adapters provide the official one)."""

from __future__ import annotations

from datetime import date
from typing import Protocol, runtime_checkable


@runtime_checkable
class WorkingCalendar(Protocol):
    """Which days are working days, and which years the calendar knows officially.

    ``is_workday`` must answer for every date: for a year with no official data, its best guess
    (the official adapter: weekends and the statutory holidays the law fixes; the caller marks
    such results provisional). A strict calendar raises ``CalendarError`` instead.
    """

    def is_workday(self, day: date, /) -> bool: ...

    def is_official(self, year: int, /) -> bool: ...


class WeekendCalendar:
    """Weekends are rest days, nothing else: no year is official. For tests and fallbacks."""

    def is_workday(self, day: date, /) -> bool:
        return day.weekday() < 5

    def is_official(self, year: int, /) -> bool:
        return False


class SetCalendar:
    """A calendar from explicit sets of holidays and adjusted workdays (tests, overrides)."""

    def __init__(
        self,
        holidays: set[date] | frozenset[date] = frozenset(),
        workdays: set[date] | frozenset[date] = frozenset(),
        official_years: set[int] | frozenset[int] = frozenset(),
    ) -> None:
        self.holidays = frozenset(holidays)
        self.workdays = frozenset(workdays)
        self.official_years = frozenset(official_years)

    def is_workday(self, day: date, /) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def is_official(self, year: int, /) -> bool:
        return year in self.official_years
