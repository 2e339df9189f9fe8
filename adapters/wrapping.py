"""Where a long value may break across lines (QA D3). Lists typed as the forms ask
(专利号（多件以逗号分隔）) often carry ASCII commas and no spaces: ``ZL202310000000.X,ZL2023…``. A
browser finds no break in such a run, and a PDF's CJK wrapping cuts a number in the middle
(ZL20231000000 / 3.X). :func:`breakable` marks a break after each ASCII separator (``,`` ``;``),
except inside a number written with thousands separators (1,000,000); the pages and documents
print values through it, and their styles let anything longer still wrap inside its cell
(``overflow-wrap: anywhere``) instead of widening the page. The PDF converter turns the mark into
a space after the separator (reportlab breaks only at spaces inside a run of Latin letters)."""

from __future__ import annotations

import re
from typing import Any

from markupsafe import Markup, escape

_AFTER = re.compile(r"[,;](?!\d)|(?<!\d)[,;]")  # a separator not between two digits
WBR = "<wbr>"


def breakable(value: Any) -> Markup:
    """``value`` as HTML with a break opportunity (``<wbr>``) after each ASCII comma or semicolon
    that does not separate the thousands of a number; the text itself is unchanged."""
    if isinstance(value, Markup):
        return value
    text = "" if value is None else str(value)
    out: list[str] = []
    last = 0
    for m in _AFTER.finditer(text):
        out.append(str(escape(text[last:m.end()])))
        out.append(WBR)
        last = m.end()
    out.append(str(escape(text[last:])))
    return Markup("".join(out))
