"""Seeding many due deadlines fast (the deadline-storm benchmark and the exactly-once test).

Opening 100,000 cases one ``open_case`` at a time costs a commit each; here one case is opened
through the engine and cloned through the store's port (``add_case``, ``append_event``,
``replace_deadlines``) in large transactions. Each clone gets its own id, number and a valid
opening event (hash chain intact), and exactly the deadline rows the engine wants for it.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from workflow.model import Actor, Deadline, Event

# One party clock, one level (``expired``): n cases make exactly n deadlines.
STORM_ITEM = """\
id: storm_answer
version: 1
name: 答辩期间（压测）
kind: dispute_case
legal_basis: ["benchmark only"]
initial: awaiting_answer
states:
  awaiting_answer: {label: 待答辩, roles: [clerk]}
  answered: {label: 已答辩, final: true}
transitions:
  - {trigger: answer, source: awaiting_answer, dest: answered, roles: [clerk]}
clocks:
  answer: {limit: 15 days, start: awaiting_answer, stop: [answered], party: true, label: 答辩期间}
"""

# An office item the concurrent clerks work while the storm is swept: hold ↔ resume pauses and
# resumes its clock (every fire rewrites the case's deadlines), never due during the benchmark.
REVIEW_ITEM = """\
id: storm_review
version: 1
name: 审查（压测）
kind: service_item
legal_basis: ["benchmark only"]
initial: received
states:
  received: {label: 审查中, roles: [clerk]}
  on_hold: {label: 待补正, pauses: [handling]}
  done: {label: 办结, final: true}
transitions:
  - {trigger: hold, source: received, dest: on_hold, roles: [clerk]}
  - {trigger: resume, source: on_hold, dest: received, roles: [clerk]}
  - {trigger: finish, source: received, dest: done, roles: [clerk]}
clocks:
  handling: {limit: 20 working days, start: received, stop: [done], label: 审查时限}
"""

CLERK = Actor(id="bench.clerk", roles={"clerk"}, org="420100")


def write_item(folder: str | Path) -> Path:
    path = Path(folder) / "storm_answer.yaml"
    path.write_text(STORM_ITEM, encoding="utf-8")
    return path


def write_items(folder: str | Path) -> list[Path]:
    """Both benchmark items (the party clock that storms, the office item clerks work)."""
    review = Path(folder) / "storm_review.yaml"
    review.write_text(REVIEW_ITEM, encoding="utf-8")
    return [write_item(folder), review]


def seed(engine, n: int, *, item: str = "storm_answer", actor: Actor = CLERK, batch: int = 5000,
         progress: Callable[[int], None] | None = None) -> list[str]:
    """Open one case of ``item`` at ``engine.now()`` and clone it until there are ``n``.
    Returns the case ids. Every clone's deadlines are due when the template's are."""
    template = engine.open_case(item, actor=actor)
    with engine.store.unit_of_work() as uow:
        rec = uow.get_case(template.id)
        (opened,) = uow.events(template.id)
        wanted = [d for d in uow.deadlines(template.id) if d.state == "pending"]
    ids = [template.id]
    stamp = datetime.now().strftime("%H%M%S")
    while len(ids) < n:
        with engine.store.unit_of_work() as uow:
            for _ in range(min(batch, n - len(ids))):
                cid = uuid.uuid4().hex
                clone = copy.copy(rec)
                clone.id = cid
                clone.number = f"STORM-{stamp}-{len(ids):07d}"
                clone.data = dict(rec.data)
                clone.clocks = dict(rec.clocks)
                ev = Event(**{**opened.__dict__, "case_id": cid, "prev_hash": "", "hash": ""})
                ev = replace(ev, hash=ev.compute_hash())
                clone.seq, clone.last_hash = 1, ev.hash
                uow.append_event(ev)
                uow.add_case(clone)
                uow.replace_deadlines(cid, [Deadline(**{**d.__dict__, "case_id": cid}) for d in wanted])
                ids.append(cid)
            uow.commit()
        if progress:
            progress(len(ids))
    return ids
