"""What the store keeps besides cases: the definitions an engine registered, and the calendar
override files the office loaded (so every process, and the next start, counts the same days)."""

from __future__ import annotations

import json
import logging
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from workflow.errors import DefinitionError, WorkflowError
from workflow.legaltime import TZ

if TYPE_CHECKING:
    from .store import SqlStore

log = logging.getLogger("caseclock.store")


def _now() -> datetime:
    return datetime.now(TZ)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def register_definitions(store: SqlStore, engine: Any) -> None:
    """Record every (id, version, content hash) the engine loaded, all or nothing, in one
    transaction. An identical one is a no-op; the same (id, version) with other content is
    refused, and then nothing of this load is registered (so the office can correct a file and
    load again). Older versions the database knows but the files no longer carry are loaded
    back, so cases opened on them keep working."""
    d = store.dialect
    insert = d.prepare(
        "INSERT INTO definitions (id, version, content_hash, body, loaded_at) "
        "VALUES (:id, :version, :content_hash, {body}, :loaded_at) ON CONFLICT (id, version) DO NOTHING"
    )
    select = d.prepare("SELECT id, version, content_hash, {o_body} FROM definitions")
    registry = engine.registry
    loaded = registry.all()
    mine = {defn.key: defn for defn in loaded}
    with store.unit_of_work() as uow:
        stored = uow._all(select, {}, write=True)  # the write lock first: one registrar at a time
        _refuse_changed(mine, stored)
        for defn in loaded:
            uow._exec(insert, {
                "id": defn.id, "version": defn.version, "content_hash": defn.content_hash,
                "body": _dumps(dict(defn.raw)), "loaded_at": d.ts(_now()),
            }, write=True)
        stored = uow._all(select, {}, write=True)
        _refuse_changed(mine, stored)  # another process registered other content meanwhile
        uow.commit()
    newest: dict[str, int] = {}
    for defn in loaded:
        newest[defn.id] = max(newest.get(defn.id, 0), defn.version)
    for did, version, _chash, body in stored:
        if (did, version) not in mine and version < newest.get(did, 0):
            _load_stored(registry, did, version, body)


def _refuse_changed(mine: dict[tuple[str, int], Any], stored: list[Any]) -> None:
    """Raise (the caller's transaction is rolled back) naming every loaded definition whose
    (id, version) the database holds with other content."""
    problems = []
    for did, version, chash, _body in stored:
        ours = mine.get((did, version))
        if ours is not None and ours.content_hash != chash:
            problems.append(ours.problem(
                "version",
                f"{did} version {version} is already registered in the database with different "
                "content: a changed rule needs a new version",
            ))
    if problems:
        raise DefinitionError.gather(problems)


def _load_stored(registry: Any, did: str, version: int, body: str) -> None:
    from workflow.definition import parse_definition

    try:
        defn = parse_definition(json.loads(body), f"database:{did}@v{version}")
        registry.add(defn)
        registry.finish()
    except WorkflowError as exc:  # pragma: no cover - a stored body always parsed once
        log.warning("stored definition %s v%s not loaded: %s", did, version, exc)


# --- calendar overrides ---------------------------------------------------------------------------


def save_override(store: SqlStore, override: Any) -> None:
    """Insert or replace one year's override (what ``Engine.load_calendar`` loaded), and bump the
    calendar stamp in the same transaction: other processes see it and take the override in."""
    d = store.dialect
    body = override.to_dict()
    sql = d.prepare(
        "INSERT INTO calendar_overrides (year, source, holidays, workdays, loaded_at) "
        "VALUES (:year, :source, {holidays}, {workdays}, :loaded_at) ON CONFLICT (year) DO UPDATE SET "
        "source = excluded.source, holidays = excluded.holidays, workdays = excluded.workdays, "
        "loaded_at = excluded.loaded_at"
    )
    with store.unit_of_work() as uow:
        uow._exec(sql, {
            "year": body["year"], "source": body["source"], "holidays": _dumps(body["holidays"]),
            "workdays": _dumps(body["workdays"]), "loaded_at": d.ts(_now()),
        }, write=True)
        from .store import CALENDAR_STAMP

        stamp = uow.next_number(CALENDAR_STAMP)
        uow.commit()
    store.calendar_stamp_seen(stamp)  # this process has it already


def _override_rows(uow: Any) -> list[dict[str, Any]]:
    sql = uow.d.prepare("SELECT year, source, {o_holidays}, {o_workdays} FROM calendar_overrides ORDER BY year")
    return [
        {"year": y, "source": s, "holidays": [date.fromisoformat(x) for x in json.loads(h)],
         "workdays": [date.fromisoformat(x) for x in json.loads(w)]}
        for y, s, h, w in uow._all(sql, {}, write=False)
    ]


def stored_overrides(store: SqlStore) -> list[dict[str, Any]]:
    with store.unit_of_work() as uow:
        return _override_rows(uow)


def take_in_overrides(uow: Any, calendar: Any) -> list[int]:
    """Put the stored overrides that differ from the calendar's into it (without storing them
    again), in the caller's transaction. Returns the years taken in."""
    from adapters.calendar import parse_override

    years = []
    for doc in _override_rows(uow):
        have = calendar.overrides.get(doc["year"])
        if have is not None and have.holidays == frozenset(doc["holidays"]) and \
                have.workdays == frozenset(doc["workdays"]):
            continue
        calendar.add_override(parse_override(doc, f"database:calendar_overrides/{doc['year']}"), notify=False)
        years.append(doc["year"])
    return years


def sync_calendar(store: SqlStore, engine: Any) -> None:
    """Overrides given to ``build_engine`` are stored; stored ones for the years the calendar
    has no override for are loaded into it; later ``add_override`` calls are stored too."""
    calendar = engine.calendar
    overrides = getattr(calendar, "overrides", None)
    if not hasattr(calendar, "add_override") or overrides is None:
        return
    from adapters.calendar import parse_override

    for override in list(overrides.values()):
        save_override(store, override)
    for doc in stored_overrides(store):
        if doc["year"] not in calendar.overrides:
            calendar.add_override(parse_override(doc, f"database:calendar_overrides/{doc['year']}"))
    hooks = getattr(calendar, "on_override", None)
    if hooks is not None and store.save_calendar_override not in hooks:
        hooks.append(store.save_calendar_override)
    store.follow_calendar(calendar)
