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

Clocks and states merge key by key; a transition entry changes every transition with that trigger
(``source`` narrows it to one). The result is validated like a definition (a commitment beyond the
⅔ target is refused), and errors name the override file.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from .definition import Definition, parse_definition, read_yaml
from .errors import DefinitionError, Problem

_ALLOWED = {"override", "base_version", "version", "reason", "name", "legal_basis", "commitment_ratio",
            "clocks", "states", "transitions", "number_prefix", "description", "figures", "fields",
            "open_roles", "online", "item_code", "stages", "trigger_stages"}
_TRANSITION_KEYS = {"trigger", "source", "roles", "label", "requires", "fields", "extend"}


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
    if "version" in override:
        doc["version"] = override["version"]
        if not isinstance(override["version"], int) or override["version"] <= base.version:
            problems.append(Problem("version", f"a new version must be a whole number above {base.version}"))
    if problems:
        raise DefinitionError(source, problems)
    try:
        return parse_definition(doc, source=f"{source} (override of {base.source})")
    except DefinitionError as exc:
        raise DefinitionError(source, exc.problems) from None
