"""``CaseQuery`` → one SQL statement (filters, order and the ``after`` cursor all run in SQL).

Orders (ties broken by id, so pages never skip or repeat a case):
- ``opened``: ``opened_at, id``;
- ``urgent``: cases with a due instant first, earliest first; then the rest by ``opened_at``
  (``due_at IS NULL, COALESCE(due_at, opened_at), opened_at, id``), as the memory store sorts.

The cursor is keyset pagination: the ``after`` case's own sort key is looked up under the same
filters (a cursor that no longer matches them gives an empty page, as in the memory store), and
the page continues strictly after it.
"""

from __future__ import annotations

from typing import Any

from workflow.ports import CaseQuery
from workflow.search import needle

from .dialect import _CASE_COLS, _Dialect
from .tables import BREACH_WHERE, URGENT_KEYS

_ORDER_KEYS = {
    "opened": ("opened_at", "id"),
    "urgent": (*URGENT_KEYS, "opened_at", "id"),  # the expressions of ix_cases_open_urgent
}


def where_of(query: CaseQuery, d: _Dialect, t: str = "") -> tuple[list[str], dict[str, Any]] | None:
    """The WHERE terms of the query's filters (columns of the cases table, named ``t`` + column),
    and their parameters; None when nothing can match. ``q`` is not among them (search.py)."""
    where: list[str] = []
    params: dict[str, Any] = {}

    def bind(value: Any) -> str:
        name = f"p{len(params)}"
        params[name] = value
        return ":" + name

    if query.orgs is not None:
        if not query.orgs:
            return None
        where.append(f"{t}org IN ({', '.join(bind(o) for o in sorted(query.orgs))})")
    if query.item_id is not None:
        where.append(f"{t}item_id = {bind(query.item_id)}")
    if query.state is not None:
        where.append(f"{t}state = {bind(query.state)}")
    if query.states is not None:
        if not query.states:
            return None
        by_item: dict[str, list[str]] = {}
        for item, state in sorted(query.states):
            by_item.setdefault(item, []).append(state)
        alts = [
            f"({t}item_id = {bind(item)} AND {t}state IN ({', '.join(bind(s) for s in states)}))"
            for item, states in by_item.items()
        ]
        where.append("(" + " OR ".join(alts) + ")")
    if query.sla is not None:
        where.append(f"{t}sla = {bind(query.sla)}")
        if query.open is True and query.sla in ("overdue", "over_statutory", "deemed_accepted") and not t:
            where.append(BREACH_WHERE)  # implies ix_cases_open_breaches' predicate: the planner uses it
    if query.assignee is not None:
        where.append(f"{t}assignee = {bind(query.assignee)}")
    if query.unassigned_or is not None:
        where.append(f"({t}assignee IS NULL OR {t}assignee = '' OR {t}assignee = {bind(query.unassigned_or)})")
    if query.parent_id is not None:
        where.append(f"{t}parent_id = {bind(query.parent_id)}")
    if query.open is True:
        where.append(f"{t}closed_at IS NULL")
    elif query.open is False:
        where.append(f"{t}closed_at IS NOT NULL")
    if query.opened_from is not None:
        where.append(f"{t}opened_at >= {bind(d.ts(query.opened_from))}")
    if query.opened_to is not None:
        where.append(f"{t}opened_at < {bind(d.ts(query.opened_to))}")
    if query.closed_from is not None:
        where.append(f"{t}closed_at >= {bind(d.ts(query.closed_from))}")
    if query.closed_to is not None:
        where.append(f"{t}closed_at < {bind(d.ts(query.closed_to))}")
    return where, params


def case_query(query: CaseQuery, d: _Dialect) -> tuple[str, dict[str, Any]] | None:
    """The statement and its parameters, or None when nothing can match."""
    if query.order not in _ORDER_KEYS:
        raise ValueError(f"unknown order {query.order!r}: use opened or urgent")
    built = where_of(query, d)
    if built is None:
        return None
    where, params = built
    if query.limit is not None and query.limit <= 0:
        return None
    found = needle(query.q)
    if found is not None:  # the urgent order with a search (search.py reads the opened order)
        from .search import row_test

        test = row_test(d.name, found, params)
        where.append(f"EXISTS (SELECT 1 FROM case_search AS s WHERE s.case_id = cases.id AND {test})")
    keys = _ORDER_KEYS[query.order]
    if query.after is not None:
        params["after_id"] = query.after
        cursor_where = " AND ".join([*where, "id = :after_id"])
        cursor = f"SELECT {', '.join(keys)} FROM cases WHERE {cursor_where}"
        # the row after which the page starts: a row value compared with the cursor's key
        where.append(f"({', '.join(keys)}) > ({cursor})")
    sql = f"SELECT {_CASE_COLS} FROM cases"
    if BREACH_WHERE in where and d.name == "sqlite":
        # after ANALYZE, SQLite's planner prefers ix_cases_closed_at (every open case) and sorts:
        # O(open cases) a page. The partial indexes hold only the breaches, in page order.
        one_org = query.orgs is not None and len(query.orgs) == 1
        sql += " INDEXED BY " + ("ix_cases_org_breaches" if one_org else "ix_cases_open_breaches")
    elif d.name == "sqlite" and query.open is True and query.order == "urgent" and query.limit is not None:
        # the worklist's two queries (Engine.worklist): a page of open cases most urgent first.
        # SQLite's planner picks ix_cases_closed_at (every open case) and sorts. Mine: the
        # assignee's open cases, a handful, then sorted; by role: the open cases in page order,
        # the walk stopping at the limit. (PostgreSQL's planner finds them on its own.)
        if query.assignee is not None:
            sql += " INDEXED BY ix_cases_open_assignee"
        elif query.unassigned_or is not None:
            sql += " INDEXED BY ix_cases_open_urgent"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY " + ", ".join(keys)
    if query.limit is not None:
        sql += f" LIMIT {int(query.limit)}"
    return d.prepare(sql), params
