"""The ``caseclock`` command line.

Every command that touches a database takes ``--db URL`` (default: ``$CASECLOCK_DB``, else the
SQLite file ``caseclock.db`` in the working folder; a bare path means a SQLite file) and
``--definitions PATH`` (repeatable; default: ``$CASECLOCK_DEFINITIONS``, else the bundled ones).
Exit codes: 0 done, 1 refused or failed (the reason is printed), 2 wrong usage.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from adapters import build_engine, bundled_definitions
from api.runtime import (
    check_db,
    check_port,
    db_url,
    definitions_from,
    directory_for,
    jwt_settings,
    make_engine,
    rate_limits_from_env,
    start_scheduler,
)
from workflow.engine import Engine
from workflow.errors import DefinitionError, WorkflowError
from workflow.legaltime import ClockKind

app = typer.Typer(add_completion=False, no_args_is_help=True, help="caseclock: legal-time workflow engine for IP offices")
token_app = typer.Typer(no_args_is_help=True, help="API tokens: create, revoke, list")
calendar_app = typer.Typer(no_args_is_help=True, help="the working-day calendar: status, load an override")
user_app = typer.Typer(no_args_is_help=True, help="the directory of people who are notified")
db_app = typer.Typer(no_args_is_help=True, help="the database schema")
audit_app = typer.Typer(no_args_is_help=True, help="tamper evidence of the case histories")
app.add_typer(token_app, name="token")
app.add_typer(calendar_app, name="calendar")
app.add_typer(user_app, name="user")
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")

console = Console(soft_wrap=True)  # a piped line stays one line (scripts grep it)
err = Console(stderr=True, soft_wrap=True)

DefinitionsOpt = Annotated[
    list[Path] | None,
    typer.Option("--definitions", "-d", help="definition files or folders (repeatable); default: $CASECLOCK_DEFINITIONS or the bundled ones"),
]
DbOpt = Annotated[
    str | None,
    typer.Option("--db", help="database URL (sqlite:///file.db, postgresql+psycopg://…, memory://) or a SQLite file; default: $CASECLOCK_DB or caseclock.db here"),
]

F = TypeVar("F", bound=Callable[..., Any])


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"caseclock {version('caseclock')}")
        except PackageNotFoundError:  # pragma: no cover - run from a source tree never installed
            typer.echo("caseclock (not installed: version unknown)")
        raise typer.Exit()


@app.callback()
def _options(
    show_version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                               help="print the version and exit")] = False,
) -> None:
    """caseclock: legal-time workflow engine for IP offices"""


def friendly(fn: F) -> F:
    """Print refusals as one red line and exit 1 (no traceback for a user's mistake)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except DefinitionError as exc:
            err.print(f"[red]invalid[/red] {escape(str(exc))}", markup=True, highlight=False)
        except (WorkflowError, ValueError, OSError) as exc:
            err.print(f"[red]error[/red] {escape(str(exc))}", markup=True, highlight=False)
        raise typer.Exit(1)

    return wrapper  # type: ignore[return-value]


def _definitions(paths: list[Path] | None) -> list[Path] | None:
    return definitions_from(paths)


def _engine(db: str | None, definitions: list[Path] | None = None, **kw: Any) -> Engine:
    return make_engine(db, definitions, **kw)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err, transient=False)


# --- definitions ----------------------------------------------------------------------------------


@app.command()
def validate(definitions: DefinitionsOpt = None) -> None:
    """Validate definition files; every problem of every file is printed, file by file, with its
    line and field (exit 1 if any). Never a traceback: a file that cannot be checked says so."""
    from workflow.definition import iter_files

    paths = _definitions(definitions) or [bundled_definitions()]
    try:
        engine = build_engine("memory://", definitions=paths)
    except DefinitionError as exc:
        by_file: dict[str, list[Any]] = {}
        for p in exc.problems:
            by_file.setdefault(p.file or exc.source, []).append(p)
        for source, found in by_file.items():
            err.print(f"[red]invalid[/red] {escape(source)}: {len(found)} problem(s)", highlight=False)
            for p in found:
                err.print(f"  - {escape(str(replace(p, file=None)))}", highlight=False)
        try:
            bad = {str(Path(f)) for f in by_file}
            for f in iter_files(tuple(paths)):
                if str(f) not in bad:
                    console.print(f"[green]ok[/green] {escape(str(f))}", highlight=False)
        except (DefinitionError, OSError):
            pass
        raise typer.Exit(1) from None
    except Exception as exc:  # noqa: BLE001 - a check that failed is reported, never a traceback
        err.print(f"[red]error[/red] the definitions could not be checked: {escape(type(exc).__name__)}: "
                  f"{escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from None
    for d in engine.definitions():
        console.print(f"[green]ok[/green] {escape(f'{d.id} v{d.version} {d.name}  ({d.source})')}", highlight=False)


@app.command()
@friendly
def items(definitions: DefinitionsOpt = None) -> None:
    """List the loaded items and case types with their statutory limits and commitments."""
    engine = build_engine("memory://", definitions=_definitions(definitions))
    table = Table(title=f"caseclock: {len(engine.definitions())} definitions from {_definitions(definitions) or bundled_definitions()}")
    for col in ("id", "v", "名称", "kind", "clock", "法定时限", "承诺时限", "status"):
        table.add_column(col)
    from workflow.legaltime import commitment_for

    for d in engine.definitions():
        first = True
        for c in d.clocks.values():
            lim = c.limit_choice.longest if c.limit_choice else c.limit
            if c.kind is ClockKind.OFFICE:
                units = commitment_for(c.commitment or lim, d.commitment_ratio if c.commitment is None else 1)  # type: ignore[arg-type]
                unit = "个工作日" if lim.unit.value == "working_days" else "日"
                commit = f"{units}{unit}"
            else:
                commit = "—" + (" (当事人)" if c.kind is ClockKind.PARTY else " (外部)")
            table.add_row(
                d.id if first else "", str(d.version) if first else "", d.name if first else "",
                d.kind if first else "", c.label or c.name, lim.label, commit, c.status or "",
            )
            first = False
    console.print(table)


@app.command()
@friendly
def diagram(
    item: Annotated[str, typer.Argument(help="the item or case type id")],
    version: Annotated[int | None, typer.Option(help="a definition version (default: the newest)")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="write to this file instead of printing")] = None,
    definitions: DefinitionsOpt = None,
) -> None:
    """Print a definition as a Mermaid state diagram (states, transitions, pauses, clocks)."""
    from workflow.diagram import mermaid

    engine = build_engine("memory://", definitions=_definitions(definitions))
    text = mermaid(engine.definition(item, version))
    if out is not None:
        out.write_text(text, encoding="utf-8")
        err.print(f"wrote {out}")
    else:
        sys.stdout.write(text)


# --- the service ------------------------------------------------------------------------------------


def uvicorn_options(*, host: str, port: int, log_level: str = "info", access_log: bool = True,
                    proxy_headers: bool = True, forwarded_allow_ips: str | None = None,
                    env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What ``serve`` hands uvicorn. With proxy headers on, uvicorn takes the scheme (HTTPS: the
    cookies get ``Secure``) and the client's address (the rate limits' client) from
    ``X-Forwarded-Proto`` and ``X-Forwarded-For`` — only from the peers ``forwarded_allow_ips``
    names (``$FORWARDED_ALLOW_IPS``, else 127.0.0.1: a proxy on this host)."""
    e = os.environ if env is None else env
    trusted = forwarded_allow_ips or e.get("FORWARDED_ALLOW_IPS") or "127.0.0.1"
    return {"host": host, "port": port, "log_level": log_level, "access_log": access_log,
            "proxy_headers": proxy_headers, "forwarded_allow_ips": trusted}


@app.command()
@friendly
def serve(
    db: DbOpt = None,
    definitions: DefinitionsOpt = None,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    scheduler: Annotated[bool, typer.Option(help="run the deadline scheduler in this process")] = True,
    workers: Annotated[int, typer.Option(min=1, max=64, help="worker processes (each with its own engine and scheduler)")] = 1,
    synchronous: Annotated[str | None, typer.Option(help="SQLite durability: FULL (default) or NORMAL ($CASECLOCK_SQLITE_SYNCHRONOUS)")] = None,
    jwt_key: Annotated[list[Path] | None, typer.Option(help="SSO: a PEM public key file (repeatable; $CASECLOCK_JWT_KEYS)")] = None,
    jwt_issuer: Annotated[str | None, typer.Option(help="SSO: the expected issuer ($CASECLOCK_JWT_ISSUER)")] = None,
    jwt_audience: Annotated[str | None, typer.Option(help="SSO: the expected audience ($CASECLOCK_JWT_AUDIENCE)")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
    access_log: Annotated[bool, typer.Option(help="log every request")] = True,
    proxy_headers: Annotated[bool, typer.Option(help="believe X-Forwarded-Proto/-For from the trusted proxies (HTTPS, client address)")] = True,
    forwarded_allow_ips: Annotated[str | None, typer.Option(help="the proxies to trust, comma-separated addresses or networks, * for any ($FORWARDED_ALLOW_IPS; default 127.0.0.1)")] = None,
) -> None:
    """Serve the JSON API (and start the scheduler) on HOST:PORT."""
    import uvicorn

    url = db_url(db)
    check_port(host, port)  # a busy port is one line with the --port hint, before any banner
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    banner = (f"caseclock serving {url} on [bold]http://{shown}:{port}/[/bold]  "
              f"(API docs http://{shown}:{port}/docs, health /api/health)")
    rate_limits_from_env(os.environ)  # a malformed CASECLOCK_RATE_* stops here, not in a worker
    run = uvicorn_options(host=host, port=port, log_level=log_level, access_log=access_log,
                          proxy_headers=proxy_headers, forwarded_allow_ips=forwarded_allow_ips)
    if workers > 1:  # each worker builds its app from the environment (api.asgi)
        env = {"CASECLOCK_DB": url, "CASECLOCK_SCHEDULER": "1" if scheduler else "0"}
        defs = _definitions(definitions)
        if defs:
            env["CASECLOCK_DEFINITIONS"] = os.pathsep.join(str(Path(d).resolve()) for d in defs)
        if synchronous:
            env["CASECLOCK_SQLITE_SYNCHRONOUS"] = synchronous
        if jwt_key:
            env["CASECLOCK_JWT_KEYS"] = os.pathsep.join(str(Path(k).resolve()) for k in jwt_key)
        env.update({k: v for k, v in (("CASECLOCK_JWT_ISSUER", jwt_issuer), ("CASECLOCK_JWT_AUDIENCE", jwt_audience)) if v})
        os.environ.update(env)
        first = make_engine(url, defs)  # migrate and register once, before the workers start
        dispose = getattr(first.store, "dispose", None)
        if dispose is not None:
            dispose()
        err.print(banner + f"  [{workers} workers]")
        uvicorn.run("api.asgi:app_from_env", factory=True, workers=workers, **run)
        return
    from api.app import create_app
    from api.settings import ApiSettings

    engine = _engine(db, definitions, synchronous=synchronous)
    web = create_app(engine, ApiSettings(jwt=jwt_settings(jwt_key, jwt_issuer, jwt_audience),
                                         rate_limits=rate_limits_from_env(os.environ)))
    sched = start_scheduler(engine) if scheduler else None
    err.print(banner)
    try:
        uvicorn.run(web, **run)
    finally:
        if sched is not None:
            sched.shutdown()


@app.command()
@friendly
def demo(
    db: DbOpt = None,
    definitions: DefinitionsOpt = None,
    cases: Annotated[int, typer.Option(help="how many cases to open")] = 150,
    days: Annotated[int, typer.Option(help="open window items over this many past days (disputes over 3×)")] = 45,
    seed: Annotated[int, typer.Option(help="random seed")] = 7,
    tokens: Annotated[bool, typer.Option(help="create demo API tokens and print them")] = True,
    password: Annotated[str, typer.Option(help="sign-in password given to the demo people of 武汉 and the province (empty: none)")] = "demo-1234",
) -> None:
    """Fill a database with realistic cases across orgs and items, opened in the past, then sweep
    at the real now so the board shows yellow and red."""
    from adapters.directory import sync
    from api.demo import SimClock, demo_people, fill

    clock = SimClock()
    engine = _engine(db, definitions, now=clock)
    sync(directory_for(engine), demo_people(engine.orgs))
    with _progress() as bar:
        task = bar.add_task("opening and advancing cases", total=cases)
        result = fill(engine, clock, count=cases, days=days, seed=seed,
                      progress=lambda n: bar.update(task, completed=n))
    console.print(f"opened {result.opened} cases, fired {result.transitions} transitions, "
                  f"{result.escalations} escalations; by org: "
                  + ", ".join(f"{engine.orgs.name(o)} {n}" for o, n in sorted(result.by_org.items())))
    for problem in result.errors[:5]:
        err.print(f"[yellow]skipped[/yellow] {problem}")
    _board_table(engine)
    if tokens:
        from api.auth import issue_token
        from api.tokens import tokens_for

        console.print("demo API tokens (shown once; `caseclock token create` makes more):")
        for user, roles, org in (
            ("wang.clerk", "clerk", "420100"), ("li.examiner", "examiner", "420100"),
            ("zhao.supervisor", "supervisor", "420100"), ("chen.leader", "leader", "420000"),
            ("yc.clerk", "clerk", "420500"), ("admin", "admin", "420000"),
            ("hubei.portal", "portal", "420000"),
        ):
            token, _ = issue_token(tokens_for(engine), user=user, roles=roles, org=org, now=engine.now(),
                                   orgs=engine.orgs, name="demo")
            typer.echo(f"  {user:<16} {roles:<11} {org} {engine.orgs.name(org)}\n    {token}")
    if password:
        from api.web.accounts import accounts_for, set_password

        accounts = accounts_for(engine)
        ids = [p.id for p in demo_people(engine.orgs) if p.org in ("420100", "420000")]
        for person_id in ids:
            set_password(accounts, person_id, password)
        console.print(f"demo sign-in for the pages (/web), password {password!r}: " + ", ".join(ids))
    if result.applications:
        console.print(f"online applications: {len(result.applications)}, {result.ratings} rated (好差评); "
                      "follow one at /apply/progress with its number and query code:")
        for number, code in result.applications[-3:]:
            typer.echo(f"  {number}  {code}")
    if result.orders:
        console.print(f"督办 (supervision orders): {result.orders} issued — answered, waiting and overdue ones "
                      "on the board, the worklist and each case")
    console.print(f"next: caseclock serve --db {db_url(db)}")


def _board_table(engine: Engine) -> None:
    from workflow.ports import CaseQuery

    with engine.store.unit_of_work() as uow:
        rows = uow.query_cases(CaseQuery(open=True))
    counts: dict[str, dict[str, int]] = {}
    for r in rows:
        level = r.sla if r.sla in ("on_track", "warning", "overdue", "over_statutory") else "on_track"
        counts.setdefault(r.org, dict.fromkeys(("on_track", "warning", "overdue", "over_statutory"), 0))[level] += 1
    table = Table(title="open cases by SLA level")
    for col, style in (("org", ""), ("on_track", "green"), ("warning", "yellow"), ("overdue", "red"),
                       ("over_statutory", "bold red")):
        table.add_column(col, style=style)
    for org, c in sorted(counts.items()):
        table.add_row(f"{org} {engine.orgs.name(org)}", *(str(v) for v in c.values()))
    console.print(table)


@app.command()
@friendly
def sweep(db: DbOpt = None, definitions: DefinitionsOpt = None) -> None:
    """Fire every escalation that has come due (what the scheduler does every minute)."""
    engine = _engine(db, definitions)
    fired = engine.sweep()
    table = Table(title=f"{len(fired)} escalations")
    for col in ("case", "org", "item", "clock", "level", "due", "seen"):
        table.add_column(col)
    for e in fired[:200]:
        table.add_row(e.number, e.org, e.item_id, e.clock, e.level, e.due.isoformat(timespec="minutes"),
                      e.seen.isoformat(timespec="seconds"))
    console.print(table)
    if len(fired) > 200:
        console.print(f"… and {len(fired) - 200} more")


@app.command()
@friendly
def report(
    month: Annotated[str | None, typer.Option(help="YYYY-MM (default: last month)")] = None,
    db: DbOpt = None,
    definitions: DefinitionsOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="table, json, csv or xlsx")] = "table",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="write to this file (xlsx needs it)")] = None,
    org: Annotated[str, typer.Option(help="the org whose lines the table shows")] = "420000",
) -> None:
    """Generate (and store) the monthly report; print it or export it."""
    from adapters.reports import ReportService, to_csv, to_json, to_xlsx
    from adapters.scheduler import previous_month

    engine = _engine(db, definitions)
    if month is None:
        year, mon = previous_month(engine.today())
    else:
        try:
            year, mon = (int(x) for x in month.split("-"))
            datetime(year, mon, 1)
        except ValueError:
            raise ValueError(f"--month must be YYYY-MM, got {month!r}") from None
    rep = ReportService(engine).generate(year, mon)
    if fmt == "xlsx":
        target = out or Path(f"caseclock-report-{rep.month}.xlsx")
        to_xlsx(rep, target)
        console.print(f"wrote {target}")
        return
    if fmt in ("json", "csv"):
        text = to_json(rep) if fmt == "json" else to_csv(rep)
        if out is not None:
            out.write_text(text, encoding="utf-8")
            console.print(f"wrote {out}")
        else:
            sys.stdout.write(text + ("\n" if not text.endswith("\n") else ""))
        return
    if fmt != "table":
        raise ValueError(f"--format must be table, json, csv or xlsx, not {fmt!r}")
    table = Table(title=f"{rep.month} {engine.orgs.name(org)}（合计）")
    keys = ("opened", "closed", "on_time_rate", "commitment_rate", "early_rate", "avg_compression", "open_breaches")
    table.add_column("事项")
    for k in ("新收", "办结", "按时办结率", "承诺内办结率", "提前办结率", "用时比", "超期未结"):
        table.add_column(k, justify="right")
    for line in rep.lines:
        if line.org != org or line.scope != "total":
            continue
        cells = []
        for k in keys:
            v = line.measures.get(k)
            cells.append("—" if v is None else f"{v:.1%}" if k.endswith("rate") or k == "avg_compression" else str(v))
        table.add_row(line.item_name, *cells)
    console.print(table)


# --- calendar ---------------------------------------------------------------------------------------


@calendar_app.command("status")
@friendly
def calendar_status(db: DbOpt = None, definitions: DefinitionsOpt = None) -> None:
    """Which years are official, overridden by the office, or provisional (weekends and the
    statutory holidays by law, 暂定), and how many open cases carry provisional dates."""
    from api.views import calendar_view

    engine = _engine(db, definitions)
    info = calendar_view(engine, engine.today())
    console.print(f"official: {_years(info['known'])}")
    console.print(f"overridden: {_years(info['overridden'])}")
    console.print(f"provisional: {_years(info['provisional'])}")
    for y, src in info["overrides"].items():
        console.print(f"  {y}: {src}")
    pc = info["provisional_cases"]
    years = ", ".join(f"{y}: {n}" for y, n in pc["by_year"].items())
    console.print(f"open cases with provisional (暂定) dates: {pc['open_cases']}"
                  + (f" ({years})" if years else ""))
    console.print(f"open cases whose party period waits for the calendar: {pc['awaiting_calendar']}")
    for w in info["warnings"]:
        err.print(f"[yellow]warning[/yellow] {w}")


def _years(years: list[int]) -> str:
    if not years:
        return "—"
    runs, start, prev = [], years[0], years[0]
    for y in [*years[1:], None]:
        if y is not None and y == prev + 1:
            prev = y
            continue
        runs.append(str(start) if start == prev else f"{start}–{prev}")
        if y is not None:
            start = prev = y
    return ", ".join(runs)


@calendar_app.command("load")
@friendly
def calendar_load(
    file: Annotated[Path, typer.Argument(help="an override file (year, source, holidays, workdays)")],
    db: DbOpt = None,
    definitions: DefinitionsOpt = None,
    actor: Annotated[str | None, typer.Option(help="who loads it, for the audit events (default: cli:<OS user>)")] = None,
) -> None:
    """Load one year's official notice; open cases whose deadlines move are recomputed (audited:
    each gets a calendar_recomputed event by --actor with the notice's title)."""
    import getpass

    from adapters.calendar import law_warnings, read_override
    from workflow.model import Actor

    engine = _engine(db, definitions)
    override = read_override(file)  # every problem at once, before anything changes
    who = Actor(actor or f"cli:{getpass.getuser()}", {"admin"}, name="命令行")
    changed = engine.load_calendar(file, actor=who)
    console.print(f"loaded {override.year}: {override.source}; {len(changed)} open case(s) recomputed")
    for w in law_warnings(override):
        err.print(f"[yellow]warning[/yellow] {w}", soft_wrap=True)


@calendar_app.command("template")
@friendly
def calendar_template(
    year: Annotated[int, typer.Argument(help="the year of the notice, e.g. 2027")],
) -> None:
    """Print an override file for YEAR with the statutory holidays filled in
    (《全国年节及纪念日放假办法》 第二条, 第六条) and a place for the notice's adjusted workdays.
    Write the notice's title in ``source`` (it is refused empty), then ``caseclock calendar load``."""
    from adapters.calendar import override_template

    typer.echo(override_template(year), nl=False)


# --- tokens -----------------------------------------------------------------------------------------


@token_app.command("create")
@friendly
def token_create(
    user: Annotated[str, typer.Option(help="the user id the token acts as")],
    roles: Annotated[str, typer.Option(help="comma-separated: clerk, examiner, supervisor, leader, admin, portal")],
    org: Annotated[str, typer.Option(help="the org code, e.g. 420100 (Wuhan)")],
    db: DbOpt = None,
    name: Annotated[str, typer.Option(help="a note: what the token is for")] = "",
    expires_days: Annotated[int | None, typer.Option(help="expire after this many days")] = None,
) -> None:
    """Create an API token. The token is printed once, as the last line of the output."""
    from api.auth import issue_token
    from api.tokens import tokens_for

    engine = _engine(db)
    now = engine.now()
    expires = now + timedelta(days=expires_days) if expires_days else None
    token, info = issue_token(tokens_for(engine), user=user, roles=roles, org=org, now=now,
                              orgs=engine.orgs, name=name, expires_at=expires)
    typer.echo(f"token {info.id} for {info.user} ({', '.join(info.roles)}) in {info.org} "
               f"{engine.orgs.name(info.org)}; keep it secret, it is shown only once:")
    typer.echo(token)


@token_app.command("revoke")
@friendly
def token_revoke(
    token_id: Annotated[str, typer.Argument(help="the token's id (see `caseclock token list`)")],
    db: DbOpt = None,
) -> None:
    """Revoke a token: requests carrying it are refused from now on."""
    from api.tokens import tokens_for

    engine = _engine(db)
    if not tokens_for(engine).revoke_token(token_id, engine.now()):
        raise ValueError(f"no active token {token_id!r}")
    console.print(f"revoked {token_id}")


@token_app.command("list")
@friendly
def token_list(
    db: DbOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """List tokens (never the secrets)."""
    from api.tokens import tokens_for

    engine = _engine(db)
    found = tokens_for(engine).list_tokens()
    if as_json:
        typer.echo(json.dumps([t.to_dict() for t in found], ensure_ascii=False, indent=2))
        return
    table = Table(title=f"{len(found)} API tokens")
    for col in ("id", "user", "roles", "org", "name", "created", "expires", "revoked"):
        table.add_column(col)
    for t in found:
        table.add_row(t.id, t.user, ",".join(t.roles), t.org, t.name, t.created_at.isoformat(timespec="minutes"),
                      t.expires_at.isoformat(timespec="minutes") if t.expires_at else "",
                      t.revoked_at.isoformat(timespec="minutes") if t.revoked_at else "")
    console.print(table)


# --- the directory of people -------------------------------------------------------------------------


@user_app.command("list")
@friendly
def user_list(db: DbOpt = None, org: Annotated[str | None, typer.Option(help="only this org")] = None) -> None:
    """People, their roles, org and contacts."""
    people = [p for p in directory_for(_engine(db)).all() if org is None or p.org == org]
    table = Table(title=f"{len(people)} people")
    for col in ("id", "name", "roles", "org", "contacts", "active"):
        table.add_column(col)
    for p in people:
        table.add_row(p.id, p.name, ",".join(sorted(p.roles)), p.org,
                      " ".join(f"{k}:{v}" for k, v in p.contacts.items()), "yes" if p.active else "no")
    console.print(table)


@user_app.command("add")
@friendly
def user_add(
    user_id: Annotated[str, typer.Argument(help="the person's id (the user id of their tokens)")],
    roles: Annotated[str, typer.Option(help="comma-separated roles")],
    org: Annotated[str, typer.Option(help="org code")],
    name: Annotated[str, typer.Option(help="display name")] = "",
    email: Annotated[str | None, typer.Option()] = None,
    webhook: Annotated[str | None, typer.Option()] = None,
    phone: Annotated[str | None, typer.Option()] = None,
    db: DbOpt = None,
) -> None:
    """Add or replace a person."""
    from adapters.directory import person_from_dict
    from api.auth import parse_roles

    engine = _engine(db)
    if org not in engine.orgs:
        raise ValueError(f"unknown org {org!r}")
    if user_id.strip() == "system":
        raise ValueError("the id 'system' is the engine's own actor's (its events): choose another")
    contacts = {k: v for k, v in (("email", email), ("webhook", webhook), ("phone", phone)) if v}
    person = person_from_dict({"id": user_id, "name": name, "roles": list(parse_roles(roles)), "org": org,
                               "contacts": contacts})
    directory_for(engine).put(person)
    console.print(f"saved {person.id} ({', '.join(sorted(person.roles))}) in {org}")


@user_app.command("remove")
@friendly
def user_remove(user_id: Annotated[str, typer.Argument()], db: DbOpt = None) -> None:
    """Remove a person from the directory."""
    people = directory_for(_engine(db))
    if people.get(user_id) is None:
        raise ValueError(f"no person {user_id!r}")
    people.remove(user_id)
    console.print(f"removed {user_id}")


@app.command()
@friendly
def passwd(
    user: Annotated[str, typer.Argument(help="the person's id in the directory")],
    db: DbOpt = None,
) -> None:
    """Set a person's password for the pages (/web): asked twice without echo, or taken from
    $CASECLOCK_PASSWORD (scripts); at least 10 characters; stored as a scrypt hash. The person
    must be in the directory (caseclock user add / user load)."""
    from api.web.accounts import accounts_for, set_password

    accounts = accounts_for(_engine(db))
    if accounts.get(user) is None:  # before asking for anything
        raise WorkflowError(f"no such person: {user!r} is not in the directory of {db_url(db)} "
                            "(caseclock user list; add them with caseclock user add)")
    password = os.environ.get("CASECLOCK_PASSWORD")
    if not password:
        password = typer.prompt(f"new password for {user}", hide_input=True)
        if password != typer.prompt("again", hide_input=True):
            raise WorkflowError("the two passwords differ: nothing changed")
    if len(password) < 10:
        raise WorkflowError("a password has at least 10 characters: nothing changed")
    set_password(accounts, user, password)
    console.print(f"password set for {user}")


@user_app.command("load")
@friendly
def user_load(
    file: Annotated[Path, typer.Argument(help="a people YAML file (people: [{id, name, roles, org, contacts}])")],
    db: DbOpt = None,
    deactivate_missing: Annotated[bool, typer.Option(help="mark people not in the file inactive")] = False,
) -> None:
    """Load the directory from a YAML file (configuration is the source of truth)."""
    from adapters.directory import load_people, sync

    people = load_people(file)
    sync(directory_for(_engine(db)), people, deactivate_missing=deactivate_missing)
    console.print(f"loaded {len(people)} people from {file}")


# --- database and audit -----------------------------------------------------------------------------


@db_app.command("upgrade")
@friendly
def db_upgrade(db: DbOpt = None) -> None:
    """Create the database or migrate it to the newest schema (safe to run from several hosts)."""
    from adapters.sql import upgrade

    url = db_url(db)
    if url.startswith("memory://"):
        raise ValueError("memory:// has no schema to upgrade")
    check_db(url)
    revision = upgrade(url)
    console.print(f"{url}: schema at revision {revision}")


@audit_app.command("verify")
@friendly
def audit_verify(
    db: DbOpt = None,
    case: Annotated[str | None, typer.Option(help="verify this case only")] = None,
) -> None:
    """Check every case's hash-chained history; print the first broken link of each (exit 1)."""
    from adapters.sql import verify_history

    engine = _engine(db)
    with err.status("verifying the history chains…"):
        broken = verify_history(engine.store, case)
    if broken:
        for b in broken:
            err.print(f"[red]broken[/red] {b}")
        raise typer.Exit(1)
    console.print("[green]intact[/green]: every case's history verifies")


# --- backup and restore (SQLite; PostgreSQL: pg_dump, see docs/operations.md) -------------------


@app.command("backup")
@friendly
def backup_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help="the archive to write (.tar.gz)")],
    db: DbOpt = None,
    attachments: Annotated[Path | None, typer.Option(help="the attachments folder; default: $CASECLOCK_ATTACHMENTS_DIR or beside the database")] = None,
) -> None:
    """Back up the SQLite database and its attachments while the service runs (one consistent
    snapshot; exit 1 if an attachment file was missing)."""
    from adapters.backup import backup

    folder = attachments or (Path(os.environ["CASECLOCK_ATTACHMENTS_DIR"]) if os.environ.get("CASECLOCK_ATTACHMENTS_DIR") else None)
    check_db(db_url(db))
    report = backup(db_url(db), out, attachments=folder)
    console.print(f"{report.path}: {report.cases} cases, {report.events} events, "
                  f"{report.attachments} attachments, database {report.db_bytes} bytes")
    if report.missing:
        err.print(f"[red]missing or damaged attachment files[/red] (listed in the manifest): {', '.join(report.missing)}")
        raise typer.Exit(1)


@app.command("restore")
@friendly
def restore_cmd(
    archive: Annotated[Path, typer.Option("--from", help="an archive written by caseclock backup")],
    db: DbOpt = None,
    check: Annotated[bool, typer.Option("--check", help="only verify the archive; change nothing")] = False,
    force: Annotated[bool, typer.Option("--force", help="replace an existing database (stop the service first)")] = False,
    attachments: Annotated[Path | None, typer.Option(help="the attachments folder; default: $CASECLOCK_ATTACHMENTS_DIR or beside the database")] = None,
) -> None:
    """Verify a backup, or put it in place as the SQLite database (stop the service first)."""
    from adapters.backup import restore, verify

    if check:
        m = verify(archive)
        console.print(f"[green]sound[/green] {archive}: taken {m['created_at']}, {m['cases']} cases, "
                      f"{m['events']} events, {len(m['attachments'])} attachments")
        return
    folder = attachments or (Path(os.environ["CASECLOCK_ATTACHMENTS_DIR"]) if os.environ.get("CASECLOCK_ATTACHMENTS_DIR") else None)
    check_db(db_url(db))
    m = restore(archive, db_url(db), attachments=folder, force=force)
    console.print(f"restored {db_url(db)} from {archive} (taken {m['created_at']}): {m['cases']} cases, "
                  f"{len(m['attachments'])} attachments; next: caseclock audit verify --db {db_url(db)}")


# --- the change feed: webhooks and stage exports (issue 19) -----------------------------------------

from .cli_feed import register as _register_feed  # noqa: E402

_register_feed(app, DbOpt=DbOpt, DefinitionsOpt=DefinitionsOpt, make_engine=_engine, friendly=friendly,
               console=console, err=err)


def main() -> None:  # pragma: no cover - console entry point
    try:
        app()
    except WorkflowError as exc:
        err.print(f"[red]error[/red] {exc}")
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
