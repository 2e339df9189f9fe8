"""Change webhooks: every event of the change feed, signed, to each subscriber that wants it.

A subscriber is a URL, a secret and a filter (an item, an org and the orgs under it, event
kinds), managed by the root admin (API ``/api/webhooks``, ``caseclock webhook add|list|remove``).
Delivery reuses the outbox (adapters/notify.py), so a subscriber that is down delays nobody and
gets its messages later, with backoff, at least once:

1. :class:`WebhookDispatcher` follows the feed for each active subscriber from the position it
   has reached: in **one transaction** it reads a page (the subscriber's filter), writes one
   outbox row (topic ``change``) per event and moves the subscriber's position past the page.
   So each event is queued exactly once per subscriber (PostgreSQL: the subscriber's row is
   locked with ``SKIP LOCKED``, so two processes never queue the same page; SQLite: one writer).
2. :class:`OutboxDelivery` hands ``change`` rows to :class:`SubscriberNotifier` (its ``topics``),
   which POSTs the change as JSON signed with the subscriber's secret (HMAC-SHA256 over
   ``<timestamp>.<body>``, as every caseclock webhook: :func:`adapters.notify.verify` checks it).
   Receivers dedupe on ``X-Caseclock-Delivery`` (the outbox id) or on the change's ``cursor``.

:class:`ChangeDelivery` runs 1 then 2; ``caseclock serve`` schedules it as its outbox delivery.
"""

from __future__ import annotations

import json
import logging
import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from workflow.errors import WorkflowError
from workflow.legaltime import TZ
from workflow.model import OutboxMessage

from .changes import Change, check_after, feed_for, parse_cursor, stage_of
from .notify import post_signed

log = logging.getLogger("caseclock.webhooks")

TOPIC = "change"
KINDS_MAX = 32


@dataclass(frozen=True)
class Subscriber:
    id: str
    url: str
    secret: str = field(repr=False)
    item_id: str | None = None
    org: str | None = None
    kinds: tuple[str, ...] = ()
    after: int = 0
    active: bool = True
    note: str = ""
    created_by: str = ""
    created_at: datetime | None = None

    def to_dict(self, *, secret: bool = False) -> dict[str, Any]:
        """JSON-safe; the secret only when asked (it is shown once, when the subscriber is made)."""
        d: dict[str, Any] = {
            "id": self.id, "url": self.url, "item_id": self.item_id, "org": self.org,
            "kinds": list(self.kinds), "after": str(self.after), "active": self.active, "note": self.note,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat() if self.created_at else None,
        }
        if secret:
            d["secret"] = self.secret
        return d


def check_url(url: str) -> str:
    """An absolute http(s) URL with a host (no credentials in it: the signature authenticates)."""
    value = (url or "").strip()
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise WorkflowError(f"url must be an http:// or https:// address, got {url[:200]!r}")
    if parts.username or parts.password:
        raise WorkflowError("url must not carry a user or password: the signature authenticates caseclock")
    if len(value) > 2000 or any(ord(ch) < 33 for ch in value):
        raise WorkflowError("url is too long or has spaces or control characters")
    return value


# --- where subscribers are kept ----------------------------------------------------------------------

_COLS = "id, url, secret, item_id, org, {o_kinds}, after, active, note, created_by, created_at"


class SubscriberStore:
    """Subscribers in the store's database (``webhook_subscribers``), or in memory for
    ``memory://``. Methods taking ``uow`` work in that unit of work's transaction."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.sql = hasattr(store, "dialect")
        if not self.sql:
            if not hasattr(store, "webhook_subscribers"):
                store.webhook_subscribers = {}
            self._mem: dict[str, Subscriber] = store.webhook_subscribers

    def _row(self, r: Any) -> Subscriber:
        d = self.store.dialect
        return Subscriber(id=r[0], url=r[1], secret=r[2], item_id=r[3], org=r[4], kinds=tuple(json.loads(r[5]) or ()),
                          after=int(r[6]), active=bool(r[7]), note=r[8], created_by=r[9],
                          created_at=d.ts_out(r[10]))

    def all(self) -> list[Subscriber]:
        if not self.sql:
            return sorted(self._mem.values(), key=lambda s: (s.created_at or datetime.min.replace(tzinfo=TZ), s.id))
        with self.store.unit_of_work() as uow:
            rows = uow.fetch_all(self._select("ORDER BY created_at, id"))
        return [self._row(r) for r in rows]

    def get(self, sub_id: str) -> Subscriber | None:
        if not self.sql:
            return self._mem.get(sub_id)
        with self.store.unit_of_work() as uow:
            row = uow.fetch_one(self._select("WHERE id = :id"), {"id": sub_id})
        return self._row(row) if row is not None else None

    def _select(self, where: str, lock: str = "") -> str:
        kinds = "CAST(kinds AS text)" if self.store.dialect.name == "postgresql" else "kinds"
        cols = _COLS.replace("{o_kinds}", kinds)
        return self.store.dialect.prepare(f"SELECT {cols} FROM webhook_subscribers {where}") + lock

    def add(self, sub: Subscriber) -> Subscriber:
        if not self.sql:
            if sub.id in self._mem:
                raise WorkflowError(f"a subscriber {sub.id!r} exists")
            self._mem[sub.id] = sub
            return sub
        d = self.store.dialect
        kinds = "CAST(:kinds AS json)" if d.name == "postgresql" else ":kinds"
        with self.store.unit_of_work() as uow:
            uow.execute(d.prepare(
                "INSERT INTO webhook_subscribers (id, url, secret, item_id, org, kinds, after, active, note, "
                f"created_by, created_at) VALUES (:id, :url, :secret, :item_id, :org, {kinds}, :after, :active, "
                ":note, :created_by, :created_at)"),
                {"id": sub.id, "url": sub.url, "secret": sub.secret, "item_id": sub.item_id, "org": sub.org,
                 "kinds": json.dumps(list(sub.kinds)), "after": sub.after, "active": sub.active,
                 "note": sub.note, "created_by": sub.created_by, "created_at": d.ts(sub.created_at)})
            uow.commit()
        return sub

    def remove(self, sub_id: str) -> bool:
        if not self.sql:
            return self._mem.pop(sub_id, None) is not None
        with self.store.unit_of_work() as uow:
            count = uow.execute(self.store.dialect.prepare("DELETE FROM webhook_subscribers WHERE id = :id"),
                                {"id": sub_id}).rowcount
            uow.commit()
        return bool(count)

    # in the dispatcher's transaction
    def lock(self, uow: Any, sub_id: str) -> Subscriber | None:
        """The subscriber, locked for this transaction (None: gone, or another process holds it)."""
        if not self.sql:
            return self._mem.get(sub_id)
        d = self.store.dialect
        row = uow.fetch_one(self._select("WHERE id = :id", d.for_update(skip_locked=True)), {"id": sub_id},
                            write=True)
        return self._row(row) if row is not None else None

    def advance(self, uow: Any, sub: Subscriber, after: int) -> None:
        if not self.sql:
            if sub.id in self._mem:
                self._mem[sub.id] = replace(self._mem[sub.id], after=after)
            return
        uow.execute(self.store.dialect.prepare("UPDATE webhook_subscribers SET after = :after WHERE id = :id"),
                    {"after": after, "id": sub.id})


def subscribers_for(store: Any) -> SubscriberStore:
    return SubscriberStore(store)


def new_subscriber(engine: Any, url: str, *, created_by: str, item_id: str | None = None,
                   org: str | None = None, kinds: Iterable[str] = (), secret: str | None = None,
                   since: str | int | None = None, note: str = "") -> Subscriber:
    """Check and store a subscriber. It receives the events after ``since`` (a feed cursor;
    default: from now on). ``secret``: at least 16 characters, or one is made (32 bytes)."""
    url = check_url(url)
    if item_id is not None:
        engine.definition(item_id)  # UnknownItem names it
    if org is not None and org not in engine.orgs:
        raise WorkflowError(f"unknown org {org!r}")
    kinds = tuple(dict.fromkeys(k.strip() for k in kinds if k and k.strip()))
    if len(kinds) > KINDS_MAX or any(len(k) > 64 for k in kinds):
        raise WorkflowError(f"kinds: at most {KINDS_MAX} event kinds of up to 64 characters")
    if secret is not None and not 16 <= len(secret) <= 255:
        raise WorkflowError("secret must be 16 to 255 characters (or leave it out: one is made)")
    feed = feed_for(engine.store)
    head = feed.head()
    after = head if since is None else parse_cursor(since)
    check_after(after, head)
    sub = Subscriber(
        id=f"wh-{uuid.uuid4().hex[:12]}", url=url, secret=secret or secrets.token_urlsafe(32),
        item_id=item_id, org=org, kinds=kinds, after=after, active=True, note=note[:255],
        created_by=created_by, created_at=engine.now(),
    )
    return subscribers_for(engine.store).add(sub)


# --- 1. queue: follow the feed for each subscriber -----------------------------------------------


class WebhookDispatcher:
    """Queues one ``change`` outbox row per event and subscriber (see the module docstring)."""

    def __init__(self, engine: Any, *, batch: int = 500, rounds: int = 20) -> None:
        self.engine = engine
        self.store = engine.store
        self.feed = feed_for(engine.store)
        self.subscribers = subscribers_for(engine.store)
        self.batch = batch
        self.rounds = rounds

    def run_once(self) -> int:
        """Queue what every active subscriber has not been given yet (bounded); returns how many
        messages were queued."""
        subs = [s for s in self.subscribers.all() if s.active]
        if not subs:
            return 0
        stamp = getattr(self.feed, "stamp", None)
        if stamp is not None:
            stamp()
        queued = 0
        for sub in subs:
            for _ in range(self.rounds):
                got, more = self._dispatch(sub.id)
                queued += got
                if not more:
                    break
        return queued

    def _dispatch(self, sub_id: str) -> tuple[int, bool]:
        engine = self.engine
        with self.store.unit_of_work() as uow:
            sub = self.subscribers.lock(uow, sub_id)
            if sub is None or not sub.active:
                return 0, False
            orgs = engine.orgs.subtree(sub.org) if sub.org else None
            page = self.feed.page(sub.after, self.batch, orgs=orgs, item_id=sub.item_id,
                                  kinds=sub.kinds or None, uow=uow)
            if page.next == sub.after:
                return 0, False
            now = engine.now()
            messages = [OutboxMessage(topic=TOPIC, case_id=c.case_id, created_at=now,
                                      payload={"subscriber": sub.id, "change": change_document(engine, c)})
                        for c in page.items]
            if messages:
                uow.add_outbox(messages)
            self.subscribers.advance(uow, sub, page.next)
            uow.commit()
        return len(messages), page.next < page.head


def change_document(engine: Any, change: Change) -> dict[str, Any]:
    """A change as the feed and the webhooks hand it out (with its platform ``stage``)."""
    body = change.to_dict()
    body["stage"] = stage_of(engine, change)
    return body


# --- 2. deliver: the outbox's channel for ``change`` rows ------------------------------------------


class SubscriberNotifier:
    """POSTs ``change`` outbox rows to their subscriber, signed with its secret."""

    name = "subscriber"
    topics = (TOPIC,)

    def __init__(self, store: Any, *, timeout: float = 5.0) -> None:
        self.subscribers = subscribers_for(store)
        self.timeout = timeout

    def send(self, message: OutboxMessage, recipients: Sequence[Any]) -> None:
        sub_id = str(message.payload.get("subscriber", ""))
        sub = self.subscribers.get(sub_id)
        if sub is None or not sub.active:
            log.info("outbox %s: subscriber %s was removed; the change is not sent", message.id, sub_id)
            return
        change = message.payload.get("change") or {}
        body = json.dumps({
            "delivery_id": message.id, "topic": message.topic, "subscriber": sub.id, "change": change,
            "created_at": message.created_at.isoformat(),
        }, ensure_ascii=False, default=str).encode("utf-8")
        post_signed(sub.url, body, secret=sub.secret, delivery=message.id, topic=message.topic,
                    timeout=self.timeout, headers={"X-Caseclock-Cursor": str(change.get("cursor", ""))})


class ChangeDelivery:
    """Queue the subscribers' changes, then deliver the outbox (what ``caseclock serve`` runs as
    its delivery job). ``run()`` is the :class:`~adapters.notify.OutboxDelivery` interface."""

    def __init__(self, dispatcher: WebhookDispatcher, delivery: Any) -> None:
        self.dispatcher = dispatcher
        self.delivery = delivery

    def run(self, max_rounds: int = 1000) -> Any:
        try:
            self.dispatcher.run_once()
        except Exception:  # noqa: BLE001 - queued at the next run; the other messages still go
            log.exception("queueing change webhooks failed")
        return self.delivery.run(max_rounds)


__all__ = [
    "ChangeDelivery", "Subscriber", "SubscriberNotifier", "SubscriberStore", "WebhookDispatcher",
    "change_document", "check_url", "new_subscriber", "subscribers_for",
]
