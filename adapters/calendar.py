"""The official Chinese working-day calendar: chinesecalendar plus the office's override files.

An override file carries one year's State Council notice (国务院办公厅关于…节假日安排的通知)::

    year: 2027
    source: 国务院办公厅关于2027年部分节假日安排的通知
    holidays: [2027-01-01]
    workdays: []          # weekend days that are working days (调休)

An override wins over the library for its year. A year neither knows is counted with weekends
only (the core marks such deadlines provisional); ``strict=True`` refuses instead.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import chinese_calendar
import yaml

from workflow.errors import CalendarError


@dataclass(frozen=True)
class CalendarOverride:
    year: int
    source: str
    holidays: frozenset[date]
    workdays: frozenset[date]
    path: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "source": self.source,
            "holidays": sorted(d.isoformat() for d in self.holidays),
            "workdays": sorted(d.isoformat() for d in self.workdays),
        }


def _as_date(value: Any, where: str, year: int | None) -> date:
    if isinstance(value, _dt.datetime):
        value = value.date()
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            raise CalendarError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from None
    if not isinstance(value, date):
        raise CalendarError(f"{where}: {value!r} is not a date (YYYY-MM-DD)")
    if year is not None and value.year != year:
        raise CalendarError(f"{where}: {value} is not in {year}")
    return value


def parse_override(data: Any, source_name: str = "<override>") -> CalendarOverride:
    """Validate an override document (already parsed YAML). Lists every problem at once."""
    if not isinstance(data, dict):
        raise CalendarError(f"{source_name}: an override file is a mapping with year, source, holidays, workdays")
    problems: list[str] = []
    unknown = set(data) - {"year", "source", "holidays", "workdays"}
    if unknown:
        problems.append(f"unknown keys: {', '.join(sorted(map(str, unknown)))}")
    year = data.get("year")
    if not isinstance(year, int) or isinstance(year, bool) or not 1900 < year < 2200:
        problems.append(f"year: must be a year like 2027, got {year!r}")
        year = None
    src = data.get("source")
    if not isinstance(src, str) or not src.strip():
        problems.append("source: the notice's title or address is required")
    sets: dict[str, frozenset[date]] = {}
    for key in ("holidays", "workdays"):
        raw = data.get(key, [])
        if raw is None:
            raw = []
        if not isinstance(raw, list):
            problems.append(f"{key}: must be a list of dates")
            sets[key] = frozenset()
            continue
        days = set()
        for i, item in enumerate(raw):
            try:
                days.add(_as_date(item, f"{key}[{i}]", year))
            except CalendarError as exc:
                problems.append(str(exc))
        sets[key] = frozenset(days)
    both = sets.get("holidays", frozenset()) & sets.get("workdays", frozenset())
    if both:
        problems.append(f"both a holiday and a workday: {', '.join(sorted(map(str, both)))}")
    for d in sets.get("workdays", frozenset()):
        if d.weekday() < 5:
            problems.append(f"workdays: {d} is a weekday already (list weekend days made workdays)")
    if problems:
        raise CalendarError(f"{source_name}: " + "; ".join(problems))
    assert isinstance(year, int) and isinstance(src, str)
    return CalendarOverride(
        year, src.strip(), sets["holidays"], sets["workdays"], path=source_name
    )


def read_override(path: str | Path) -> CalendarOverride:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CalendarError(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CalendarError(f"{path}: not valid YAML: {exc}") from exc
    except RecursionError:
        raise CalendarError(f"{path}: not a usable YAML document: nested too deeply") from None
    except ValueError as exc:  # a date that does not exist (2031-02-30), an integer of thousands of digits
        raise CalendarError(f"{path}: not a usable YAML document: {exc}") from None
    return parse_override(data, str(path))


@dataclass
class ChineseCalendar:
    """chinesecalendar for the years it knows, override files for the rest (overrides win)."""

    strict: bool = False
    overrides: dict[int, CalendarOverride] = field(default_factory=dict)
    generation: int = 0  # bumped on every change, so cached deadlines are recomputed
    _known: dict[int, bool] = field(default_factory=dict, repr=False, compare=False)
    _days: dict[date, bool] = field(default_factory=dict, repr=False, compare=False)  # library answers
    # called with each override added (a durable store persists it: every process counts alike)
    on_override: list[Callable[[CalendarOverride], None]] = field(default_factory=list, repr=False, compare=False)

    def add_override(self, override: CalendarOverride, *, notify: bool = True) -> None:
        """Use ``override`` for its year. ``notify=False``: do not call the ``on_override`` hooks
        (an override another process stored, taken in here: it is stored already)."""
        self.overrides[override.year] = override
        self.generation += 1
        self._known.clear()
        self._days.clear()
        if notify:
            for hook in self.on_override:
                hook(override)

    def load_file(self, path: str | Path, /) -> int:
        """Read, validate and add an override file; returns the year it covers."""
        override = read_override(path)
        self.add_override(override)
        return override.year

    def load_folder(self, folder: str | Path) -> list[int]:
        """Load every ``*.yaml`` override in a folder (sorted)."""
        return [self.load_file(p) for p in sorted(Path(folder).glob("*.y*ml"))]

    def library_knows(self, year: int) -> bool:
        known = self._known.get(year)
        if known is None:
            try:
                chinese_calendar.is_workday(date(year, 6, 1))
                known = True
            except NotImplementedError:
                known = False
            self._known[year] = known
        return known

    def is_official(self, year: int, /) -> bool:
        return year in self.overrides or self.library_knows(year)

    def is_workday(self, day: date, /) -> bool:
        ov = self.overrides.get(day.year)
        if ov is not None:
            if day in ov.workdays:
                return True
            if day in ov.holidays:
                return False
            return day.weekday() < 5
        hit = self._days.get(day)
        if hit is not None:
            return hit
        try:
            hit = self._days[day] = bool(chinese_calendar.is_workday(day))  # about 20 µs a call
            return hit
        except NotImplementedError:
            if self.strict:
                raise CalendarError(
                    f"no official working-day calendar for {day.year}: load its notice as an override"
                ) from None
            return day.weekday() < 5

    def year_status(self, year: int) -> str:
        """``override``, ``official`` (the library's data) or ``provisional`` (weekends only)."""
        if year in self.overrides:
            return "override"
        return "official" if self.library_knows(year) else "provisional"

    def status(self, today: date) -> dict[str, Any]:
        """Known years, overrides, and (from November on) whether next year is still unknown."""
        years = range(2004, today.year + 3)
        info: dict[str, Any] = {
            "years": {y: self.year_status(y) for y in years},
            "overrides": {y: o.source for y, o in sorted(self.overrides.items())},
            "strict": self.strict,
            "warnings": [],
        }
        nxt = today.year + 1
        if today.month >= 11 and not self.is_official(nxt):
            info["warnings"].append(
                f"{nxt}年的节假日安排尚未载入：{nxt}年的期限按周末推算（暂定）。"
                f"请在国务院办公厅发布通知后载入覆盖文件。 / No official calendar for {nxt} yet: "
                f"deadlines in {nxt} are provisional until its notice is loaded."
            )
        if not self.is_official(today.year):
            info["warnings"].append(
                f"{today.year}年没有官方节假日数据，当前期限均为暂定。 / No official calendar for the current year {today.year}."
            )
        return info
