"""Stage messages for 办件 reporting: the change feed, as the platform stages each step reached.

``caseclock export stages --since CURSOR`` writes one JSON object per line (JSON Lines, UTF-8)
for every event whose definition maps it to a platform stage (workflow/stages.py), in feed
order, and prints the cursor to resume from. The schema is ours (``caseclock.stage/1``), field by
field in docs/stages.md: a province's adapter turns it into whatever its platform takes. No
platform endpoint or credential is known here: the export is that seam.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import IO, Any

from .changes import Change, cursor_of, feed_for, parse_cursor, stage_of

SCHEMA = "caseclock.stage/1"
PAGE = 1000


def stage_message(engine: Any, change: Change) -> dict[str, Any] | None:
    """The stage message of one change, or None when its step reaches no stage."""
    stage = stage_of(engine, change)
    if stage is None:
        return None
    defn = engine.definition(change.item_id, change.definition_version)
    state = defn.states.get(change.to_state or "")
    step = defn.transition(change.trigger, change.from_state) if change.trigger and change.from_state else None
    final = bool(state and state.final)
    return {
        "schema": SCHEMA,
        "message_id": f"{change.case_id}:{change.seq}",
        "cursor": change.cursor,
        "stage": stage,
        "item_code": defn.stages.item_code,
        "item_id": change.item_id,
        "item_name": defn.name,
        "definition_version": change.definition_version,
        "case_id": change.case_id,
        "number": change.number,
        "org": change.org,
        "org_name": engine.orgs.name(change.org),
        "seq": change.seq,
        "kind": change.kind,
        "trigger": change.trigger,
        "step_label": (step.label or step.trigger) if step is not None else None,
        "from_state": change.from_state,
        "state": change.to_state,
        "state_label": defn.label_of(change.to_state) if change.to_state else None,
        "final": final,
        "result": defn.label_of(change.to_state) if final and change.to_state else None,
        "actor_id": change.actor_id,
        "at": change.at.isoformat(),
    }


@dataclass
class Export:
    written: int
    next: str  # the cursor to resume from (pass it as --since)


def iter_stage_messages(engine: Any, since: str | int | None = None, *, orgs: Collection[str] | None = None,
                        limit: int | None = None) -> Iterator[tuple[dict[str, Any] | None, int]]:
    """(message or None, position) for each change after ``since``, up to the newest now."""
    feed = feed_for(engine.store)
    at = parse_cursor(since)
    count = 0
    while True:
        page = feed.page(at, PAGE, orgs=orgs)
        for change in page.items:
            msg = stage_message(engine, change)
            yield msg, change.position
            if msg is not None:
                count += 1
                if limit is not None and count >= limit:
                    return
        if page.next == at:
            return
        at = page.next
        yield None, at  # the page's end (filtered events passed over)


def export_stages(engine: Any, out: IO[str], since: str | int | None = None, *,
                  orgs: Collection[str] | None = None, limit: int | None = None) -> Export:
    """Write the stage messages after ``since`` to ``out`` as JSON Lines."""
    at = parse_cursor(since)
    written = 0
    for msg, position in iter_stage_messages(engine, at, orgs=orgs, limit=limit):
        if msg is not None:
            out.write(json.dumps(msg, ensure_ascii=False, separators=(",", ":")) + "\n")
            written += 1
        at = max(at, position)
    return Export(written, cursor_of(at))


__all__ = ["SCHEMA", "Export", "export_stages", "iter_stage_messages", "stage_message"]
