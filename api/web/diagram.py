"""A definition's state diagram as inline SVG, laid out on the server (no Mermaid runtime, no CDN).

States go in columns by their distance from the initial state; transitions are arrows labelled
with the action's Chinese label; a transition allowed from every open state ("*") is listed under
the drawing instead of drawn from each state. The page also shows the states and transitions as
tables and the Mermaid source (``workflow.diagram.mermaid``) for those who paste it elsewhere.
"""

from __future__ import annotations

from collections import defaultdict
from html import escape

from markupsafe import Markup

from workflow.definition import Definition

BOX_W, BOX_H, COL_GAP, ROW_GAP, PAD = 156, 50, 96, 34, 24


def _width(text: str) -> float:
    return sum(11.0 if ord(ch) > 0x2E80 else 6.2 for ch in text)


def _clip(text: str, limit: float) -> str:
    out = ""
    for ch in text:
        if _width(out + ch + "…") > limit:
            return out + "…"
        out += ch
    return out


def everywhere(defn: Definition) -> list:
    """Transitions allowed from every open state (``source: "*"`` with more than two states)."""
    open_states = {n for n, s in defn.states.items() if not s.final}
    return [t for t in defn.transitions if len(open_states) > 2 and set(t.sources) >= open_states]


def svg(defn: Definition) -> Markup:
    anywhere = {id(t) for t in everywhere(defn)}
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for t in defn.transitions:
        if id(t) in anywhere:
            continue
        for s in t.sources:
            edges[(s, t.dest)].append(t.label or t.trigger)
    # columns by breadth-first distance from the initial state
    depth = {defn.initial: 0}
    queue = [defn.initial]
    while queue:
        cur = queue.pop(0)
        for (s, d) in edges:
            if s == cur and d not in depth:
                depth[d] = depth[cur] + 1
                queue.append(d)
    last = max(depth.values(), default=0)
    for name in defn.states:
        if name not in depth:
            for t in defn.transitions:
                if t.dest == name and id(t) in anywhere:
                    depth[name] = last + 1
                    break
            else:
                depth[name] = last + 1
    columns: dict[int, list[str]] = defaultdict(list)
    for name in defn.states:
        columns[depth[name]].append(name)
    pos: dict[str, tuple[float, float]] = {}
    rows = max(len(v) for v in columns.values())
    for col, names in columns.items():
        offset = (rows - len(names)) * (BOX_H + ROW_GAP) / 2
        for r, name in enumerate(names):
            pos[name] = (PAD + 14 + col * (BOX_W + COL_GAP), PAD + 30 + offset + r * (BOX_H + ROW_GAP))
    width = int(PAD * 2 + 14 + (max(columns) + 1) * (BOX_W + COL_GAP) - COL_GAP)
    height = int(PAD + 30 + rows * (BOX_H + ROW_GAP) + 40)
    title = f"{defn.name} 流程图"
    out = [
        f'<svg class="diagram" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">', f"<title>{escape(title)}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#57606a"/></marker></defs>',
    ]
    labels: list[str] = []
    ix, iy = pos[defn.initial]
    out.append(f'<circle cx="{PAD}" cy="{iy + BOX_H / 2}" r="7" fill="#1b1f24"/>')
    out.append(f'<line x1="{PAD + 7}" y1="{iy + BOX_H / 2}" x2="{ix - 2}" y2="{iy + BOX_H / 2}" '
               'stroke="#57606a" stroke-width="1.5" marker-end="url(#arrow)"/>')
    for (s, d), names in edges.items():
        text = _clip(" / ".join(dict.fromkeys(names)), 150)
        sx, sy = pos[s]
        dx, dy = pos[d]
        if s == d:  # a self-loop above the box
            x0, y0 = sx + BOX_W * 0.3, sy
            x1 = sx + BOX_W * 0.7
            path = f"M{x0:.0f},{y0:.0f} C{x0:.0f},{y0 - 34:.0f} {x1:.0f},{y0 - 34:.0f} {x1:.0f},{y0 - 1:.0f}"
            lx, ly = sx + BOX_W / 2, sy - 30
        elif dx > sx:
            x0, y0 = sx + BOX_W, sy + BOX_H / 2
            x1, y1 = dx - 1, dy + BOX_H / 2
            mid = (x0 + x1) / 2
            path = f"M{x0:.0f},{y0:.0f} C{mid:.0f},{y0:.0f} {mid:.0f},{y1:.0f} {x1:.0f},{y1:.0f}"
            lx, ly = x0 + (x1 - x0) * 0.5, (y0 + y1) / 2 - 4
        else:  # backwards or in the same column: an arc below
            x0, y0 = sx + BOX_W / 2 - 16, sy + BOX_H
            x1, y1 = dx + BOX_W / 2 + 16, dy + BOX_H + 1
            dip = max(y0, y1) + 40
            path = f"M{x0:.0f},{y0:.0f} C{x0:.0f},{dip:.0f} {x1:.0f},{dip:.0f} {x1:.0f},{y1:.0f}"
            lx, ly = (x0 + x1) / 2, dip - 6
        out.append(f'<path d="{path}" fill="none" stroke="#57606a" stroke-width="1.4" marker-end="url(#arrow)">'
                   f"<title>{escape(' / '.join(names))}</title></path>")
        w = _width(text) + 8
        labels.append(f'<rect x="{lx - w / 2:.0f}" y="{ly - 12:.0f}" width="{w:.0f}" height="16" rx="3" '
                      f'fill="#ffffff" fill-opacity="0.9"/><text x="{lx:.0f}" y="{ly:.0f}" font-size="11" '
                      f'text-anchor="middle" fill="#0550ae">{escape(text)}</text>')
    for name, st in defn.states.items():
        x, y = pos[name]
        fill, stroke, dash = "#f6f8fa", "#57606a", ""
        if st.final:
            fill, stroke = "#dafbe1", "#1a7f37"
        if st.pauses or st.restarts:
            fill, stroke, dash = "#fff8c5", "#9a6700", ' stroke-dasharray="5 3"'
        out.append(f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="8" fill="{fill}" '
                   f'stroke="{stroke}" stroke-width="{2.5 if st.final else 1.5}"{dash}/>')
        label = _clip(st.label or name, BOX_W - 12)
        out.append(f'<text x="{x + BOX_W / 2}" y="{y + 21}" font-size="13" font-weight="bold" '
                   f'text-anchor="middle" fill="#1b1f24">{escape(label)}</text>')
        marks = []
        if st.pauses:
            marks.append("暂停计时")
        if st.restarts:
            marks.append("补正后重新计算")
        if st.limit is not None:
            marks.append(f"限 {st.limit.label}")
        if st.final:
            marks.append("办结")
        if marks:
            out.append(f'<text x="{x + BOX_W / 2}" y="{y + 39}" font-size="11" text-anchor="middle" '
                       f'fill="#57606a">{escape(_clip(" · ".join(marks), BOX_W - 10))}</text>')
    out.extend(labels)
    out.append("</svg>")
    return Markup("".join(out))


__all__ = ["everywhere", "svg"]
