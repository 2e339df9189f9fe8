"""Bounds on the dates and numbers a request carries that are not definition fields (issue 14,
class 3: "no request's cost grows with a value it carries").

Each is checked before any arithmetic uses it; a value out of range raises :class:`OutOfRange`
(a ``MissingData``: the API answers 422 and names the parameter in ``fields``). The fields a
definition declares have their own rules (docs/definitions.md); these are the engine's own
parameters: the back-dated legal start of ``open_case`` and the days of an office-wide suspension.
The list filters' dates (``opened_from`` … ``closed_to``) are bounded at the API (api/deps.py)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from .errors import MissingData

FIRST_YEAR, LAST_YEAR = 1900, 2199  # any date the engine takes lies in these years (the calendar's)
SUSPENSION_PAST_DAYS = 3 * 366  # a suspension may be declared for days up to three years back
SUSPENSION_FUTURE_DAYS = 366  # … and up to a year ahead
SUSPENSION_MAX_DAYS = 366  # one suspension covers at most a year of days


class OutOfRange(MissingData):
    """A parameter outside the range that makes sense for it; ``fields`` names it."""

    code = "out_of_range"

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}", {name: problem})


def a_date(name: str, value: Any) -> date:
    """``value`` as a date in FIRST_YEAR–LAST_YEAR (a date, or YYYY-MM-DD text), else OutOfRange."""
    if isinstance(value, str) and value.isascii() and len(value) == 10:
        try:
            value = date.fromisoformat(value)
        except ValueError:
            pass
    if not isinstance(value, date):
        raise OutOfRange(name, "must be a date (YYYY-MM-DD)")
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise OutOfRange(name, f"must lie between {FIRST_YEAR} and {LAST_YEAR}")
    return value


def within(name: str, value: date, earliest: date, latest: date) -> date:
    if value < earliest:
        raise OutOfRange(name, f"not before {earliest.isoformat()}")
    if value > latest:
        raise OutOfRange(name, f"not after {latest.isoformat()}")
    return value


def legal_start(value: Any, today: date, max_backdate_days: int) -> date:
    """A back-dated legal start: at most ``max_backdate_days`` back (the engine refuses one in the
    future itself, with its own words)."""
    day = a_date("started_on", value)
    earliest = today - timedelta(days=max_backdate_days)
    if day < earliest:
        raise OutOfRange("started_on", f"at most {max_backdate_days} days back: not before {earliest.isoformat()}")
    return day


def suspension(first: Any, last: Any, today: date) -> tuple[date, date]:
    """The days of an office-wide suspension: from three years back to a year ahead, at most a
    year of days, ``last`` not before ``first``."""
    a, b = a_date("first", first), a_date("last", last)
    within("first", a, today - timedelta(days=SUSPENSION_PAST_DAYS), today + timedelta(days=SUSPENSION_FUTURE_DAYS))
    within("last", b, today - timedelta(days=SUSPENSION_PAST_DAYS), today + timedelta(days=SUSPENSION_FUTURE_DAYS))
    if b < a:
        raise OutOfRange("last", "before first")
    if (b - a).days + 1 > SUSPENSION_MAX_DAYS:
        raise OutOfRange("last", f"a suspension covers at most {SUSPENSION_MAX_DAYS} days")
    return a, b
