"""An office's own changes to a shipped definition, without editing the shipped file.

An override file names the definition it changes and only what it changes::

    override: patent_pledge_registration   # the definition id
    base_version: 1                        # optional: the version it applies to (default: newest)
    version: 2                             # optional: publish the result as this new version
    reason: 本局对外承诺2个工作日办结
    name: 专利权质押登记（本局）
    item_code: 11420000MB1234567X4000112400001   # this office's 事项编码 (docs/stages.md)
    clocks:
      handling: {commitment: 2 working days}
    states:
      under_review: {label: 审核中, roles: [examiner, clerk]}
    transitions:
      - {trigger: approve, roles: [examiner, leader], label: 准予登记}
    field_rules:                           # rules added to a field (the opening form's and any
      secured_amount: {max: 500000000}     # transition's field of that name)
      pledgor: {required: true}
    escalation:                            # the ladder (workflow/ladder.py), merged level by level
      warning: {before_commitment: 2 working days}
      overdue: {remind: "working days 09:00", notify: [assignee, supervisor]}

Clocks and states merge key by key; a transition entry changes every transition with that trigger
(``source`` narrows it to one). An office adds field rules but never loosens the law's: a field's
bounds, ``past``, ``names`` and ``required``, and a transition's required data, stay at least as
strict as the shipped definition's (docs/definitions.md, "Field rules"); an escalation ladder may
warn earlier, remind and tell more, never less (``workflow.ladder.loosened``).
The result is validated like a definition (a commitment beyond the
⅔ target is refused), and errors name the override file.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from .definition import Definition, parse_definition, read_yaml
from .errors import DefinitionError, Problem
from .fieldrules import RULE_KEYS, loosened
from .ladder import loosened as ladder_loosened
from .ladder import merge as ladder_merge

_ALLOWED = {"override", "base_version", "version", "reason", "name", "legal_basis", "commitment_ratio",
            "clocks", "states", "transitions", "number_prefix", "description", "figures", "fields",
            "open_roles", "online", "item_code", "stages", "trigger_stages", "field_rules", "escalation"}
_TRANSITION_KEYS = {"trigger", "source", "roles", "label", "requires", "fields", "extend", "extend_by"}


def read_override(path: str | Path) -> tuple[dict[str, Any], str]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DefinitionError(str(path), f"cannot read: {exc.strerror}") from None
    data, _lines = read_yaml(text, str(path))
    if not isinstance(data, dict) or not isinstance(data.get("override"), str):
        raise DefinitionError(str(path), [Problem("override", "an override file names the definition id it changes", 1)])
    return data, str(path)


def apply_override(base: Definition, override: dict[str, Any], source: str) -> Definition:
    """Merge ``override`` into ``base``'s document and validate the result."""
    problems: list[Problem] = []
    for key in override:
        if key not in _ALLOWED:
            problems.append(Problem(str(key), f"an override cannot change {key!r} "
                                    f"(allowed: {', '.join(sorted(_ALLOWED - {'override'}))})"))
    doc = copy.deepcopy(dict(base.raw))
    for key in ("name", "legal_basis", "commitment_ratio", "number_prefix", "description", "figures",
                "fields", "open_roles", "online", "item_code"):
        if key in override:
            doc[key] = copy.deepcopy(override[key])
    for key in ("stages", "trigger_stages"):  # 办件 reporting (workflow/stages.py): merged name by name
        if isinstance(override.get(key), dict) and isinstance(doc.get(key, {}), dict):
            doc[key] = {**(doc.get(key) or {}), **copy.deepcopy(override[key])}
        elif key in override:
            doc[key] = copy.deepcopy(override[key])  # the validator names what is wrong with it
    if "escalation" in override:  # the ladder (workflow/ladder.py): merged level by level, key by key
        doc["escalation"] = ladder_merge(copy.deepcopy(doc.get("escalation")), copy.deepcopy(override["escalation"]))
    for section in ("clocks", "states"):
        changes = override.get(section) or {}
        if not isinstance(changes, dict):
            problems.append(Problem(section, f"{section} maps names to the keys to change"))
            continue
        current = doc.setdefault(section, {})
        for name, patch in changes.items():
            if name not in current:
                problems.append(Problem(f"{section}.{name}", f"{base.id} has no {section[:-1]} {name!r}"))
            elif not isinstance(patch, dict):
                problems.append(Problem(f"{section}.{name}", "give the keys to change as a mapping"))
            else:
                current[name] = {**(current[name] or {}), **copy.deepcopy(patch)}
    raw_transitions = override.get("transitions") or []
    if not isinstance(raw_transitions, list):
        problems.append(Problem("transitions", "transitions is a list of {trigger, …} changes"))
        raw_transitions = []
    for i, patch in enumerate(raw_transitions):
        path = f"transitions[{i}]"
        if not isinstance(patch, dict) or not isinstance(patch.get("trigger"), str):
            problems.append(Problem(path, "a transition override names its trigger"))
            continue
        bad = set(patch) - _TRANSITION_KEYS
        if bad:
            problems.append(Problem(path, f"an override cannot change {', '.join(sorted(bad))} of a transition"))
            continue
        hits = [
            t for t in doc.get("transitions", [])
            if t.get("trigger") == patch["trigger"] and ("source" not in patch or t.get("source") == patch["source"])
        ]
        if not hits:
            problems.append(Problem(f"{path}.trigger", f"{base.id} has no transition {patch['trigger']!r}"))
        for t in hits:
            t.update({k: copy.deepcopy(v) for k, v in patch.items() if k not in ("trigger", "source")})
    _add_field_rules(doc, override.get("field_rules"), problems)
    if "version" in override:
        doc["version"] = override["version"]
        if not isinstance(override["version"], int) or override["version"] <= base.version:
            problems.append(Problem("version", f"a new version must be a whole number above {base.version}"))
    if problems:
        raise DefinitionError(source, problems)
    try:
        result = parse_definition(doc, source=f"{source} (override of {base.source})")
    except DefinitionError as exc:
        raise DefinitionError(source, exc.problems) from None
    problems += _loosenings(base, result)
    problems += [Problem(path, message) for path, message in ladder_loosened(base.escalation, result.escalation)]
    if problems:
        raise DefinitionError(source, problems)
    return result


def _add_field_rules(doc: dict[str, Any], rules: Any, problems: list[Problem]) -> None:
    """``field_rules: {field: {min, max, past, names, required}}`` merged into every field of that
    name (the validator then checks the keys like any field's)."""
    if rules is None:
        return
    if not isinstance(rules, dict):
        problems.append(Problem("field_rules", "field_rules maps a field name to the rules it adds"))
        return
    specs = [f for f in doc.get("fields") or [] if isinstance(f, dict)]
    for t in doc.get("transitions") or []:
        if isinstance(t, dict):
            specs += [f for f in t.get("fields") or [] if isinstance(f, dict)]
    for name, patch in rules.items():
        path = f"field_rules.{name}"
        if not isinstance(patch, dict):
            problems.append(Problem(path, "give the rules to add as a mapping"))
            continue
        bad = sorted(set(map(str, patch)) - {*RULE_KEYS, "required"})
        if bad:
            problems.append(Problem(path, f"an override adds only rules ({', '.join((*RULE_KEYS, 'required'))}), "
                                          f"not {', '.join(bad)}"))
            continue
        hits = [f for f in specs if f.get("name") == name]
        if not hits:
            problems.append(Problem(path, f"{doc.get('id')} has no field {name!r}"))
        for f in hits:
            f.update(copy.deepcopy(patch))


def _loosenings(base: Definition, result: Definition) -> list[Problem]:
    """Where the override makes the law's field rules or required data looser."""
    out: list[Problem] = []
    mine = {f.name: f for f in result.fields}
    for f in base.fields:
        for why in loosened(f, mine.get(f.name)):
            out.append(Problem(f"fields.{f.name}", f"an override cannot loosen the law's rule: it {why}"))
    for i, t in enumerate(base.transitions):
        new = result.transitions[i] if i < len(result.transitions) else None
        if new is None or new.trigger != t.trigger:
            continue
        theirs = {f.name: f for f in new.fields}
        for f in t.fields:
            for why in loosened(f, theirs.get(f.name)):
                out.append(Problem(f"transitions.{t.trigger}.fields.{f.name}",
                                   f"an override cannot loosen the law's rule: it {why}"))
        dropped = [n for n in t.required_fields if n not in new.required_fields]
        if dropped:
            out.append(Problem(f"transitions.{t.trigger}.requires",
                               f"an override cannot drop required data: {', '.join(dropped)}"))
    return out
