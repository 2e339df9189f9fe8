"""Who hears of which escalation level ("有呼必应、无事不扰": the right people, once).

An audience is a list of targets the notifier resolves against the directory of people:
``{"user": id}`` or ``{"role": r, "org": code}``.

Default ladder:

* ``warning`` → the case's assignee, else the people holding the state's roles in the case's org;
* ``expired`` (a party's or a court's period ran out) → the assignee, who must act (else the
  state's roles);
* ``overdue`` → the org's supervisors;
* ``over_statutory`` → the leaders of the org and of its parent;
* ``deemed_accepted`` (no 一次性告知 within its period: the case counts as accepted from receipt,
  行政许可法第三十二条) → the org's supervisors;
* ``overrun`` (a special procedure ran past the expected end declared at its start, 行政许可法第四十五条)
  → the assignee (else the state's roles) and the org's supervisors.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_LADDER: dict[str, tuple[str, ...]] = {
    "warning": ("assignee|state_roles",),
    "expired": ("assignee|state_roles",),
    "overdue": ("role:supervisor@org",),
    "over_statutory": ("role:leader@org", "role:leader@parent"),
    "deemed_accepted": ("role:supervisor@org",),
    "overrun": ("assignee|state_roles", "role:supervisor@org"),
}


@dataclass(frozen=True)
class EscalationPolicy:
    """``ladder`` maps a level to targets: ``assignee``, ``state_roles``, ``a|b`` (a, else b),
    ``role:<role>@org`` or ``role:<role>@parent``."""

    ladder: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_LADDER))

    def audience(
        self, level: str, *, rec: Any, state_roles: Iterable[str], parent_org: str | None
    ) -> list[dict[str, str]]:
        out: list[dict[str, str]] = []
        for spec in self.ladder.get(level, ()):
            for option in spec.split("|"):
                found = self._resolve(option.strip(), rec, tuple(state_roles), parent_org)
                if found:
                    out.extend(x for x in found if x not in out)
                    break
        return out

    @staticmethod
    def _resolve(option: str, rec: Any, state_roles: tuple[str, ...], parent_org: str | None) -> list[dict[str, str]]:
        if option == "assignee":
            return [{"user": rec.assignee}] if rec.assignee else []
        if option == "state_roles":
            return [{"role": r, "org": rec.org} for r in state_roles]
        if option.startswith("role:"):
            role, _, where = option[5:].partition("@")
            org = rec.org if where in ("", "org") else parent_org
            return [{"role": role, "org": org}] if org else []
        raise ValueError(f"unknown escalation target {option!r}")
