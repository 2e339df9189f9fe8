"""The sweep: fire every deadline level that has come due, each exactly once, in batches of
locked cases; and a bundle's closing when its last child closes. Mixed into ``Engine``."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime

from .definition import Definition
from .ladder import is_reminder
from .legaltime import Level, Status
from .model import SYSTEM, CaseRecord, Deadline, Escalation, OutboxMessage
from .orders import OrdersMixin, is_order_clock
from .pending_expiry import PendingExpiryMixin
from .ports import CaseQuery, UnitOfWork

_LEVEL_ORDER = {"warning": 0, "overdue": 1, "over_statutory": 2, "expired": 3, "deemed_accepted": 3,
                "overrun": 3}
_EXPIRING = (Level.EXPIRED.value, Level.DEEMED_ACCEPTED.value)  # levels that may take an ``on_expire`` step
_REMINDER_ORDER = 4  # a reminder row (remind:<day>: workflow/ladder.py) after the levels due with it


def _order(level: str) -> int:
    return _LEVEL_ORDER.get(level, _REMINDER_ORDER)


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


class SweepMixin(PendingExpiryMixin, OrdersMixin):
    """``Engine.sweep`` and the bundle closing that follows a child's close."""

    def sweep(self, *, batch: int | None = None) -> list[Escalation]:
        """Fire every level that has come due, each exactly once, oldest first. Party and external
        clocks' ``on_expire`` transitions run in the same unit of work (as the system actor),
        except where the last day is provisional: that expiry is held for the calendar
        (``workflow/pending_expiry.py``) and is not in the list returned."""
        size = batch or self.settings.sweep_batch
        pause = float(getattr(self.store, "sweep_pause", 0.0) or 0.0)
        fired: list[Escalation] = []
        self._release_held()  # the calendar changed: held expiries whose last day is now confirmed
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
        fired.sort(key=lambda e: (e.due, e.case_id, e.clock, _order(e.level)))
        return fired

    def _sweep_case(self, uow: UnitOfWork, rec: CaseRecord, now: datetime, fired: list[Escalation],
                    rows: list[Deadline], touched: set[str]) -> bool:
        due = sorted(rows, key=lambda d: (d.due_at, _order(d.level)))
        if not due:
            return False
        defn = self.registry.get(rec.item_id, rec.definition_version)
        before = rec.version
        rewrite = False  # the deadline rows need rewriting (a due time moved)
        messages: list[OutboxMessage] = []
        for dl in due:
            if is_order_clock(dl.clock):  # a 督办 order's reply deadline (workflow/orders.py)
                found = self._fire_order(uow, rec, defn, dl, now)
                if found is not None:
                    fired.append(found[0])
                    messages.append(found[1])
                continue
            if is_reminder(dl.level):  # the office's reminder while overdue (workflow/ladder.py)
                sent = self._fire_reminder(uow, rec, defn, dl, now)
                if sent is not None:
                    fired.append(sent[0])
                    messages.append(sent[1])
                rewrite = True  # the next working day's reminder row
                continue
            st = rec.clocks.get(dl.clock)
            if st is None or st.run != dl.run or st.status is not Status.RUNNING:
                uow.mark_deadline(dl, "cancelled", now)
                continue
            derived = self._derive(st)
            at = dict(derived.level_instants(st.kind)).get(Level(dl.level))
            if at is None or at > now:  # the calendar moved it: the rewrite below re-arms it
                uow.mark_deadline(dl, "cancelled", now)
                rewrite = True
                continue
            cdef = defn.clocks.get(dl.clock)
            expiring = dl.level in _EXPIRING and cdef is not None and bool(cdef.on_expire)
            if expiring and derived.expiry_provisional:
                # a party's right is never taken on a guess: wait for the calendar or a clerk
                notice = self._hold_expiry(uow, rec, defn, dl, at, now)
                if notice is not None:
                    messages.append(notice)
                continue
            esc, message = self._fire_level(uow, rec, defn, dl, at, now)
            self._reassign(uow, rec, defn, dl, message, now)  # the ladder's reassign_to, if any
            fired.append(esc)
            messages.append(message)
            if expiring:
                if st.awaiting_calendar:  # the calendar came and the last day has passed
                    rec.clocks[dl.clock] = replace(st, awaiting_calendar=False)
                    rec.version += 1
                t = self._expiry_transition(uow, rec, defn, dl.clock)
                if t is not None:
                    if messages:
                        uow.add_outbox(messages)
                        messages = []
                    self._transition(uow, rec, defn, t.trigger, SYSTEM, {}, now)
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
