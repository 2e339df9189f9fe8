"""一次性告知 (行政许可法第三十二条): the notice clock from receipt, and the deemed acceptance.

Materials incomplete: the office must tell the applicant everything to supplement, at once, on the
spot or within five days (working days, 第八十二条); if it does not, the application counts as
accepted from the day the materials were received. A definition opts in with one block::

    one_time_notice:
      accept: accept          # the acceptance a deemed acceptance takes (a transition out of the initial state)
      limit: 5 working days   # the default
      status: office          # a registration or filing applies the rule by the office's choice
      basis: 《中华人民共和国行政许可法》第三十二条、第八十二条

The loader turns it into a clock (``one_time_notice``, kind ``notice``: never compressed, its one
level ``deemed_accepted`` at 00:00 after the last day) that starts on receipt (the initial state)
and stops when the case first leaves it, whatever the step (acceptance, 补正 notice, refusal,
withdrawal); and into a transition ``deemed_accept`` from the initial state to the acceptance's
destination, reserved to the engine's own actor. When the clock runs out the sweep records the
level once (a breach supervisors hear of), the ``deemed_accepted`` event with the receipt day, and
takes ``deemed_accept``; clocks that start on that step count from the receipt day.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .legaltime import ClockKind
from .limits import Limit, Unit

if TYPE_CHECKING:
    from .definition import ClockDef, StateDef, TransitionDef
    from .stages import StageMap

KEY = "one_time_notice"  # the definition's block, and the clock's name
NOTICE_CLOCK = KEY
DEEMED_TRIGGER = "deemed_accept"
DEEMED_EVENT = "deemed_accepted"
DEEMED_LABEL = "逾期未一次性告知，视为自收到申请材料之日起受理"
CLOCK_LABEL = "一次性告知期限（行政许可法第三十二条）"
DEFAULT_LIMIT = Limit(5, Unit.WORKING_DAYS)
_KEYS = {"accept", "limit", "status", "basis", "label", "notes"}


def parse(c: Any, raw: Any, *, initial: str, states: dict[str, StateDef], transitions: list[TransitionDef],
          clocks: dict[str, ClockDef], kind: str, statuses: tuple[str, ...]) -> tuple[ClockDef, TransitionDef] | None:
    """The notice clock and the deemed acceptance of a definition's ``one_time_notice`` block (None
    when it has none, or has problems: each reported through ``c`` with its path)."""
    from .definition import ClockDef, TransitionDef

    raw = c.block(raw, KEY, _KEYS, "{accept, limit, status, basis}")
    if raw is None:
        return None
    ok = True
    if kind == "bundle":
        c.add(KEY, "a bundle takes no application of its own: its items carry the notice clock")
        ok = False
    lim = DEFAULT_LIMIT
    if raw.get("limit") is not None:
        parsed = c.limit(raw["limit"], f"{KEY}.limit")
        ok &= parsed is not None
        lim = parsed or lim
    status = raw.get("status")
    if status not in statuses:
        c.add(f"{KEY}.status", f"status must be one of {', '.join(statuses)} (office where the item is a registration "
              "or filing rather than a 行政许可 and the office applies 第三十二条 by its own choice)")
        ok = False
    accept = raw.get("accept")
    leaving = [t for t in transitions if initial in t.sources and t.dest != initial]
    target = next((t for t in leaving if t.trigger == accept), None)
    if target is None:
        names = ", ".join(sorted({t.trigger for t in leaving})) or "none"
        c.add(f"{KEY}.accept", f"accept names the acceptance: a transition out of the initial state {initial!r} "
              f"(one of {names}), got {accept!r}")
        ok = False
    elif states[target.dest].final:
        c.add(f"{KEY}.accept", f"{accept!r} closes the case ({target.dest}): a deemed acceptance leads to examination")
        ok = False
    if NOTICE_CLOCK in clocks:
        c.add(f"clocks.{NOTICE_CLOCK}", f"the clock name {NOTICE_CLOCK!r} is the notice clock's: rename this clock")
        ok = False
    if any(t.trigger == DEEMED_TRIGGER for t in transitions):
        c.add("transitions", f"the trigger {DEEMED_TRIGGER!r} is the deemed acceptance's: rename this transition")
        ok = False
    if not ok or target is None:
        return None
    stop = tuple(sorted({t.dest for t in leaving}))
    clock = ClockDef(
        name=NOTICE_CLOCK, limit=lim, start=initial, stop=stop, label=str(raw.get("label") or CLOCK_LABEL),
        kind=ClockKind.NOTICE, on_expire=DEEMED_TRIGGER, status=status, basis=raw.get("basis"),
    )
    deemed = TransitionDef(trigger=DEEMED_TRIGGER, sources=(initial,), dest=target.dest, label=DEEMED_LABEL,
                           roles=("system",))
    return clock, deemed


def deemed_stage(stages: StageMap, accept: str, deemed: str) -> StageMap:
    """``stages`` with the deemed acceptance reaching the platform stage the acceptance reaches
    (受理) where the file maps one for it."""
    from dataclasses import replace

    if accept not in stages.triggers or deemed in stages.triggers:
        return stages
    return replace(stages, triggers={**stages.triggers, deemed: stages.triggers[accept]})


__all__ = ["CLOCK_LABEL", "DEEMED_EVENT", "DEEMED_LABEL", "DEEMED_TRIGGER", "KEY", "NOTICE_CLOCK", "deemed_stage", "parse"]
