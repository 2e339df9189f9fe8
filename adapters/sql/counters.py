"""Open cases per (org, item, SLA level), kept up to date in table ``sla_counts``.

The SLA board counts open cases by org, item and level. Counting a million case rows on every
request takes seconds; these counters take a few milliseconds whatever the number of cases.

How they stay right: every write of a case row goes through ``SqlUnitOfWork.add_case`` or
``save_case`` (opening, transitions, the sweep's escalations, corrections, transfers, calendar
recomputations…). Each records the move of one case from its old key (org, item, level while
open; none once closed) to its new one in the unit of work (``SlaDeltas``); ``commit`` writes
the summed deltas just before ``COMMIT``, in the same transaction, in key order (on PostgreSQL
two transactions then never wait on each other's counter rows in a cycle, and a counter row is
locked only for the instant before the commit). A rolled-back unit of work writes nothing.

``recount`` rebuilds the table from the cases (bulk loads that bypass the store, repairs);
``differences`` compares it with a ``GROUP BY`` over the cases (tests, ``bench/scale_seed.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

Key = tuple[str, str, str]  # (org, item_id, level)

UPSERT = (
    "INSERT INTO sla_counts (org, item_id, level, n) VALUES (:org, :item_id, :level, :n) "
    "ON CONFLICT (org, item_id, level) DO UPDATE SET n = sla_counts.n + excluded.n"
)
READ = "SELECT org, item_id, level, n FROM sla_counts WHERE n <> 0"
GROUP_BY = ("SELECT org, item_id, sla, COUNT(*) FROM cases WHERE closed_at IS NULL "
            "GROUP BY org, item_id, sla")
BEFORE = "SELECT org, item_id, sla, closed_at FROM cases WHERE id = :id AND version = :expected"

# positions in a case row as the store reads and writes it (dialect.CASE_FIELDS)
_ITEM, _VERSION, _ORG, _CLOSED, _SLA = 2, 5, 6, 12, 13


_PREPARED: dict[tuple[str, str], str] = {}


def _sql(uow: Any, text: str) -> str:
    hit = _PREPARED.get((uow.d.name, text))
    if hit is None:
        hit = _PREPARED[(uow.d.name, text)] = uow.d.prepare(text)
    return hit


def key_of_row(row: tuple[Any, ...]) -> Key | None:
    """The counter a case row (in ``CASE_FIELDS`` order) belongs to; None once it is closed."""
    return None if row[_CLOSED] is not None else (row[_ORG], row[_ITEM], row[_SLA])


def key_of_params(params: dict[str, Any]) -> Key | None:
    return None if params["closed_at"] is not None else (params["org"], params["item_id"], params["sla"])


class SlaDeltas:
    """The counter changes of one unit of work, written by ``flush`` in its transaction."""

    __slots__ = ("d",)

    def __init__(self) -> None:
        self.d: dict[Key, int] = {}

    def move(self, old: Key | None, new: Key | None) -> None:
        if old == new:
            return
        d = self.d
        if old is not None:
            d[old] = d.get(old, 0) - 1
        if new is not None:
            d[new] = d.get(new, 0) + 1

    def clear(self) -> None:
        self.d.clear()

    def flush(self, uow: Any) -> None:
        rows = [{"org": k[0], "item_id": k[1], "level": k[2], "n": n} for k, n in sorted(self.d.items()) if n]
        self.d.clear()
        if rows:
            uow._exec_many(_sql(uow, UPSERT), rows)


def before(uow: Any, case_id: str, old: tuple[Any, ...] | None, expected: int) -> Key | None:
    """The counter of the case row ``save_case`` is about to replace: from the row as this unit
    of work read it, else read now (the ``UPDATE`` that follows checks the same version)."""
    if old is not None and old[_VERSION] == expected:
        return key_of_row(old)
    row = uow._one(_sql(uow, BEFORE), {"id": case_id, "expected": expected}, write=True)
    if row is None:
        return None  # the UPDATE will find no row at that version: VersionConflict
    return None if row[3] is not None else (row[0], row[1], row[2])


def count_open_by_sla(store: Any, orgs: Iterable[str] | None = None,
                      item_id: str | None = None) -> list[tuple[str, str, str, int]]:
    """(org, item, level, open cases) for every non-zero counter in ``orgs`` (all when None)."""
    wanted = None if orgs is None else frozenset(orgs)
    with store.unit_of_work() as uow:
        rows = uow._all(_sql(uow, READ), {}, write=False)
    return [(o, i, lvl, int(n)) for o, i, lvl, n in rows
            if (wanted is None or o in wanted) and (item_id is None or i == item_id)]


def counted(store: Any) -> dict[Key, int]:
    """The counters as stored (non-zero ones)."""
    return {(o, i, lvl): n for o, i, lvl, n in count_open_by_sla(store)}


def grouped(store: Any) -> dict[Key, int]:
    """The same figures counted from the cases (a full scan)."""
    with store.unit_of_work() as uow:
        rows = uow._all(_sql(uow, GROUP_BY), {}, write=False)
    return {(o, i, lvl): int(n) for o, i, lvl, n in rows}


def differences(store: Any) -> dict[Key, tuple[int, int]]:
    """Keys whose counter differs from the cases: {key: (counter, cases)}; empty when right."""
    have, want = counted(store), grouped(store)
    return {k: (have.get(k, 0), want.get(k, 0)) for k in set(have) | set(want)
            if have.get(k, 0) != want.get(k, 0)}


def recount(store: Any) -> int:
    """Rebuild the counters from the cases in one transaction; returns the open cases counted."""
    with store.unit_of_work() as uow:
        uow._exec("DELETE FROM sla_counts", {}, write=True)
        uow._exec(uow.d.prepare("INSERT INTO sla_counts (org, item_id, level, n) " + GROUP_BY), {},
                  write=True)
        total = uow._one("SELECT COALESCE(SUM(n), 0) FROM sla_counts", {}, write=True)[0]
        uow.commit()
    return int(total)


__all__ = ["SlaDeltas", "before", "count_open_by_sla", "counted", "differences", "grouped",
           "key_of_params", "key_of_row", "recount"]
