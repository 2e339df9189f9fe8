"""Charts as inline SVG, drawn on the server (no script, no CDN): grouped bars by month and
horizontal bars by item, with an optional target line. Colours are SVG attributes (the pages'
Content-Security-Policy allows no inline styles)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

PALETTE = ("#1f6feb", "#2da44e", "#bf8700", "#8250df")


def _pct(v: float) -> str:
    return f"{v * 100:.0f}%"


def month_bars(title: str, months: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]],
               *, target: float | None = None, target_label: str = "", width: int = 600,
               height: int = 240) -> Markup:
    """Grouped vertical bars: one group per month, one bar per series (values 0..1, None: no data)."""
    left, right, top, bottom = 44, 12, 34, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([1.0] + [v for _, vals in series for v in vals if v is not None])
    out = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
           f'role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
           f"<title>{escape(title)}</title>",
           f'<text x="{left}" y="18" font-size="14" font-weight="bold" fill="#1b1f24">{escape(title)}</text>']
    for k in range(0, 5):
        tick = peak * k / 4
        y = top + plot_h - plot_h * tick / peak
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d0d7de" stroke-width="1"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" fill="#57606a">{_pct(tick)}</text>')
    n = max(len(months), 1)
    group = plot_w / n
    bar = min(28.0, (group - 10) / max(len(series), 1))
    for i, month in enumerate(months):
        gx = left + i * group + (group - bar * len(series)) / 2
        for j, (name, vals) in enumerate(series):
            v = vals[i] if i < len(vals) else None
            x = gx + j * bar
            if v is None:
                out.append(f'<text x="{x + bar / 2:.1f}" y="{top + plot_h - 4}" font-size="10" text-anchor="middle" fill="#8c959f">无</text>')
                continue
            h = plot_h * v / peak
            y = top + plot_h - h
            out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar - 2:.1f}" height="{h:.1f}" fill="{PALETTE[j % len(PALETTE)]}">'
                       f"<title>{escape(month)} {escape(name)} {_pct(v)}</title></rect>")
            out.append(f'<text x="{x + (bar - 2) / 2:.1f}" y="{y - 3:.1f}" font-size="10" text-anchor="middle" fill="#1b1f24">{_pct(v)}</text>')
        out.append(f'<text x="{left + i * group + group / 2:.1f}" y="{top + plot_h + 16}" font-size="11" text-anchor="middle" fill="#1b1f24">{escape(month)}</text>')
    if target is not None:
        y = top + plot_h - plot_h * target / peak
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#cf222e" stroke-width="2" stroke-dasharray="6 4"/>')
        out.append(f'<text x="{width - right}" y="{y - 4:.1f}" font-size="11" text-anchor="end" fill="#cf222e">{escape(target_label)}</text>')
    lx = left
    for j, (name, _) in enumerate(series):
        out.append(f'<rect x="{lx}" y="{height - 14}" width="10" height="10" fill="{PALETTE[j % len(PALETTE)]}"/>')
        out.append(f'<text x="{lx + 14}" y="{height - 5}" font-size="11" fill="#1b1f24">{escape(name)}</text>')
        lx += 14 + 13 * len(name) + 16
    out.append("</svg>")
    return Markup("".join(out))


def item_bars(title: str, rows: Sequence[tuple[str, float | None]], *, target: float | None = None,
              target_label: str = "", width: int = 600, better: str = "high", none: str = "无办结",
              nothing: str = "本月没有可统计的办结案件") -> Markup:
    """Horizontal bars, one per item (values 0..1). ``better``: ``high`` (on-time rate) or ``low``
    (compression: at or under the target is good); ``none`` is shown for a row without a value,
    ``nothing`` when there are no rows."""
    label_w, right, top, row_h = 190, 56, 30, 24
    height = top + row_h * max(len(rows), 1) + 24
    plot_w = width - label_w - right
    peak = max([1.0] + [v for _, v in rows if v is not None])
    out = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
           f'role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
           f"<title>{escape(title)}</title>",
           f'<text x="4" y="18" font-size="14" font-weight="bold" fill="#1b1f24">{escape(title)}</text>']
    if not rows:
        out.append(f'<text x="4" y="{top + 16}" font-size="12" fill="#57606a">{escape(nothing)}</text>')
    for i, (name, v) in enumerate(rows):
        y = top + i * row_h
        short = name if len(name) <= 13 else name[:12] + "…"
        out.append(f'<text x="{label_w - 6}" y="{y + 16}" font-size="12" text-anchor="end" fill="#1b1f24">'
                   f"<title>{escape(name)}</title>{escape(short)}</text>")
        if v is None:
            out.append(f'<text x="{label_w + 4}" y="{y + 16}" font-size="11" fill="#8c959f">{escape(none)}</text>')
            continue
        w = plot_w * v / peak
        good = (v >= (target or 0)) if better == "high" else (target is None or v <= target)
        colour = "#2da44e" if good else "#cf222e"
        out.append(f'<rect x="{label_w}" y="{y + 4}" width="{max(w, 1):.1f}" height="{row_h - 8}" fill="{colour}">'
                   f"<title>{escape(name)} {_pct(v)}</title></rect>")
        out.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 16}" font-size="11" fill="#1b1f24">{_pct(v)}</text>')
    if target is not None:
        x = label_w + plot_w * target / peak
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top - 4}" y2="{height - 20}" stroke="#1b1f24" stroke-width="1.5" stroke-dasharray="5 3"/>')
        out.append(f'<text x="{x:.1f}" y="{height - 6}" font-size="11" text-anchor="middle" fill="#1b1f24">{escape(target_label)}</text>')
    out.append("</svg>")
    return Markup("".join(out))


__all__ = ["item_bars", "month_bars"]
