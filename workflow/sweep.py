"""The sweep: fire every deadline level that has come due, each exactly once, in batches of
locked cases; and a bundle's closing when its last child closes. Mixed into ``Engine``."""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .clock_effects import ClockEffectsMixin
from .definition import Definition, TransitionDef
from .errors import TransitionNotAllowed
from .legaltime import Level, Status
from .model import SYSTEM, Actor, CaseRecord, Deadline, Escalation, OutboxMessage
from .ports import CaseQuery, UnitOfWork

_LEVEL_ORDER = {"warning": 0, "overdue": 1, "over_statutory": 2, "expired": 3}


def _lock_due(uow: UnitOfWork, ids: list[str], now: datetime) -> tuple[list[CaseRecord], dict[str, list[Deadline]]]:
    """A sweep batch's cases, locked, and their due rows: with the batch methods where the store
    has them (stores written before them keep working, a case at a time)."""
    lock_many = getattr(uow, "lock_cases", None)
    due_many = getattr(uow, "pending_due_many", None)
    if lock_many is not None and due_many is not None:
        recs = lock_many(ids)
        return recs, due_many([r.id for r in recs], now)
    recs = [r for r in (uow.lock_case(i) for i in ids) if r is not None]
    found = {r.id: uow.pending_due(r.id, now) for r in recs}
    return recs, {k: v for k, v in found.items() if v}


class SweepMixin(ClockEffectsMixin):
    """``Engine.sweep`` and the bundle closing that follows a child's close."""

    if TYPE_CHECKING:  # defined by ``Engine`` (the firing use case)
        def _transition(self, uow: UnitOfWork, rec: CaseRecord, defn: Definition, trigger: str,
                        actor: Actor, given: dict[str, Any], now: datetime) -> None: ...

        def _check_uses(self, uow: UnitOfWork, rec: CaseRecord, t: TransitionDef) -> None: ...

    def sweep(self, *, batch: int | None = None) -> list[Escalation]:
        """Fire every level that has come due, each exactly once, oldest first. Party and external
        clocks' ``on_expire`` transitions run in the same unit of work (as the system actor)."""
        size = batch or self.settings.sweep_batch
        pause = float(getattr(self.store, "sweep_pause", 0.0) or 0.0)
        fired: list[Escalation] = []
        while True:
            progressed = False
            with self.store.unit_of_work() as uow:
                now = self.now()
                ids = uow.due_case_ids(now, size)
                if not ids:
                    break
                recs, due = _lock_due(uow, ids, now)  # one statement each for the batch
                touched: set[str] = set()  # changed by an earlier case of this batch: read again
                for rec in recs:
                    rows = due.get(rec.id, [])
                    if rec.id in touched:
                        again = uow.lock_case(rec.id)
                        if again is None:
                            continue
                        rec, rows = again, uow.pending_due(rec.id, now)
                    progressed |= self._sweep_case(uow, rec, now, fired, rows, touched)
                uow.commit()
            if not progressed:
                break
            if pause:  # let writers queued behind this batch (clerks) in before the next one
                time.sleep(pause)
        if fired:
            self._deadlines_changed()
        fired.sort(key=lambda e: (e.due, e.case_id, e.clock, _LEVEL_ORDER[e.level]))
        return fired

    def _sweep_case(self, uow: UnitOfWork, rec: CaseRecord, now: datetime, fired: list[Escalation],
                    rows: list[Deadline], touched: set[str]) -> bool:
        due = sorted(rows, key=lambda d: (d.due_at, _LEVEL_ORDER[d.level]))
        if not due:
            return False
        defn = self.registry.get(rec.item_id, rec.definition_version)
        before = rec.version
        rewrite = False  # the deadline rows need rewriting (a due time moved)
        messages: list[OutboxMessage] = []
        for dl in due:
            st = rec.clocks.get(dl.clock)
            if st is None or st.run != dl.run or st.status is not Status.RUNNING:
                uow.mark_deadline(dl, "cancelled", now)
                continue
            instants = dict(self._derive(st).level_instants(st.kind))
            at = instants.get(Level(dl.level))
            if at is None or at > now:  # the calendar moved it: the rewrite below re-arms it
                uow.mark_deadline(dl, "cancelled", now)
                rewrite = True
                continue
            uow.mark_deadline(dl, "fired", now)
            esc = Escalation(case_id=rec.id, clock=dl.clock, level=dl.level, due=at, seen=now,
                             org=rec.org, item_id=rec.item_id, number=rec.number, run=dl.run)
            fired.append(esc)
            self._append(uow, rec, "escalation", None, SYSTEM, now, rec.state, rec.state,
                         {"clock": dl.clock, "level": dl.level, "due": at.isoformat(),
                          "seen": now.isoformat(), "run": dl.run})
            audience = self.settings.escalation.audience(
                dl.level, rec=rec, state_roles=defn.states[rec.state].roles,
                parent_org=self.orgs.parent(rec.org),
            )
            messages.append(OutboxMessage(
                topic="escalation", case_id=rec.id, created_at=now,
                payload={**esc.to_dict(), "item_name": defn.name, "state": rec.state,
                         "state_label": defn.label_of(rec.state), "clock_label": st.label or dl.clock,
                         "audience": audience},
            ))
            cdef = defn.clocks.get(dl.clock)
            if dl.level == Level.EXPIRED.value and cdef is not None and cdef.on_expire:
                t = defn.transition(cdef.on_expire, rec.state)
                # not allowed now (its guards or max_uses refuse it): the expiry alone is recorded
                if t is not None and t.guard_failure(rec.data) is not None:
                    t = None
                if t is not None:
                    try:
                        self._check_uses(uow, rec, t)
                    except TransitionNotAllowed:
                        t = None
                if t is not None:
                    if messages:
                        uow.add_outbox(messages)
                        messages = []
                    self._transition(uow, rec, defn, cdef.on_expire, SYSTEM, {}, now)
        if messages:
            uow.add_outbox(messages)
        self._refresh(rec, defn, now)
        uow.save_case(rec, before)
        if rewrite:
            self._write_deadlines(uow, rec, defn)
        if rec.version != before:
            if rec.parent_id is not None:  # its bundle may close now (below)
                touched.add(rec.parent_id)
            self._after_close(uow, rec, defn, now)
        return True

    # -- bundles -------------------------------------------------------------------------------

    def _after_close(self, uow: UnitOfWork, rec: CaseRecord, defn: Definition, now: datetime) -> None:
        """When a bundle's last child closes, fire the bundle's ``children_closed`` (system)."""
        if rec.parent_id is None or not defn.states[rec.state].final:
            return
        parent = uow.get_case(rec.parent_id, for_update=True)
        if parent is None:
            return
        siblings = uow.query_cases(CaseQuery(parent_id=parent.id))
        outcomes = {}
        for sib in siblings:
            s = sib if sib.id != rec.id else rec
            sdef = self.registry.get(s.item_id, s.definition_version)
            if not sdef.states[s.state].final:
                return
            outcomes[s.item_id] = s.state
        pdef = self.registry.get(parent.item_id, parent.definition_version)
        if pdef.transition("children_closed", parent.state) is None:
            return
        before = parent.version
        self._transition(uow, parent, pdef, "children_closed", SYSTEM, {"children_outcomes": outcomes}, now)
        uow.save_case(parent, before)
