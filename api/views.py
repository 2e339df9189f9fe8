"""JSON views of things that have no ``to_dict`` of their own: definitions and the calendar."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from workflow.definition import ClockDef, Definition, FieldSpec
from workflow.engine import Engine
from workflow.escalation import DEFAULT_LADDER
from workflow.fieldrules import max_length
from workflow.model import Actor
from workflow.special import KIND_LABELS as SPECIAL_KINDS


def _field(f: FieldSpec) -> dict[str, Any]:
    rules: dict[str, Any] = {}
    for key in ("min", "max"):
        value = getattr(f, key)
        if value is not None:
            rules[key] = value.isoformat() if isinstance(value, date) else value
    if f.past:
        rules["past"] = True
    if f.names is not None:
        rules["names"] = {"min": f.names.min, "max": f.names.max, "odd": f.names.odd}
    if max_length(f) is not None:  # declared or the type's default: every text field has one
        rules["max_length"] = max_length(f)
    return {"name": f.name, "type": f.type, "label": f.label or f.name, "required": f.required,
            "choices": list(f.choices), "rules": rules}


def _clock(c: ClockDef) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": c.name, "label": c.label or c.name, "limit": str(c.limit), "kind": c.kind.value,
        "start": c.start, "stop": list(c.stop), "step": c.step,
        "commitment": str(c.commitment) if c.commitment else None,
        "grace": str(c.grace) if c.grace else None,
        "max_extension": str(c.max_extension) if c.max_extension else None,
        "on_expire": c.on_expire, "start_from": c.start_from, "limit_status": c.status,
        "basis": c.basis,
    }
    if c.limit_choice is not None:
        out["limit_choice"] = {
            "field": c.limit_choice.field,
            "cases": {k: str(v) for k, v in c.limit_choice.cases.items()},
            "default": str(c.limit_choice.default),
        }
    return out


def definition_summary(d: Definition) -> dict[str, Any]:
    return {
        "id": d.id, "version": d.version, "name": d.name, "kind": d.kind,
        "legal_basis": list(d.legal_basis), "initial": d.initial, "main_clock": d.main_clock,
        "states": len(d.states), "transitions": len(d.transitions),
        "clocks": {c.name: str(c.limit) for c in d.clocks.values()},
    }


def definition_detail(d: Definition, versions: list[int],
                      policy: Mapping[str, tuple[str, ...]] | None = None) -> dict[str, Any]:
    """``policy``: the engine's escalation policy (``EscalationPolicy.ladder``), which fills in
    the levels the definition's ladder leaves to it (``escalation``: the ladder in force)."""
    return {
        "id": d.id, "version": d.version, "name": d.name, "kind": d.kind,
        "legal_basis": list(d.legal_basis), "description": d.description, "initial": d.initial,
        "main_clock": d.main_clock, "commitment_ratio": str(d.commitment_ratio),
        "open_roles": list(d.open_roles), "fields": [_field(f) for f in d.fields],
        "states": {
            s.name: {"label": s.label or s.name, "final": s.final, "roles": list(s.roles),
                     "pauses": list(s.pauses), "restarts": list(s.restarts),
                     "limit": str(s.limit) if s.limit else None}
            for s in d.states.values()
        },
        "transitions": [
            {"trigger": t.trigger, "label": t.label or t.trigger, "sources": list(t.sources),
             "dest": t.dest, "roles": list(t.roles), "requires": list(t.required_fields),
             "fields": [_field(f) for f in t.fields],
             "extends": {k: str(v) for k, v in t.extend.items()},
             # the kinds of 特别程序 the step starts (docs/definitions.md), with their Chinese names
             **({"special": [{"kind": k, "label": SPECIAL_KINDS.get(k, k)} for k in t.special]} if t.special else {})}
            for t in d.transitions
        ],
        "clocks": {c.name: _clock(c) for c in d.clocks.values()},
        "children": list(d.children),
        "versions": versions,
        "escalation": d.escalation.effective(policy if policy is not None else DEFAULT_LADDER),
    }


def calendar_view(engine: Engine, today: date, actor: Actor | None = None) -> dict[str, Any]:
    """Known (official), overridden and provisional years, with warnings, and how many open
    cases (in the actor's orgs) carry provisional dates."""
    cal = engine.calendar
    status = getattr(cal, "status", None)
    if status is None:  # a calendar without override support: report what it can tell
        years = {str(y): ("official" if cal.is_official(y) else "provisional")
                 for y in range(2004, today.year + 3)}
        info: dict[str, Any] = {"years": years, "overrides": {}, "strict": False, "warnings": []}
    else:
        info = dict(status(today))
        info["years"] = {str(y): s for y, s in info.get("years", {}).items()}
        info["overrides"] = {str(y): str(s) for y, s in info.get("overrides", {}).items()}
    years = info["years"]
    for y in info["overrides"]:  # an office may load a notice years ahead
        years[y] = "override"
    info["known"] = sorted(int(y) for y, s in years.items() if s == "official")
    info["overridden"] = sorted(int(y) for y, s in years.items() if s == "override")
    info["provisional"] = sorted(int(y) for y, s in years.items() if s == "provisional")
    info["strict"] = bool(info.get("strict", False))
    info["warnings"] = [str(w) for w in info.get("warnings", [])]
    summary = engine.provisional_summary(actor)
    info["provisional_cases"] = {
        "open_cases": summary["open_cases"],
        "by_year": {str(y): n for y, n in summary["by_year"].items()},
        "awaiting_calendar": summary["awaiting_calendar"],
    }
    return info
