"""A party's right is never taken on a guess (DESIGN rule 10; docs/escalation.md).

A party or external clock whose last day is provisional (it lies in, or was counted through, a
year whose State Council notice is not loaded) does not fire its ``on_expire`` transition when it
runs out. The sweep holds its ``expired`` deadline row instead (state ``held``: the sweep no
longer sees it), marks the clock ``awaiting_calendar`` (the worklist shows it), records an
``expiry_pending_calendar`` event and tells the clerk through the outbox. The transition fires:

* on the first sweep after the year's calendar is loaded and the recomputed last day has passed
  (the recompute sets the held row pending again at its new instant); or
* when a clerk confirms the expiry with a reason (:meth:`PendingExpiryMixin.confirm_expiry`),
  recorded as an ``expiry_confirmed`` event before the transition.

Mixed into ``Engine``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .authority import require_outside
from .definition import Definition, TransitionDef
from .errors import Forbidden, MissingData, TransitionNotAllowed
from .ladder_sweep import LadderMixin
from .legaltime import ClockKind, Level, Status
from .model import SYSTEM, Actor, Case, CaseRecord, Deadline, Escalation, OutboxMessage

HELD = "held"  # a deadline row's state while its expiry waits for the calendar
CONFIRM_ROLES = ("clerk", "supervisor", "leader", "admin")


class PendingExpiryMixin(LadderMixin):
    """Holding a provisional expiry, and firing it once confirmed."""

    if TYPE_CHECKING:  # defined by ``Engine``
        def _transition(self, uow: Any, rec: CaseRecord, defn: Definition, trigger: str,
                        actor: Actor, given: dict[str, Any], now: datetime) -> None: ...

        def _check_uses(self, uow: Any, rec: CaseRecord, t: TransitionDef) -> None: ...

        def get_case(self, case_id: str, actor: Actor | None = None) -> Case: ...

        def _after_close(self, uow: Any, rec: CaseRecord, defn: Definition, now: datetime) -> None: ...

    # -- shared with the sweep -----------------------------------------------------------------

    def _expiry_transition(self, uow: Any, rec: CaseRecord, defn: Definition, clock: str) -> TransitionDef | None:
        """The clock's ``on_expire`` transition if it may be taken now (else None: its guards or
        ``max_uses`` refuse it, or the case is in a state it does not leave)."""
        cdef = defn.clocks.get(clock)
        if cdef is None or not cdef.on_expire:
            return None
        t = defn.transition(cdef.on_expire, rec.state)
        if t is None or t.guard_failure(rec.data) is not None:
            return None
        try:
            self._check_uses(uow, rec, t)
        except TransitionNotAllowed:
            return None
        return t

    def _fire_level(self, uow: Any, rec: CaseRecord, defn: Definition, dl: Deadline, at: datetime,
                    now: datetime) -> tuple[Escalation, OutboxMessage]:
        """Mark a due row fired and record its escalation event; the outbox message to send."""
        st = rec.clocks[dl.clock]
        uow.mark_deadline(dl, "fired", now)
        esc = Escalation(case_id=rec.id, clock=dl.clock, level=dl.level, due=at, seen=now,
                         org=rec.org, item_id=rec.item_id, number=rec.number, run=dl.run)
        self._append(uow, rec, "escalation", None, SYSTEM, now, rec.state, rec.state,
                     {"clock": dl.clock, "level": dl.level, "due": at.isoformat(),
                      "seen": now.isoformat(), "run": dl.run})
        audience = self._audience(rec, defn, st, dl.level)  # the ladder's notify, else the policy
        message = OutboxMessage(
            topic="escalation", case_id=rec.id, created_at=now,
            payload={**esc.to_dict(), "item_name": defn.name, "state": rec.state,
                     "state_label": defn.label_of(rec.state), "clock_label": st.label or dl.clock,
                     "audience": audience},
        )
        return esc, message

    def _hold_expiry(self, uow: Any, rec: CaseRecord, defn: Definition, dl: Deadline, at: datetime,
                     now: datetime) -> OutboxMessage | None:
        """The period ran out on a provisional last day: hold the row, mark the clock, record it
        once (a row held again after a rewrite adds nothing); the notice to the clerk, if new."""
        uow.mark_deadline(dl, HELD, now)
        st = rec.clocks[dl.clock]
        if st.awaiting_calendar:
            return None
        rec.clocks[dl.clock] = replace(st, awaiting_calendar=True)
        rec.version += 1  # callers see the mark: their next write must reload
        derived = self._derive(st)
        cdef = defn.clocks[dl.clock]
        t = defn.transition(cdef.on_expire or "", rec.state)
        payload = {
            "clock": dl.clock, "last_day": derived.statutory_due.isoformat() if derived.statutory_due else None,
            "expires_at": at.isoformat(), "on_expire": cdef.on_expire, "run": dl.run,
        }
        self._append(uow, rec, "expiry_pending_calendar", None, SYSTEM, now, rec.state, rec.state, payload)
        audience = self.settings.escalation.audience(
            Level.EXPIRED.value, rec=rec, state_roles=defn.states[rec.state].roles,
            parent_org=self.orgs.parent(rec.org),
        )
        return OutboxMessage(
            topic="expiry_pending_calendar", case_id=rec.id, created_at=now,
            payload={**payload, "case_id": rec.id, "number": rec.number, "org": rec.org,
                     "item_id": rec.item_id, "item_name": defn.name, "state": rec.state,
                     "state_label": defn.label_of(rec.state), "clock_label": st.label or dl.clock,
                     "on_expire_label": (t.label if t is not None else "") or cdef.on_expire,
                     "seen": now.isoformat(), "audience": audience},
        )

    def _release_held(self) -> None:
        """After the calendar changed in this process (an override loaded here, taken in from
        another process, or added to the calendar directly), set the held expiries whose last
        day is now confirmed pending again at their confirmed instant, so this sweep fires those
        that have passed. One look at the held rows per calendar change (``held_case_ids``: a
        store without it relies on ``load_calendar``'s recompute alone)."""
        generation = getattr(self.calendar, "generation", None)
        if generation is None or generation == getattr(self, "_held_generation", None):
            return
        with self.store.unit_of_work() as uow:
            finder = getattr(uow, "held_case_ids", None)
            for case_id in finder() if finder is not None else ():
                rec = uow.get_case(case_id, for_update=True)
                if rec is None:
                    continue
                before, released = rec.version, False
                for name, st in list(rec.clocks.items()):
                    if st.awaiting_calendar and not self._derive(st).expiry_provisional:
                        rec.clocks[name] = replace(st, awaiting_calendar=False)
                        released = True
                if released:
                    rec.version += 1
                    uow.save_case(rec, before)
                    self._write_deadlines(uow, rec, self.registry.get(rec.item_id, rec.definition_version))
            uow.commit()
        self._held_generation = generation

    # -- the clerk's confirmation --------------------------------------------------------------

    def confirm_expiry(self, case_id: str, clock: str, *, actor: Actor, reason: str,
                       expected_version: int | None = None) -> Case:
        """Confirm that a party's (or external) period has run out although its last day is
        provisional, and fire the clock's ``on_expire`` transition now (as the engine's own
        actor, after an ``expiry_confirmed`` event naming who confirmed it and why).

        Only a clock the sweep marked ``awaiting_calendar`` can be confirmed; clerks,
        supervisors, leaders and admins may; a reason is required. Refused (case unchanged) when
        the transition is not allowed in the case's state."""
        require_outside(actor)
        if not actor.has_any(CONFIRM_ROLES):
            raise Forbidden("confirming an expiry needs the clerk, supervisor, leader or admin role")
        if not (reason or "").strip():
            raise MissingData("confirming an expiry needs a reason", {"reason": "required"})
        now = self.now()
        with self.store.unit_of_work() as uow:
            rec = self._load_for_update(uow, case_id, actor, expected_version)
            defn = self.registry.get(rec.item_id, rec.definition_version)
            st = rec.clocks.get(clock)
            if st is None or st.kind is ClockKind.OFFICE:
                raise TransitionNotAllowed(f"case {rec.number} has no party or external clock {clock!r}")
            if not st.awaiting_calendar or st.status is not Status.RUNNING:
                raise TransitionNotAllowed(
                    f"the period {st.label or clock} of case {rec.number} is not waiting for the calendar"
                )
            t = self._expiry_transition(uow, rec, defn, clock)
            if t is None:
                raise TransitionNotAllowed(
                    f"{defn.clocks[clock].on_expire!r} is not allowed while the case is "
                    f"{defn.label_of(rec.state)} ({rec.state})"
                )
            derived = self._derive(st)
            before = rec.version
            held = [d for d in uow.deadlines(rec.id)
                    if d.clock == clock and d.run == st.run
                    and d.level in (Level.EXPIRED.value, Level.DEEMED_ACCEPTED.value)
                    and d.state in (HELD, "pending")]
            messages: list[OutboxMessage] = []
            at = derived.expires_at or now
            for dl in held:
                _, message = self._fire_level(uow, rec, defn, dl, at, now)
                messages.append(message)
            self._append(uow, rec, "expiry_confirmed", None, actor, now, rec.state, rec.state, {
                "clock": clock, "reason": reason.strip(), "on_expire": t.trigger,
                "last_day": derived.statutory_due.isoformat() if derived.statutory_due else None,
                "provisional": derived.expiry_provisional,
            })
            if messages:
                uow.add_outbox(messages)
            rec.clocks[clock] = replace(st, awaiting_calendar=False)
            self._transition(uow, rec, defn, t.trigger, SYSTEM, {}, now)
            uow.save_case(rec, before)
            self._after_close(uow, rec, defn, now)
            uow.commit()
        self._deadlines_changed()
        return self.get_case(case_id)

