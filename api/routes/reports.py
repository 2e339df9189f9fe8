"""The monthly report (the province wants it before the 20th): JSON, CSV or an Excel workbook."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query
from starlette.responses import Response

from adapters.reports import ReportService, to_csv, to_json, to_xlsx
from workflow.reports import MonthlyReport

from ..deps import ActorDep, Context, CtxDep, require_role
from ..problems import BadRequest
from ..schemas import problems
from ..scope import at_root

router = APIRouter(prefix="/api", tags=["reports"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MONTH = r"^(2[01]\d{2})-(0[1-9]|1[0-2])$"  # 2000-01 .. 2199-12 (workflow/reports.month_bounds)


def _service(ctx: Context) -> ReportService:
    if ctx.reports is None:
        ctx.reports = ReportService(ctx.engine)
    return ctx.reports


def _format(fmt: str | None, accept: str | None) -> str:
    if fmt:
        return fmt
    accept = (accept or "").lower()
    if XLSX in accept or "spreadsheetml" in accept:
        return "xlsx"
    if "text/csv" in accept:
        return "csv"
    return "json"


def _month(month: str) -> tuple[int, int]:
    m = re.match(MONTH, month)
    if not m:
        raise BadRequest(f"month must be YYYY-MM, got {month!r}", "month")
    return int(m.group(1)), int(m.group(2))


@router.get(
    "/reports/monthly", response_model=None, summary="The monthly report",
    responses={
        200: {
            "description": "the report: JSON (lines per org and item), CSV or XLSX with Chinese headings",
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "text/csv": {"schema": {"type": "string"}},
                XLSX: {"schema": {"type": "string", "format": "binary"}},
            },
        },
        **problems(400, 401, 403, 422),
    },
)
def monthly(
    ctx: CtxDep, actor: ActorDep,
    month: Annotated[str, Query(description="YYYY-MM", examples=["2024-03"], pattern=MONTH)],
    format: Annotated[Literal["json", "csv", "xlsx"] | None, Query(description="default: from Accept, else JSON")] = None,  # noqa: A002
    refresh: Annotated[bool, Query(description="compute it again now (the stored one otherwise); stored "
                                   "again only for a caller at the root of the org tree")] = False,
    sheet: Annotated[Literal["lines", "figures"], Query(
        description="CSV only: `lines` (the report's lines, the same columns every month) or `figures` "
                    "(each item's own figures, one row per line and figure)")] = "lines",
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """Per org (rolled up the org tree; the caller sees their own subtree) and item: opened,
    closed, on-time rate, commitment rate, early-completion rate, average compression against the
    two-thirds target, open breaches, escalations by level, and each item's figures. A past month
    is stored when first asked for (``refresh`` computes it again); the current month is computed
    afresh each time, judged at that instant (no month-end projection), and says up to when it
    counts: ``as_of`` and ``metadata.note`` (截至 …) in JSON, the 说明 sheet of the workbook; the
    CSV's first row is always its header. The columns are the same every month
    (``metadata.columns``); an item's own figures are the workbook's 事项指标 sheet and
    ``sheet=figures`` in CSV. Withdrawn cases count as withdrawn (``withdrawn``), never as on time.
    A month after the current one has not begun: 422 naming ``month``.

    Scope: the caller's org subtree (the lines of other orgs are left out). The stored report is
    the whole office's: ``refresh`` from a caller at the root of the org tree stores it again;
    from anyone else it is computed afresh for them and the stored one is left as it was."""
    require_role(actor, ctx.settings.report_roles, "the monthly report")
    year, mon = _month(month)
    svc = _service(ctx)
    today = ctx.engine.today()
    if (year, mon) >= (today.year, today.month):  # still running: computed, never stored
        report = svc.compute(year, mon)
    else:
        found: MonthlyReport | None
        if refresh:  # the stored report is everyone's: only the root stores it again
            found = svc.generate(year, mon) if at_root(ctx.engine.orgs, actor) else svc.compute(year, mon)
        else:
            found = svc.get(year, mon)
        assert found is not None
        report = found
    scope = ctx.engine.orgs.subtree(actor.org)
    report = replace(report, lines=tuple(ln for ln in report.lines if ln.org in scope))
    return _render(report, _format(format, accept), sheet)


def _render(report: MonthlyReport, fmt: str, sheet: str = "lines") -> Response:
    name = f"caseclock-report-{report.month}"
    if fmt == "csv":
        if sheet == "figures":
            name += "-figures"
        return Response(to_csv(report, sheet).encode("utf-8"), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    if fmt == "xlsx":
        buf = io.BytesIO()
        to_xlsx(report, buf)
        return Response(buf.getvalue(), media_type=XLSX,
                        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})
    body: Any = to_json(report)
    return Response(body.encode("utf-8"), media_type="application/json")
