"""督办: a supervisor's or leader's supervision order on a case. PURE.

An order names its reason (督办事由), the action required (要求) and a reply deadline (答复期限) of
``reply_days`` working days, counted on the office's calendar as every clock counts them
(``legaltime``: the day of issue is not counted, 第八十二条 style). A clerk or examiner of the case's
org replies (答复) once; an order still open when its last day has passed escalates to the leaders
of the case's org and of its parent, once, through the sweep (a ``deadlines`` row of its own:
clock ``order:<id>``, level ``overdue``). Issuing, replying and the escalation are events of the
case's hash-chained history (``order_issued``, ``order_answered``, ``order_escalated``).

Measures (monthly report, per org and item of the case, by the month the order was issued):
``orders_issued`` 督办数; ``orders_answered_on_time`` 督办按时答复数 — answered by the end of the
last day; ``orders_overdue`` 督办逾期数 — answered after it, or still unanswered once it passed (as
of the report).

Closing a case lapses its open orders (``lapsed``, 已失效（案件已办结）: ``answered_at`` is when the
case closed, ``answered_by`` the engine's own actor, an ``order_lapsed`` event): a moot order
never escalates, and the sweep lapses any it still finds on a closed case. Loading a calendar
recounts every open order's reply deadline (``_recount_orders``), as it recounts the case clocks.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from . import legaltime as lt
from .authority import require_outside
from .clock_effects import ClockEffectsMixin
from .engine_base import _fingerprint
from .errors import CaseNotFound, Forbidden, IdempotencyMismatch, MissingData, TransitionNotAllowed
from .legaltime import ClockState
from .limits import Limit, Unit
from .model import SYSTEM, Actor, CaseRecord, Deadline, Escalation, OutboxMessage
from .ports import IdempotencyRecord, UnitOfWork

if TYPE_CHECKING:
    from .definition import Definition

OPEN = "open"
ANSWERED = "answered"
LAPSED = "lapsed"  # the case closed while the order was open: moot, it never escalates
STATUSES = (OPEN, ANSWERED, LAPSED)
STATUS_LABELS = {OPEN: "待答复", ANSWERED: "已答复", LAPSED: "已失效（案件已办结）"}
ISSUERS = ("supervisor", "leader")
REPLIERS = ("clerk", "examiner")
READERS = (*REPLIERS, *ISSUERS, "admin")  # the office's staff: a portal (integrating system) reads no order
MIN_DAYS, MAX_DAYS = 1, 60  # reply_days: working days
MAX_TEXT = 1000  # characters of a reason, an action or a reply
DAYS_PROBLEM = f"a whole number of working days from {MIN_DAYS} to {MAX_DAYS}"
CLOCK_PREFIX = "order:"  # the deadline row's clock: order:<id>
LEVEL = "overdue"
EVENT_KINDS = ("order_issued", "order_answered", "order_escalated", "order_lapsed")
"""The history events an order writes: the office's staff see them, nobody else (workflow/visibility.py)."""


@dataclass(frozen=True)
class Order:
    """One 督办 order (what the store keeps)."""

    id: str
    case_id: str
    number: str  # the case's number
    org: str  # the case's org when issued
    item_id: str
    reason: str
    action: str
    reply_days: int
    due: date  # the last day to reply (the reply_days-th working day after issuing)
    due_at: datetime  # 24:00 of ``due``: unanswered then, it is overdue
    issued_by: str
    issued_at: datetime
    status: str = OPEN
    reply: str = ""
    answered_by: str | None = None
    answered_at: datetime | None = None
    escalated_at: datetime | None = None
    provisional: bool = False  # ``due`` counted in a year whose notice is not loaded (暂定)

    @property
    def clock(self) -> str:
        return CLOCK_PREFIX + self.id

    @property
    def on_time(self) -> bool | None:
        """Answered by the end of its last day (None while open, and for a lapsed order)."""
        if self.answered_at is None or self.status == LAPSED:
            return None
        return self.answered_at <= self.due_at

    def overdue_at(self, now: datetime) -> bool:
        """Late: answered after the last day, or still open once it passed; a lapsed order
        (``answered_at``: when its case closed) only if its case closed after the last day."""
        if self.answered_at is not None:
            return self.answered_at > self.due_at
        return now >= self.due_at

    def to_dict(self, now: datetime | None = None) -> dict[str, Any]:
        out = {
            "id": self.id, "case_id": self.case_id, "number": self.number, "org": self.org,
            "item_id": self.item_id, "reason": self.reason, "action": self.action,
            "reply_days": self.reply_days, "due": self.due.isoformat(), "due_at": self.due_at.isoformat(),
            "provisional": self.provisional, "status": self.status,
            "status_label": STATUS_LABELS.get(self.status, self.status),
            "issued_by": self.issued_by, "issued_at": self.issued_at.isoformat(), "reply": self.reply,
            "answered_by": self.answered_by,
            "answered_at": self.answered_at.isoformat() if self.answered_at else None,
            "on_time": self.on_time,
            "escalated_at": self.escalated_at.isoformat() if self.escalated_at else None,
        }
        if now is not None:
            out["overdue"] = self.overdue_at(now)
        return out


def order_from_dict(d: Mapping[str, Any]) -> Order:
    def when(v: Any) -> datetime | None:
        return datetime.fromisoformat(v) if isinstance(v, str) and v else v if isinstance(v, datetime) else None

    issued, due_at = when(d["issued_at"]), when(d["due_at"])
    assert issued is not None and due_at is not None
    return Order(
        id=d["id"], case_id=d["case_id"], number=d["number"], org=d["org"], item_id=d["item_id"],
        reason=d["reason"], action=d["action"], reply_days=int(d["reply_days"]),
        due=date.fromisoformat(d["due"]), due_at=due_at, issued_by=d["issued_by"], issued_at=issued,
        status=d.get("status") or OPEN, reply=d.get("reply") or "", answered_by=d.get("answered_by"),
        answered_at=when(d.get("answered_at")), escalated_at=when(d.get("escalated_at")),
        provisional=bool(d.get("provisional")),
    )


class OrderStore(Protocol):
    """Where orders live; every method runs in the engine's unit of work (adapters/orders.py)."""

    def add(self, uow: Any, order: Order) -> None: ...

    def get(self, uow: Any, order_id: str) -> Order | None: ...

    def save(self, uow: Any, order: Order) -> None: ...

    def of_case(self, uow: Any, case_id: str) -> list[Order]:
        """The case's orders, oldest first."""
        ...

    def query(self, uow: Any, *, orgs: frozenset[str] | None, status: str | None = None,
              issued_from: datetime | None = None, issued_to: datetime | None = None,
              limit: int | None = None, after: tuple[datetime, str] | None = None) -> list[Order]:
        """Orders of cases in ``orgs`` (None: all), oldest first (``issued_at``, ``id``); ``after``:
        only those after that (``issued_at``, ``id``) in that order (the next page)."""
        ...


@dataclass
class OrderTally:
    issued: int = 0
    answered_on_time: int = 0
    overdue: int = 0

    def add_order(self, o: Order, now: datetime) -> None:
        self.issued += 1
        self.answered_on_time += bool(o.on_time)
        self.overdue += o.overdue_at(now)

    def add(self, o: OrderTally) -> None:
        self.issued += o.issued
        self.answered_on_time += o.answered_on_time
        self.overdue += o.overdue

    def measures(self) -> dict[str, int]:
        return {"orders_issued": self.issued, "orders_answered_on_time": self.answered_on_time,
                "orders_overdue": self.overdue}


def parse_reply_days(value: Any) -> int:
    """A whole number (a JSON integer: not text, a fraction or a boolean) of working days from
    ``MIN_DAYS`` to ``MAX_DAYS`` (ValueError otherwise)."""
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_DAYS <= value <= MAX_DAYS:
        raise ValueError(DAYS_PROBLEM)
    return value


def refusal(what: str, problems: Mapping[str, str]) -> str:
    """The detail of a refused order or reply: the fields it lacks ("needs …"), then each value
    it refuses with why (``problems``: field → "required" or what is wrong)."""
    missing = sorted(f for f, why in problems.items() if why == "required")
    parts = [f"{what} needs {', '.join(missing)}"] if missing else []
    parts += [f"{f}: {why}" for f, why in sorted(problems.items()) if why != "required"]
    return "; ".join(parts)


def _text(value: Any, field: str, problems: dict[str, str]) -> str:
    if not isinstance(value, str) or not value.strip():
        problems[field] = "required"
        return ""
    if len(value) > MAX_TEXT:
        problems[field] = f"at most {MAX_TEXT} characters"
    return value.strip()


class OrdersMixin(ClockEffectsMixin):
    """``Engine.issue_order``, ``answer_order``, ``orders``, ``case_orders`` and the sweep's part."""

    order_store: OrderStore | None

    def _order_store(self) -> OrderStore:
        if self.order_store is None:
            raise TransitionNotAllowed("this engine keeps no supervision orders (build it with build_engine)")
        return self.order_store

    def issue_order(self, case_id: str, *, actor: Actor, reason: Any, action: Any, reply_days: Any,
                    idempotency_key: str | None = None) -> Order:
        """督办: a supervisor or leader of an org covering the case orders its handlers to act and
        reply within ``reply_days`` working days. Forbidden for other roles; CaseNotFound outside
        the actor's subtree; MissingData naming each bad field."""
        require_outside(actor)
        if not actor.has_any(ISSUERS):
            raise Forbidden("issuing a supervision order (督办) needs the supervisor or leader role")
        problems: dict[str, str] = {}
        reason_text = _text(reason, "reason", problems)
        action_text = _text(action, "action", problems)
        try:
            days = parse_reply_days(reply_days)
        except ValueError as exc:
            problems["reply_days"] = "required" if reply_days is None else str(exc)
            days = 0
        store = self._order_store()
        fp = _fingerprint("issue_order", case_id, reason_text, action_text, days) if idempotency_key else ""
        with self.store.unit_of_work() as uow:
            replay = self._order_replay(uow, store, actor, "issue_order", idempotency_key, fp)
            if replay is not None:
                return replay
            rec = self._load_for_update(uow, case_id, actor, None)
            if problems:
                raise MissingData(refusal("a supervision order", problems), problems)
            if rec.closed_at is not None:
                raise TransitionNotAllowed(f"case {rec.number} is closed: no supervision order on it")
            now = self.now()
            due, provisional = self._reply_due(now.date(), days)
            order = Order(
                id=uuid.uuid4().hex, case_id=rec.id, number=rec.number, org=rec.org, item_id=rec.item_id,
                reason=reason_text, action=action_text, reply_days=days, due=due,
                due_at=lt.midnight(due + timedelta(days=1)), issued_by=actor.id, issued_at=now,
                provisional=provisional,
            )
            store.add(uow, order)
            self._append(uow, rec, "order_issued", None, actor, now, rec.state, rec.state, {
                "order": order.id, "reason": order.reason, "action": order.action,
                "reply_days": days, "due": due.isoformat(),
            })
            uow.save_case(rec, rec.version)
            self._add_order_deadline(uow, rec, order)
            self._order_remember(uow, actor, "issue_order", idempotency_key, fp, order, now)
            uow.commit()
        self._deadlines_changed()
        return order

    def answer_order(self, case_id: str, order_id: str, *, actor: Actor, text: Any,
                     idempotency_key: str | None = None) -> Order:
        """The handler's reply (答复): a clerk or examiner of the case's own org (CaseNotFound
        from any other org: the order is not theirs to see); TransitionNotAllowed once answered."""
        require_outside(actor)
        if not actor.has_any(REPLIERS):
            raise Forbidden("replying to a supervision order needs the clerk or examiner role")
        problems: dict[str, str] = {}
        reply = _text(text, "text", problems)
        store = self._order_store()
        fp = _fingerprint("answer_order", case_id, order_id, reply) if idempotency_key else ""
        with self.store.unit_of_work() as uow:
            replay = self._order_replay(uow, store, actor, "answer_order", idempotency_key, fp)
            if replay is not None:
                return replay
            rec = self._load_for_update(uow, case_id, actor, None)
            order = store.get(uow, order_id)
            if order is None or order.case_id != rec.id or actor.org != rec.org:
                raise CaseNotFound(f"no order {order_id!r} on case {case_id!r}")
            if problems:
                raise MissingData(refusal("a reply", problems), problems)
            if order.status == LAPSED:
                raise TransitionNotAllowed(f"this supervision order has lapsed, {STATUS_LABELS[LAPSED]}: "
                                           "its case closed, so it takes no reply")
            if order.status != OPEN:
                raise TransitionNotAllowed("this supervision order has been answered already")
            now = self.now()
            order = replace(order, status=ANSWERED, reply=reply, answered_by=actor.id, answered_at=now)
            store.save(uow, order)
            self._append(uow, rec, "order_answered", None, actor, now, rec.state, rec.state, {
                "order": order.id, "text": reply, "on_time": order.on_time,
            })
            uow.save_case(rec, rec.version)
            for dl in uow.deadlines(rec.id):
                if dl.clock == order.clock and dl.state == "pending":
                    uow.mark_deadline(dl, "cancelled", now)
            self._order_remember(uow, actor, "answer_order", idempotency_key, fp, order, now)
            uow.commit()
        self._deadlines_changed()
        return order

    def case_orders(self, case_id: str, actor: Actor | None = None) -> list[Order]:
        """The case's orders, oldest first (CaseNotFound outside the actor's subtree)."""
        store = self._order_store()
        _may_read(actor)
        with self.store.unit_of_work() as uow:
            self._load(uow, case_id, actor)
            return store.of_case(uow, case_id)

    def orders(self, actor: Actor | None = None, *, status: str | None = None, org: str | None = None,
               limit: int | None = None, after: tuple[datetime, str] | None = None) -> list[Order]:
        """Orders on the cases of the actor's subtree (and of ``org``'s, when given), oldest first;
        ``after``: those after that (``issued_at``, ``id``), a page's last (the next page)."""
        _may_read(actor)
        if status is not None and status not in STATUSES:
            raise MissingData(f"status is one of {', '.join(STATUSES)}", {"status": "unknown status"})
        scope = self._query(actor, **({"org": org} if org else {})).orgs
        with self.store.unit_of_work() as uow:
            return self._order_store().query(uow, orgs=scope, status=status, limit=limit, after=after)

    def open_order_counts(self, actor: Actor | None = None) -> dict[str, int]:
        """Open orders of the actor's subtree and how many of them are past their last day."""
        now = self.now()
        found = self.orders(actor, status=OPEN)
        return {"open": len(found), "overdue": sum(o.overdue_at(now) for o in found)}

    def orders_between(self, start: datetime, end: datetime) -> list[Order]:
        """Orders issued in [start, end) (the monthly report)."""
        if self.order_store is None:
            return []
        with self.store.unit_of_work() as uow:
            return self.order_store.query(uow, orgs=None, issued_from=start, issued_to=end)

    # -- plumbing ------------------------------------------------------------------------------

    def _reply_due(self, today: date, days: int) -> tuple[date, bool]:
        st = lt.start(ClockState(name="_order", limit=Limit(days, Unit.WORKING_DAYS)), today)
        derived = self._derive(st)
        assert derived.statutory_due is not None
        return derived.statutory_due, bool(derived.statutory_provisional)

    def _add_order_deadline(self, uow: UnitOfWork, rec: CaseRecord, order: Order) -> None:
        # the rows of order clocks are the orders' own: replacing a case's other rows leaves them
        uow.replace_deadlines(rec.id, [*self._wanted_deadlines(rec, self._definition_or_none(rec)), Deadline(
            rec.id, order.clock, 1, LEVEL, order.due_at, org=rec.org, item_id=rec.item_id)])

    def _order_replay(self, uow: UnitOfWork, store: OrderStore, actor: Actor, operation: str,
                      key: str | None, fingerprint: str) -> Order | None:
        if not key:
            return None
        from .authority import scoped_idempotency_key

        found = uow.get_idempotency(scoped_idempotency_key(actor, operation, key))
        if found is None:
            return None
        if found.fingerprint != fingerprint:
            raise IdempotencyMismatch(f"idempotency key {key!r} was used for a different call")
        case = uow.get_case(found.case_id)
        if case is None or not self.orgs.covers(actor.org, case.org):
            raise CaseNotFound(f"no case {found.case_id!r}")
        return order_from_dict(found.result)

    def _order_remember(self, uow: UnitOfWork, actor: Actor, operation: str, key: str | None,
                        fingerprint: str, order: Order, now: datetime) -> None:
        if key:
            from .authority import scoped_idempotency_key

            uow.put_idempotency(IdempotencyRecord(scoped_idempotency_key(actor, operation, key), fingerprint,
                                                  order.case_id, order.to_dict(), now))

    def _lapse_orders(self, uow: UnitOfWork, rec: CaseRecord, now: datetime) -> None:
        """The case closed: each of its open orders lapses (moot), its pending row is cancelled."""
        store = self.order_store
        if store is None:
            return
        lapsed = [o for o in store.of_case(uow, rec.id) if o.status == OPEN]
        if not lapsed:
            return
        clocks = {o.clock for o in lapsed}
        for o in lapsed:
            store.save(uow, replace(o, status=LAPSED, answered_at=now, answered_by=SYSTEM.id))
            self._append(uow, rec, "order_lapsed", None, SYSTEM, now, rec.state, rec.state, {
                "order": o.id, "due": o.due.isoformat(), "note": STATUS_LABELS[LAPSED],
            })
        for dl in uow.deadlines(rec.id):
            if dl.clock in clocks and dl.state == "pending":
                uow.mark_deadline(dl, "cancelled", now)

    def _recount_orders(self, uow: UnitOfWork, rec: CaseRecord) -> tuple[dict[str, Any], list[Deadline]]:
        """The calendar changed: count each open order's reply deadline again from its day of
        issue; save the changed ones. Returns {order id: {before, after}} and the moved orders'
        deadline rows (not escalated yet), which the caller writes with the case's own rows:
        one ``replace_deadlines`` a case (``OfficeMixin._recompute``)."""
        store = self.order_store
        if store is None:
            return {}, []
        changed: dict[str, Any] = {}
        rows: list[Deadline] = []
        for o in store.of_case(uow, rec.id):
            if o.status != OPEN:
                continue
            due, provisional = self._reply_due(o.issued_at.astimezone(lt.TZ).date(), o.reply_days)
            if (due, provisional) == (o.due, o.provisional):
                continue
            new = replace(o, due=due, provisional=provisional, due_at=lt.midnight(due + timedelta(days=1)))
            store.save(uow, new)
            changed[o.id] = {"before": {"due": o.due.isoformat(), "provisional": o.provisional},
                             "after": {"due": due.isoformat(), "provisional": provisional}}
            if o.escalated_at is None:
                rows.append(Deadline(rec.id, new.clock, 1, LEVEL, new.due_at, org=rec.org, item_id=rec.item_id))
        return changed, rows

    def _fire_order(self, uow: UnitOfWork, rec: CaseRecord, defn: Definition, dl: Deadline,
                    now: datetime) -> tuple[Escalation, OutboxMessage] | None:
        """An order's row came due (the sweep): escalate once to the leaders, unless answered,
        or moot (its case closed: the order lapses)."""
        store = self.order_store
        order = store.get(uow, dl.clock[len(CLOCK_PREFIX):]) if store is not None else None
        if order is not None and order.status == OPEN and rec.closed_at is not None:
            self._lapse_orders(uow, rec, now)  # closed before closing lapsed orders: moot all the same
            order = None
        if order is None or order.status != OPEN or order.escalated_at is not None:
            uow.mark_deadline(dl, "cancelled", now)
            return None
        uow.mark_deadline(dl, "fired", now)
        store.save(uow, replace(order, escalated_at=now))  # type: ignore[union-attr]
        esc = Escalation(case_id=rec.id, clock=dl.clock, level=dl.level, due=dl.due_at, seen=now,
                         org=rec.org, item_id=rec.item_id, number=rec.number, run=dl.run)
        self._append(uow, rec, "order_escalated", None, SYSTEM, now, rec.state, rec.state, {
            "order": order.id, "due": order.due.isoformat(), "seen": now.isoformat(),
        })
        parent = self.orgs.parent(rec.org)
        audience = [{"role": "leader", "org": rec.org}] + ([{"role": "leader", "org": parent}] if parent else [])
        message = OutboxMessage(
            topic="order_overdue", case_id=rec.id, created_at=now,
            payload={**esc.to_dict(), "item_name": defn.name, "state": rec.state,
                     "state_label": defn.label_of(rec.state), "clock_label": "督办",
                     "order": order.id, "reason": order.reason, "action": order.action,
                     "order_due": order.due.isoformat(), "audience": audience},
        )
        return esc, message


def is_order_clock(clock: str) -> bool:
    return clock.startswith(CLOCK_PREFIX)


def tally(orders: Iterable[Order], now: datetime, key: Any = None) -> dict[Any, OrderTally]:
    """Orders counted by ``key(order)`` (default: (org, item_id)), judged at ``now``."""
    key = key or (lambda o: (o.org, o.item_id))
    out: dict[Any, OrderTally] = {}
    for o in orders:
        out.setdefault(key(o), OrderTally()).add_order(o, now)
    return out


def _may_read(actor: Actor | None) -> None:
    """Orders are the office's internal supervision: its staff read them (None: the library's
    caller, everything)."""
    if actor is not None and not actor.has_any(READERS):
        raise Forbidden("supervision orders are read by the office's staff (clerk, examiner, supervisor, "
                        "leader, admin)")


__all__ = [
    "ANSWERED", "CLOCK_PREFIX", "EVENT_KINDS", "ISSUERS", "LAPSED", "MAX_DAYS", "MIN_DAYS", "OPEN", "REPLIERS", "STATUSES",
    "STATUS_LABELS", "Order", "OrderStore", "OrderTally", "OrdersMixin", "is_order_clock", "order_from_dict",
    "parse_reply_days", "refusal", "tally",
]
