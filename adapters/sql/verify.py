"""``verify_history``: check every case's hash chain in a store (SQL or memory)."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import groupby
from typing import Any

from workflow.audit import BrokenLink, verify_chain
from workflow.model import Event
from workflow.ports import CaseQuery


def _sql_chains(store: Any, case_id: str | None) -> Iterator[tuple[str, list[Event], tuple[int, str] | None]]:
    with store.unit_of_work() as uow:
        heads = uow.case_heads(case_id)
        seen: set[str] = set()
        for cid, evs in groupby(uow.iter_events(case_id), key=lambda e: e.case_id):
            seen.add(cid)
            yield cid, list(evs), heads.get(cid)
        for cid, head in heads.items():  # cases with no event at all
            if cid not in seen:
                yield cid, [], head


def _generic_chains(store: Any, case_id: str | None) -> Iterator[tuple[str, list[Event], tuple[int, str] | None]]:
    with store.unit_of_work() as uow:
        if case_id is not None:
            rec = uow.get_case(case_id)
            records = [rec] if rec is not None else []
        else:
            records = uow.query_cases(CaseQuery())
        for rec in records:
            yield rec.id, uow.events(rec.id), (rec.seq, rec.last_hash)


def verify_history(store_or_url: Any, case_id: str | None = None) -> list[BrokenLink]:
    """The first broken link of each case whose history does not verify (empty: all intact).

    ``store_or_url``: a store (SQL or memory) or a database URL."""
    store = store_or_url
    owned = False
    if isinstance(store_or_url, str):
        from .store import SqlStore

        store, owned = SqlStore(store_or_url, create=False), True
    try:
        chains = _sql_chains(store, case_id) if hasattr(store, "dialect") else _generic_chains(store, case_id)
        broken = []
        for cid, events, head in chains:
            if head is None:
                broken.append(BrokenLink(cid, events[0].seq if events else 0, "events of a case that does not exist"))
                continue
            link = verify_chain(events, case_id=cid, head=head)
            if link is not None:
                broken.append(link)
        return broken
    finally:
        if owned:
            store.dispose()
