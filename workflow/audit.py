"""Tamper evidence: check a case's hash chain (pure; every store's history goes through it).

Each event carries the hash of the one before it (``prev_hash``) and its own (``hash``, over its
content and ``prev_hash``). A chain is intact when the sequence numbers run 1, 2, 3, … without a
gap, each ``prev_hash`` is the previous event's ``hash`` (empty for the first), and each ``hash``
is what the content hashes to. The case row's own ``seq`` and ``last_hash`` tell where the chain
must end, which catches a deleted tail.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .model import Event


@dataclass(frozen=True)
class BrokenLink:
    """The first place a case's history fails to verify."""

    case_id: str
    seq: int  # the event at fault (or where one is missing)
    problem: str

    def __str__(self) -> str:
        return f"case {self.case_id}: event {self.seq}: {self.problem}"


def verify_chain(
    events: Iterable[Event], *, case_id: str = "", head: tuple[int, str] | None = None
) -> BrokenLink | None:
    """The first broken link of one case's events (in ``seq`` order), or None when intact.

    ``head``: the (seq, last_hash) the case row records; the chain must end exactly there."""
    prev_hash = ""
    expected = 1
    for ev in events:
        cid = case_id or ev.case_id
        if ev.case_id != cid:
            return BrokenLink(cid, ev.seq, f"belongs to case {ev.case_id}")
        if ev.seq != expected:
            what = "missing" if ev.seq > expected else "repeated or out of order"
            return BrokenLink(cid, expected, f"event {expected} is {what} (found {ev.seq})")
        if ev.prev_hash != prev_hash:
            return BrokenLink(cid, ev.seq, "prev_hash is not the hash of the event before it")
        if ev.compute_hash() != ev.hash:
            return BrokenLink(cid, ev.seq, "content does not match its hash (changed after it was written)")
        prev_hash = ev.hash
        expected += 1
        case_id = cid
    if head is not None:
        seq, last_hash = head
        if seq != expected - 1:
            return BrokenLink(case_id, expected, f"the case records {seq} events, the history has {expected - 1}")
        if last_hash != prev_hash:
            return BrokenLink(case_id, seq, "the case's last_hash is not its last event's hash")
    return None


__all__ = ["BrokenLink", "verify_chain"]
