"""Monthly reports: gather through the store, compute (``workflow.reports``), keep, export.

``ReportService(engine).generate(2024, 3)`` reads the month's cases (``uow.query_cases`` with
opened/closed ranges, plus the cases still open at the month's end) and the deadlines fired in it
(``uow.fired_deadlines``), computes the report, stores it (the ``reports`` table on a SQL store,
a dict otherwise) and returns it. Exports: :func:`to_json`, :func:`to_csv`, :func:`to_xlsx`
(Chinese headings; openpyxl).

Every month has the same columns in the same order (:func:`columns`); an item's own figures
(质押担保金额 …) are rows of a sheet of their own (:func:`figure_rows`: 事项指标 in the workbook,
``to_csv(report, sheet="figures")``). The CSV's first row is its header, always; a month not over
yet says 截至 … in the workbook's 说明 sheet and in the JSON's ``metadata``, never as a CSV row.
"""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Protocol

from workflow.model import CaseRecord
from workflow.ports import CaseQuery
from workflow.reports import (
    HEADINGS,
    LEVELS,
    SCOPE_NAMES,
    MonthlyReport,
    ReportLine,
    month_begun,
    month_bounds,
    monthly_report,
)
from workflow.values import ANOMALY


class ReportStorage(Protocol):
    def save(self, report: MonthlyReport) -> None: ...

    def load(self, month: str) -> MonthlyReport | None: ...

    def months(self) -> list[str]: ...


class MemoryReportStorage:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reports: dict[str, dict[str, Any]] = {}

    def save(self, report: MonthlyReport) -> None:
        with self._lock:
            self._reports[report.month] = report.to_dict()

    def load(self, month: str) -> MonthlyReport | None:
        with self._lock:
            d = self._reports.get(month)
        return MonthlyReport.from_dict(d) if d else None

    def months(self) -> list[str]:
        with self._lock:
            return sorted(self._reports)


class SqlReportStorage:
    """The ``reports`` table: one row per (org, item, month) with both scopes in its body."""

    def __init__(self, sa_engine: Any) -> None:
        self.engine = sa_engine

    def save(self, report: MonthlyReport) -> None:
        import sqlalchemy as sa

        from .sql.tables import ReportRow

        rows: dict[tuple[str, str], dict[str, Any]] = {}
        for ln in report.lines:
            body = rows.setdefault((ln.org, ln.item_id), {
                "org_name": ln.org_name, "item_name": ln.item_name,
                "generated_at": report.generated_at.isoformat(),
                "as_of": report.as_of.isoformat() if report.as_of else None,
                "figure_labels": dict(report.figure_labels.get(ln.item_id, {})),
            })
            body[ln.scope] = dict(ln.measures)
        table = ReportRow.__table__  # type: ignore[attr-defined]  # SQLModel sets it at class creation
        with self.engine.begin() as conn:
            conn.execute(sa.delete(table).where(table.c.month == report.month))
            if rows:
                conn.execute(sa.insert(table), [
                    {"org": org, "item_id": item, "month": report.month, "body": body,
                     "generated_at": report.generated_at}
                    for (org, item), body in rows.items()
                ])

    def load(self, month: str) -> MonthlyReport | None:
        import sqlalchemy as sa

        from .sql.tables import ReportRow

        table = ReportRow.__table__  # type: ignore[attr-defined]  # SQLModel sets it at class creation
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(table).where(table.c.month == month)).mappings().all()
        if not rows:
            return None
        lines: list[ReportLine] = []
        labels: dict[str, dict[str, str]] = {}
        generated = None
        as_of = None
        for r in rows:
            body = r["body"]
            generated = generated or body.get("generated_at")
            as_of = as_of or body.get("as_of")
            if body.get("figure_labels"):
                labels[r["item_id"]] = body["figure_labels"]
            for scope in ("total", "own"):
                if scope in body:
                    lines.append(ReportLine(r["org"], body.get("org_name", r["org"]), scope, r["item_id"],
                                            body.get("item_name", r["item_id"]), body[scope]))
        order = {ln.org: i for i, ln in enumerate(sorted(lines, key=lambda x: (len(x.org), x.org)))}
        lines.sort(key=lambda x: (order[x.org], x.org, x.item_id != "*", x.item_id, x.scope != "total"))
        return MonthlyReport(month=month, generated_at=datetime.fromisoformat(generated or "1970-01-01T00:00:00+00:00"),
                             lines=tuple(lines), figure_labels=labels,
                             as_of=datetime.fromisoformat(as_of) if as_of else None)

    def months(self) -> list[str]:
        import sqlalchemy as sa

        from .sql.tables import ReportRow

        table = ReportRow.__table__  # type: ignore[attr-defined]  # SQLModel sets it at class creation
        with self.engine.connect() as conn:
            return sorted(conn.execute(sa.select(table.c.month).distinct()).scalars())


def default_storage(store: Any) -> ReportStorage:
    from .scheduler import _sql_engine

    eng = _sql_engine(store)
    return SqlReportStorage(eng) if eng is not None else MemoryReportStorage()


class ReportService:
    """Gathers, computes, stores and returns monthly reports for one engine."""

    def __init__(self, engine: Any, storage: ReportStorage | None = None) -> None:
        self.engine = engine
        self.storage = storage or default_storage(engine.store)

    def gather(self, year: int, month: int) -> tuple[list[CaseRecord], list[Any]]:
        start, end = month_bounds(year, month)
        with self.engine.store.unit_of_work() as uow:
            cases: dict[str, CaseRecord] = {}
            for q in (
                CaseQuery(opened_from=start, opened_to=end),
                CaseQuery(closed_from=start, closed_to=end),
                CaseQuery(open=True, opened_to=end),  # still open now: open at the month's end too
                CaseQuery(closed_from=end, opened_to=end),  # closed since: open at the month's end
            ):
                for rec in uow.query_cases(q):
                    cases.setdefault(rec.id, rec)
            fired = uow.fired_deadlines(start, end)
        return list(cases.values()), fired

    def ratings(self, year: int, month: int) -> list[Any]:
        """The 好差评 ratings given in the month (the applicant's side, adapters/online.py)."""
        from .applications import application_store_for

        start, end = month_bounds(year, month)
        store = application_store_for(self.engine.store)
        with self.engine.store.unit_of_work() as uow:
            return store.ratings_between(uow, start, end)

    def compute(self, year: int, month: int) -> MonthlyReport:
        """The report of a month that has begun (a later month: ``OutOfRange`` naming ``month``)."""
        month_begun(year, month, self.engine.today())
        cases, fired = self.gather(year, month)
        e = self.engine
        now = e.now()
        return monthly_report(
            year, month, cases=cases, fired=fired, definition=e.registry.get, orgs=e.orgs,
            calendar=e.calendar, generated_at=now, default_ratio=e.settings.commitment_ratio,
            strict=e.settings.strict_calendar, as_of=now, ratings=self.ratings(year, month),
            orders=e.orders_between(*month_bounds(year, month)),
        )

    def generate(self, year: int, month: int) -> MonthlyReport:
        """Compute and store (replacing an earlier version of the same month)."""
        report = self.compute(year, month)
        self.storage.save(report)
        return report

    def get(self, year: int, month: int, *, generate: bool = True) -> MonthlyReport | None:
        """The stored report, or (``generate``) a fresh one stored now."""
        month_begun(year, month, self.engine.today())
        found = self.storage.load(f"{year:04d}-{month:02d}")
        if found is None and generate:
            return self.generate(year, month)
        return found


# --- exports -------------------------------------------------------------------------------------


def columns(report: MonthlyReport | None = None) -> list[tuple[str, str]]:
    """(key, Chinese heading) of every column of the lines: the same, in the same order, every
    month (an item's figures are on a sheet of their own: :func:`figure_rows`)."""
    return list(HEADINGS.items())


FIGURE_COLUMNS: list[tuple[str, str]] = [
    ("month", HEADINGS["month"]), ("org", HEADINGS["org"]), ("org_name", HEADINGS["org_name"]),
    ("scope", HEADINGS["scope"]), ("item_id", HEADINGS["item_id"]), ("item_name", HEADINGS["item_name"]),
    ("figure", "指标代码"), ("figure_label", "指标"), ("value", "数值"), ("note", "说明"),
]


def figure_note(line: ReportLine, name: str) -> str:
    """``数值异常：2件的值未计入合计`` where stored values of this figure could not be summed
    (not finite, not a number, or past the ceiling), else empty."""
    n = (line.measures.get("figure_anomalies") or {}).get(name)
    return f"{ANOMALY}：{n}件的值未计入合计" if n else ""


def _cell(report: MonthlyReport, line: ReportLine, key: str) -> Any:
    if key == "month":
        return report.month
    if key == "scope":
        return SCOPE_NAMES.get(line.scope, line.scope)
    if key in ("org", "org_name", "item_id", "item_name"):
        return getattr(line, key)
    if key.startswith("escalations."):
        return line.measures.get("escalations", {}).get(key.split(".", 1)[1], 0)
    value = line.measures.get(key)
    if key == "compression_met" and value is not None:
        return "是" if value else "否"
    return value


def rows(report: MonthlyReport) -> Iterable[list[Any]]:
    cols = columns(report)
    for line in report.lines:
        yield [_cell(report, line, k) for k, _ in cols]


def figure_rows(report: MonthlyReport) -> Iterable[list[Any]]:
    """One row per line and figure of its item (the lines of every item together carry none)."""
    for line in report.lines:
        labels = report.figure_labels.get(line.item_id) or {}
        figures = line.measures.get("figures") or {}
        for name, label in labels.items():
            if name in figures:
                yield [report.month, line.org, line.org_name, SCOPE_NAMES.get(line.scope, line.scope),
                       line.item_id, line.item_name, name, label, figures[name], figure_note(line, name)]


def to_json(report: MonthlyReport) -> str:
    return json.dumps(report.to_dict(), ensure_ascii=False, indent=2)


def to_csv(report: MonthlyReport, sheet: str = "lines") -> str:
    """CSV with Chinese headings (UTF-8 with a BOM, so Excel opens it right); the first row is the
    header. ``sheet``: ``lines`` (the report's lines) or ``figures`` (each item's figures)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    if sheet == "figures":
        w.writerow([h for _, h in FIGURE_COLUMNS])
        body: Iterable[list[Any]] = figure_rows(report)
    else:
        w.writerow([h for _, h in columns(report)])
        body = rows(report)
    for r in body:
        w.writerow(["" if v is None else v for v in r])
    return "\ufeff" + buf.getvalue()


def when(value: datetime) -> str:
    """An instant as people write it: ``2024-03-11 09:30``."""
    from workflow.legaltime import TZ

    return value.astimezone(TZ).strftime("%Y-%m-%d %H:%M")


def to_xlsx(report: MonthlyReport, target: str | Path | IO[bytes]) -> None:
    """An Excel workbook: sheet 月报 (every line, the same columns every month), sheet 事项指标
    (each item's figures), sheet 说明 (what each measure means, the month, 截至 when it is not over,
    when it was made)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = "月报"
    cols = columns(report)
    ws.append([h for _, h in cols])
    for c in ws[1]:
        c.font = Font(bold=True)
        c.alignment = Alignment(wrap_text=True, vertical="center")
    rate_cols = {i + 1 for i, (k, _) in enumerate(cols) if k.endswith("_rate") or k == "avg_compression"}
    for r in rows(report):
        ws.append(r)
    for row in ws.iter_rows(min_row=2):
        for c in row:
            if c.column in rate_cols and isinstance(c.value, (int, float)):
                c.number_format = "0.00%"
    for i, (_, h) in enumerate(cols, start=1):
        ws.column_dimensions[get_column_letter(i)].width = max(10, min(28, len(h) * 2 + 2))
    ws.freeze_panes = "G2"
    figs = wb.create_sheet("事项指标")
    figs.append([h for _, h in FIGURE_COLUMNS])
    for c in figs[1]:
        c.font = Font(bold=True)
    for r in figure_rows(report):
        figs.append(r)
    for i, (_, h) in enumerate(FIGURE_COLUMNS, start=1):
        figs.column_dimensions[get_column_letter(i)].width = max(10, min(28, len(h) * 2 + 6))
    notes = wb.create_sheet("说明")
    notes.append(["指标", "口径"])
    for key, text in EXPLANATIONS.items():
        notes.append([HEADINGS.get(key, key), text])
    notes.column_dimensions["A"].width = 24
    notes.column_dimensions["B"].width = 90
    notes.append([])
    notes.append(["统计月份", report.month])
    if report.note:
        notes.append(["截至", report.note])
    notes.append(["生成时间", when(report.generated_at)])
    wb.save(target)


EXPLANATIONS = {
    "opened": "本月新收（开启）的案件数",
    "closed": "本月办结的案件数（含撤回）",
    "withdrawn": "本月办结的案件中申请人（请求人）撤回或按撤回处理的件数：计为撤回，不计入按时或超时",
    "measured": "本月办结且主时限已停止计时的案件数，不含撤回（各比率的分母）",
    "on_time_rate": "按时办结率：在法定时限（含依法延长）内办结的比例",
    "commitment_rate": "在承诺时限内办结的比例",
    "early_rate": "提前办结率：在承诺时限最后一日之前办结的比例",
    "avg_compression": "平均用时比：实际计入的时限单位（不含补正、中止等暂停期间）÷ 法定时限单位（含延长）的平均值",
    "compression_target": "压缩目标：用时不超过法定时限的该比例（默认三分之二）",
    "open_breaches": "期末（月末最后一日24时；本月尚未结束时为统计时）仍未办结、且主时限已超承诺时限或法定时限的案件数（不预测月末）",
    "escalations.warning": "本月发出的黄色预警（承诺时限最后一个工作日前）",
    "escalations.overdue": "本月发现的超承诺时限",
    "escalations.over_statutory": "本月发现的超法定时限",
    "escalations.expired": "本月届满的当事人期间、外部期间",
    "escalations.deemed_accepted": "本月因收件后五个工作日内未一次性告知补正内容、视为自收件之日起受理的件数（行政许可法第三十二条）",
    "escalations.overrun": "本月超出开始时声明的预计所需时间仍未结束的特别程序（听证、鉴定、中止等，行政许可法第四十五条）次数；办理期限在特别程序期间暂停计算",
    "ratings": "本月申请人对已办结办件作出的评价（政务服务“好差评”，一事一评），按被评价办件的单位和事项统计",
    "satisfied_rate": "满意率：评价为非常满意、满意、基本满意的比例（GB/T 39735-2020 五级评价中非差评的比例）",
    "bad_ratings": "差评数：评价为不满意、非常不满意的件数",
    "bad_rectified_on_time": "本月差评中，差评核实整改件已在整改时限内办结并答复申请人的件数（统计时的状态）",
    "orders_issued": "本月对案件发出的督办数（督办人：科长、局领导），按被督办案件的单位和事项统计",
    "orders_answered_on_time": "本月发出的督办中，承办人在答复期限（工作日）最后一日24时前答复的件数",
    "orders_overdue": "本月发出的督办中，逾期答复或统计时已过答复期限仍未答复（逾期未答复）的件数",
}

__all__ = [
    "FIGURE_COLUMNS", "LEVELS", "MemoryReportStorage", "ReportService", "SqlReportStorage", "columns",
    "figure_rows", "to_csv", "to_json", "to_xlsx",
]
