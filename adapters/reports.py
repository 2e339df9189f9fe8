"""Monthly reports: gather through the store, compute (``workflow.reports``), keep, export.

``ReportService(engine).generate(2024, 3)`` reads the month's cases (``uow.query_cases`` with
opened/closed ranges, plus the cases still open at the month's end) and the deadlines fired in it
(``uow.fired_deadlines``), computes the report, stores it (the ``reports`` table on a SQL store,
a dict otherwise) and returns it. Exports: :func:`to_json`, :func:`to_csv`, :func:`to_xlsx`
(Chinese headings; openpyxl).
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
    month_bounds,
    monthly_report,
)


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
        for r in rows:
            body = r["body"]
            generated = generated or body.get("generated_at")
            if body.get("figure_labels"):
                labels[r["item_id"]] = body["figure_labels"]
            for scope in ("total", "own"):
                if scope in body:
                    lines.append(ReportLine(r["org"], body.get("org_name", r["org"]), scope, r["item_id"],
                                            body.get("item_name", r["item_id"]), body[scope]))
        order = {ln.org: i for i, ln in enumerate(sorted(lines, key=lambda x: (len(x.org), x.org)))}
        lines.sort(key=lambda x: (order[x.org], x.org, x.item_id != "*", x.item_id, x.scope != "total"))
        return MonthlyReport(month=month, generated_at=datetime.fromisoformat(generated or "1970-01-01T00:00:00+00:00"),
                             lines=tuple(lines), figure_labels=labels)

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

    def compute(self, year: int, month: int) -> MonthlyReport:
        cases, fired = self.gather(year, month)
        e = self.engine
        return monthly_report(
            year, month, cases=cases, fired=fired, definition=e.registry.get, orgs=e.orgs,
            calendar=e.calendar, generated_at=e.now(), default_ratio=e.settings.commitment_ratio,
            strict=e.settings.strict_calendar,
        )

    def generate(self, year: int, month: int) -> MonthlyReport:
        """Compute and store (replacing an earlier version of the same month)."""
        report = self.compute(year, month)
        self.storage.save(report)
        return report

    def get(self, year: int, month: int, *, generate: bool = True) -> MonthlyReport | None:
        """The stored report, or (``generate``) a fresh one stored now."""
        found = self.storage.load(f"{year:04d}-{month:02d}")
        if found is None and generate:
            return self.generate(year, month)
        return found


# --- exports -------------------------------------------------------------------------------------


def columns(report: MonthlyReport) -> list[tuple[str, str]]:
    """(key, Chinese heading) of every column, figures last (labelled from the definitions)."""
    cols = [(k, v) for k, v in HEADINGS.items() if k != "month"]
    cols.insert(0, ("month", HEADINGS["month"]))
    seen: dict[str, str] = {}
    for _item, labels in sorted(report.figure_labels.items()):
        for name, label in labels.items():
            seen.setdefault(name, label)
    cols += [(f"figures.{n}", label) for n, label in seen.items()]
    return cols


def _cell(report: MonthlyReport, line: ReportLine, key: str) -> Any:
    if key == "month":
        return report.month
    if key == "scope":
        return SCOPE_NAMES.get(line.scope, line.scope)
    if key in ("org", "org_name", "item_id", "item_name"):
        return getattr(line, key)
    if key.startswith("escalations."):
        return line.measures.get("escalations", {}).get(key.split(".", 1)[1], 0)
    if key.startswith("figures."):
        return line.measures.get("figures", {}).get(key.split(".", 1)[1])
    value = line.measures.get(key)
    if key == "compression_met" and value is not None:
        return "是" if value else "否"
    return value


def rows(report: MonthlyReport) -> Iterable[list[Any]]:
    cols = columns(report)
    for line in report.lines:
        yield [_cell(report, line, k) for k, _ in cols]


def to_json(report: MonthlyReport) -> str:
    return json.dumps(report.to_dict(), ensure_ascii=False, indent=2)


def to_csv(report: MonthlyReport) -> str:
    """CSV with Chinese headings (UTF-8 with a BOM, so Excel opens it right)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([h for _, h in columns(report)])
    for r in rows(report):
        w.writerow(["" if v is None else v for v in r])
    return "\ufeff" + buf.getvalue()


def to_xlsx(report: MonthlyReport, target: str | Path | IO[bytes]) -> None:
    """An Excel workbook: sheet 月报 (every line), sheet 说明 (what each measure means)."""
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
    notes = wb.create_sheet("说明")
    notes.append(["指标", "口径"])
    for key, text in EXPLANATIONS.items():
        notes.append([HEADINGS.get(key, key), text])
    notes.column_dimensions["A"].width = 24
    notes.column_dimensions["B"].width = 90
    notes.append([])
    notes.append(["统计月份", report.month])
    notes.append(["生成时间", report.generated_at.isoformat()])
    wb.save(target)


EXPLANATIONS = {
    "opened": "本月新收（开启）的案件数",
    "closed": "本月办结的案件数",
    "measured": "本月办结且主时限已停止计时的案件数（各比率的分母）",
    "on_time_rate": "按时办结率：在法定时限（含依法延长）内办结的比例",
    "commitment_rate": "在承诺时限内办结的比例",
    "early_rate": "提前办结率：在承诺时限最后一日之前办结的比例",
    "avg_compression": "平均用时比：实际计入的时限单位（不含补正、中止等暂停期间）÷ 法定时限单位（含延长）的平均值",
    "compression_target": "压缩目标：用时不超过法定时限的该比例（默认三分之二）",
    "open_breaches": "月末最后一日24时仍未办结、且主时限已超承诺时限或法定时限的案件数",
    "escalations.warning": "本月发出的黄色预警（承诺时限最后一个工作日前）",
    "escalations.overdue": "本月发现的超承诺时限",
    "escalations.over_statutory": "本月发现的超法定时限",
    "escalations.expired": "本月届满的当事人期间、外部期间",
}

__all__ = [
    "LEVELS", "MemoryReportStorage", "ReportService", "SqlReportStorage", "columns", "to_csv",
    "to_json", "to_xlsx",
]
