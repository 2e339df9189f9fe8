"""The pure hash-chain check every store's history goes through."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from workflow.audit import verify_chain
from workflow.legaltime import TZ
from workflow.model import Event

AT = datetime(2024, 3, 4, 9, 0, tzinfo=TZ)


def chain(n: int, case_id: str = "c1") -> list[Event]:
    out, prev = [], ""
    for seq in range(1, n + 1):
        e = Event(case_id, seq, "transition", f"t{seq}", "a", AT, "s", "s", {"i": seq}, prev_hash=prev)
        e = dataclasses.replace(e, hash=e.compute_hash())
        out.append(e)
        prev = e.hash
    return out


def test_intact_chain_and_head():
    evs = chain(4)
    assert verify_chain(evs) is None
    assert verify_chain(evs, head=(4, evs[-1].hash)) is None
    assert verify_chain([], case_id="c1", head=(0, "")) is None


def test_changed_content_is_found_where_it_changed():
    evs = chain(4)
    evs[2] = dataclasses.replace(evs[2], data={"i": 99})
    link = verify_chain(evs)
    assert (link.case_id, link.seq) == ("c1", 3) and "hash" in link.problem


def test_rehashed_edit_breaks_the_next_link():
    evs = chain(4)
    forged = dataclasses.replace(evs[1], actor_id="mallory")
    evs[1] = dataclasses.replace(forged, hash=forged.compute_hash())
    assert verify_chain(evs).seq == 3  # its successor no longer points at it


def test_missing_repeated_and_foreign_events():
    evs = chain(4)
    assert verify_chain([evs[0], evs[2], evs[3]]).seq == 2
    assert "repeated" in verify_chain([evs[0], evs[1], evs[1]]).problem
    assert "belongs" in verify_chain([evs[0], chain(2, "c2")[1]]).problem


def test_deleted_tail_is_caught_by_the_case_head():
    evs = chain(4)
    assert verify_chain(evs[:3]) is None  # the chain alone cannot tell
    link = verify_chain(evs[:3], head=(4, evs[-1].hash))
    assert link.seq == 4 and "records 4 events" in link.problem
    assert "last_hash" in verify_chain(evs, head=(4, "0" * 64)).problem
