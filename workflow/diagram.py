"""Mermaid state diagrams rendered from a definition (pure: text in, text out).

``mermaid(definition)`` draws the states (with their labels), the transitions (trigger, label and
roles, the data they require, the extensions they grant), the clocks each state pauses or
restarts, step limits, and a note on each state where a clock starts (its limit, where it stops).
The text renders on GitHub, in the Mermaid live editor and in the web pages, with no system
packages.
"""

from __future__ import annotations

from .definition import ClockDef, Definition
from .legaltime import ClockKind

_UNSAFE = str.maketrans({'"': "'", ";": ",", "#": "＃", "\n": " ", "\r": " ", "{": "(", "}": ")"})


def _esc(text: str) -> str:
    """Text safe inside a Mermaid label (no quotes, semicolons, hashes or line breaks)."""
    return str(text).translate(_UNSAFE).strip()


def _limit_text(c: ClockDef) -> str:
    if c.limit_choice is not None:
        parts = [f"{k}: {v}" for k, v in c.limit_choice.cases.items()]
        return f"{' / '.join(parts)} (by {c.limit_choice.field}, default {c.limit_choice.default})"
    return str(c.limit)


def _clock_line(c: ClockDef) -> str:
    kind = {ClockKind.PARTY: " [party]", ClockKind.EXTERNAL: " [external]"}.get(c.kind, "")
    label = f" {c.label}" if c.label and c.label != c.name else ""
    parts = [f"▶ {c.name}{label}: {_limit_text(c)}{kind}"]
    if c.commitment is not None:
        parts.append(f"commitment {c.commitment}")
    if c.start_from:
        parts.append(f"counted from data.{c.start_from}")
    if c.max_extension is not None:
        parts.append(f"extension up to {c.max_extension}")
    if c.on_expire:
        parts.append(f"on expiry: {c.on_expire}")
    if c.stop:
        parts.append(f"stops at {', '.join(c.stop)}")
    return _esc(", ".join(parts))


def mermaid(defn: Definition) -> str:
    """The definition as a Mermaid ``stateDiagram-v2`` (deterministic: same input, same text)."""
    out: list[str] = [
        "stateDiagram-v2",
        f"    %% {_esc(defn.id)} v{defn.version}: {_esc(defn.name)} ({defn.kind})",
    ]
    pausing: list[str] = []
    for name, s in defn.states.items():
        label = _esc(s.label or name)
        marks = []
        if s.pauses:
            marks.append("⏸ " + ", ".join(s.pauses))
        if s.restarts:
            marks.append("↺ " + ", ".join(s.restarts))
        if s.limit is not None:
            marks.append(f"⏱ {s.limit}")
        if s.roles:
            marks.append("👤 " + ", ".join(s.roles))
        if marks:
            label = f"{label} ({_esc(' · '.join(marks))})"
        out.append(f'    state "{label}" as {name}')
        if s.pauses or s.restarts:
            pausing.append(name)
    out.append(f"    [*] --> {defn.initial}")
    for t in defn.transitions:
        bits = [t.trigger]
        if t.label:
            bits.append(_esc(t.label))
        text = " ".join(bits)
        if t.roles:
            text += f" [{', '.join(t.roles)}]"
        required = t.required_fields
        if required:
            text += f" needs {', '.join(required)}"
        if t.extend:
            text += " extends " + ", ".join(f"{k} +{v}" for k, v in t.extend.items())
        for src in t.sources:
            out.append(f"    {src} --> {t.dest}: {_esc(text)}")
    for name in defn.final_states:
        out.append(f"    {name} --> [*]")
    notes: dict[str, list[str]] = {}
    for c in defn.clocks.values():
        if c.step:
            continue
        notes.setdefault(c.start, []).append(_clock_line(c))
    for state, lines in notes.items():
        out.append(f"    note right of {state}")
        out.extend(f"        {line}" for line in lines)
        out.append("    end note")
    out.append("    classDef final fill:#e8f5e9,stroke:#2e7d32")
    out.append("    classDef paused fill:#fff8e1,stroke:#f9a825,stroke-dasharray: 4 2")
    if defn.final_states:
        out.append(f"    class {','.join(defn.final_states)} final")
    if pausing:
        out.append(f"    class {','.join(pausing)} paused")
    return "\n".join(out) + "\n"


__all__ = ["mermaid"]
