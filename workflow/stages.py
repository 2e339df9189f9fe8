"""Platform stages for 办件 reporting: which stage of the province's platform each step reaches. PURE.

A definition may map its states, and where a step differs from the state it enters its triggers,
to the seven stages of the integrated government-service platform (一体化政务服务平台), and name
the item's national item code (事项编码)::

    item_code: 11420000MB1234567X4000112400001   # the office's own code for this item (事项编码)
    stages:                                      # state → stage, reported on entering the state
      received: 申办
      under_review: 审批环节
      awaiting_supplement: 补正告知
      registered: 办结
    trigger_stages:                              # trigger → stage, for the steps that differ
      accept: 受理                               #   (the acceptance enters under_review)
      resubmit: 补正受理

A step is reported when it enters a mapped state (the opening enters the initial state), or when
its trigger is mapped (then that stage wins, self-loops included: an extension → 特别程序). Other
events (escalations, assignments, corrections) reach no stage. A final state maps to 办结.
``caseclock export stages`` writes the stage messages (adapters/stages.py, docs/stages.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

STAGES: dict[str, str] = {  # stage → what it records (English, for the glossary)
    "申办": "application submitted",
    "受理": "accepted",
    "审批环节": "an examination or decision step",
    "补正告知": "the applicant told to supplement",
    "补正受理": "the supplement received and accepted",
    "特别程序": "a special procedure (extension, hearing, testing, appraisal, public notice, suspension)",
    "办结": "concluded",
}
FINAL_STAGE = "办结"
ENTERING_KINDS = ("opened", "transition")  # events that enter a state
_CODE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$")


@dataclass(frozen=True)
class StageMap:
    item_code: str | None = None
    states: Mapping[str, str] = field(default_factory=dict)
    triggers: Mapping[str, str] = field(default_factory=dict)

    @property
    def mapped(self) -> bool:
        return bool(self.states or self.triggers)

    def of(self, kind: str, trigger: str | None, from_state: str | None, to_state: str | None) -> str | None:
        """The stage an event reaches, or None."""
        if trigger and trigger in self.triggers:
            return self.triggers[trigger]
        if kind in ENTERING_KINDS and to_state is not None and (kind == "opened" or to_state != from_state):
            return self.states.get(to_state)
        return None


def parse_stages(data: Mapping[str, Any], *, states: Mapping[str, Any], triggers: set[str],
                 finals: set[str], add: Callable[[str, str], None]) -> StageMap:
    """Validate ``item_code``, ``stages`` and ``trigger_stages``; report each problem with ``add``."""
    code = data.get("item_code")
    if code is not None and (not isinstance(code, str) or not _CODE.match(code)):
        add("item_code", "item_code is the item's code (事项编码): letters, digits, '.', '-' or '_', "
                         f"at most 64, got {code!r}")
        code = None
    mapped_states = _mapping(data.get("stages"), "stages", "a state", set(states), add)
    mapped_triggers = _mapping(data.get("trigger_stages"), "trigger_stages", "a trigger", triggers, add)
    for name, stage in mapped_states.items():
        if name in finals and stage != FINAL_STAGE:
            add(f"stages.{name}", f"{name} is final: its stage is {FINAL_STAGE}, not {stage}")
    return StageMap(item_code=code, states=mapped_states, triggers=mapped_triggers)


def _mapping(raw: Any, key: str, what: str, known: set[str], add: Callable[[str, str], None]) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        add(key, f"{key} maps {what} to a platform stage ({', '.join(STAGES)})")
        return {}
    out: dict[str, str] = {}
    for name, stage in raw.items():
        if str(name) not in known:
            add(f"{key}.{name}", f"unknown {what.split()[-1]} {name!r}")
        elif not isinstance(stage, str) or stage not in STAGES:
            add(f"{key}.{name}", f"unknown stage {stage!r} (one of {', '.join(STAGES)})")
        else:
            out[str(name)] = str(stage)
    return out


__all__ = ["ENTERING_KINDS", "FINAL_STAGE", "STAGES", "StageMap", "parse_stages"]
