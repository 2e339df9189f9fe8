"""``caseclock webhook add|list|remove`` and ``caseclock export stages`` (issue 19).

The command line acts as the root admin of the database it is given (whoever can reach the
database manages its subscribers). See docs/changes.md and docs/stages.md.

``register(app, …)`` adds the commands to the ``caseclock`` app with its options and helpers
(passed in, not imported: ``python -m api.cli`` runs that module as ``__main__``). No
``from __future__ import annotations`` here: typer reads the option types of these nested
functions at definition time.
"""

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table


def register(app: typer.Typer, *, DbOpt: Any, DefinitionsOpt: Any, make_engine: Callable[..., Any],  # noqa: N803
             friendly: Callable[[Any], Any], console: Any, err: Any) -> None:
    webhook_app = typer.Typer(no_args_is_help=True, help="change webhooks: signed POSTs of every step to a subscriber")
    export_app = typer.Typer(no_args_is_help=True, help="export data for other systems")
    app.add_typer(webhook_app, name="webhook")
    app.add_typer(export_app, name="export")
    _engine = make_engine


    @webhook_app.command("add")
    @friendly
    def webhook_add(
        url: Annotated[str, typer.Argument(help="where to POST the changes (http:// or https://)")],
        item: Annotated[str | None, typer.Option(help="only this item's events")] = None,
        org: Annotated[str | None, typer.Option(help="only this org and the orgs under it")] = None,
        kind: Annotated[list[str] | None, typer.Option(help="only this event kind (repeatable): opened, transition, escalation, …")] = None,
        secret: Annotated[str | None, typer.Option(help="the HMAC key, 16+ characters (default: one is made)")] = None,
        since: Annotated[str | None, typer.Option(help="a feed cursor: send the events after it (default: from now on)")] = None,
        note: Annotated[str, typer.Option(help="what the subscriber is")] = "",
        db: DbOpt = None,
        definitions: DefinitionsOpt = None,
    ) -> None:
        """Add a subscriber. Its secret is printed once, as the last line."""
        from adapters.webhooks import new_subscriber

        engine = _engine(db, definitions)
        sub = new_subscriber(engine, url, created_by="cli", item_id=item, org=org, kinds=kind or (),
                             secret=secret, since=since, note=note)
        typer.echo(f"subscriber {sub.id} → {sub.url} (from position {sub.after}); its signing secret, shown once:")
        typer.echo(sub.secret)


    @webhook_app.command("list")
    @friendly
    def webhook_list(
        db: DbOpt = None,
        as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    ) -> None:
        """The subscribers (never their secrets) and the feed position each has been given."""
        from adapters.webhooks import subscribers_for

        subs = subscribers_for(_engine(db).store).all()
        if as_json:
            typer.echo(json.dumps([s.to_dict() for s in subs], ensure_ascii=False, indent=2))
            return
        table = Table(title=f"{len(subs)} webhook subscribers")
        for col in ("id", "url", "item", "org", "kinds", "after", "note"):
            table.add_column(col, overflow="fold")
        for s in subs:
            table.add_row(s.id, s.url, s.item_id or "", s.org or "", ",".join(s.kinds), str(s.after), s.note)
        console.print(table)


    @webhook_app.command("remove")
    @friendly
    def webhook_remove(
        sub_id: Annotated[str, typer.Argument(help="the subscriber's id (see `caseclock webhook list`)")],
        db: DbOpt = None,
    ) -> None:
        """Remove a subscriber: nothing more is queued or sent to it."""
        from adapters.webhooks import subscribers_for

        if not subscribers_for(_engine(db).store).remove(sub_id):
            raise ValueError(f"no webhook subscriber {sub_id!r}")
        console.print(f"removed {sub_id}")


    @export_app.command("stages")
    @friendly
    def export_stages_cmd(
        since: Annotated[str, typer.Option(help="the cursor the last export printed (empty: from the beginning)")] = "",
        out: Annotated[Path | None, typer.Option("--out", "-o", help="write to this file (default: standard output)")] = None,
        org: Annotated[str | None, typer.Option(help="only this org and the orgs under it")] = None,
        limit: Annotated[int | None, typer.Option(min=1, help="at most this many messages")] = None,
        db: DbOpt = None,
        definitions: DefinitionsOpt = None,
    ) -> None:
        """Write the stage messages (办件 reporting) after --since as JSON Lines; the cursor to
        resume from is printed last, on standard error: `next cursor: N`."""
        from adapters.changes import CursorError
        from adapters.stages import export_stages

        engine = _engine(db, definitions)
        if org is not None and org not in engine.orgs:
            raise ValueError(f"unknown org {org!r}")
        orgs = engine.orgs.subtree(org) if org else None
        try:
            if out is None:
                result = export_stages(engine, sys.stdout, since, orgs=orgs, limit=limit)
            else:
                with out.open("w", encoding="utf-8") as fh:
                    result = export_stages(engine, fh, since, orgs=orgs, limit=limit)
        except CursorError as exc:
            raise ValueError(f"--since: {exc}") from None
        where = f" to {out}" if out is not None else ""
        err.print(f"wrote {result.written} stage messages{where}")
        err.print(f"next cursor: {result.next}", highlight=False)
