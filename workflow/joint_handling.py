"""统一办理、联合办理、集中办理 (行政许可法第四十二条第二款, 第二十六条第二款): the cap over a bundle
handled by several departments together.

"行政许可采取统一办理或者联合办理、集中办理的，办理的时间不得超过四十五日；四十五日内不能办结的，
经本级人民政府负责人批准，可以延长十五日，并应当将延长期限的理由告知申请人" — working days
(第八十二条). A bundle opts in with one block::

    joint_handling:
      mode: 联合办理                # 统一办理 | 联合办理 | 集中办理
      limit: 45 working days       # the default; shorter allowed, never longer
      extension:                   # the head of the people's government's approval (default as shown)
        limit: 15 working days
        roles: [leader]            # who records the approval in caseclock
        label: 经本级人民政府负责人批准延长
      status: verified
      basis: 《中华人民共和国行政许可法》第四十二条第二款

The loader turns it into a clock over the whole bundle (``joint_handling``: an office clock, from
the bundle's start, the initial state, to its final states; paused where a state of the bundle
``pauses`` it, such as an expert review 第四十五条 leaves out; compressed, warned and escalated like
any office clock; the bundle's main clock unless another is marked main) on top of each child's
own limits, and into an extension ``extend_joint_handling``: a self-loop on every non-final state,
once per case, adding the extension's limit; like every extension it needs ``reason`` and
``approver`` (the official who approved it) with the call, and the applicant is told the reason.
A bundle that declares the block has no default 一次办 clock (registry: a bundle with no clock of
its own gets one).
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any

from .legaltime import commitment_for
from .limits import Limit, Unit, within_working_days

if TYPE_CHECKING:
    from .definition import ClockDef, StateDef, TransitionDef

KEY = "joint_handling"  # the definition's block, and the clock's name
CLOCK = KEY
EXTEND_TRIGGER = "extend_joint_handling"
MODES = ("统一办理", "联合办理", "集中办理")
LIMIT = Limit(45, Unit.WORKING_DAYS)
EXTENSION = Limit(15, Unit.WORKING_DAYS)
CLOCK_LABEL = "联合办理时限（行政许可法第四十二条第二款）"
EXTEND_LABEL = "经本级人民政府负责人批准延长"
EXTEND_ROLES = ("leader",)
_KEYS = {"mode", "limit", "commitment", "extension", "status", "basis", "label", "notes"}
_EXTENSION_KEYS = {"limit", "roles", "label"}


def parse(c: Any, raw: Any, *, initial: str, states: dict[str, StateDef], transitions: list[TransitionDef],
          clocks: dict[str, ClockDef], kind: str, ratio: Fraction,
          statuses: tuple[str, ...]) -> tuple[ClockDef, list[TransitionDef]] | None:
    """The cap's clock and its extension transitions of a bundle's ``joint_handling`` block (None
    when it has none, or has problems: each reported through ``c`` with its path)."""
    from .definition import ClockDef, TransitionDef, extension_fields

    raw = c.block(raw, KEY, _KEYS, "{mode, limit, extension, status, basis}")
    if raw is None:
        return None
    problems = len(c.problems)
    if kind != "bundle":
        c.add(KEY, "only a bundle is handled jointly: its children are the departments' items")
    if raw.get("mode") not in MODES:
        c.add(f"{KEY}.mode", f"mode is one of {', '.join(MODES)} (行政许可法第二十六条第二款), got {raw.get('mode')!r}")
    limit = _at_most(c, raw.get("limit"), LIMIT, f"{KEY}.limit")
    commitment = None
    if raw.get("commitment") is not None:
        commitment = _at_most(c, raw["commitment"], limit, f"{KEY}.commitment")
        if commitment is not None and commitment.n > commitment_for(limit, ratio):
            c.add(f"{KEY}.commitment", f"commitment {commitment} is longer than {ratio} of the statutory {limit} "
                  f"(at most {commitment_for(limit, ratio)} working days)")
    ext = raw.get("extension") or {}
    if not isinstance(ext, dict):
        c.add(f"{KEY}.extension", "extension is a mapping {limit, roles, label}")
        ext = {}
    c.keys(ext, _EXTENSION_KEYS, f"{KEY}.extension")
    ext_limit = _at_most(c, ext.get("limit"), EXTENSION, f"{KEY}.extension.limit")
    roles = c.roles(ext.get("roles"), f"{KEY}.extension.roles") or EXTEND_ROLES
    status = raw.get("status")
    if status not in statuses:
        c.add(f"{KEY}.status", f"status must be one of {', '.join(statuses)}")
    if CLOCK in clocks:
        c.add(f"clocks.{CLOCK}", f"the clock name {CLOCK!r} is the joint-handling cap's: rename this clock")
    if any(t.trigger == EXTEND_TRIGGER for t in transitions):
        c.add("transitions", f"the trigger {EXTEND_TRIGGER!r} is the joint-handling extension's: rename it")
    if len(c.problems) > problems:
        return None
    finals = tuple(n for n, s in states.items() if s.final)
    clock = ClockDef(
        name=CLOCK, limit=limit, start=initial, stop=finals, label=str(raw.get("label") or CLOCK_LABEL),
        commitment=commitment, main=not any(x.main for x in clocks.values()), max_extension=ext_limit,
        status=status, basis=raw.get("basis"),
    )
    fields = extension_fields((), "approval")
    label = str(ext.get("label") or EXTEND_LABEL)
    extend = [
        TransitionDef(trigger=EXTEND_TRIGGER, sources=(name,), dest=name, label=label, roles=roles,
                      fields=fields, extend={CLOCK: ext_limit}, max_uses=1)
        for name, s in states.items() if not s.final
    ]
    return clock, extend


def _at_most(c: Any, value: Any, law: Limit, path: str) -> Limit:
    """``value`` read as a limit in working days no longer than ``law`` (``law`` when absent or
    wrong: the problem is reported)."""
    if value is None:
        return law
    lim: Limit | None = c.limit(value, path)
    if lim is None:
        return law
    if not within_working_days(lim, law):
        c.add(path, f"at most {law} (行政许可法第四十二条第二款, 第八十二条: working days), got {lim}")
        return law
    return lim


__all__ = ["CLOCK", "CLOCK_LABEL", "EXTEND_LABEL", "EXTEND_TRIGGER", "EXTENSION", "KEY", "LIMIT", "MODES", "parse"]
