"""Stored values as people read them, whatever was stored (issue 14, class 3).

A case's data may hold what no check lets in today — an older version, a direct database edit or
an import could have stored it: a 4,300-digit integer, 1e308, NaN, a list where a number was
expected. Pages, documents and exports show such values through :func:`text_of`, which never
raises and whose cost does not grow with the value: a giant integer is abbreviated
(``123456…456789（共4300位，数值异常）``), a number that is not finite says 数值异常."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

ANOMALY = "数值异常"
SHOWN_DIGITS = 30  # integers longer than this are abbreviated
_LOG10_2 = math.log10(2)


def _digits(n: int) -> str:
    bits = abs(n).bit_length()
    if bits > 13_000:  # past ~3,900 digits: not converted at all (Python refuses past 4,300)
        return f"（约{int(bits * _LOG10_2) + 1}位整数，{ANOMALY}）"
    text = str(n)
    sign = "-" if text.startswith("-") else ""
    body = text.lstrip("-")
    if len(body) <= SHOWN_DIGITS:
        return text
    return f"{sign}{body[:6]}…{body[-6:]}（共{len(body)}位，{ANOMALY}）"


def is_abnormal_number(value: Any) -> bool:
    """A number that a person cannot have meant: not finite, or an integer past ``SHOWN_DIGITS``."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return abs(value).bit_length() > SHOWN_DIGITS * 3.33
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, Decimal):
        return not value.is_finite()
    return False


def text_of(value: Any) -> str:
    """``str(value)`` that never raises and stays short for a giant or non-finite number."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return _digits(value)
    if isinstance(value, float) and not math.isfinite(value):
        return ANOMALY
    if isinstance(value, Decimal):
        if not value.is_finite():
            return ANOMALY
        if value == value.to_integral_value() and value.adjusted() > SHOWN_DIGITS:
            return f"（共{value.adjusted() + 1}位，{ANOMALY}）"
    try:
        return str(value)
    except (ValueError, OverflowError):
        return ANOMALY
