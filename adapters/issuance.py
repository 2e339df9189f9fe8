"""When a document can be issued: each document declares the steps after which, or the states in
which, it can be issued (``documents.yaml`` beside the templates; an office's own file in its
template folder replaces entries name by name). A 决定书 is not issued before a decision, a 补正通知书
not before 补正 was asked for.

``check(rule, case, definition, events)`` says whether the document can be issued now and, when a
step allows it, which step (the latest one no correction has undone): that step dates the document
and, for a decision, says what was decided. Pure: no store, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from workflow.definition import Definition
from workflow.errors import TransitionNotAllowed
from workflow.model import Case, Event

RULES_FILE = "documents.yaml"
ANY_FINAL = "final"
SPECIAL = "special_procedure"  # a state word: while a special procedure (特别程序) is under way
OPENED = "opened"


class DocumentNotIssuable(TransitionNotAllowed):
    """The document cannot be issued in the case's present state (HTTP 409)."""

    code = "document_not_issuable"

    def __init__(self, message: str, *, document: str, title: str, reason: str,
                 after: Sequence[str] = (), states: Sequence[str] = ()) -> None:
        self.document = document
        self.title = title
        self.reason = reason  # in Chinese, for the pages
        self.after = tuple(after)
        self.states = tuple(states)
        super().__init__(message)


@dataclass(frozen=True)
class Condition:
    after: tuple[str, ...] = ()
    states: tuple[str, ...] = ()


@dataclass(frozen=True)
class IssueRule:
    """One document's rule: a title, a condition, and per-item conditions that replace it."""

    name: str
    title: str
    condition: Condition | None  # None: can be issued at any time (no declaration)
    items: Mapping[str, Condition] = field(default_factory=dict)

    def for_item(self, item_id: str) -> Condition | None:
        return self.items.get(item_id, self.condition)


@dataclass(frozen=True)
class Issuable:
    """The answer for one document and one case."""

    name: str
    title: str
    ok: bool
    event: Event | None = None  # the step that allows it (None: a state allows it, or no rule)
    reason: str = ""  # why not, in Chinese
    after: tuple[str, ...] = ()  # the steps of this item that would allow it
    states: tuple[str, ...] = ()  # the states of this item in which it could be issued


def _names(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"{where}: a list of names")
    return tuple(value)


def _condition(body: Any, where: str) -> Condition:
    if not isinstance(body, Mapping):
        raise ValueError(f"{where}: a mapping with `after` and/or `states`")
    unknown = set(body) - {"after", "states", "title", "items"}
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    return Condition(after=_names(body.get("after"), f"{where}.after"),
                     states=_names(body.get("states"), f"{where}.states"))


def parse_rules(text: str, source: str = RULES_FILE) -> dict[str, IssueRule]:
    """Rules from a ``documents.yaml`` text; a mistake is a ValueError naming file and key."""
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(raw, Mapping):
        raise ValueError(f"{source}: a mapping of document name to its rule")
    rules: dict[str, IssueRule] = {}
    for name, body in raw.items():
        where = f"{source}: {name}"
        cond = _condition(body, where)
        items_raw = body.get("items") or {}
        if not isinstance(items_raw, Mapping):
            raise ValueError(f"{where}.items: a mapping of item id to `after` / `states`")
        items = {str(k): _condition(v, f"{where}.items.{k}") for k, v in items_raw.items()}
        rules[str(name)] = IssueRule(name=str(name), title=str(body.get("title") or name), condition=cond,
                                     items=items)
    return rules


def load_rules(folders: Iterable[Path | None]) -> dict[str, IssueRule]:
    """The shipped rules, then each folder's ``documents.yaml`` (later ones replace by name)."""
    rules: dict[str, IssueRule] = {}
    for folder in folders:
        if folder is None:
            continue
        path = Path(folder) / RULES_FILE
        if path.is_file():
            rules.update(parse_rules(path.read_text(encoding="utf-8"), str(path)))
    return rules


def undone(events: Sequence[Event]) -> set[int]:
    """The sequence numbers of the steps a correction has undone."""
    out: set[int] = set()
    for e in events:
        if e.kind == "corrected" and isinstance(e.data.get("reverses"), int):
            out.add(e.data["reverses"])
    return out


def check(rule: IssueRule, case: Case, definition: Definition, events: Sequence[Event]) -> Issuable:
    cond = rule.for_item(case.item_id)
    if cond is None:
        return Issuable(rule.name, rule.title, True)
    triggers = {t.trigger for t in definition.transitions}
    after = tuple(a for a in cond.after if a == OPENED or a in triggers)
    special = SPECIAL in cond.states and any(t.special for t in definition.transitions)
    states = tuple(s for s in cond.states if s == ANY_FINAL or s in definition.states or (s == SPECIAL and special))
    reversed_ = undone(events)
    if special and _under_way(case):  # dated by, and reading, the step that started the procedure
        started = next((e for e in reversed(events) if e.seq not in reversed_ and e.kind == "transition"
                        and SPECIAL in e.data), None)
        return Issuable(rule.name, rule.title, True, event=started, after=after, states=states)
    for e in reversed(events):
        if e.seq in reversed_:
            continue
        if (e.kind == "transition" and e.trigger in after) or (e.kind == OPENED and OPENED in after):
            return Issuable(rule.name, rule.title, True, event=e, after=after, states=states)
    if case.state in states or (ANY_FINAL in states and case.final):
        return Issuable(rule.name, rule.title, True, after=after, states=states)
    return Issuable(rule.name, rule.title, False, reason=_why_not(rule, definition, after, states),
                    after=after, states=states)


def _why_not(rule: IssueRule, definition: Definition, after: tuple[str, ...], states: tuple[str, ...]) -> str:
    if not after and not states:
        return f"本事项不出具{rule.title}"
    labels = {t.trigger: (t.label or t.trigger) for t in definition.transitions}
    parts = []
    if after:
        steps = "、".join(dict.fromkeys(definition.opening_label if a == OPENED else labels.get(a, a) for a in after))
        parts.append(f"办理“{steps}”之后")
    if states:
        names = "、".join("已办结" if s == ANY_FINAL else "特别程序进行中" if s == SPECIAL else definition.label_of(s)
                         for s in states)
        parts.append(f"案件处于“{names}”时")
    return f"{rule.title}只能在{'或'.join(parts)}出具"


def _under_way(case: Case) -> bool:
    clock = case.clocks.get(SPECIAL)
    return clock is not None and clock.status == "running"


def refusal(item: Issuable, case: Case) -> DocumentNotIssuable:
    """The error for a document that cannot be issued now."""
    what = []
    if item.after:
        what.append(f"after {', '.join(item.after)}")
    if item.states:
        what.append(f"in state {', '.join(item.states)}")
    when = " or ".join(what) if what else "never for this item"
    return DocumentNotIssuable(
        f"{item.name} ({item.title}) can be issued {when}; case {case.number} is in state {case.state}",
        document=item.name, title=item.title, reason=item.reason, after=item.after, states=item.states)


__all__ = [
    "DocumentNotIssuable",
    "IssueRule",
    "Issuable",
    "check",
    "load_rules",
    "parse_rules",
    "refusal",
]
