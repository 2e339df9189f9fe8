"""The change feed: every event appended to the case histories, in commit order, a page at a time.

A follower keeps a cursor (an opaque string: today the decimal position of the last event it
has seen) and asks for the events after it::

    feed = feed_for(engine.store)
    page = feed.page(after=0, limit=100, orgs=engine.orgs.subtree("420100"))
    for change in page.items:
        ...
    cursor = page.next          # resumes exactly after the last event examined

Each event has one position, given once and never changed, and the positions a reader can see
always form a prefix of the final order; so a follower that pages with ``next`` sees every event
exactly once, in an order consistent with each case's history, however many writers commit
meanwhile (how each store does it: :mod:`adapters.sql.changes`, and docs/store.md).

Filters (``orgs``, ``item_id``, ``kinds``) choose which events a page returns; the events they
leave out are still passed over by ``next``. A filtered page looks at a bounded window of
positions (``scan``), so a follower of a quiet city never makes the store read the whole
province's history in one request: its page may then be empty with ``next`` moved on.

``probe()`` is a cheap "has anything been appended" number (it changes whenever an event is
committed): the API's long poll watches it, one query per process however many followers wait.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

MAX_CURSOR_DIGITS = 18  # positions fit a signed 64-bit integer


class CursorError(ValueError):
    """A cursor this feed did not hand out (malformed, or beyond the newest event)."""


def parse_cursor(text: str | int | None) -> int:
    """The position a cursor names: ``None`` or ``""`` is the beginning (0)."""
    if text is None or text == "":
        return 0
    if isinstance(text, int) and not isinstance(text, bool):
        if text < 0:
            raise CursorError(f"cursor {text} is negative")
        return text
    value = str(text).strip()
    if not value.isascii() or not value.isdigit() or len(value) > MAX_CURSOR_DIGITS:
        raise CursorError(f"cursor {str(text)[:40]!r} is not one this feed handed out")
    return int(value)


def cursor_of(position: int) -> str:
    return str(position)


@dataclass(frozen=True)
class Change:
    """One event of a case's history as the feed hands it out (the case's number, item and org
    as they are when the page is read)."""

    position: int
    case_id: str
    seq: int
    number: str
    item_id: str
    org: str
    kind: str
    trigger: str | None
    from_state: str | None
    to_state: str | None
    at: datetime
    actor_id: str
    definition_version: int = 1
    data: Mapping[str, Any] = field(default_factory=dict)

    @property
    def cursor(self) -> str:
        return cursor_of(self.position)

    def to_dict(self) -> dict[str, Any]:
        return {
            "cursor": self.cursor, "case_id": self.case_id, "seq": self.seq, "number": self.number,
            "item_id": self.item_id, "org": self.org, "kind": self.kind, "trigger": self.trigger,
            "from_state": self.from_state, "to_state": self.to_state, "at": self.at.isoformat(),
            "actor_id": self.actor_id, "definition_version": self.definition_version,
            "data": dict(self.data),
        }


@dataclass(frozen=True)
class ChangePage:
    """``items`` after the cursor, ``next`` the position to resume after (never behind the last
    item; past it when the events examined after the last item were filtered out), ``head`` the
    newest position when the page was read."""

    items: list[Change]
    next: int
    head: int

    @property
    def next_cursor(self) -> str:
        return cursor_of(self.next)


class ChangeFeed(Protocol):
    def page(self, after: int = 0, limit: int = 100, *, orgs: Collection[str] | None = None,
             item_id: str | None = None, kinds: Collection[str] | None = None,
             scan: int | None = None, uow: Any = None) -> ChangePage: ...

    def head(self) -> int: ...

    def probe(self) -> int: ...


DEFAULT_SCAN = 20_000  # positions a filtered page examines at most


def scan_window(limit: int, scan: int | None, filtered: bool) -> int | None:
    """How many positions a page may examine: unbounded without a filter (the limit bounds it)."""
    if scan is not None:
        return max(scan, limit)
    return max(DEFAULT_SCAN, limit * 50) if filtered else None


def finish_page(items: list[Change], after: int, limit: int, upto: int, head: int) -> ChangePage:
    """``items`` were read from (after, upto] in order, at most ``limit`` of them."""
    if len(items) >= limit:
        return ChangePage(items[:limit], items[limit - 1].position, head)
    return ChangePage(items, max(after, upto), head)


def check_after(after: int, head: int) -> None:
    if after > head:
        raise CursorError(f"cursor {after} is beyond the newest change ({head}): "
                          "it was not handed out by this database")


# --- the in-memory store's feed --------------------------------------------------------------------


class MemoryChanges:
    """The feed of :class:`adapters.memory.MemoryStore`: its commit log (one writer at a time)."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def head(self) -> int:
        return len(self.store.changes_log)

    probe = head

    def page(self, after: int = 0, limit: int = 100, *, orgs: Collection[str] | None = None,
             item_id: str | None = None, kinds: Collection[str] | None = None,
             scan: int | None = None, uow: Any = None) -> ChangePage:
        after = parse_cursor(after)
        log = self.store.changes_log
        head = len(log)
        check_after(after, head)
        window = scan_window(limit, scan, orgs is not None or bool(item_id) or bool(kinds))
        upto = head if window is None else min(head, after + window)
        org_set = None if orgs is None else frozenset(orgs)
        kind_set = frozenset(kinds) if kinds else None
        cases = self.store.case_rows()
        items: list[Change] = []
        for position in range(after + 1, upto + 1):
            ev = log[position - 1]
            rec = cases.get(ev.case_id)
            if rec is None:
                continue
            if (org_set is not None and rec.org not in org_set) or (item_id and rec.item_id != item_id) \
                    or (kind_set is not None and ev.kind not in kind_set):
                continue
            items.append(Change(
                position=position, case_id=ev.case_id, seq=ev.seq, number=rec.number, item_id=rec.item_id,
                org=rec.org, kind=ev.kind, trigger=ev.trigger, from_state=ev.from_state, to_state=ev.to_state,
                at=ev.at, actor_id=ev.actor_id, definition_version=rec.definition_version, data=dict(ev.data),
            ))
            if len(items) >= limit:
                break
        return finish_page(items, after, limit, upto, head)


def stage_of(engine: Any, change: Change) -> str | None:
    """The platform stage (办件 reporting) the event reached, when its definition maps one
    (``stages`` / ``trigger_stages``: docs/stages.md)."""
    try:
        defn = engine.definition(change.item_id, change.definition_version)
    except Exception:  # noqa: BLE001 - a definition no longer loaded: no stage
        return None
    stages = getattr(defn, "stages", None)
    return stages.of(change.kind, change.trigger, change.from_state, change.to_state) if stages is not None else None


_FEEDS: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
_FEEDS_LOCK = threading.Lock()


def feed_for(store: Any) -> ChangeFeed:
    """The change feed of a store (SQL or memory), one per store object."""
    with _FEEDS_LOCK:
        hit = _FEEDS.get(store)
        if hit is not None:
            return hit
        if hasattr(store, "changes_log"):
            feed: Any = MemoryChanges(store)
        elif hasattr(store, "dialect") and hasattr(store, "unit_of_work"):
            from .sql.changes import SqlChanges

            feed = SqlChanges(store)
        else:
            raise TypeError(f"{type(store).__name__} has no change feed")
        _FEEDS[store] = feed
        return feed


__all__ = [
    "Change", "ChangeFeed", "ChangePage", "CursorError", "MemoryChanges", "cursor_of", "feed_for",
    "parse_cursor", "stage_of",
]
