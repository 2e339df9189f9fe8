"""Definitions: YAML → safe load → validated, frozen model.

A definition is one item or case type (see docs/definitions.md for every key). ``load_file`` and
``parse_definition`` refuse a bad file with :class:`~workflow.errors.DefinitionError` naming the
file, the field path, the line, and every problem found (not only the first).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from .certificate import step_terms as certificate_terms
from .errors import DefinitionError, Problem
from .fieldrules import NameRule
from .fieldrules import parse as parse_rules
from .joint_handling import CLOCK as JOINT_CLOCK
from .joint_handling import KEY as JOINT_KEY
from .joint_handling import parse as parse_joint
from .ladder import Ladder
from .ladder import parse as parse_ladder
from .legaltime import DEFAULT_RATIO, ClockKind, ClockSpec, WarningRule, commitment_for
from .limits import Limit, Unit, parse_ratio
from .online import OnlineTerms, parse_online
from .special import check as check_special
from .special import parse as parse_special
from .stages import StageMap, parse_stages
from .values import text_of

KINDS = ("service_item", "dispute_case", "bundle")
FIELD_TYPES = ("string", "text", "date", "integer", "number", "money", "boolean", "choice")
LIMIT_STATUSES = ("verified", "secondary", "unverified", "office")
ROLES = ("clerk", "examiner", "supervisor", "leader", "admin", "system", "portal")
# ``system`` is the engine's own actor (automatic transitions), which no caller can carry;
# ``portal`` the integrating systems (the province's portal, the OA): see workflow/authority.py
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str = "string"
    label: str = ""
    required: bool = False
    choices: tuple[str, ...] = ()
    default: Any = None
    aliases: tuple[str, ...] = ()  # other names accepted for this field (e.g. DESIGN's `notice`)
    searchable: bool = False  # a case is found by this field's value (party and applicant names)
    # field rules (workflow/fieldrules.py, docs/definitions.md "Field rules")
    min: Any = None  # a number's or a date's lower bound
    max: Any = None  # its upper bound
    past: bool = False  # a date of service or receipt: not after today, not before the case's start
    names: NameRule | None = None  # a list of names (合议组): how many, odd or not
    max_length: int | None = None  # string/text: declared most characters (None: the type's default)


@dataclass(frozen=True)
class LimitChoice:
    """A limit chosen by a data field (e.g. online vs paper filing): at clock start, and again
    when a later step gives or changes the field while the clock counts (``_follow_data`` in
    clock_effects.py)."""

    field: str
    cases: Mapping[str, Limit]
    default: Limit

    def pick(self, data: Mapping[str, Any]) -> Limit:
        return self.cases.get(str(data.get(self.field, "")), self.default)

    @property
    def longest(self) -> Limit:
        return max([self.default, *self.cases.values()], key=lambda lim: commitment_for(lim, Fraction(1)))


@dataclass(frozen=True)
class ClockDef:
    name: str
    limit: Limit
    start: str
    stop: tuple[str, ...] = ()
    label: str = ""
    kind: ClockKind = ClockKind.OFFICE
    commitment: Limit | None = None
    main: bool = False
    on_expire: str | None = None
    start_from: str | None = None
    grace: Limit | None = None
    max_extension: Limit | None = None
    status: str | None = None
    basis: str | None = None
    limit_choice: LimitChoice | None = None
    step: bool = False  # a state's own `limit`: started on entering it, stopped on leaving
    warning: WarningRule | None = None  # the escalation block's warning point (office clocks)

    def spec(self, ratio: Fraction, data: Mapping[str, Any] | None = None) -> ClockSpec:
        limit = self.limit_choice.pick(data or {}) if self.limit_choice else self.limit
        return ClockSpec(
            name=self.name,
            limit=limit,
            kind=self.kind,
            commitment=self.commitment,
            ratio=ratio,
            grace=self.grace,
            max_extension=self.max_extension,
            label=self.label,
            warning=self.warning,
        )


@dataclass(frozen=True)
class StateDef:
    name: str
    label: str = ""
    final: bool = False
    roles: tuple[str, ...] = ()
    pauses: tuple[str, ...] = ()
    restarts: tuple[str, ...] = ()
    limit: Limit | None = None
    limit_status: str | None = None
    basis: str | None = None
    certificate: bool = False  # the certificate step after a grant (行政许可法第四十四条, workflow/certificate.py)


@dataclass(frozen=True)
class TransitionDef:
    trigger: str
    sources: tuple[str, ...]
    dest: str
    label: str = ""
    roles: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    fields: tuple[FieldSpec, ...] = ()
    extend: Mapping[str, Limit] = field(default_factory=dict)
    when: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # data guards: all must hold
    unless: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # data guards: none may hold
    max_uses: int | None = None  # how many times one case may take this transition
    special: tuple[str, ...] = ()  # the kinds of 特别程序 this step starts (workflow/special.py)
    special_basis: str | None = None  # the law that keeps its time out, where not each kind's own

    def guard_failure(self, data: Mapping[str, Any], *, partial: bool = False) -> str | None:
        """Why the data guards refuse this transition, or None. With ``partial`` a ``when`` field
        that is still absent passes (it may come with the call)."""
        for name, values in self.when.items():
            if name not in data and partial:
                continue
            if _guard_value(data.get(name)) not in values:
                return f"only when {name} is {' / '.join(values)}"
        for name, values in self.unless.items():
            if _guard_value(data.get(name)) in values:
                return f"not when {name} is {_guard_value(data.get(name))}"
        return None

    @property
    def required_fields(self) -> tuple[str, ...]:
        names = list(self.requires)
        names += [f.name for f in self.fields if f.required and f.name not in names]
        return tuple(names)


def _guard_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else text_of(value)


@dataclass(frozen=True)
class Figure:
    name: str
    label: str
    field: str | None = None
    agg: str = "sum"
    values: tuple[str, ...] = ()  # count only the cases whose field has one of these (counts by kind)

    def counts(self, value: Any) -> bool:
        """Whether a case whose ``field`` holds ``value`` adds one to this ``count`` figure."""
        if self.values:
            return _guard_value(value) in self.values
        return self.field is None or not (value is None or (isinstance(value, (str, list, dict)) and not value))


OPENING_WORDS = {"service_item": "收件", "bundle": "收件", "dispute_case": "收案"}  # Definition.opening_label


@dataclass(frozen=True)
class Definition:
    id: str
    version: int
    name: str
    kind: str
    legal_basis: tuple[str, ...]
    initial: str
    states: Mapping[str, StateDef]
    transitions: tuple[TransitionDef, ...]
    clocks: Mapping[str, ClockDef]
    commitment_ratio: Fraction = DEFAULT_RATIO
    number_prefix: str = ""
    description: str = ""
    fields: tuple[FieldSpec, ...] = ()
    figures: tuple[Figure, ...] = ()
    children: tuple[str, ...] = ()
    open_roles: tuple[str, ...] = ("clerk", "admin", "portal")
    online: OnlineTerms = field(default_factory=OnlineTerms)  # the applicant's side (workflow/online.py)
    stages: StageMap = field(default_factory=StageMap)  # platform stages, item code (workflow/stages.py)
    escalation: Ladder = field(default_factory=Ladder)  # the office's ladder (workflow/ladder.py)
    source: str = ""
    content_hash: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    lines: Mapping[str, int] = field(default_factory=dict, repr=False, compare=False)  # key path → line

    def problem(self, path: str, message: str) -> Problem:
        """A problem found in this definition after it loaded (a check across files), on the
        line of ``path`` or of the nearest key above it, naming its file."""
        line, probe = self.lines.get(path), path
        while line is None and probe:
            probe = _parent(probe)
            line = self.lines.get(probe)
        return Problem(path, message, line if line is not None else 1, file=self.source or None)

    @property
    def key(self) -> tuple[str, int]:
        return (self.id, self.version)

    @cached_property
    def final_states(self) -> tuple[str, ...]:
        return tuple(n for n, s in self.states.items() if s.final)

    @cached_property
    def main_clock(self) -> str | None:
        """The clock reports use: the one marked ``main``, else the first that starts in the
        initial state and stops in the final ones."""
        for c in self.clocks.values():
            if c.main:
                return c.name
        finals = set(self.final_states)
        for c in self.clocks.values():
            if c.kind is ClockKind.OFFICE and not c.step and c.start == self.initial and finals & set(c.stop):
                return c.name
        for c in self.clocks.values():
            if c.kind is ClockKind.OFFICE and not c.step:
                return c.name
        return None

    @cached_property
    def searchable_fields(self) -> tuple[str, ...]:
        """The data fields marked ``searchable`` (opening form first, then the transitions')."""
        names: list[str] = []
        for f in (*self.fields, *(f for t in self.transitions for f in t.fields)):
            if f.searchable and f.name not in names:
                names.append(f.name)
        return tuple(names)

    def transitions_from(self, state: str) -> list[TransitionDef]:
        return [t for t in self.transitions if state in t.sources]

    def transition(self, trigger: str, state: str) -> TransitionDef | None:
        for t in self.transitions:
            if t.trigger == trigger and state in t.sources:
                return t
        return None

    def label_of(self, state: str) -> str:
        s = self.states.get(state)
        return (s.label if s else "") or state

    @cached_property
    def opening_label(self) -> str:
        """What the opening of a case is called in its history (a case's first event): the act
        its initial state names (已收到请求书 → 收到请求书, 已接收转介申请 → 接收转介申请), else the
        kind's word — 收件 for a window item or a bundle, 收案 for a dispute case. Never 立案: for a
        dispute that is a later legal step of its own."""
        label = self.label_of(self.initial)
        if label.startswith("已") and len(label) > 3 and not label.endswith("中"):
            return label[1:]
        return OPENING_WORDS.get(self.kind, OPENING_WORDS["service_item"])

    def withdrawal(self, state: str) -> bool:
        """A case closed in this state was withdrawn (by the applicant, or treated as withdrawn):
        the state is named ``withdrawn`` or is final with a label that says 撤回. Such a case is
        counted as withdrawn by the report and shown as withdrawn (SLA ``withdrawn``), never as on
        time."""
        s = self.states.get(state)
        return state == "withdrawn" or (s is not None and s.final and "撤回" in (s.label or ""))

    @cached_property
    def triggers(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for t in self.transitions:
            seen.setdefault(t.trigger)
        return tuple(seen)


# --- YAML with line numbers ----------------------------------------------------------------------


def _lines(node: yaml.Node, path: str, out: dict[str, int]) -> None:
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = str(k.value)
            sub = f"{path}.{key}" if path else key
            out[sub] = k.start_mark.line + 1
            _lines(v, sub, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            _lines(v, f"{path}[{i}]", out)


# A definition is a few thousand YAML nodes; aliases that expand past this (a "billion laughs"
# document, a self-referencing anchor) are refused before anything walks them.
MAX_YAML_NODES = 200_000


def _expands_past(node: yaml.Node, limit: int) -> bool:
    """Whether walking ``node`` (aliases followed, as ``_lines`` and the validator do) visits
    more than ``limit`` nodes. Iterative and bounded: a cycle stops at the limit too."""
    stack, seen = [node], 0
    while stack:
        n = stack.pop()
        seen += 1
        if seen > limit:
            return True
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                stack += (k, v)
        elif isinstance(n, yaml.SequenceNode):
            stack += n.value
    return False


_MERGE = "tag:yaml.org,2002:merge"


def _duplicate_keys(node: yaml.Node) -> list[Problem]:
    """Keys written twice in one mapping (``limit:`` twice): YAML keeps the last silently, so a
    second ``limit`` would replace the legal one unseen. Iterative; aliases are not followed (the
    mapping they point at is checked where it is written)."""
    problems: list[Problem] = []
    stack: list[tuple[yaml.Node, str]] = [(node, "")]
    seen_nodes: set[int] = set()
    while stack:
        n, path = stack.pop()
        if id(n) in seen_nodes:
            continue
        seen_nodes.add(id(n))
        if isinstance(n, yaml.MappingNode):
            first: dict[tuple[str, str], int] = {}
            for k, v in n.value:
                key = str(k.value) if isinstance(k, yaml.ScalarNode) else None
                sub = f"{path}.{key}" if path else str(key)
                if key is not None and k.tag != _MERGE:
                    line = k.start_mark.line + 1
                    if (k.tag, key) in first:
                        problems.append(Problem(sub, f"key {key!r} is written twice in one mapping (lines "
                                                     f"{first[(k.tag, key)]} and {line}): keep one", line))
                    else:
                        first[(k.tag, key)] = line
                stack.append((v, sub))
        elif isinstance(n, yaml.SequenceNode):
            stack += [(v, f"{path}[{i}]") for i, v in enumerate(n.value)]
    problems.sort(key=lambda p: p.line or 0)
    return problems


# libyaml's safe loader where PyYAML was built with it: the same documents, marks and errors as the
# pure-Python one, ten times faster (every process that builds an engine parses every definition)
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(text: str, source: str, problems: list[Problem] | None = None) -> tuple[Any, dict[str, int]]:
    """Safe-load YAML and map each key path to its line. Syntax errors, nesting deeper than the
    parser's stack, integers past Python's digit limit and alias bombs become DefinitionError.
    Keys written twice in one mapping are problems too: added to ``problems`` when it is given
    (the caller reports them with the rest), else raised."""
    try:
        node = yaml.compose(text, Loader=_LOADER)
        if node is not None and _expands_past(node, MAX_YAML_NODES):
            raise DefinitionError(source, [Problem("", f"the document expands to more than {MAX_YAML_NODES:,} "
                                                        "YAML nodes (aliases?)")])
        data = yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader (C or Python)
    except (RecursionError, ValueError) as exc:  # ValueError: an integer of thousands of digits
        what = "nested too deeply" if isinstance(exc, RecursionError) else str(exc).split(":")[0]
        raise DefinitionError(source, [Problem("", f"not a usable YAML document: {what}")]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise DefinitionError(source, [Problem("", f"not valid YAML: {exc.problem}", line)]) from None
    except yaml.YAMLError as exc:
        raise DefinitionError(source, [Problem("", f"not valid YAML: {exc}")]) from None
    lines: dict[str, int] = {}
    if node is not None:
        _lines(node, "", lines)
        duplicates = _duplicate_keys(node)
        if duplicates and problems is None:
            raise DefinitionError(source, duplicates)
        if problems is not None:
            problems += duplicates
    return data, lines


# --- the validator -------------------------------------------------------------------------------


def _parent(path: str) -> str:
    """``transitions[2].dest`` → ``transitions[2]`` → ``transitions`` → ``""``."""
    if path.endswith("]") and "[" in path:
        return path[: path.rindex("[")]
    return path.rsplit(".", 1)[0] if "." in path else ""


class _Collector:
    def __init__(self, lines: dict[str, int]) -> None:
        self.lines = lines
        self.problems: list[Problem] = []

    def add(self, path: str, message: str) -> None:
        """A problem at ``path``, on the line of that key or of the nearest key above it that is
        written (a missing key: its mapping's line; the document's first line at worst)."""
        line, probe = self.lines.get(path), path
        while line is None and probe:
            probe = _parent(probe)
            line = self.lines.get(probe)
        self.problems.append(Problem(path, message, line if line is not None else 1))

    def limit(self, value: Any, path: str) -> Limit | None:
        try:
            return Limit.parse(value)
        except ValueError as exc:
            self.add(path, str(exc))
            return None

    def names(self, value: Any, path: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            return (value,)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        self.add(path, f"must be a name or a list of names, got {value!r}")
        return ()

    def roles(self, value: Any, path: str) -> tuple[str, ...]:
        """A list of roles, each one the engine knows (a misspelt role would grant nothing, or
        leave a state on nobody's worklist, without a word)."""
        names = self.names(value, path)
        for r in names:
            if r not in ROLES:
                self.add(path, f"unknown role {r!r} (one of {', '.join(ROLES)})")
        return names

    def block(self, raw: Any, key: str, allowed: set[str], shape: str) -> dict[str, Any] | None:
        """A top-level block such as ``one_time_notice``: None when absent; when not a mapping,
        None with the problem (``shape`` says what it should be); else the mapping, its unknown
        keys reported."""
        if raw is None:
            return None
        if not isinstance(raw, dict):
            self.add(key, f"{key} is a mapping {shape}")
            return None
        self.keys(raw, allowed, key)
        return raw

    def keys(self, value: Mapping[str, Any], allowed: set[str], path: str) -> None:
        for k in value:
            if k not in allowed:
                self.add(f"{path}.{k}" if path else str(k), f"unknown key {k!r} (allowed: {', '.join(sorted(allowed))})")


_TOP = {
    "id", "version", "name", "kind", "legal_basis", "commitment_ratio", "initial", "states",
    "transitions", "clocks", "number_prefix", "description", "fields", "figures", "children",
    "open_roles", "status", "notes", "online", "item_code", "stages", "trigger_stages", "one_time_notice",
    "joint_handling",
    "escalation",
}
_STATE = {"label", "final", "roles", "pauses", "restarts", "limit", "limit_status", "basis", "description",
          "certificate"}
_TRANS = {
    "trigger", "source", "dest", "label", "roles", "requires", "fields", "extend", "description",
    "when", "unless", "max_uses", "extend_by", "special",
}
# what an extension (行政许可法 第四十二条) needs, implied on every transition with ``extend``: the
# reason, and the approving official unless the parties agreed it (``extend_by: agreement``)
EXTEND_BY = ("approval", "agreement")
EXTENSION_REASON = FieldSpec(name="reason", type="text", label="延期理由", required=True)
# the approving official's name or title: one line (fieldrules.MAX_LENGTH["string"])
EXTENSION_APPROVER = FieldSpec(name="approver", type="text", label="批准人", required=True, max_length=200)
EXTENSION_FIELDS = (EXTENSION_REASON.name, EXTENSION_APPROVER.name)  # given anew with each extension


def extension_fields(own: tuple[FieldSpec, ...], by: str) -> tuple[FieldSpec, ...]:
    """``own`` plus the implied reason (and approver, unless ``by`` is agreement), each required
    (a field the transition declares itself is kept, made required)."""
    implied = [EXTENSION_REASON] + ([] if by == "agreement" else [EXTENSION_APPROVER])
    names = {f.name for f in implied}
    out = [replace(f, required=True) if f.name in names else f for f in own]
    out += [f for f in implied if f.name not in {g.name for g in own}]
    return tuple(out)
_CLOCK = {
    "limit", "start", "stop", "label", "commitment", "main", "party", "external", "on_expire",
    "start_from", "grace", "max_extension", "status", "basis", "notes",
}
_FIELD = {"name", "type", "label", "required", "choices", "description", "default", "aliases", "searchable",
          "min", "max", "past", "names", "max_length"}
_FIGURE_KEYS = ("name", "label", "field", "agg", "value")


def _all_fields(data: Mapping[str, Any]) -> list[Any]:
    """The raw field specs of a file: the opening form's and every transition's."""
    out = list(data.get("fields") or []) if isinstance(data.get("fields"), list) else []
    for t in data.get("transitions") or [] if isinstance(data.get("transitions"), list) else []:
        if isinstance(t, dict) and isinstance(t.get("fields"), list):
            out += t["fields"]
    return out


def _fields(c: _Collector, value: Any, path: str) -> tuple[FieldSpec, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        c.add(path, "must be a list of fields ({name, type, label, required})")
        return ()
    out = []
    for i, f in enumerate(value):
        p = f"{path}[{i}]"
        if not isinstance(f, dict):
            c.add(p, "a field is a mapping with name, type, label, required")
            continue
        c.keys(f, _FIELD, p)
        name = f.get("name")
        if not isinstance(name, str) or not _ID.match(name):
            c.add(f"{p}.name", f"a field name is snake_case, got {name!r}")
            continue
        ftype = f.get("type", "string")
        if ftype not in FIELD_TYPES:
            c.add(f"{p}.type", f"unknown type {ftype!r} (one of {', '.join(FIELD_TYPES)})")
        searchable = f.get("searchable", False)
        if not isinstance(searchable, bool):
            c.add(f"{p}.searchable", f"searchable is true or false, got {searchable!r}")
        elif searchable and ftype not in ("string", "text"):
            c.add(f"{p}.searchable", f"only a string or text field is searchable, not a {ftype} field")
        choices = f.get("choices") or []
        if ftype == "choice" and (not isinstance(choices, list) or not choices):
            c.add(f"{p}.choices", "a choice field lists its choices")
            choices = []
        rules = parse_rules(f, str(ftype), p, c.add)
        out.append(
            FieldSpec(
                **rules,
                name=name,
                type=str(ftype),
                label=str(f.get("label", "")),
                required=bool(f.get("required", False)),
                choices=tuple(str(x) for x in choices) if isinstance(choices, list) else (),
                default=f.get("default"),
                aliases=c.names(f.get("aliases"), f"{p}.aliases"),
                searchable=searchable is True,
            )
        )
    return tuple(out)


def _limit_choice(c: _Collector, value: Mapping[str, Any], path: str) -> LimitChoice | None:
    c.keys(value, {"field", "cases", "default"}, path)
    fld, cases, default = value.get("field"), value.get("cases"), value.get("default")
    if not isinstance(fld, str):
        c.add(f"{path}.field", "name the data field that chooses the limit")
    if not isinstance(cases, dict) or not cases:
        c.add(f"{path}.cases", "map each value of the field to a limit")
        cases = {}
    parsed = {str(k): c.limit(v, f"{path}.cases.{k}") for k, v in cases.items()}
    dflt = c.limit(default, f"{path}.default") if default is not None else None
    if None in parsed.values() or not isinstance(fld, str):
        return None
    limits = {k: v for k, v in parsed.items() if v is not None}
    if dflt is None:
        dflt = max(limits.values(), key=lambda lim: commitment_for(lim, Fraction(1))) if limits else None
    if dflt is None:
        return None
    families = {lim.unit.family for lim in [dflt, *limits.values()]}
    if len(families) > 1:
        c.add(path, "all limits a field chooses between must count the same kind of days")
    return LimitChoice(field=fld, cases=limits, default=dflt)


def parse_definition(data: Any, source: str = "<definition>", lines: dict[str, int] | None = None, *,
                     problems: list[Problem] | None = None) -> Definition:
    """Validate a parsed document and build the frozen model, or raise with every problem
    (``problems``: ones found before, such as duplicated keys, reported with the rest)."""
    c = _Collector(lines or {})
    c.problems += problems or []
    if not isinstance(data, dict):
        raise DefinitionError(source, [*c.problems,
                                       Problem("", "a definition is a mapping (id, version, name, kind, states, …)", 1)])
    c.keys(data, _TOP, "")
    did = data.get("id")
    if not isinstance(did, str) or not _ID.match(did):
        c.add("id", f"id must be snake_case text, got {did!r}")
        did = str(did)
    version = data.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        c.add("version", f"version must be a whole number ≥ 1, got {version!r}")
        version = 1
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        c.add("name", "name (the item's Chinese name) is required")
        name = did
    kind = data.get("kind", "service_item")
    if kind not in KINDS:
        c.add("kind", f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    basis = data.get("legal_basis", [])
    if isinstance(basis, str):
        basis = [basis]
    if not isinstance(basis, list) or not all(isinstance(b, str) for b in basis):
        c.add("legal_basis", "legal_basis is a list of citations")
        basis = []
    ratio = DEFAULT_RATIO
    if "commitment_ratio" in data:
        try:
            ratio = parse_ratio(data["commitment_ratio"])
        except ValueError as exc:
            c.add("commitment_ratio", str(exc))

    # states
    raw_states = data.get("states")
    states: dict[str, StateDef] = {}
    if not isinstance(raw_states, dict) or not raw_states:
        c.add("states", "states is a mapping of state names to {label, final, …}")
        raw_states = {}
    for sname, sval in raw_states.items():
        p = f"states.{sname}"
        if not isinstance(sname, str) or not _ID.match(sname):
            c.add(p, f"state names are snake_case and flat (no nesting), got {sname!r}")
            continue
        if sval is None:
            sval = {}
        if not isinstance(sval, dict):
            c.add(p, "a state is a mapping {label, final, roles, pauses, restarts, limit}")
            continue
        c.keys(sval, _STATE, p)
        lim = c.limit(sval["limit"], f"{p}.limit") if sval.get("limit") is not None else None
        # 行政许可法第四十四条: a certificate step defaults to the article's limit and basis
        lim, lim_status, lim_basis = certificate_terms(sval, lim, p, c.add)
        states[sname] = StateDef(
            name=sname,
            label=str(sval.get("label", "")),
            final=bool(sval.get("final", False)),
            roles=c.roles(sval.get("roles"), f"{p}.roles"),
            pauses=c.names(sval.get("pauses"), f"{p}.pauses"),
            restarts=c.names(sval.get("restarts"), f"{p}.restarts"),
            limit=lim,
            limit_status=lim_status,
            basis=lim_basis,
            certificate=sval.get("certificate") is True,
        )
        if sval.get("limit_status") is not None and sval["limit_status"] not in LIMIT_STATUSES:
            c.add(f"{p}.limit_status", f"limit_status must be one of {', '.join(LIMIT_STATUSES)}")
    initial = data.get("initial")
    if not isinstance(initial, str) or initial not in states:
        if states:
            c.add("initial", f"initial state {initial!r} is not one of the states")
        initial = next(iter(states), "")
    finals = [s for s, v in states.items() if v.final]
    if states and not finals:
        c.add("states", "no state is final: a case could never close")

    # transitions
    raw_trans = data.get("transitions")
    transitions: list[TransitionDef] = []
    if not isinstance(raw_trans, list):
        c.add("transitions", "transitions is a list of {trigger, source, dest, roles, …}")
        raw_trans = []
    seen: dict[tuple[str, str], int] = {}
    non_final = [s for s, v in states.items() if not v.final]
    for i, t in enumerate(raw_trans):
        p = f"transitions[{i}]"
        if not isinstance(t, dict):
            c.add(p, "a transition is a mapping {trigger, source, dest}")
            continue
        c.keys(t, _TRANS, p)
        trig = t.get("trigger")
        if not isinstance(trig, str) or not _ID.match(trig):
            c.add(f"{p}.trigger", f"trigger must be snake_case, got {trig!r}")
            continue
        src = t.get("source")
        if src == "*":
            sources = tuple(non_final)
        else:
            sources = c.names(src, f"{p}.source")
            if not sources:
                c.add(f"{p}.source", "source names a state, a list of states, or \"*\"")
        for s in sources:
            if s not in states:
                c.add(f"{p}.source", f"unknown state {s!r}")
            elif (trig, s) in seen:
                c.add(f"{p}", f"trigger {trig!r} from state {s!r} is already defined by transitions[{seen[(trig, s)]}]")
            else:
                seen[(trig, s)] = i
        dest = t.get("dest")
        if not isinstance(dest, str) or dest not in states:
            c.add(f"{p}.dest", f"unknown state {dest!r}")
            dest = str(dest)
        roles = c.roles(t.get("roles"), f"{p}.roles")
        extend: dict[str, Limit] = {}
        raw_ext = t.get("extend") or {}
        if not isinstance(raw_ext, dict):
            c.add(f"{p}.extend", "extend maps a clock name to the limit it adds")
            raw_ext = {}
        for ck, cv in raw_ext.items():
            lim = c.limit(cv, f"{p}.extend.{ck}")
            if lim is not None:
                extend[str(ck)] = lim
        guards: dict[str, dict[str, tuple[str, ...]]] = {}
        for gkey in ("when", "unless"):
            raw_guard = t.get(gkey) or {}
            if not isinstance(raw_guard, dict):
                c.add(f"{p}.{gkey}", f"{gkey} maps a data field to a value or a list of values")
                raw_guard = {}
            guards[gkey] = {
                str(k): tuple(_guard_value(x) for x in (v if isinstance(v, list) else [v]))
                for k, v in raw_guard.items()
            }
        extend_by = t.get("extend_by", "approval")
        if extend_by not in EXTEND_BY:
            c.add(f"{p}.extend_by", f"extend_by is {' or '.join(EXTEND_BY)}, got {extend_by!r}")
        elif t.get("extend_by") is not None and not extend:
            c.add(f"{p}.extend_by", "extend_by only goes with extend")
        own_fields = _fields(c, t.get("fields"), f"{p}.fields")
        if extend:
            own_fields = extension_fields(own_fields, extend_by)
        special_kinds, special_basis, own_fields = parse_special(c, t.get("special"), p, own=own_fields,
                                                                 extend=bool(extend))
        max_uses = t.get("max_uses")
        if max_uses is not None and (not isinstance(max_uses, int) or isinstance(max_uses, bool) or max_uses < 1):
            c.add(f"{p}.max_uses", f"max_uses is a whole number ≥ 1, got {max_uses!r}")
            max_uses = None
        transitions.append(
            TransitionDef(
                when=guards["when"],
                unless=guards["unless"],
                max_uses=max_uses,
                trigger=trig,
                sources=tuple(sources),
                dest=dest,
                label=str(t.get("label", "")),
                roles=roles,
                requires=c.names(t.get("requires"), f"{p}.requires"),
                fields=own_fields,
                extend=extend,
                special=special_kinds,
                special_basis=special_basis,
            )
        )

    # clocks
    raw_clocks = data.get("clocks") or {}
    clocks: dict[str, ClockDef] = {}
    if not isinstance(raw_clocks, dict):
        c.add("clocks", "clocks is a mapping of clock names to {limit, start, stop}")
        raw_clocks = {}
    triggers = {t.trigger for t in transitions}
    for cname, cval in raw_clocks.items():
        p = f"clocks.{cname}"
        if not isinstance(cname, str) or not _ID.match(cname):
            c.add(p, f"clock names are snake_case, got {cname!r}")
            continue
        if not isinstance(cval, dict):
            c.add(p, "a clock is a mapping {limit, start, stop, …}")
            continue
        c.keys(cval, _CLOCK, p)
        choice = None
        raw_limit = cval.get("limit")
        if isinstance(raw_limit, dict):
            choice = _limit_choice(c, raw_limit, f"{p}.limit")
            lim = choice.longest if choice else None
        elif raw_limit is None:
            c.add(f"{p}.limit", "a clock needs a limit, e.g. '5 working days'")
            lim = None
        else:
            lim = c.limit(raw_limit, f"{p}.limit")
        start = cval.get("start")
        if not isinstance(start, str) or start not in states:
            c.add(f"{p}.start", f"unknown state {start!r}")
        stop = c.names(cval.get("stop"), f"{p}.stop")
        for s in stop:
            if s not in states:
                c.add(f"{p}.stop", f"unknown state {s!r}")
        party, external = bool(cval.get("party")), bool(cval.get("external"))
        if party and external:
            c.add(p, "a clock is party or external, not both")
        ckind = ClockKind.PARTY if party else ClockKind.EXTERNAL if external else ClockKind.OFFICE
        commitment = c.limit(cval["commitment"], f"{p}.commitment") if cval.get("commitment") is not None else None
        grace = c.limit(cval["grace"], f"{p}.grace") if cval.get("grace") is not None else None
        max_ext = c.limit(cval["max_extension"], f"{p}.max_extension") if cval.get("max_extension") is not None else None
        on_expire = cval.get("on_expire")
        if on_expire is not None and on_expire not in triggers:
            c.add(f"{p}.on_expire", f"unknown trigger {on_expire!r}")
        if on_expire is not None and ckind is ClockKind.OFFICE:
            c.add(f"{p}.on_expire", "only party and external clocks expire: mark it party: true or external: true")
        for t in transitions:
            # the sweep fires it as the system actor with no data: anything else would fail there
            if on_expire is not None and t.trigger == on_expire and (
                (t.roles and "system" not in t.roles) or t.required_fields
            ):
                c.add(f"{p}.on_expire", f"the sweep fires {on_expire!r} as the system actor with no data: "
                      "give its transitions roles [system] (or none) and no required data")
                break
        if ckind is not ClockKind.OFFICE and commitment is not None:
            c.add(f"{p}.commitment", "party and external clocks are never compressed: no commitment")
        status = cval.get("status")
        if status is not None and status not in LIMIT_STATUSES:
            c.add(f"{p}.status", f"status must be one of {', '.join(LIMIT_STATUSES)}")
        if lim is not None:
            if commitment is not None:
                if commitment.unit.family != lim.unit.family:
                    c.add(f"{p}.commitment", f"commitment {commitment} must count the same days as the limit {lim}")
                elif commitment_for(commitment, Fraction(1)) > commitment_for(lim, ratio) and not (
                    commitment.unit == lim.unit and commitment.n <= int(ratio * lim.n)
                ):
                    c.add(
                        f"{p}.commitment",
                        f"commitment {commitment} is longer than {ratio} of the statutory {lim} "
                        f"(at most {commitment_for(lim, ratio)} {'working days' if lim.unit is Unit.WORKING_DAYS else 'days'})",
                    )
            for ext_path, ext in [(f"{p}.max_extension", max_ext), (f"{p}.grace", grace)]:
                if ext is not None and ext_path.endswith("max_extension") and ext.unit.family != lim.unit.family:
                    c.add(ext_path, f"{ext} does not count the same days as the limit {lim}")
        clocks[cname] = ClockDef(
            name=cname,
            limit=lim or Limit(1, Unit.DAYS),
            start=str(start),
            stop=stop,
            label=str(cval.get("label", "")),
            kind=ckind,
            commitment=commitment,
            main=bool(cval.get("main", False)),
            on_expire=on_expire,
            start_from=cval.get("start_from"),
            grace=grace,
            max_extension=max_ext,
            status=status,
            basis=cval.get("basis"),
            limit_choice=choice,
        )
    for sname, st in states.items():
        if st.limit is not None:
            if sname in clocks:
                c.add(f"states.{sname}.limit", f"a clock named {sname!r} exists already: rename one")
            else:
                clocks[sname] = ClockDef(name=sname, limit=st.limit, start=sname, label=st.label, step=True,
                                         status=st.limit_status, basis=st.basis)
        for ck in st.pauses + st.restarts:
            if ck not in clocks and ck not in raw_clocks and not (ck == JOINT_CLOCK and data.get(JOINT_KEY) is not None):
                c.add(f"states.{sname}", f"unknown clock {ck!r} in pauses/restarts")
    from .notice_clock import deemed_stage
    from .notice_clock import parse as parse_notice  # 一次性告知: a clock and the deemed acceptance

    notice = parse_notice(c, data.get("one_time_notice"), initial=initial, states=states, transitions=transitions,
                          clocks=clocks, kind=str(kind), statuses=LIMIT_STATUSES)
    if notice is not None:
        clocks[notice[0].name] = notice[0]
        transitions.append(notice[1])
    # 统一办理、联合办理、集中办理 (行政许可法第四十二条第二款): the cap over a bundle and its extension
    joint = parse_joint(c, data.get(JOINT_KEY), initial=initial, states=states, transitions=transitions,
                        clocks=clocks, kind=str(kind), ratio=ratio, statuses=LIMIT_STATUSES)
    if joint is not None:
        clocks[joint[0].name] = joint[0]
        transitions += joint[1]
    check_special(c, states, transitions, clocks)
    if sum(1 for x in clocks.values() if x.main) > 1:
        c.add("clocks", "only one clock may be main")
    ladder = parse_ladder(data.get("escalation"), c.add)  # the office's escalation ladder
    if ladder.warning is not None:  # every office clock carries the warning point it starts with
        clocks = {n: replace(x, warning=ladder.warning) if x.kind is ClockKind.OFFICE else x
                  for n, x in clocks.items()}
    for i, t in enumerate(transitions):
        for ck, lim in t.extend.items():
            clk = clocks.get(ck)
            if clk is None:
                c.add(f"transitions[{i}].extend.{ck}", f"unknown clock {ck!r}")
            elif lim.unit.family != clk.limit.unit.family:
                c.add(f"transitions[{i}].extend.{ck}", f"{lim} does not count the same days as the limit {clk.limit}")

    # reachability: every state reachable; every non-final state can reach a final one
    if initial in states:
        graph: dict[str, set[str]] = {s: set() for s in states}
        for t in transitions:
            for s in t.sources:
                if s in graph and t.dest in states:
                    graph[s].add(t.dest)
        reach = _closure(graph, {initial})
        for s in states:
            if s not in reach:
                c.add(f"states.{s}", f"state {s!r} cannot be reached from the initial state {initial!r}")
        reverse: dict[str, set[str]] = {s: set() for s in states}
        for s, dests in graph.items():
            for d in dests:
                reverse[d].add(s)
        can_finish = _closure(reverse, set(finals))
        for s in states:
            if s in reach and s not in can_finish:
                c.add(f"states.{s}", f"no way from state {s!r} to a final state")
        for s in finals:
            if graph[s]:
                pass  # leaving a final state is allowed (e.g. reopening); it stays final while there

    fields = _fields(c, data.get("fields"), "fields")
    figures: list[Figure] = []
    for i, f in enumerate(data.get("figures") or []):
        p = f"figures[{i}]"
        if not isinstance(f, dict) or not isinstance(f.get("name"), str):
            c.add(p, "a figure is {name, label, field, agg: sum|count}")
            continue
        for key in f:
            if key not in _FIGURE_KEYS:
                c.add(f"{p}.{key}", f"unknown key {key!r} (a figure has {', '.join(_FIGURE_KEYS)})")
        agg = f.get("agg", "sum")
        if agg not in ("sum", "count"):
            c.add(f"{p}.agg", "agg is sum or count")
        values: tuple[str, ...] = ()
        if "value" in f:
            raw = f["value"] if isinstance(f["value"], list) else [f["value"]]
            if agg != "count" or not f.get("field"):
                c.add(f"{p}.value", "value counts the cases whose field has that value: it needs a field and agg: count")
            elif not raw or any(isinstance(v, (dict, list)) or v is None for v in raw):
                c.add(f"{p}.value", "value is one value or a list of values of the field")
            else:
                values = tuple(_guard_value(v) for v in raw)
                spec = next((fs for fs in _all_fields(data) if fs.get("name") == f["field"]), None)
                choices = spec.get("choices") if isinstance(spec, dict) else None
                if isinstance(choices, list) and (bad := [v for v in values if v not in map(str, choices)]):
                    c.add(f"{p}.value", f"{', '.join(map(repr, bad))} is not one of the choices of field {f['field']!r}")
        figures.append(Figure(name=f["name"], label=str(f.get("label", f["name"])), field=f.get("field"), agg=agg,
                              values=values))
    for cname, clk in clocks.items():  # the clerk chooses what chooses a limit: never a default
        if clk.limit_choice is not None:
            for i, f in enumerate(fields):
                if f.name == clk.limit_choice.field and f.default is not None:
                    c.add(f"fields[{i}].default", f"{f.name} chooses the limit of clock {cname!r}: it has no "
                          "default (a form never picks it for the clerk; while it is unknown the clock "
                          "counts the longest limit)")
    children = c.names(data.get("children"), "children")
    if kind == "bundle" and not children:
        c.add("children", "a bundle lists its child items")
    if kind != "bundle" and children:
        c.add("children", "only a bundle has children")
    open_roles = c.roles(data.get("open_roles"), "open_roles") or ("clerk", "admin", "portal")
    online = parse_online(
        data.get("online"), kind=str(kind), triggers={t.trigger for t in transitions}, add=c.add,
        applicant_triggers={t.trigger for t in transitions if not t.roles or "portal" in t.roles},
    )
    stages = parse_stages(data, states=states, triggers={t.trigger for t in transitions},
                          finals={n for n, v in states.items() if v.final}, add=c.add)
    if notice is not None:  # a deemed acceptance reaches the stage the acceptance does (受理)
        stages = deemed_stage(stages, data["one_time_notice"]["accept"], notice[1].trigger)

    if c.problems:
        raise DefinitionError(source, c.problems)
    return Definition(
        id=did,
        version=version,
        name=str(name),
        kind=str(kind),
        legal_basis=tuple(basis),
        initial=initial,
        states=states,
        transitions=tuple(transitions),
        clocks=clocks,
        commitment_ratio=ratio,
        number_prefix=str(data.get("number_prefix", "") or ""),
        description=str(data.get("description", "") or ""),
        fields=fields,
        figures=tuple(figures),
        children=children,
        open_roles=open_roles,
        online=online,
        stages=stages,
        escalation=ladder,
        source=source,
        content_hash=content_hash(data),
        raw=data,
        lines=dict(lines or {}),
    )


def _closure(graph: Mapping[str, set[str]], seeds: set[str]) -> set[str]:
    seen, todo = set(seeds), list(seeds)
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


# Reporting metadata (workflow/stages.py): how steps are reported to the platform, not what a case
# may do. Left out of the content hash, so an office adds its item codes and stages to a version
# already registered without a new version number.
REPORTING_KEYS = ("item_code", "stages", "trigger_stages")


def content_hash(data: Any) -> str:
    """A stable hash of a definition's content (key order and formatting do not matter). Left
    out: the reporting keys :data:`REPORTING_KEYS`, and a field's ``searchable`` marker (it
    changes how cases are found, not a rule: marking a field needs no new version, and a database
    that knows the unmarked file accepts the marked one)."""
    import json

    if isinstance(data, dict) and any(k in data for k in REPORTING_KEYS):
        data = {k: v for k, v in data.items() if k not in REPORTING_KEYS}
    data = _without_search_marks(data)

    try:
        text = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    except TypeError:  # keys of mixed types (YAML allows {1: a, b: c}) do not sort: as text
        text = json.dumps(_text_keys(data), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _without_search_marks(data: Any) -> Any:
    if not isinstance(data, dict):
        return data

    def strip(fields: Any) -> Any:
        if not isinstance(fields, list):
            return fields
        return [{k: v for k, v in f.items() if k != "searchable"} if isinstance(f, dict) else f for f in fields]

    out = dict(data)
    if "fields" in out:
        out["fields"] = strip(out["fields"])
    if isinstance(out.get("transitions"), list):
        out["transitions"] = [
            {**t, "fields": strip(t["fields"])} if isinstance(t, dict) and "fields" in t else t
            for t in out["transitions"]
        ]
    return out


def _text_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _text_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_text_keys(v) for v in value]
    return value


def load_text(text: str, source: str = "<definition>") -> Definition:
    found: list[Problem] = []
    data, lines = read_yaml(text, source, found)
    return parse_definition(data, source, lines, problems=found)


def load_file(path: str | Path) -> Definition:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DefinitionError(str(path), f"cannot read: {exc.strerror}") from None
    return load_text(text, str(path))


def iter_files(paths: list[str | Path] | tuple[str | Path, ...]) -> Iterator[Path]:
    """YAML files in the given files and folders (folders: *.yaml and *.yml, sorted, not recursive
    into ``overrides/``)."""
    for p in map(Path, paths):
        if p.is_dir():
            yield from sorted(x for x in p.iterdir() if x.suffix in (".yaml", ".yml") and x.is_file())
        elif p.exists():
            yield p
        else:
            raise DefinitionError(str(p), "no such file or folder")
