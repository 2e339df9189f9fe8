"""The escalation ladder an office sets (issue 18 part 7). PURE.

A definition (or an office's override of it) may carry one block; every key is optional and the
defaults keep the engine's behaviour of before (warning one working day before the commitment's
last day, each level once to the engine's ``EscalationPolicy`` audience, no reminders, no
reassignment)::

    escalation:
      warning: {before_commitment: 2 working days, notify: [assignee]}   # or {share_of_commitment: 0.75}
      overdue: {remind: "working days 09:00", notify: [assignee, supervisor]}
      over_statutory: {notify: [supervisor, leader], reassign_to: supervisor}

* ``warning``: when an office clock turns yellow (``legaltime.WarningRule``: carried by every
  office clock the definition starts, so a running case keeps the point it started with);
* ``notify``: who hears of the level, by name (:data:`NOTIFY`), instead of the engine's policy;
* ``remind``: while the clock is at that level or worse, a reminder each working day of the
  official calendar at that time (Asia/Shanghai), once per (case, clock, run, working day): a
  deadline row of level ``remind:<day>``; a reminder not sent on its day (the service was down)
  is not sent later, the day's own is; the level reached last that has ``remind`` decides the
  time and who hears it;
* ``reassign_to``: when the level fires, the case is reassigned to the first (by id) active
  person holding that role in the case's org (an ``assigned`` event by the engine), who is told
  with the level's audience; nobody holds it: a ``reassign_unfilled`` event, and the role is added
  to the audience (the notifier climbs the org tree to the nearest holder: 有呼必应).

An override may tighten the ladder but never loosen it (:func:`loosened`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from fractions import Fraction
from typing import Any

from .legaltime import TZ, WarningRule
from .limits import Limit, Unit, within_working_days

KEY = "escalation"
LEVELS = ("warning", "overdue", "over_statutory")
LEVEL_LABELS = {"warning": "黄色预警", "overdue": "超承诺时限", "over_statutory": "超法定时限"}
WARNING_MOST = Limit(60, Unit.WORKING_DAYS)  # the longest before_commitment a ladder may write
# a name in ``notify`` → the EscalationPolicy targets it stands for
NOTIFY: dict[str, tuple[str, ...]] = {
    "assignee": ("assignee|state_roles",),  # the case's assignee, else the state's roles in the org
    "handlers": ("state_roles",),  # the people holding the state's roles in the case's org
    "supervisor": ("role:supervisor@org",),
    "leader": ("role:leader@org", "role:leader@parent"),
}
NOTIFY_LABELS = {"assignee": "承办人", "handlers": "本环节办理人员", "supervisor": "科室负责人",
                 "leader": "本级及上级局领导"}
REASSIGN_ROLES = ("clerk", "examiner", "supervisor", "leader")
_LEVEL_KEYS = {
    "warning": {"before_commitment", "share_of_commitment", "notify"},
    "overdue": {"notify", "remind", "reassign_to"},
    "over_statutory": {"notify", "remind", "reassign_to"},
}
_REMIND = re.compile(r"^working days (\d{1,2}):(\d{2})$")
REMIND_FORM = '"working days HH:MM" (each working day of the official calendar at that time, Asia/Shanghai)'
REMIND_PREFIX = "remind:"  # a reminder's deadline row: level remind:<YYYY-MM-DD>


@dataclass(frozen=True)
class Rung:
    """What one level does beyond being recorded once."""

    notify: tuple[str, ...] | None = None  # names of NOTIFY; None: the engine's policy
    remind: time | None = None  # each working day at this time while at this level or worse
    reassign_to: str | None = None  # a role

    def to_dict(self) -> dict[str, Any]:
        return {"notify": list(self.notify) if self.notify is not None else None,
                "remind": f"working days {self.remind:%H:%M}" if self.remind else None,
                "reassign_to": self.reassign_to}


@dataclass(frozen=True)
class Ladder:
    """A definition's escalation block, parsed (the empty one: today's behaviour)."""

    warning: WarningRule | None = None
    rungs: Mapping[str, Rung] = field(default_factory=dict)

    def rung(self, level: str) -> Rung:
        return self.rungs.get(level) or Rung()

    def targets(self, level: str) -> tuple[str, ...] | None:
        """The policy targets of the level's ``notify`` (None: the engine's policy decides)."""
        names = self.rung(level).notify
        if names is None:
            return None
        out: list[str] = []
        for n in names:
            out.extend(t for t in NOTIFY[n] if t not in out)
        return tuple(out)

    @property
    def reminds(self) -> bool:
        return any(r.remind is not None for r in self.rungs.values())

    def effective(self, policy: Mapping[str, tuple[str, ...]]) -> dict[str, Any]:
        """The ladder in force, defaults filled in (the definition page and API)."""
        w = self.warning or WarningRule()
        out: dict[str, Any] = {}
        for level in LEVELS:
            r = self.rung(level)
            entry: dict[str, Any] = {
                "label": LEVEL_LABELS[level],
                "notify": list(r.notify) if r.notify is not None else None,
                "audience": list(self.targets(level) or policy.get(level, ())),
            }
            if level == "warning":
                if w.share is not None:
                    entry["share_of_commitment"] = float(w.share)
                else:
                    entry["before_commitment"] = str(Limit(w.before, Unit.WORKING_DAYS))
                entry["default"] = self.warning is None and r.notify is None
            else:
                entry.update(remind=r.to_dict()["remind"], reassign_to=r.reassign_to,
                             default=r == Rung())
            out[level] = entry
        return out


def reminder_level(day: date) -> str:
    return f"{REMIND_PREFIX}{day.isoformat()}"


def is_reminder(level: str) -> bool:
    return level.startswith(REMIND_PREFIX)


def reminder_day(level: str) -> date:
    return date.fromisoformat(level[len(REMIND_PREFIX):])


def reminder_at(day: date, at: time) -> datetime:
    return datetime.combine(day, at, TZ)


def reminder_for(ladder: Ladder, instants: Mapping[str, datetime], day: date) -> tuple[str, datetime] | None:
    """Which level's reminder is sent on ``day`` and when: the last level that sets ``remind``
    and has been reached by its own reminder time that day (None: no reminder that day)."""
    found = None
    for level in LEVELS:
        r = ladder.rung(level)
        at = instants.get(level)
        if r.remind is None or at is None:
            continue
        when = reminder_at(day, r.remind)
        if at <= when:
            found = (level, when)
    return found


def next_reminders(ladder: Ladder, instants: Mapping[str, datetime], today: date,
                   is_workday: Callable[[date], bool], count: int = 2) -> list[tuple[date, str, datetime]]:
    """The reminder rows a running clock wants: its next ``count`` reminder days from ``today``
    on (working days only), each with its level and instant. Today's is among them even when its
    time has passed: once fired its row stays fired, and a rewrite never sends it again."""
    firsts = [instants[lv] for lv in LEVELS if ladder.rung(lv).remind is not None and lv in instants]
    if not firsts:
        return []
    day = max(today, min(firsts).astimezone(TZ).date())
    out: list[tuple[date, str, datetime]] = []
    for _ in range(400):  # a year of days at most: a calendar with no working day is broken
        if is_workday(day):
            found = reminder_for(ladder, instants, day)
            if found is not None:
                out.append((day, found[0], found[1]))
                if len(out) == count:
                    break
        day = date.fromordinal(day.toordinal() + 1)
    return out


def parse(raw: Any, add: Callable[[str, str], None]) -> Ladder:
    """The ``escalation`` block, each problem reported through ``add(path, message)``."""
    if raw is None:
        return Ladder()
    if not isinstance(raw, Mapping):
        add(KEY, "escalation is a mapping {warning, overdue, over_statutory}")
        return Ladder()
    for k in raw:
        if k not in LEVELS:
            add(f"{KEY}.{k}", f"unknown level {k!r} (allowed: {', '.join(LEVELS)})")
    warning: WarningRule | None = None
    rungs: dict[str, Rung] = {}
    for level in LEVELS:
        if level not in raw:
            continue
        p = f"{KEY}.{level}"
        value = raw[level]
        if not isinstance(value, Mapping):
            add(p, f"{level} is a mapping of {', '.join(sorted(_LEVEL_KEYS[level]))}")
            continue
        for k in value:
            if k not in _LEVEL_KEYS[level]:
                add(f"{p}.{k}", f"unknown key {k!r} (allowed: {', '.join(sorted(_LEVEL_KEYS[level]))})")
        if level == "warning":
            warning = _warning(value, p, add)
        rungs[level] = Rung(
            notify=_notify(value["notify"], f"{p}.notify", add) if "notify" in value else None,
            remind=_remind(value["remind"], f"{p}.remind", add) if value.get("remind") is not None else None,
            reassign_to=_role(value["reassign_to"], f"{p}.reassign_to", add)
            if value.get("reassign_to") is not None else None,
        )
    return Ladder(warning=warning, rungs={k: v for k, v in rungs.items() if v != Rung()})


def _warning(value: Mapping[str, Any], p: str, add: Callable[[str, str], None]) -> WarningRule | None:
    has_before, has_share = "before_commitment" in value, "share_of_commitment" in value
    if has_before and has_share:
        add(p, "give before_commitment or share_of_commitment, not both")
        return None
    if has_before:
        raw = value["before_commitment"]
        try:
            lim = Limit.parse(raw)
        except ValueError as exc:
            add(f"{p}.before_commitment", str(exc))
            return None
        if lim.n < 1 or not within_working_days(lim, WARNING_MOST):
            add(f"{p}.before_commitment", f"before_commitment is 1 to {WARNING_MOST.n} working days (\"2 working days\"), got {raw!r}")
            return None
        return WarningRule(before=lim.n)
    if has_share:
        raw = value["share_of_commitment"]
        share: Fraction | None = None
        if isinstance(raw, (int, float, str)) and not isinstance(raw, bool):
            try:
                share = Fraction(str(raw)).limit_denominator(1000)
            except (ValueError, ZeroDivisionError):
                share = None
        if share is None or not 0 < share < 1:
            add(f"{p}.share_of_commitment", f"share_of_commitment is a number between 0 and 1 (0.75), got {raw!r}")
            return None
        return WarningRule(share=share)
    return None


def _notify(raw: Any, p: str, add: Callable[[str, str], None]) -> tuple[str, ...] | None:
    names = [raw] if isinstance(raw, str) else raw
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        add(p, f"notify is a list of {', '.join(NOTIFY)} (at least one), got {raw!r}")
        return None
    bad = [n for n in names if n not in NOTIFY]
    if bad:
        add(p, f"unknown {', '.join(map(repr, bad))} in notify (allowed: {', '.join(NOTIFY)})")
        return None
    return tuple(dict.fromkeys(names))


def _remind(raw: Any, p: str, add: Callable[[str, str], None]) -> time | None:
    m = _REMIND.match(raw.strip()) if isinstance(raw, str) else None
    if m is None or int(m[1]) > 23 or int(m[2]) > 59:
        add(p, f"remind is {REMIND_FORM}, got {raw!r}")
        return None
    return time(int(m[1]), int(m[2]))


def _role(raw: Any, p: str, add: Callable[[str, str], None]) -> str | None:
    if raw not in REASSIGN_ROLES:
        add(p, f"reassign_to is a role ({', '.join(REASSIGN_ROLES)}), got {raw!r}")
        return None
    return str(raw)


def loosened(base: Ladder, new: Ladder) -> list[tuple[str, str]]:
    """Where an override's ladder is looser than the definition's: a later warning (of the same
    form: N working days against N, share against share), a reminder dropped, someone the
    definition names no longer told, a reassignment dropped."""
    out: list[tuple[str, str]] = []
    bw, nw = base.warning or WarningRule(), new.warning or WarningRule()
    if bw.share is None and nw.share is None and nw.before < bw.before:
        out.append((f"{KEY}.warning.before_commitment",
                    f"an override cannot warn later than the definition ({bw.before} working days before)"))
    if bw.share is not None and nw.share is not None and nw.share > bw.share:
        out.append((f"{KEY}.warning.share_of_commitment",
                    f"an override cannot warn later than the definition (at {float(bw.share)})"))
    for level in LEVELS:
        b, n = base.rung(level), new.rung(level)
        if b.notify is not None:
            dropped = [x for x in b.notify if x not in (n.notify or ())]
            if dropped:
                out.append((f"{KEY}.{level}.notify", f"an override cannot stop telling {', '.join(dropped)}"))
        if b.remind is not None and n.remind is None:
            out.append((f"{KEY}.{level}.remind", "an override cannot drop the definition's reminders"))
        if b.reassign_to is not None and n.reassign_to is None:
            out.append((f"{KEY}.{level}.reassign_to", "an override cannot drop the definition's reassignment"))
    return out


def merge(base: Any, patch: Any) -> Any:
    """An override's ``escalation`` block over the definition's, level by level, key by key (a
    new warning point replaces the other form)."""
    if not isinstance(base, Mapping) or not isinstance(patch, Mapping):
        return patch if patch is not None else base
    out = {k: dict(v) if isinstance(v, Mapping) else v for k, v in base.items()}
    for level, change in patch.items():
        cur = out.get(level)
        if isinstance(cur, dict) and isinstance(change, Mapping):
            if level == "warning" and ({"before_commitment", "share_of_commitment"} & set(change)):
                cur.pop("before_commitment", None)
                cur.pop("share_of_commitment", None)
            cur.update(change)
        else:
            out[level] = change
    return out


__all__ = [
    "KEY", "LEVELS", "LEVEL_LABELS", "NOTIFY", "NOTIFY_LABELS", "REASSIGN_ROLES", "Ladder", "Rung",
    "is_reminder", "loosened", "merge", "next_reminders", "parse", "reminder_at", "reminder_day", "reminder_for",
    "reminder_level",
]
