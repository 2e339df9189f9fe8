"""The ``caseclock`` command line."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from adapters import build_engine, bundled_definitions
from workflow.errors import DefinitionError, WorkflowError
from workflow.legaltime import ClockKind

app = typer.Typer(add_completion=False, no_args_is_help=True, help="caseclock: legal-time workflow engine for IP offices")
console = Console()
err = Console(stderr=True)

DefinitionsOpt = Annotated[
    list[Path] | None,
    typer.Option("--definitions", "-d", help="definition files or folders (repeatable); default: the bundled ones"),
]


def _definitions(paths: list[Path] | None) -> list[Path] | None:
    if paths:
        return paths
    env = os.environ.get("CASECLOCK_DEFINITIONS")
    return [Path(p) for p in env.split(os.pathsep) if p] if env else None


@app.command()
def validate(definitions: DefinitionsOpt = None) -> None:
    """Validate definition files; every problem of every file is printed (exit 1 if any)."""
    try:
        engine = build_engine("memory://", definitions=_definitions(definitions))
    except DefinitionError as exc:
        err.print(f"[red]invalid[/red] {exc}")
        raise typer.Exit(1) from None
    for d in engine.definitions():
        console.print(f"[green]ok[/green] {d.id} v{d.version} {d.name}  ({d.source})")


@app.command()
def items(definitions: DefinitionsOpt = None) -> None:
    """List the loaded items and case types with their statutory limits and commitments."""
    try:
        engine = build_engine("memory://", definitions=_definitions(definitions))
    except WorkflowError as exc:
        err.print(f"[red]error[/red] {exc}")
        raise typer.Exit(1) from None
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


def main() -> None:  # pragma: no cover - console entry point
    try:
        app()
    except WorkflowError as exc:
        err.print(f"[red]error[/red] {exc}")
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
