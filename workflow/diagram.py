"""Diagrams rendered from a definition (pure: a definition in, text out).

``to_mermaid(definition)`` draws a Mermaid ``stateDiagram-v2``: the states with their Chinese
labels, the transitions (trigger, label, roles, the data they require, the extensions they
grant), the final states, a note on each state that pauses or restarts a clock or has its own
step limit, and a note listing the clocks with their limits and commitments. The text renders on
GitHub, in the Mermaid live editor and in the web pages, with no system packages.
``to_dot(definition)`` is the same picture as graphviz source (SVG where ``dot`` is installed).
``limits_table(definition)`` is the clocks as a Markdown table. ``mermaid`` is ``to_mermaid``.
"""

from __future__ import annotations

from fractions import Fraction

from .definition import ClockDef, Definition, TransitionDef
from .legaltime import ClockKind, commitment_for
from .limits import Limit, Unit

_UNSAFE = str.maketrans({'"': "'", ";": ",", "#": "＃", "\n": " ", "\r": " ", "{": "(", "}": ")"})
_KIND = {ClockKind.PARTY: "当事人期间 party", ClockKind.EXTERNAL: "外部期间 external",
         ClockKind.NOTICE: "一次性告知 notice"}


def _esc(text: str) -> str:
    """Text safe inside a Mermaid label (no quotes, semicolons, hashes or line breaks)."""
    return str(text).translate(_UNSAFE).strip()


def _limit_text(c: ClockDef) -> str:
    if c.limit_choice is not None:
        parts = [f"{k}: {v}" for k, v in c.limit_choice.cases.items()]
        return f"{' / '.join(parts)} (by {c.limit_choice.field})"
    return str(c.limit)


def commitment_text(defn: Definition, c: ClockDef) -> str:
    """The commitment (承诺时限) as the engine derives it: the clock's own, else floor(ratio ×
    units), at least 1; month limits as about that many natural days (fixed at the start)."""
    if c.kind is not ClockKind.OFFICE:
        return "—（不压缩）"
    limits = list(c.limit_choice.cases.values()) if c.limit_choice else [c.limit]
    out = []
    for lim in limits:
        ratio = defn.commitment_ratio if c.commitment is None else Fraction(1)
        units = commitment_for(c.commitment or lim, ratio)
        unit = Unit.WORKING_DAYS if lim.unit is Unit.WORKING_DAYS else Unit.DAYS
        out.append(("≈" if lim.unit is Unit.MONTHS else "") + str(Limit(units, unit)))
    return " / ".join(out)


def _clock_line(defn: Definition, c: ClockDef) -> str:
    label = f" {c.label}" if c.label and c.label != c.name else ""
    parts = [f"{c.name}{label}: {_limit_text(c)}"]
    parts.append(_KIND.get(c.kind, f"commitment {commitment_text(defn, c)}"))
    if c.start_from:
        parts.append(f"from data.{c.start_from}")
    if c.grace is not None:
        parts.append(f"grace {c.grace}")
    if c.max_extension is not None:
        parts.append(f"extension ≤ {c.max_extension}")
    if c.on_expire:
        parts.append(f"on expiry {c.on_expire}")
    where = "step" if c.step else f"{c.start} → {', '.join(c.stop) or '—'}"
    parts.append(where)
    if c.status:
        parts.append(c.status)
    return ", ".join(parts)


def _state_notes(defn: Definition, name: str) -> list[str]:
    s = defn.states[name]
    lines = []
    if s.pauses:
        lines.append("暂停 pauses: " + ", ".join(s.pauses))
    if s.restarts:
        lines.append("重新计算 restarts: " + ", ".join(s.restarts))
    if s.limit is not None:
        step = defn.clocks.get(name)
        commit = commitment_text(defn, step) if step is not None else ""
        lines.append(f"步骤时限 step limit: {s.limit}" + (f", commitment {commit}" if commit else ""))
    return lines


def _edge_text(t: TransitionDef) -> str:
    text = t.trigger + (f" {t.label}" if t.label else "")
    if t.roles:
        text += f" [{', '.join(t.roles)}]"
    if t.required_fields:
        text += f" needs {', '.join(t.required_fields)}"
    if t.extend:
        text += " extends " + ", ".join(f"{k} +{v}" for k, v in t.extend.items())
    return text


def to_mermaid(defn: Definition) -> str:
    """The definition as a Mermaid ``stateDiagram-v2`` (deterministic: same input, same text)."""
    out: list[str] = [
        "stateDiagram-v2",
        f"    %% {_esc(defn.id)} v{defn.version}: {_esc(defn.name)} ({defn.kind})",
    ]
    for name, s in defn.states.items():
        label = _esc(s.label or name)
        if s.roles:
            label += f" ({_esc(', '.join(s.roles))})"
        out.append(f'    state "{label}" as {name}')
    out.append(f"    [*] --> {defn.initial}")
    for t in defn.transitions:
        for src in t.sources:
            out.append(f"    {src} --> {t.dest}: {_esc(_edge_text(t))}")
    for name in defn.final_states:
        out.append(f"    {name} --> [*]")
    for name in defn.states:
        lines = _state_notes(defn, name)
        if lines:
            out.append(f"    note right of {name}")
            out.extend(f"        {_esc(line)}" for line in lines)
            out.append("    end note")
    clocks = [c for c in defn.clocks.values() if not c.step]
    if clocks:
        out.append(f"    note left of {defn.initial}")
        out.append("        时限 clocks")
        out.extend(f"        {_esc(_clock_line(defn, c))}" for c in clocks)
        out.append("    end note")
    out.append("    classDef final fill:#e8f5e9,stroke:#2e7d32")
    out.append("    classDef paused fill:#fff8e1,stroke:#f9a825,stroke-dasharray: 4 2")
    if defn.final_states:
        out.append(f"    class {','.join(defn.final_states)} final")
    pausing = [n for n, s in defn.states.items() if s.pauses or s.restarts]
    if pausing:
        out.append(f"    class {','.join(pausing)} paused")
    return "\n".join(out) + "\n"


mermaid = to_mermaid


def _dq(text: str) -> str:
    """A graphviz double-quoted string."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(defn: Definition) -> str:
    """The definition as graphviz source (``dot -Tsvg``): the same states, edges and notes."""
    out = [
        f"digraph {_dq(defn.id)} {{",
        f"    label={_dq(f'{defn.name} ({defn.id} v{defn.version})')}; labelloc=t;",
        "    rankdir=LR; fontname=\"sans-serif\";",
        "    node [shape=box, style=\"rounded,filled\", fillcolor=white, fontname=\"sans-serif\"];",
        "    edge [fontname=\"sans-serif\", fontsize=10];",
        "    __start [shape=point, width=0.15, label=\"\"];",
    ]
    for name, s in defn.states.items():
        lines = [s.label or name, name + (f" ({', '.join(s.roles)})" if s.roles else "")]
        lines += _state_notes(defn, name)
        attrs = [f"label={_dq(chr(10).join(lines))}"]
        if s.final:
            attrs += ["peripheries=2", "fillcolor=\"#e8f5e9\""]
        elif s.pauses or s.restarts:
            attrs += ["style=\"rounded,filled,dashed\"", "fillcolor=\"#fff8e1\""]
        out.append(f"    {name} [{', '.join(attrs)}];")
    out.append(f"    __start -> {defn.initial};")
    for t in defn.transitions:
        for src in t.sources:
            out.append(f"    {src} -> {t.dest} [label={_dq(_edge_text(t))}];")
    clocks = [c for c in defn.clocks.values() if not c.step]
    if clocks:
        text = "\n".join(["时限 clocks", *(_clock_line(defn, c) for c in clocks)])
        out.append(f"    __clocks [shape=note, fillcolor=\"#f5f5f5\", label={_dq(text)}];")
        out.append(f"    __clocks -> {defn.initial} [style=dashed, arrowhead=none];")
    out.append("}")
    return "\n".join(out) + "\n"


def limits_table(defn: Definition) -> str:
    """The clocks as a Markdown table: limit, commitment, kind, start and stop, status, basis."""
    rows = [
        "| clock | 名称 | statutory limit | commitment | kind | runs | status | basis |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for c in defn.clocks.values():
        runs = f"step: while in `{c.start}`" if c.step else f"`{c.start}` → {', '.join(f'`{s}`' for s in c.stop)}"
        extra = []
        if c.start_from:
            extra.append(f"from `{c.start_from}`")
        if c.grace is not None:
            extra.append(f"grace {c.grace}")
        if c.max_extension is not None:
            extra.append(f"extension ≤ {c.max_extension}")
        if c.on_expire:
            extra.append(f"on expiry `{c.on_expire}`")
        limit = _limit_text(c) + (f" ({'; '.join(extra)})" if extra else "")
        cells = [
            f"`{c.name}`" + (" (main)" if c.name == defn.main_clock else ""), c.label, limit,
            commitment_text(defn, c), c.kind.value, runs, c.status or "", c.basis or "",
        ]
        rows.append("| " + " | ".join(str(x).replace("|", "\\|").replace("\n", " ") for x in cells) + " |")
    return "\n".join(rows) + "\n"


__all__ = ["commitment_text", "limits_table", "mermaid", "to_dot", "to_mermaid"]
