"""The supervisors' pages: the board, breaches, charts and the monthly report; the calendar and the definitions; and the live counts every page refreshes."""

from __future__ import annotations

import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import JSONResponse, Response

from workflow.definition import Definition
from workflow.errors import CaseNotFound, UnknownItem, WorkflowError
from workflow.model import Case

from . import present
from .common import (
    HEADERS,
    SESSION_COOKIE,
    P,
    Visit,
    _check,
    _counts,
    _go,
    _latest,
    _row,
    _scope_orgs,
    _text,
    _visit,
    decorators,
    error_page,
    render,
)
from .config import web_state

router = APIRouter(include_in_schema=False)
page, posted = decorators(router)


# --- supervisors ---------------------------------------------------------------------------------


def _boss(v: Visit) -> Response | None:
    roles = v.ctx.settings.board_roles
    if not v.can(*roles):
        return error_page(v.request, v, 403, "没有权限",
                          f"此页面供{present.role_names(roles)}使用。")
    return None


def _board_data(v: Visit) -> dict[str, Any]:
    from api.routes.office import BOARD_LEVELS, sla_counts

    e = v.engine
    scope = e.orgs.subtree(v.actor.org)
    counts = sla_counts(e, scope, None)
    fold = {"met": "on_track", "met_late": "overdue", "met_over_statutory": "over_statutory", "overrun": "warning"}
    cells: dict[tuple[str, str], dict[str, int]] = {}
    for (org, item, level), n in counts.items():
        col = fold.get(level, level)
        col = col if col in BOARD_LEVELS else "on_track"
        cell = cells.setdefault((org, item), dict.fromkeys(BOARD_LEVELS, 0))
        cell[col] += n
    order = {o.code: i for i, o in enumerate(e.orgs)}
    orgs = sorted({o for o, _ in cells} | {v.actor.org}, key=lambda c: order.get(c, 999))
    items = [d for d in _latest(v) if any(i == d.id for _, i in cells)]
    out: dict[str, Any] = {}
    for key, cell in cells.items():
        worst = next((lvl for lvl in ("deemed_accepted", "over_statutory", "overdue", "expired", "warning") if cell[lvl]), "on_track")
        out["|".join(key)] = {**cell, "total": sum(cell.values()), "level": worst,
                              "colour": present.SLA_COLOUR.get(worst, "green")}
    totals = dict.fromkeys(BOARD_LEVELS, 0)
    for cell in cells.values():
        for k, n in cell.items():
            totals[k] += n
    return {"orgs": [(o, e.orgs.name(o)) for o in orgs], "items": items, "cells": out, "totals": totals,
            "as_of": e.now(), "orders": e.open_order_counts(v.actor)}


@page(P + "/board")
def board(v: Visit) -> Response:
    request = v.request
    if (no := _boss(v)) is not None:
        return no
    return render(request, "board.html.j2", v, **_board_data(v))


@page(P + "/breaches")
def breaches(v: Visit) -> Response:
    request = v.request
    if (no := _boss(v)) is not None:
        return no
    q = request.query_params
    org, item, level = q.get("org") or "", q.get("item") or "", q.get("level") or ""
    filters: dict[str, Any] = {"open": True}
    if org and org in v.engine.orgs:
        filters["org"] = org
    if item:
        filters["item_id"] = item
    levels = (level,) if level in ("overdue", "over_statutory", "deemed_accepted") else (
        "deemed_accepted", "over_statutory", "overdue")
    cases: list[Case] = []
    for lvl in levels:
        cases += v.engine.list_cases(v.actor, sla=lvl, **filters)
    rank = {"deemed_accepted": 0, "over_statutory": 1, "overdue": 2}
    cases.sort(key=lambda c: (rank.get(c.sla, 9), c.opened_at, c.id))
    return render(request, "breaches.html.j2", v, rows=[_row(v, c) for c in cases], orgs=_scope_orgs(v),
                  items=_latest(v), f={"org": org, "item": item, "level": level})


def _reports(v: Visit) -> Any:
    from adapters.reports import ReportService

    ctx = v.ctx
    if ctx.reports is None:
        ctx.reports = ReportService(ctx.engine)
    return ctx.reports


def _month(v: Visit, value: str | None) -> tuple[int, int] | Response:
    """The month asked for (this month when none is given or it is not YYYY-MM); a month after
    the current one has not begun and has nothing to report: a 422 page saying so (the API's 422
    names ``month`` the same way: workflow/reports.month_begun)."""
    today = v.engine.today()
    try:
        y, m = (int(x) for x in (value or "").split("-"))
    except ValueError:
        return today.year, today.month
    if not (2000 <= y and 1 <= m <= 12):
        return today.year, today.month
    if (y, m) > (today.year, today.month):
        return error_page(v.request, v, 422, "月份尚未开始",
                          f"统计月份 {y:04d}-{m:02d} 尚未开始，没有可统计的数据。"
                          f"请选择本月（{today.year:04d}-{today.month:02d}）或以前的月份。")
    return y, m


def _report(v: Visit, y: int, m: int, *, fresh: bool = False) -> Any:
    today = v.engine.today()
    svc = _reports(v)
    if fresh or (y, m) == (today.year, today.month):
        return svc.compute(y, m)  # the month is not over: never store a partial month
    return svc.get(y, m)


@page(P + "/charts")
def charts(v: Visit) -> Response:
    from . import charts as ch

    request = v.request
    if (no := _boss(v)) is not None:
        return no
    if isinstance(asked := _month(v, request.query_params.get("month")), Response):
        return asked
    y, m = asked
    months: list[tuple[int, int]] = []
    cy, cm = y, m
    for _ in range(6):
        months.insert(0, (cy, cm))
        cy, cm = (cy - 1, 12) if cm == 1 else (cy, cm - 1)
    names, on_time, commit, compression, satisfied = [], [], [], [], []
    target = None
    report = None
    for (yy, mm) in months:
        report = _report(v, yy, mm)
        line = report.line(v.actor.org)
        names.append(f"{yy}-{mm:02d}")
        meas = line.measures if line else {}
        on_time.append(meas.get("on_time_rate"))
        commit.append(meas.get("commitment_rate"))
        compression.append(meas.get("avg_compression"))
        satisfied.append(meas.get("satisfied_rate"))
        if meas.get("compression_target") is not None:
            target = float(Fraction(str(meas["compression_target"])))
    items = [ln for ln in report.lines if ln.org == v.actor.org and ln.scope == "total" and ln.item_id != "*"] \
        if report else []
    tgt = target if target is not None else 2 / 3
    svg = {
        "on_time": ch.month_bars("按月：按时办结率与承诺时限内办结率", names,
                                 [("按时办结率", on_time), ("承诺时限内办结率", commit)]),
        "compression": ch.month_bars("按月：平均用时比（已用÷法定）", names, [("平均用时比", compression)],
                                     target=tgt, target_label=f"压缩目标 {tgt * 100:.0f}%"),
        "items_on_time": ch.item_bars(f"按事项：按时办结率（{names[-1]}）",
                                      [(ln.item_name, ln.measures.get("on_time_rate")) for ln in items],
                                      target=1.0, target_label="100%"),
        "items_compression": ch.item_bars(f"按事项：平均用时比（{names[-1]}）",
                                          [(ln.item_name, ln.measures.get("avg_compression")) for ln in items],
                                          target=tgt, target_label=f"目标 {tgt * 100:.0f}%", better="low"),
    }
    # 好差评 (issue 17): per month, per item and per org under the reader's
    rated_items = [ln for ln in items if ln.measures.get("ratings")]
    below = set(v.engine.orgs.subtree(v.actor.org)) - {v.actor.org}
    rated_orgs = [ln for ln in (report.lines if report else [])
                  if ln.item_id == "*" and ln.scope == "total" and ln.org in below and ln.measures.get("ratings")]
    svg["satisfied"] = ch.month_bars("按月：满意率（好差评）", names, [("满意率", satisfied)])
    svg["items_satisfied"] = ch.item_bars(f"按事项：满意率（{names[-1]}）",
                                          [(ln.item_name, ln.measures.get("satisfied_rate")) for ln in rated_items],
                                          none="无评价", nothing="本月没有评价")
    table = list(zip(names, on_time, commit, compression, satisfied, strict=True))
    ratings = {"items": rated_items, "orgs": rated_orgs,
               "total": report.line(v.actor.org) if report else None}
    return render(request, "charts.html.j2", v, svg=svg, table=table, items=items, month=names[-1],
                  ratings=ratings, latest=f"{v.engine.today():%Y-%m}")


@page(P + "/reports")
def report_page(v: Visit) -> Response:
    from adapters.reports import columns, figure_rows, rows

    request = v.request
    if (no := _boss(v)) is not None:
        return no
    if isinstance(asked := _month(v, request.query_params.get("month")), Response):
        return asked
    y, m = asked
    report = _scoped(v, _report(v, y, m, fresh=request.query_params.get("fresh") == "1"))
    cols = columns(report)
    return render(request, "report.html.j2", v, report=report, cols=cols, rows=list(rows(report)),
                  figures=list(figure_rows(report)), month=f"{y:04d}-{m:02d}", latest=f"{v.engine.today():%Y-%m}")


def _scoped(v: Visit, report: Any) -> Any:
    from dataclasses import replace

    scope = v.engine.orgs.subtree(v.actor.org)
    return replace(report, lines=tuple(ln for ln in report.lines if ln.org in scope))


@page(P + "/reports/monthly.{fmt}")
def report_download(v: Visit, fmt: str) -> Response:
    from api.routes.reports import _render

    if (no := _boss(v)) is not None:
        return no
    if fmt not in ("csv", "xlsx"):
        return error_page(v.request, v, 404, "没有这种格式", "可下载 CSV 或 Excel。")
    if isinstance(asked := _month(v, v.request.query_params.get("month")), Response):
        return asked
    y, m = asked
    sheet = "figures" if v.request.query_params.get("sheet") == "figures" else "lines"
    return _render(_scoped(v, _report(v, y, m)), fmt, sheet)


@posted(P + "/reports")
def _report_refresh(v: Visit, form: FormData) -> Response:
    if (no := _boss(v)) is not None:
        return no
    today = v.engine.today()
    if isinstance(asked := _month(v, _text(form, "month", 7)), Response):
        return asked
    y, m = asked
    from api.scope import at_root

    if (y, m) != (today.year, today.month) and not at_root(v.engine.orgs, v.actor):
        # the stored report is everyone's: below the root it is computed afresh for this page only
        return _go(P + "/reports", month=f"{y:04d}-{m:02d}", fresh="1", done="report")
    if (y, m) != (today.year, today.month):
        _reports(v).generate(y, m)
    return _go(P + "/reports", month=f"{y:04d}-{m:02d}", done="report")


# --- calendar and definitions ----------------------------------------------------------------------


def _calendar_page(v: Visit, status: int = 200, error: str = "") -> Response:
    from adapters.calendar import law_warnings
    from api.views import calendar_view

    info = calendar_view(v.engine, v.engine.today(), v.actor)
    years = sorted(((int(y), s) for y, s in info["years"].items()), reverse=True)
    # each loaded notice is used as given; say which statutory days it leaves working days
    overrides = getattr(v.engine.calendar, "overrides", {}) or {}
    warned = [w for _, ov in sorted(overrides.items()) for w in law_warnings(ov)]
    return render(v.request, "calendar.html.j2", v, status=status, info=info, years=years, error=error,
                  law_warnings=warned)


@page(P + "/calendar/template/{year}")
def calendar_template(v: Visit, year: str) -> Response:
    """The override file for a year, with the statutory holidays filled in (download)."""
    from adapters.calendar import override_template

    if not (year.isascii() and year.isdigit() and 1900 < int(year) < 2200):
        return error_page(v.request, v, 404, "找不到年度", "请选择 1901–2199 年之间的年度。")
    return Response(override_template(int(year)), media_type="text/yaml; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{int(year)}.yaml"'})


@page(P + "/calendar")
def calendar(v: Visit) -> Response:
    return _calendar_page(v)


@router.post(P + "/calendar")
async def calendar_load(request: Request) -> Response:
    v = _visit(request)
    if isinstance(v, Response):
        return v
    form = await request.form(max_files=1)
    if (bad := _check(v, form)) is not None:
        return bad
    if not v.is_root_admin:  # the calendar counts every org's deadlines
        return error_page(request, v, 403, "没有权限", "导入日历影响全省所有案件的期限，需要省局（根机构）的管理员角色。")
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        return await run_in_threadpool(_calendar_page, v, 422, "请选择日历文件（YAML）。")
    content = await upload.read(256 * 1024 + 1)

    def load() -> Response:
        if len(content) > 256 * 1024:
            return _calendar_page(v, 413, "日历文件过大。")
        with tempfile.TemporaryDirectory(prefix="caseclock-calendar-") as tmp:
            path = Path(tmp) / "calendar.yaml"
            path.write_bytes(content)
            try:
                v.engine.load_calendar(path, actor=v.actor)
            except (WorkflowError, ValueError) as exc:
                return _calendar_page(v, 422, present.explain(exc))
        return _go(P + "/calendar", done="calendar")

    return await run_in_threadpool(load)


@page(P + "/definitions")
def definitions(v: Visit) -> Response:
    request = v.request
    rows = []
    for d in _latest(v):
        main = d.clocks.get(d.main_clock) if d.main_clock else None
        rows.append({"d": d, "main": main, "limit": _limit_text(main) if main else "",
                     "commitment": _commitment_text(v, d, main) if main else ""})
    return render(request, "definitions.html.j2", v, rows=rows)


def _limit_text(c: Any) -> str:
    if c.limit_choice is not None:
        parts = [f"{present.choice_label(k)} {lim.label}" for k, lim in c.limit_choice.cases.items()]
        return "；".join(parts)
    return c.limit.label


def _ratio(v: Visit, d: Definition) -> Any:
    return d.commitment_ratio if "commitment_ratio" in d.raw else v.engine.settings.commitment_ratio


def _commitment_text(v: Visit, d: Definition, c: Any) -> str:
    from workflow.legaltime import commitment_for

    if c.kind.value != "office":
        return "不压缩（当事人/外部期间）"
    if c.commitment is not None:
        return c.commitment.label
    ratio = _ratio(v, d)
    limits = [(None, c.limit)] if c.limit_choice is None else list(c.limit_choice.cases.items())
    parts = []
    for key, lim in limits:
        n = commitment_for(lim, ratio)
        word = "个工作日" if lim.unit.value == "working_days" else "日"
        parts.append(f"{present.choice_label(key) + ' ' if key else ''}{n}{word}")
    return "；".join(parts) + f"（法定时限的{ratio}）"


@page(P + "/definitions/{item_id}")
def definition(v: Visit, item_id: str) -> Response:
    from workflow.diagram import mermaid

    from . import diagram

    request = v.request
    try:
        d = v.engine.definition(item_id[:128])
    except UnknownItem:
        return error_page(request, v, 404, "没有这个事项", f"没有事项 {item_id}")
    clocks = [{"c": c, "limit": _limit_text(c), "commitment": _commitment_text(v, d, c),
               "paused_in": [s.label or s.name for s in d.states.values() if c.name in s.pauses],
               "restarted_in": [s.label or s.name for s in d.states.values() if c.name in s.restarts]}
              for c in d.clocks.values() if not c.step]
    steps = [s for s in d.states.values() if s.limit is not None]
    anywhere = diagram.everywhere(d)
    ladder = present.ladder_rows(d.escalation.effective(v.engine.settings.escalation.ladder))
    return render(request, "definition.html.j2", v, d=d, clocks=clocks, steps=steps, ladder=ladder, svg=diagram.svg(d),
                  mermaid=mermaid(d), anywhere=anywhere, inputs=present.inputs_for(d.fields),
                  children=[v.engine.definition(c) for c in d.children])


# --- live counts -----------------------------------------------------------------------------------


@router.get(P + "/live.json")
def live(request: Request) -> Response:
    """What the pages refresh every few seconds: my counts, the worklist rows' levels and days
    left, the board's cells, a case's version."""
    web = web_state(request)
    session = web.signer.read_session(request.cookies.get(SESSION_COOKIE))
    v = _visit(request) if session is not None else None
    if v is None or isinstance(v, Response):
        return JSONResponse({"signed_in": False}, status_code=401, headers=HEADERS)
    q = request.query_params
    rows = [_row(v, c) for c in v.engine.worklist(v.actor)]
    body: dict[str, Any] = {"signed_in": True, "counts": _counts(v, rows), "as_of": v.engine.now().isoformat()}
    view = q.get("view")
    if view == "worklist":
        body["rows"] = {r["case"].id: {"sla": r["case"].sla, "sla_label": present.SLA_LABELS.get(r["case"].sla, ""),
                                       "colour": present.SLA_COLOUR.get(r["case"].sla, "green"), "left": r["left"]}
                        for r in rows}
    elif view == "board" and v.can(*v.ctx.settings.board_roles):
        data = _board_data(v)
        body["cells"] = data["cells"]
        body["totals"] = data["totals"]
    elif view == "case" and q.get("id"):
        try:
            c = v.engine.get_case(q["id"][:128], v.actor)
            today = v.engine.today()
            body["case"] = {"version": c.version, "sla": c.sla,
                            "clocks": {k: present.days_left(ck, today) for k, ck in c.clocks.items()}}
        except CaseNotFound:
            body["case"] = None
    return JSONResponse(body, headers=HEADERS)


