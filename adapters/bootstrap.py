"""The composition root: ``build_engine(url, ...)`` used by the API, the scheduler and library users.

It loads and validates definitions, connects the store and the calendar, and starts nothing
(no thread, no scheduler, no sweep).
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from workflow.engine import Engine, EngineSettings
from workflow.errors import WorkflowError
from workflow.orgs import OrgTree
from workflow.registry import Registry

from .calendar import ChineseCalendar


def bundled_definitions() -> Path:
    """The folder of the definitions caseclock ships (inside the wheel, or the source tree)."""
    here = Path(__file__).resolve().parent.parent / "definitions"
    if here.is_dir() and any(here.glob("*.yaml")):
        return here
    return Path(str(importlib.resources.files("caseclock_definitions")))


def make_store(url: str, **options: Any) -> Any:
    if url.startswith("memory://"):
        from .memory import MemoryStore

        return MemoryStore()
    if url.startswith(("sqlite", "postgresql", "postgres")):
        try:
            from .sql import SqlStore
        except ImportError as exc:  # pragma: no cover - the SQL store ships with the package
            raise WorkflowError(f"the SQL store is not available: {exc}") from exc
        return SqlStore(url, **options)
    raise WorkflowError(
        f"unknown database URL {url!r}: use memory://, sqlite:///path.db or postgresql+psycopg://…"
    )


def build_engine(
    url: str = "memory://",
    *,
    definitions: Iterable[str | Path] | str | Path | None = None,
    overrides: Iterable[str | Path] = (),
    calendar: Any | None = None,
    calendar_overrides: Iterable[str | Path] = (),
    strict_calendar: bool = False,
    now: Callable[[], datetime] | None = None,
    orgs: OrgTree | None = None,
    settings: EngineSettings | None = None,
    store_options: dict[str, Any] | None = None,
) -> Engine:
    """Build an engine on ``url`` (``memory://``, ``sqlite:///file.db``, ``postgresql+psycopg://…``).

    ``definitions``: files or folders to load instead of the bundled ones. ``overrides``: the
    office's override files or folders (limits, commitments, roles, labels). ``calendar_overrides``:
    override files (one year's State Council notice each) to load into the calendar.
    """
    if isinstance(definitions, (str, Path)):
        definitions = [definitions]
    registry = Registry()
    registry.load(list(definitions) if definitions is not None else [bundled_definitions()])
    if overrides:
        registry.apply_overrides(list(overrides))
    if calendar is None:
        calendar = ChineseCalendar(strict=strict_calendar)
    for path in calendar_overrides:
        calendar.load_file(path)
    if settings is None:
        settings = EngineSettings(strict_calendar=strict_calendar)
    store = make_store(url, **(store_options or {}))
    from .directory import directory_for
    from .orders import order_store_for

    engine = Engine(store=store, registry=registry, calendar=calendar, now=now, orgs=orgs, settings=settings,
                    order_store=order_store_for(store), people=directory_for(store))
    attach = getattr(store, "attach", None)
    if attach is not None:  # durable stores register definitions and reload calendar overrides
        attach(engine)
    from .online import install

    install(engine)  # the applicant's notices, written with the steps that cause them
    return engine
