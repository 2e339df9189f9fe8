"""Where supervision orders (督办, workflow/orders.py) live.

Every method takes the engine's unit of work, so an order commits with its case event:
:class:`SqlOrderStore` runs its statements in the SQL store's transaction (the ``orders`` table,
migration 0009); :class:`MemoryOrderStore` keeps the orders in the memory store's tables, which
publish on commit like its cases. ``order_store_for(store)`` picks the one for a store.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from workflow.orders import Order, OrderStore


def _wanted(o: Order, orgs: frozenset[str] | None, status: str | None, issued_from: datetime | None,
            issued_to: datetime | None) -> bool:
    return ((orgs is None or o.org in orgs) and (status is None or o.status == status)
            and (issued_from is None or o.issued_at >= issued_from)
            and (issued_to is None or o.issued_at < issued_to))


class MemoryOrderStore:
    """Orders in the memory store's tables (``MemoryUnitOfWork.table``)."""

    def add(self, uow: Any, order: Order) -> None:
        uow.table("orders")[order.id] = order

    def get(self, uow: Any, order_id: str) -> Order | None:
        found: Order | None = uow.table("orders").get(order_id)
        return found

    def save(self, uow: Any, order: Order) -> None:
        uow.table("orders")[order.id] = order

    def of_case(self, uow: Any, case_id: str) -> list[Order]:
        rows = [o for o in uow.table("orders").values() if o.case_id == case_id]
        return sorted(rows, key=lambda o: (o.issued_at, o.id))

    def query(self, uow: Any, *, orgs: frozenset[str] | None, status: str | None = None,
              issued_from: datetime | None = None, issued_to: datetime | None = None,
              limit: int | None = None, after: tuple[datetime, str] | None = None) -> list[Order]:
        rows = sorted((o for o in uow.table("orders").values()
                       if _wanted(o, orgs, status, issued_from, issued_to)
                       and (after is None or (o.issued_at, o.id) > after)), key=lambda o: (o.issued_at, o.id))
        return rows[:limit] if limit is not None else rows


_COLS = ("id, case_id, number, org, item_id, reason, action, reply_days, due, due_at, provisional, issued_by, "
         "issued_at, status, reply, answered_by, answered_at, escalated_at")


class SqlOrderStore:
    """The ``orders`` table of migration 0009, in the SQL store's transactions."""

    def __init__(self, store: Any) -> None:
        self.d = store.dialect
        p = self.d.prepare
        names = [c.strip() for c in _COLS.split(",")]
        self.sql = {
            "add": p(f"INSERT INTO orders ({_COLS}) VALUES ({', '.join(':' + n for n in names)})"),
            "save": p("UPDATE orders SET org = :org, status = :status, reply = :reply, answered_by = :answered_by, "
                      "answered_at = :answered_at, escalated_at = :escalated_at, due = :due, due_at = :due_at, "
                      "provisional = :provisional WHERE id = :id"),
            "get": p(f"SELECT {_COLS} FROM orders WHERE id = :id"),
            "of_case": p(f"SELECT {_COLS} FROM orders WHERE case_id = :case_id ORDER BY issued_at, id"),
        }

    def _params(self, o: Order) -> dict[str, Any]:
        ts = self.d.ts
        return {
            "id": o.id, "case_id": o.case_id, "number": o.number, "org": o.org, "item_id": o.item_id,
            "reason": o.reason, "action": o.action, "reply_days": o.reply_days, "due": o.due.isoformat(),
            "due_at": ts(o.due_at), "provisional": o.provisional, "issued_by": o.issued_by,
            "issued_at": ts(o.issued_at), "status": o.status, "reply": o.reply, "answered_by": o.answered_by,
            "answered_at": ts(o.answered_at), "escalated_at": ts(o.escalated_at),
        }

    def _order(self, r: Any) -> Order:
        out = self.d.ts_out
        return Order(id=r[0], case_id=r[1], number=r[2], org=r[3], item_id=r[4], reason=r[5], action=r[6],
                     reply_days=int(r[7]), due=date.fromisoformat(r[8]), due_at=out(r[9]), provisional=bool(r[10]),
                     issued_by=r[11], issued_at=out(r[12]), status=r[13], reply=r[14] or "", answered_by=r[15],
                     answered_at=out(r[16]), escalated_at=out(r[17]))

    def add(self, uow: Any, order: Order) -> None:
        uow.execute(self.sql["add"], self._params(order))

    def get(self, uow: Any, order_id: str) -> Order | None:
        row = uow.fetch_one(self.sql["get"], {"id": order_id})
        return self._order(row) if row else None

    def save(self, uow: Any, order: Order) -> None:
        uow.execute(self.sql["save"], self._params(order))

    def of_case(self, uow: Any, case_id: str) -> list[Order]:
        return [self._order(r) for r in uow.fetch_all(self.sql["of_case"], {"case_id": case_id})]

    def query(self, uow: Any, *, orgs: frozenset[str] | None, status: str | None = None,
              issued_from: datetime | None = None, issued_to: datetime | None = None,
              limit: int | None = None, after: tuple[datetime, str] | None = None) -> list[Order]:
        where: list[str] = []
        params: dict[str, Any] = {}
        if orgs is not None:
            if not orgs:
                return []
            names = []
            for i, org in enumerate(sorted(orgs)):
                params[f"o{i}"] = org
                names.append(f":o{i}")
            where.append(f"org IN ({', '.join(names)})")
        if status is not None:
            where.append("status = :status")
            params["status"] = status
        if issued_from is not None:
            where.append("issued_at >= :issued_from")
            params["issued_from"] = self.d.ts(issued_from)
        if issued_to is not None:
            where.append("issued_at < :issued_to")
            params["issued_to"] = self.d.ts(issued_to)
        if after is not None:  # the next page: after the last (issued_at, id) handed out
            where.append("(issued_at > :after_at OR (issued_at = :after_at AND id > :after_id))")
            params["after_at"], params["after_id"] = self.d.ts(after[0]), after[1]
        sql = f"SELECT {_COLS} FROM orders"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY issued_at, id"
        if limit is not None:
            sql += " LIMIT :limit"
            params["limit"] = int(limit)
        return [self._order(r) for r in uow.fetch_all(self.d.prepare(sql), params)]


def order_store_for(store: Any) -> OrderStore:
    """The order store that goes with an engine's store (SQL or memory)."""
    if hasattr(store, "dialect") and hasattr(store, "url"):
        return SqlOrderStore(store)
    return MemoryOrderStore()


__all__ = ["MemoryOrderStore", "SqlOrderStore", "order_store_for"]
