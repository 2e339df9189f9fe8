"""The change feed over HTTP: ``GET /api/changes?after=<cursor>&limit=N&wait=seconds``.

Every event appended to the case histories in the caller's org subtree, in commit order (see
adapters/changes.py). ``next`` always comes back: pass it as ``after`` to resume exactly after
the last event examined. ``wait`` makes an empty page a long poll: the request is answered as
soon as an event in scope commits, or after ``wait`` seconds with no items.

The long poll holds no thread and no database connection while it waits: one watcher per
process (:class:`ChangeWatch`) asks the store for its newest position every ``POLL_SECONDS``
while anyone waits, and wakes the waiters when it moves, whichever process committed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from adapters.changes import ChangePage, CursorError, cursor_of, feed_for, parse_cursor
from adapters.webhooks import change_document
from workflow.errors import MissingData
from workflow.visibility import visible

from ..deps import ActorDep, CtxDep, clean_text, json_response
from ..schemas import TEXT, problems

log = logging.getLogger("caseclock.api.changes")
router = APIRouter(prefix="/api", tags=["changes"])

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_WAIT = 60.0  # seconds a long poll may hold the request
POLL_SECONDS = 0.1  # how often the watcher asks the store while someone waits


class InvalidQuery(MissingData):
    """A query value the feed cannot use (a cursor it did not hand out, a limit out of bounds)."""

    code = "invalid_query"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, {field: message})


class ChangeWatch:
    """Wakes long polls when the store's newest position moves (any process's commit).

    One asyncio task per process polls ``probe`` on a worker thread every ``interval`` seconds,
    only while at least one request waits, and notifies every waiter; a waiter holds no thread."""

    def __init__(self, probe: Callable[[], int], interval: float = POLL_SECONDS) -> None:
        self.probe = probe
        self.interval = interval
        self.value = -1
        self.waiting = 0
        self._cond: asyncio.Condition | None = None
        self._task: asyncio.Task[None] | None = None

    async def wait_past(self, seen: int, timeout: float) -> bool:
        """Return True once the newest position is past ``seen``, False after ``timeout`` seconds."""
        if self._cond is None:
            self._cond = asyncio.Condition()
        cond = self._cond
        self.waiting += 1
        try:
            if self._task is None or self._task.done():
                self._task = asyncio.get_running_loop().create_task(self._poll())
            async with cond:
                try:
                    await asyncio.wait_for(cond.wait_for(lambda: self.value > seen), timeout)
                except TimeoutError:
                    return False
            return True
        finally:
            self.waiting -= 1

    async def _poll(self) -> None:
        cond = self._cond
        assert cond is not None
        failures = 0
        while self.waiting > 0:
            try:
                value = await anyio.to_thread.run_sync(self.probe)
                failures = 0
            except Exception as exc:  # noqa: BLE001 - the store is down: waiters time out, we retry
                failures += 1
                if failures == 1:
                    log.warning("change feed probe failed: %s", exc)
                await asyncio.sleep(min(5.0, self.interval * 2 ** failures))
                continue
            if value != self.value:
                self.value = value
                async with cond:
                    cond.notify_all()
            await asyncio.sleep(self.interval)


def watch_for(request: Request, feed: Any) -> ChangeWatch:
    """The app's watcher on the running event loop (asyncio primitives belong to one loop)."""
    state = request.app.state
    watches = getattr(state, "change_watches", None)
    if watches is None:
        watches = state.change_watches = {}
    key = id(asyncio.get_running_loop())
    watch = watches.get(key)
    if watch is None:
        watch = watches[key] = ChangeWatch(feed.probe)
    return watch


def _bounded(value: float | None, field: str, low: float, high: float, default: float) -> float:
    if value is None:
        return default
    if not low <= value <= high:  # NaN fails too
        raise InvalidQuery(field, f"{field} must be between {low:g} and {high:g}, got {value}")
    return value


@router.get(
    "/changes", response_model=None, summary="Every event in my org subtree, in commit order",
    responses={200: {"description": "a page of changes: {items, next, head}"}, **problems(400, 401, 422)},
)
async def changes(
    request: Request, ctx: CtxDep, actor: ActorDep,
    after: Annotated[str | None, Query(description="the `next` of the previous page (absent or empty: from the beginning)")] = None,
    limit: Annotated[int | None, Query(description=f"items per page, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT})")] = None,
    wait: Annotated[float | None, Query(description=f"seconds to wait for a change when there is none yet, 0 to {MAX_WAIT:g}")] = None,
    item: Annotated[str | None, Query(max_length=128, pattern=TEXT, description="only this item's events")] = None,
) -> Response:
    """Events (openings, transitions, escalations, assignments, corrections, ratings, …) of the
    cases in the caller's org subtree, in commit order. A follower never misses or repeats one:
    it passes ``next`` back as ``after``. An unknown or future cursor is 422. A ``portal`` token
    gets no supervision order's events (督办: the office's staff only); ``next`` passes over them."""
    try:
        position = parse_cursor(after)
    except CursorError as exc:
        raise InvalidQuery("after", str(exc)) from None
    size = int(_bounded(limit, "limit", 1, MAX_LIMIT, DEFAULT_LIMIT))
    seconds = _bounded(wait, "wait", 0, MAX_WAIT, 0.0)
    item_id = clean_text(item, "item") if item else None
    engine = ctx.engine
    feed = feed_for(engine.store)
    scope = engine.orgs.subtree(actor.org)

    async def read(at: int) -> ChangePage:
        try:
            found = await anyio.to_thread.run_sync(
                lambda: feed.page(at, size, orgs=scope, item_id=item_id))
        except CursorError as exc:
            raise InvalidQuery("after", str(exc)) from None
        # a portal sees no order's events (workflow/visibility.py); ``next`` still passes them over
        return replace(found, items=visible(actor, found.items))

    page = await read(position)
    if not page.items and seconds > 0:
        watch = watch_for(request, feed)
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while not page.items:
            left = end - loop.time()
            if left <= 0 or not await watch.wait_past(page.head, left):
                break
            page = await read(page.next)
    return json_response({
        "items": [change_document(engine, c) for c in page.items],
        "next": page.next_cursor,
        "head": cursor_of(page.head),
    })
