"""The official Chinese working-day calendar: chinesecalendar plus the office's override files.

An override file carries one year's State Council notice (国务院办公厅关于…节假日安排的通知)::

    year: 2027
    source: 国务院办公厅关于2027年部分节假日安排的通知
    holidays: [2027-01-01]
    workdays: []          # weekend days that are working days (调休)

An override wins over the library for its year. A year neither knows is counted with weekends and
the statutory holidays the law fixes for it (``adapters/statutory.py``: 《全国年节及纪念日放假办法》
第二条 and its in-lieu days, 第六条); the core marks such deadlines provisional, because the notice's
调休 is not known yet. ``strict=True`` refuses instead.

An override is the notice and is taken as given: one that leaves a statutory day a working day is
still loaded; :func:`law_warnings` says which days it leaves out. :func:`override_template` prints
a year's override file with the statutory holidays filled in.
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

from .statutory import LAW, NAMES, fixed_holidays, in_lieu_days, law_covers, statutory_rest_days


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
            hit = self._days[day] = day.weekday() < 5 and day not in statutory_rest_days(day.year)
            return hit

    def year_status(self, year: int) -> str:
        """``override``, ``official`` (the library's data) or ``provisional`` (weekends and the
        statutory holidays by law; weekends only outside 1950-2100)."""
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
                f"{nxt}年的节假日安排尚未载入：{nxt}年的期限按周末及法定节假日推算（暂定）。"
                f"请在国务院办公厅发布通知后载入覆盖文件（caseclock calendar template {nxt}）。"
                f" / No official calendar for {nxt} yet: deadlines in {nxt} count weekends and the "
                f"statutory holidays and are provisional until its notice is loaded."
            )
        if not self.is_official(today.year):
            info["warnings"].append(
                f"{today.year}年没有官方节假日数据，当前期限均为暂定。 / No official calendar for the current year {today.year}."
            )
        return info


def law_warnings(override: CalendarOverride) -> list[str]:
    """The days the law fixes as rest days (第二条) that ``override`` leaves working days.

    An override is the notice and is loaded as given; these are warnings for the person loading it
    (a mistyped date, a forgotten 除夕), never a refusal. In-lieu days are not checked: which
    working day is given in lieu is the notice's choice.
    """
    out = []
    for day, name in fixed_holidays(override.year).items():
        worked = day in override.workdays or (day.weekday() < 5 and day not in override.holidays)
        if worked:
            out.append(
                f"{day} {name}: {LAW}第二条 makes it a rest day, the override leaves it a working day "
                f"(loaded as given)"
            )
    return out


def override_template(year: int) -> str:
    """An override file for ``year`` with the statutory holidays filled in, ready for the notice.

    ``source`` is left empty on purpose: the file is refused until someone writes the notice's
    title in, so a template is never loaded as if it were the notice.
    """
    if not 1900 < year < 2200:
        raise CalendarError(f"year: must be a year like 2027, got {year!r}")
    weekdays = "一二三四五六日"
    lines = [
        f"# {year}年节假日安排覆盖文件（caseclock calendar template {year}）",
        f"# 已填入{LAW}（2024年修订）第二条的法定节假日及第六条的补假日（适逢周末时在工作日补假）。",
        "# 请对照国务院办公厅通知：通知另行放假的工作日加入 holidays；调休上班的周六、周日加入 workdays；",
        "# 通知的补假安排与此不同时，以通知为准（删去此处推算的补假日）；填写 source（通知标题）后载入：",
        f"#   caseclock calendar load {year}.yaml",
        f"# Statutory holidays of {year} by law are filled in; add the notice's extra days off to",
        "# holidays and its worked weekend days to workdays, write its title in source, then load it.",
        f"year: {year}",
        'source: ""   # 国务院办公厅关于' + str(year) + "年部分节假日安排的通知（必填 / required）",
    ]
    fixed, lieu = fixed_holidays(year), in_lieu_days(year)
    if not law_covers(year):
        lines.append(f"holidays: []   # {year}: outside 1950-2100, no statutory holidays computed")
    else:
        lines.append("holidays:")
    for day in sorted({*fixed, *lieu}):
        name = fixed.get(day) or lieu[day]
        english = " / ".join(NAMES.get(part.split("（")[0], "") for part in name.split("; "))
        kind = f"in lieu of {english}" if day in lieu else english
        lines.append(f"  - {day.isoformat()}   # {name}（周{weekdays[day.weekday()]}） / {kind}")
    lines.append(
        f"workdays: []   # 调休上班的周六、周日，例如 [{year}-02-20] / weekend days worked"
    )
    return "\n".join(lines) + "\n"
