"""The sweep's part of the office's escalation ladder (workflow/ladder.py): who hears of a level,
the reassignment a level asks for, and the reminders while overdue. Mixed into ``Engine``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .clock_effects import ClockEffectsMixin
from .definition import Definition
from .escalation import EscalationPolicy
from .ladder import LEVEL_LABELS, reminder_day, reminder_for
from .legaltime import ClockKind, ClockState, Status
from .legaltime import Counter as _Counter
from .model import SYSTEM, CaseRecord, Deadline, Escalation, OutboxMessage
from .ports import People, UnitOfWork

ROLE_WORDS = {"clerk": "窗口人员", "examiner": "审查员", "supervisor": "科室负责人", "leader": "局领导"}
UNFILLED_NOTE = "本机构无该角色的在岗人员，未改派，已通知该角色（无人时通知上级机构）"


class LadderMixin(ClockEffectsMixin):
    """Audience, reassignment and reminders of the definition's ladder."""

    people: People | None

    def _audience(self, rec: CaseRecord, defn: Definition, st: ClockState, level: str) -> list[dict[str, str]]:
        """Who hears of ``level``: the ladder's ``notify`` for an office clock where it sets one,
        else the engine's policy."""
        policy = self.settings.escalation
        targets = defn.escalation.targets(level) if st.kind is ClockKind.OFFICE else None
        if targets is not None:
            policy = EscalationPolicy(ladder={level: targets})
        return policy.audience(level, rec=rec, state_roles=defn.states[rec.state].roles,
                               parent_org=self.orgs.parent(rec.org))

    def _reassign(self, uow: UnitOfWork, rec: CaseRecord, defn: Definition, dl: Deadline,
                  message: OutboxMessage, now: datetime) -> None:
        """The level fired asks for a reassignment (``reassign_to``): to the first active holder
        of the role in the case's org, by id, who is added to the message's audience; nobody
        holds it: recorded (``reassign_unfilled``) and the role told instead. Never raises for
        want of a person."""
        st = rec.clocks.get(dl.clock)
        role = defn.escalation.rung(dl.level).reassign_to
        if role is None or st is None or st.kind is not ClockKind.OFFICE:
            return
        audience: list[dict[str, str]] = message.payload.setdefault("audience", [])
        holders = sorted(str(p.id) for p in self._holders(uow, role, rec.org))
        why = f"{LEVEL_LABELS.get(dl.level, dl.level)}：按本局升级规则改派给{ROLE_WORDS.get(role, role)}"
        if not holders:
            self._append(uow, rec, "reassign_unfilled", None, SYSTEM, now, rec.state, rec.state, {
                "clock": dl.clock, "level": dl.level, "role": role, "org": rec.org, "note": UNFILLED_NOTE,
            })
            target = {"role": role, "org": rec.org}
            if target not in audience:
                audience.append(target)
            return
        person = holders[0]
        if {"user": person} not in audience:
            audience.append({"user": person})
        if rec.assignee == person:
            return
        old, rec.assignee = rec.assignee, person
        rec.version += 1
        self._append(uow, rec, "assigned", None, SYSTEM, now, rec.state, rec.state, {
            "from": old, "to": person, "reason": why,
            "escalation": {"clock": dl.clock, "level": dl.level, "role": role},
        })

    def _holders(self, uow: UnitOfWork, role: str, org: str) -> list[Any]:
        """Active holders of ``role`` in ``org``: read in the sweep's own unit of work where the
        directory can (``with_role_in``), else through its own connection."""
        if self.people is None:
            return []
        in_uow = getattr(self.people, "with_role_in", None)
        return list(in_uow(uow, role, org) if in_uow is not None else self.people.with_role(role, org))

    def _fire_reminder(self, uow: UnitOfWork, rec: CaseRecord, defn: Definition, dl: Deadline,
                       now: datetime) -> tuple[Escalation, OutboxMessage] | None:
        """A reminder row came due: sent once, on its own working day only, while the clock still
        runs at a level that reminds; otherwise cancelled (the rewrite that follows wants the
        next day's)."""
        st = rec.clocks.get(dl.clock)
        day = reminder_day(dl.level)
        today = now.date()
        found = None
        if (st is not None and st.run == dl.run and st.status is Status.RUNNING and st.kind is ClockKind.OFFICE
                and day == today and _Counter(self.calendar).is_workday(today)):
            derived = self._derive(st)
            instants = {lv.value: at for lv, at in derived.level_instants(st.kind)}
            found = reminder_for(defn.escalation, instants, day)
        if st is None or found is None or found[1] > now:
            uow.mark_deadline(dl, "cancelled", now)
            return None
        level, at = found
        uow.mark_deadline(dl, "fired", now)
        esc = Escalation(case_id=rec.id, clock=dl.clock, level=dl.level, due=at, seen=now,
                         org=rec.org, item_id=rec.item_id, number=rec.number, run=dl.run)
        self._append(uow, rec, "reminded", None, SYSTEM, now, rec.state, rec.state, {
            "clock": dl.clock, "level": level, "day": day.isoformat(), "due": at.isoformat(),
            "seen": now.isoformat(), "run": dl.run,
        })
        message = OutboxMessage(
            topic="reminder", case_id=rec.id, created_at=now,
            payload={**esc.to_dict(), "reminder_of": level, "day": day.isoformat(), "item_name": defn.name,
                     "state": rec.state, "state_label": defn.label_of(rec.state),
                     "clock_label": st.label or dl.clock, "audience": self._audience(rec, defn, st, level)},
        )
        return esc, message

