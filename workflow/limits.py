"""Time limits as the law writes them: ``N working days``, ``N days``, ``N months``.

Chinese forms are accepted too: ``N个工作日``, ``N日`` / ``N天``, ``N个月``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction


class Unit(StrEnum):
    WORKING_DAYS = "working_days"
    DAYS = "days"
    MONTHS = "months"

    @property
    def family(self) -> str:
        """Working days count working days; days and months count natural days."""
        return "working" if self is Unit.WORKING_DAYS else "natural"


# ASCII digits only: ``\d`` would take full-width (５) and Arabic-Indic (٥) digits as 5
_EN = re.compile(r"^\s*([0-9]+)\s*(working\s+days?|workdays?|days?|months?)\s*$", re.IGNORECASE)
_ZH = re.compile(r"^\s*([0-9]+)\s*(个工作日|工作日|日|天|个月|月)\s*$")
_ZH_UNITS = {
    "个工作日": Unit.WORKING_DAYS,
    "工作日": Unit.WORKING_DAYS,
    "日": Unit.DAYS,
    "天": Unit.DAYS,
    "个月": Unit.MONTHS,
    "月": Unit.MONTHS,
}
# The longest limit a definition may state, per unit: ten years each way (docs/definitions.md,
# "Limits"). Longer ones are refused when the file is loaded, never met in arithmetic.
MAX_UNITS = {Unit.WORKING_DAYS: 2500, Unit.DAYS: 3660, Unit.MONTHS: 120}
_LABELS = {Unit.WORKING_DAYS: "个工作日", Unit.DAYS: "日", Unit.MONTHS: "个月"}


@dataclass(frozen=True, order=True)
class Limit:
    """A whole number of units. ``Limit.parse("5 working days")``."""

    n: int
    unit: Unit

    @classmethod
    def parse(cls, text: object) -> Limit:
        if isinstance(text, Limit):
            return text
        if not isinstance(text, str):
            raise ValueError(
                f"a limit must be text like '5 working days', '15 days' or '3 months', got {_show(text)}"
            )
        m = _EN.match(text)
        if m:
            word = m.group(2).lower()
            if word.startswith("work"):
                unit = Unit.WORKING_DAYS
            elif word.startswith("day"):
                unit = Unit.DAYS
            else:
                unit = Unit.MONTHS
            digits = m.group(1)
        else:
            m = _ZH.match(text)
            if not m and any(ch.isdigit() and not ch.isascii() for ch in text):
                raise ValueError(f"cannot read limit {_show(text)}: write its number with the digits 0-9 "
                                 "(not full-width or other scripts' digits)")
            if not m:
                raise ValueError(
                    f"cannot read limit {_show(text)}: write 'N working days', 'N days' or 'N months' "
                    "(or N个工作日, N日, N个月)"
                )
            digits, unit = m.group(1), _ZH_UNITS[m.group(2)]
        n = int(digits) if len(digits) <= 9 else MAX_UNITS[unit] + 1  # no arithmetic on a long number
        if n < 1:
            raise ValueError(f"a limit must be at least 1 unit, got {_show(text)}")
        if n > MAX_UNITS[unit]:
            raise ValueError(f"limit {_show(text)} is longer than the longest allowed, {MAX_UNITS[unit]:,} "
                             f"{unit.value.replace('_', ' ')}")
        return cls(n, unit)

    def __str__(self) -> str:
        word = {Unit.WORKING_DAYS: "working day", Unit.DAYS: "day", Unit.MONTHS: "month"}[self.unit]
        return f"{self.n} {word}{'' if self.n == 1 else 's'}"

    @property
    def label(self) -> str:
        """Chinese form, as clerks read it: ``5个工作日``."""
        return f"{self.n}{_LABELS[self.unit]}"


def within_working_days(limit: Limit, most: Limit) -> bool:
    """``limit`` is counted in working days and is no longer than ``most`` (N working days): what a
    definition may write where the law sets a working-day limit (行政许可法第八十二条), as a
    certificate step, joint handling and its extension, or a ladder's warning do."""
    return limit.unit is Unit.WORKING_DAYS and limit.n <= most.n


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "…"


_RATIO = re.compile(r"^[-+]?[0-9]{1,9}(\.[0-9]{1,9})?(\s*/\s*[0-9]{1,9})?$")


def parse_ratio(value: object) -> Fraction:
    """``2/3``, ``"2/3"``, ``0.5`` → a Fraction in (0, 1]."""
    try:
        if isinstance(value, Fraction):
            r = value
        elif isinstance(value, float):
            r = Fraction(value).limit_denominator(1000)
        else:
            text = str(value).strip()
            if not _RATIO.match(text):  # Fraction() would read full-width and Arabic-Indic digits
                raise ValueError(text)
            r = Fraction(text)
    except (ValueError, ZeroDivisionError, OverflowError) as exc:
        raise ValueError(f"cannot read ratio {_show(value)}: write it like 2/3 (digits 0-9)") from exc
    if not (0 < r <= 1):
        raise ValueError(f"a commitment ratio must be in (0, 1], got {value!r}")
    return r
