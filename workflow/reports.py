"""The monthly report: how the office did, per org (rolled up the org tree) and item. PURE.

Computed from case records and fired deadlines only (the adapter gathers them through the store);
dates come from the definition's main clock through ``legaltime.evaluate`` — nothing here counts
days itself. Measures (DESIGN.md, "Measures the reports show"):

=====================  ==========================  ==================================================
key                    中文                          meaning
=====================  ==========================  ==================================================
opened                 新收件数                      cases opened in the month
closed                 办结数                        cases closed in the month
withdrawn              撤回数                        of those, closed by a withdrawal (a final state
                                                     named ``withdrawn`` or labelled …撤回…): counted
                                                     as withdrawn, never as on time
measured               纳入时限统计数                 closed cases with a stopped main clock, not
                                                     withdrawn (the rates' denominator)
on_time_rate           按时办结率                     closed within the statutory limit, extensions
                                                     included (main clock ``met`` or ``met_late``)
commitment_rate        承诺时限内办结率               closed within 承诺时限 (main clock ``met``)
early_rate             提前办结率                     counting ended before the commitment's last day
avg_compression        平均用时比                     mean of counted units used (pauses excluded) ÷
                                                     statutory units (extensions included), against
                                                     the target ratio (⅔ by default): met when ≤ target
open_breaches          期末超期未结数                 cases open at the end of the period (24:00 of the
                                                     month's last day; for the running month the
                                                     instant it is computed: no month-end projection)
                                                     whose main clock was then overdue or over_statutory
provisional            其中期限暂定数                 measured or open-at-the-period's-end cases whose
                                                     main clock's statutory or commitment date is 暂定
                                                     (its year's notice not loaded): they may move
escalations            预警/超期次数                  fired deadlines seen in the month, by level
ratings                评价数                         好差评 ratings given in the month (of the rated
                                                     case's org and item; workflow/ratings.py)
satisfied_rate         满意率                         share of those graded 3–5 (not a 差评)
bad_ratings            差评数                         ratings of 1 or 2
bad_rectified_on_time  差评按时整改数                  差评 whose rectification closed within its limit
orders_issued          督办数                         supervision orders issued in the month (of the
                                                     case's org and item; workflow/orders.py)
orders_answered_on_    督办按时答复数                  of those, answered by the end of the reply's
time                                                 last day
orders_overdue         督办逾期数                      of those, answered after it or still unanswered
                                                     once it passed (as of the report)
figures                definition figures           sum / count of a data field over the cases closed
                                                     in the month, withdrawn ones left out; and the
                                                     special procedures (特别程序) by kind:
                                                     ``special.<kind>.started`` / ``.ended`` in the
                                                     month, ``.days`` (natural days of those ended),
                                                     ``.avg_days``, ``.overrun`` (ended past the
                                                     expected end): on the items' own sheet
=====================  ==========================  ==================================================

A line's ``scope`` is ``total`` (the org and every org under it) or ``own`` (the org's own cases,
given only for an org whose subtree has other orgs with data). Item ``*`` is every item together.

The columns (:data:`HEADINGS`) are the same, in the same order, every month; an item's own
figures are not columns of the lines (they go on a sheet of their own). A report of a month that
is not over yet says up to when it counts (``as_of``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from . import legaltime as lt
from .bounds import FIRST_YEAR, LAST_YEAR, OutOfRange
from .calendar import WorkingCalendar
from .definition import Definition
from .ladder import is_reminder
from .legaltime import TZ, ClockState, Segment, Sla, Status
from .model import CaseRecord, Deadline
from .orders import Order, OrderTally, is_order_clock
from .orgs import OrgTree
from .ratings import Rating, RatingTally
from .special import KIND_LABELS as SPECIAL_KINDS
from .special import LOG as SPECIAL_LOG
from .special import OVERRUN_LABEL

LEVELS = ("warning", "overdue", "over_statutory", "expired", "deemed_accepted", "overrun")
ALL_ITEMS = "*"

HEADINGS: dict[str, str] = {
    "month": "统计月份",
    "org": "单位代码",
    "org_name": "单位",
    "scope": "范围",
    "item_id": "事项代码",
    "item_name": "事项",
    "opened": "新收件数",
    "closed": "办结数",
    "withdrawn": "撤回数",
    "measured": "纳入时限统计数",
    "on_time": "按时办结数",
    "on_time_rate": "按时办结率",
    "commitment_met": "承诺时限内办结数",
    "commitment_rate": "承诺时限内办结率",
    "early": "提前办结数",
    "early_rate": "提前办结率",
    "avg_compression": "平均用时比（已用÷法定）",
    "compression_target": "压缩目标",
    "compression_met": "达到压缩目标",
    "open_breaches": "期末超期未结数",
    "provisional": "其中期限暂定数",
    "escalations.warning": "黄色预警次数",
    "escalations.overdue": "超承诺时限次数",
    "escalations.over_statutory": "超法定时限次数",
    "escalations.expired": "期限届满次数",
    "escalations.deemed_accepted": "逾期未一次性告知视为受理次数",
    "escalations.overrun": f"{OVERRUN_LABEL}次数",
    "ratings": "评价数",
    "satisfied_rate": "满意率",
    "bad_ratings": "差评数",
    "bad_rectified_on_time": "差评按时整改数",
    "orders_issued": "督办数",
    "orders_answered_on_time": "督办按时答复数",
    "orders_overdue": "督办逾期数",
}
SCOPE_NAMES = {"total": "合计（含下级）", "own": "本级"}


# --- per-case outcomes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """How a closed case did on its main clock."""

    on_time: bool
    commitment_met: bool
    early: bool
    used: int
    statutory: int
    provisional: bool = False  # its statutory or commitment date is 暂定


def _counting_end(st: ClockState) -> date | None:
    """The last counted day of a stopped clock (a clock stopped while paused ended at the pause)."""
    if st.segments and st.segments[-1].stop is not None:
        return st.segments[-1].stop
    return st.stopped_on


def outcome(st: ClockState, calendar: WorkingCalendar, *, strict: bool = False) -> Outcome | None:
    """The outcome of a stopped office clock; None when it cannot be measured."""
    if st.status is not Status.STOPPED or st.started_on is None or not st.compressed:
        return None
    d = lt.evaluate(st, calendar, strict=strict)
    end = _counting_end(st)
    if d.statutory_due is None or d.commitment_due is None or not d.statutory_units or end is None:
        return None
    level = lt.sla_at(st, d, lt.midnight(end))  # a stopped clock's level does not depend on "now"
    return Outcome(
        on_time=level in (Sla.MET, Sla.MET_LATE),
        commitment_met=level is Sla.MET,
        early=end < d.commitment_due,
        used=d.used_units,
        statutory=d.statutory_units,
        provisional=d.statutory_provisional or d.commitment_provisional,
    )


def as_of(st: ClockState, day: date) -> ClockState | None:
    """The clock as it stood at the end of ``day`` (segments after it dropped; one running past it
    reopened). None when it had not started then, or when its current run started later (the
    earlier run is not kept). Extensions are taken as recorded now."""
    if st.status is Status.NOT_STARTED or st.started_on is None or st.started_on > day:
        return None
    kept = [s for s in st.segments if s.start <= day]
    if not kept:
        return None
    last = kept[-1]
    if last.stop is None or last.stop > day:
        kept[-1] = Segment(last.start, None)
        return replace(st, segments=tuple(kept), status=Status.RUNNING, stopped_on=None, held_level=None)
    whole = len(kept) == len(st.segments)
    if whole and st.status is Status.STOPPED and st.stopped_on is not None and st.stopped_on <= day:
        return replace(st, segments=tuple(kept))
    return replace(st, segments=tuple(kept), status=Status.PAUSED, stopped_on=None)


def level_at_end_of(st: ClockState, day: date, calendar: WorkingCalendar, *, strict: bool = False) -> Sla | None:
    """The SLA level of a clock at 24:00 of ``day`` (the last instant of that day)."""
    instant = lt.midnight(day + timedelta(days=1)) - timedelta(microseconds=1)
    return level_at(st, instant, calendar, strict=strict)


def level_at(st: ClockState, instant: datetime, calendar: WorkingCalendar, *, strict: bool = False) -> Sla | None:
    """The SLA level of a clock at ``instant`` (its day's segments as they stood that day)."""
    then = as_of(st, instant.astimezone(TZ).date())
    if then is None:
        return None
    if then.status is Status.PAUSED:
        # a paused clock keeps the level it had reached on its pause day
        pause_day = then.segments[-1].stop
        assert pause_day is not None
        running = replace(then, segments=(*then.segments[:-1], Segment(then.segments[-1].start, None)),
                          status=Status.RUNNING)
        d = lt.evaluate(running, calendar, strict=strict)
        return lt.sla_at(running, d, lt.midnight(pause_day))
    d = lt.evaluate(then, calendar, strict=strict)
    return lt.sla_at(then, d, instant)


# --- tallies -------------------------------------------------------------------------------------


FIGURE_CEILING = Decimal(10) ** 18  # a single value this large (in magnitude) is not a real amount


class _Anomaly:
    """A stored value a sum cannot take: not finite (NaN, inf), not a number (a list, a word), or
    past :data:`FIGURE_CEILING` (a 4,300-digit integer, 1.7e308). Left out of the total, counted."""


ANOMALOUS = _Anomaly()


def _name(names: dict[str, str], definition: Any, item_id: str) -> None:
    """Remember an item's name once (an item no longer loaded keeps its id as its name)."""
    if item_id not in names:
        try:
            names[item_id] = definition(item_id, None).name
        except Exception:  # noqa: BLE001 - any failure to find it: the id stands for the name
            names[item_id] = item_id


def _number(value: Any) -> Decimal | _Anomaly | None:
    """A stored value as a summand: a finite Decimal within the ceiling, None when there is none
    (absent, empty, a boolean), :data:`ANOMALOUS` for anything else. Never raises, and costs no more
    for a 4,300-digit integer than for 5 (its size is judged before it is converted)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        if value.bit_length() > 64:  # |value| ≥ 2⁶³ ≈ 9.2e18: past the ceiling whatever it is
            return ANOMALOUS
        number = Decimal(value)
    elif isinstance(value, (float, Decimal)):
        number = Decimal(value) if isinstance(value, Decimal) else Decimal(repr(value))
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if len(text) > 64:
            return ANOMALOUS
        try:
            number = Decimal(text)
        except InvalidOperation:
            return ANOMALOUS
    else:
        return ANOMALOUS
    if not number.is_finite() or abs(number) >= FIGURE_CEILING:
        return ANOMALOUS
    return number


@dataclass
class Tally:
    opened: int = 0
    closed: int = 0
    withdrawn: int = 0
    measured: int = 0
    on_time: int = 0
    commitment_met: int = 0
    early: int = 0
    compression_sum: Fraction = Fraction(0)
    open_breaches: int = 0
    provisional: int = 0
    escalations: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LEVELS, 0))
    figures: dict[str, Decimal] = field(default_factory=dict)
    anomalies: dict[str, int] = field(default_factory=dict)  # figure → values left out (数值异常)
    rated: RatingTally = field(default_factory=RatingTally)
    ordered: OrderTally = field(default_factory=OrderTally)

    def add(self, o: Tally) -> None:
        self.opened += o.opened
        self.closed += o.closed
        self.withdrawn += o.withdrawn
        self.measured += o.measured
        self.on_time += o.on_time
        self.commitment_met += o.commitment_met
        self.early += o.early
        self.compression_sum += o.compression_sum
        self.open_breaches += o.open_breaches
        self.provisional += o.provisional
        for k, v in o.escalations.items():
            self.escalations[k] = self.escalations.get(k, 0) + v
        for k, dv in o.figures.items():
            self.figures[k] = self.figures.get(k, Decimal(0)) + dv
        for k, n in o.anomalies.items():
            self.anomalies[k] = self.anomalies.get(k, 0) + n
        self.rated.add(o.rated)
        self.ordered.add(o.ordered)

    def empty(self) -> bool:
        return not (self.opened or self.closed or self.open_breaches or any(self.escalations.values())
                    or self.rated.ratings or self.ordered.issued)

    def measures(self, target: Fraction) -> dict[str, Any]:
        def rate(n: int) -> float | None:
            return round(n / self.measured, 4) if self.measured else None

        avg = self.compression_sum / self.measured if self.measured else None
        figures = dict(self.figures)
        for key, n in self.figures.items():  # a special procedure's average length, by kind
            if key.startswith(SPECIAL_PREFIX) and key.endswith(".ended") and n:
                base = key[: -len(".ended")]
                figures[f"{base}.avg_days"] = (figures.get(f"{base}.days", Decimal(0)) / n).quantize(Decimal("0.1"))
        return {
            "opened": self.opened,
            "closed": self.closed,
            "withdrawn": self.withdrawn,
            "measured": self.measured,
            "on_time": self.on_time,
            "on_time_rate": rate(self.on_time),
            "commitment_met": self.commitment_met,
            "commitment_rate": rate(self.commitment_met),
            "early": self.early,
            "early_rate": rate(self.early),
            "avg_compression": round(float(avg), 4) if avg is not None else None,
            "compression_target": str(target),
            "compression_met": (avg <= target) if avg is not None else None,
            "open_breaches": self.open_breaches,
            "provisional": self.provisional,
            "escalations": dict(self.escalations),
            **self.rated.measures(),
            **self.ordered.measures(),
            "figures": {k: _plain(v) for k, v in sorted(figures.items())},
            # only when a stored value was left out of a sum: figure → how many (数值异常)
            **({"figure_anomalies": dict(sorted(self.anomalies.items()))} if self.anomalies else {}),
        }


SPECIAL_PREFIX = "special."
# what each special procedure figure says (特别程序, 行政许可法第四十五条), by kind: on the item's own sheet
SPECIAL_FIGURES = {"started": "开始次数", "ended": "结束次数", "days": "合计用时（日）", "avg_days": "平均用时（日）",
                   "overrun": "超出预计期限次数"}


def _count_special(t: Tally, rec: CaseRecord, first: date, last: date) -> dict[str, str]:
    """The case's special procedures started, and ended (with their natural days and whether they
    ran past the expected end), in the days ``first`` .. ``last``: figures ``special.<kind>.<what>``;
    the labels of the figures it counted."""
    labels: dict[str, str] = {}
    log = rec.data.get(SPECIAL_LOG)
    for entry in log if isinstance(log, list) else ():
        if not isinstance(entry, dict):
            continue
        kind = str(entry.get("kind", ""))
        base = f"{SPECIAL_PREFIX}{kind}"
        adds: dict[str, int] = {}
        if first.isoformat() <= str(entry.get("started_on")) <= last.isoformat():
            adds["started"] = 1
        ended = entry.get("ended_on")
        if isinstance(ended, str) and first.isoformat() <= ended <= last.isoformat():
            days = entry.get("days")
            adds.update(ended=1, days=days if isinstance(days, int) and not isinstance(days, bool) else 0,
                        overrun=1 if entry.get("overrun") is True else 0)
        for what, n in adds.items():
            t.figures[f"{base}.{what}"] = t.figures.get(f"{base}.{what}", Decimal(0)) + n
        if adds:
            name = SPECIAL_KINDS.get(kind, kind)
            for what, label in SPECIAL_FIGURES.items():
                labels.setdefault(f"{base}.{what}", f"特别程序（{name}）{label}")
    return labels


def _plain(v: Decimal) -> int | float:
    return int(v) if v == v.to_integral_value() else float(v)


# --- the report ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportLine:
    org: str
    org_name: str
    scope: str  # total | own
    item_id: str  # "*" for every item
    item_name: str
    measures: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"org": self.org, "org_name": self.org_name, "scope": self.scope, "item_id": self.item_id,
                "item_name": self.item_name, **self.measures}


@dataclass(frozen=True)
class MonthlyReport:
    month: str  # YYYY-MM
    generated_at: datetime
    lines: tuple[ReportLine, ...]
    figure_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # item → name → label
    as_of: datetime | None = None  # a month not over yet: counted up to this instant

    @property
    def complete(self) -> bool:
        return self.as_of is None

    @property
    def note(self) -> str:
        """``截至2024年3月11日 09:30（本月尚未结束）`` for a running month, else empty."""
        if self.as_of is None:
            return ""
        at = self.as_of.astimezone(TZ)
        return f"截至{at.year}年{at.month}月{at.day}日 {at:%H:%M}（本月尚未结束）"

    def metadata(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "complete": self.complete,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "note": self.note,
            "generated_at": self.generated_at.isoformat(),
            "columns": [{"key": k, "heading": h} for k, h in HEADINGS.items()],
        }

    def line(self, org: str, item_id: str = ALL_ITEMS, scope: str = "total") -> ReportLine | None:
        for ln in self.lines:
            if ln.org == org and ln.item_id == item_id and ln.scope == scope:
                return ln
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "generated_at": self.generated_at.isoformat(),
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "metadata": self.metadata(),
            "figure_labels": {k: dict(v) for k, v in self.figure_labels.items()},
            "lines": [ln.to_dict() for ln in self.lines],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> MonthlyReport:
        lines = []
        for x in d.get("lines", []):
            x = dict(x)
            head = {k: x.pop(k) for k in ("org", "org_name", "scope", "item_id", "item_name")}
            lines.append(ReportLine(measures=x, **head))
        return cls(month=d["month"], generated_at=datetime.fromisoformat(d["generated_at"]),
                   lines=tuple(lines), figure_labels=d.get("figure_labels") or {},
                   as_of=datetime.fromisoformat(d["as_of"]) if d.get("as_of") else None)


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """[00:00 of the 1st, 00:00 of the next month's 1st), Asia/Shanghai. A month outside
    1900–2199 is refused (``OutOfRange`` naming ``month``) before any date is made of it."""
    if not (isinstance(year, int) and isinstance(month, int) and FIRST_YEAR <= year <= LAST_YEAR
            and 1 <= month <= 12):
        raise OutOfRange("month", f"must lie between {FIRST_YEAR}-01 and {LAST_YEAR}-12")
    first = date(year, month, 1)
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return lt.midnight(first), lt.midnight(nxt)


def month_begun(year: int, month: int, today: date) -> tuple[int, int]:
    """``(year, month)`` if that month has begun by ``today``; a month after the current one has
    nothing to report (no case opened, no 期末), so it is refused: ``OutOfRange`` naming ``month``
    (the API's 422). Its bounds are checked first, as ``month_bounds`` does."""
    month_bounds(year, month)
    if (year, month) > (today.year, today.month):
        raise OutOfRange("month", f"{year:04d}-{month:02d} has not begun (the current month is "
                                  f"{today.year:04d}-{today.month:02d})")
    return year, month


def monthly_report(
    year: int,
    month: int,
    *,
    cases: Iterable[CaseRecord],
    fired: Iterable[Deadline],
    definition: Callable[[str, int | None], Definition],
    orgs: OrgTree,
    calendar: WorkingCalendar,
    generated_at: datetime,
    default_ratio: Fraction = lt.DEFAULT_RATIO,
    strict: bool = False,
    as_of: datetime | None = None,
    ratings: Iterable[Rating] = (),
    orders: Iterable[Order] = (),
) -> MonthlyReport:
    """The report of ``year``-``month``. ``cases``: every case opened in the month, closed in it,
    or open at its end (duplicates are ignored); ``fired``: the deadlines fired (seen) in it;
    ``ratings``: the 好差评 ratings given in it; ``orders``: the 督办 orders issued in it (judged
    as of ``generated_at``). ``as_of``: now, when the month is not over: open
    cases are judged at that instant (no projection to the month's end) and the report says so."""
    start, end = month_bounds(year, month)
    partial = as_of is not None and as_of < end
    cutoff = as_of if partial and as_of is not None else end
    judged_at = cutoff - timedelta(microseconds=1)  # the period's last instant
    own: dict[tuple[str, str], Tally] = {}
    names: dict[str, str] = {}
    targets: dict[str, Fraction] = {}
    labels: dict[str, dict[str, str]] = {}

    def tally(org: str, item: str) -> Tally:
        return own.setdefault((org, item), Tally())

    seen: set[str] = set()
    for rec in cases:
        if rec.id in seen:
            continue
        seen.add(rec.id)
        defn = definition(rec.item_id, rec.definition_version)
        names.setdefault(rec.item_id, defn.name)
        targets.setdefault(rec.item_id, defn.commitment_ratio if "commitment_ratio" in defn.raw else default_ratio)
        if defn.figures and not any(f.name in labels.get(rec.item_id, {}) for f in defn.figures):
            labels[rec.item_id] = {**{f.name: f.label for f in defn.figures}, **labels.get(rec.item_id, {})}
        t = tally(rec.org, rec.item_id)
        opened_at = rec.opened_at.astimezone(TZ)
        closed_at = rec.closed_at.astimezone(TZ) if rec.closed_at else None
        if start <= opened_at < end:
            t.opened += 1
        main = defn.main_clock
        st = rec.clocks.get(main) if main else None
        if closed_at is not None and start <= closed_at < end:
            t.closed += 1
            gone = withdrawn(defn, rec.state)
            if gone:
                t.withdrawn += 1  # counted as withdrawn: neither on time nor late, nor in figures
            elif st is not None:
                o = outcome(st, calendar, strict=strict)
                if o is not None:
                    t.measured += 1
                    t.on_time += o.on_time
                    t.commitment_met += o.commitment_met
                    t.early += o.early
                    t.compression_sum += Fraction(o.used, o.statutory)
                    t.provisional += o.provisional
            for fig in () if gone else defn.figures:
                value = rec.data.get(fig.field) if fig.field else None
                if fig.agg == "count":
                    add: Decimal | _Anomaly | None = Decimal(1) if fig.counts(value) else None
                else:
                    add = _number(value)
                if isinstance(add, _Anomaly):
                    t.anomalies[fig.name] = t.anomalies.get(fig.name, 0) + 1
                    t.figures.setdefault(fig.name, Decimal(0))
                elif add is not None:
                    t.figures[fig.name] = t.figures.get(fig.name, Decimal(0)) + add
                elif fig.agg == "sum":
                    t.figures.setdefault(fig.name, Decimal(0))
        named = _count_special(t, rec, start.astimezone(TZ).date(), judged_at.astimezone(TZ).date())
        if named:
            labels[rec.item_id] = {**labels.get(rec.item_id, {}), **named}
        open_at_end = opened_at < cutoff and (closed_at is None or closed_at >= cutoff)
        if open_at_end and st is not None and st.compressed:
            level = level_at(st, judged_at, calendar, strict=strict)
            if level in (Sla.OVERDUE, Sla.OVER_STATUTORY):
                t.open_breaches += 1
            if st.status is not Status.NOT_STARTED:
                d = lt.evaluate(st, calendar, strict=strict)
                t.provisional += d.statutory_provisional or d.commitment_provisional
    for dl in fired:
        if dl.seen_at is None or not (start <= dl.seen_at.astimezone(TZ) < end):
            continue
        if is_order_clock(dl.clock):  # an order's escalation: counted with the orders, below
            continue
        if is_reminder(dl.level):  # a reminder while overdue (workflow/ladder.py) is no escalation
            continue
        t = tally(dl.org, dl.item_id)
        t.escalations[dl.level] = t.escalations.get(dl.level, 0) + 1
        _name(names, definition, dl.item_id)

    for r in ratings:
        if not (start <= r.rated_at.astimezone(TZ) < end):
            continue
        tally(r.org, r.item_id).rated.add_rating(r)
        _name(names, definition, r.item_id)

    for order in orders:
        if not (start <= order.issued_at.astimezone(TZ) < end):
            continue
        tally(order.org, order.item_id).ordered.add_order(order, generated_at)
        _name(names, definition, order.item_id)

    # roll up: every org with data and each of its ancestors
    totals: dict[tuple[str, str], Tally] = {}
    for (org, item), t in own.items():
        for up in (org, *orgs.ancestors(org)):
            for key in ((up, item), (up, ALL_ITEMS)):
                totals.setdefault(key, Tally()).add(t)
    own_all: dict[tuple[str, str], Tally] = {}
    for (org, item), t in own.items():
        own_all.setdefault((org, item), Tally()).add(t)
        own_all.setdefault((org, ALL_ITEMS), Tally()).add(t)

    def depth(org: str) -> int:
        return len(orgs.ancestors(org))

    lines: list[ReportLine] = []
    for org, item in sorted(totals, key=lambda k: (depth(k[0]), k[0], k[1] != ALL_ITEMS, k[1])):
        total = totals[(org, item)]
        target = targets.get(item, default_ratio)
        item_name = "全部事项" if item == ALL_ITEMS else names.get(item, item)
        lines.append(ReportLine(org, orgs.name(org), "total", item, item_name, total.measures(target)))
        mine = own_all.get((org, item))
        if mine is not None and mine.measures(target) != total.measures(target):
            lines.append(ReportLine(org, orgs.name(org), "own", item, item_name, mine.measures(target)))
    return MonthlyReport(
        month=f"{year:04d}-{month:02d}", generated_at=generated_at, lines=tuple(lines), figure_labels=labels,
        as_of=cutoff if partial else None,
    )


def withdrawn(defn: Definition, state: str) -> bool:
    """A case closed in this state was withdrawn (by the applicant, or treated as withdrawn): the
    state is named ``withdrawn`` or its label says 撤回 (``Definition.withdrawal``)."""
    return defn.withdrawal(state)
