"""Field rules: the bounds a definition declares per field, checked wherever data comes in.

A field (docs/definitions.md, "Field rules") may declare ``min``/``max`` (numbers; dates as
YYYY-MM-DD), ``past: true`` (a date of service or receipt) and ``names: {min, max, odd}`` (a list
of names, such as a 合议组) and ``max_length`` (text). Every field also has bounds of its type that
need no declaration: a date lies between 1949-10-01 and a number of years ahead (an engine
setting), a number is finite and of sane size, an amount of money is in yuan between 0 and a
trillion, a ``string`` holds at most 200 characters and a ``text`` at most 5,000 (what the longest
of the office's 请求事项和理由 needs; a field declares more, up to 20,000, with ``max_length``). The checks cost the same
whatever the value's size: a number's digits are counted before anything converts it.

An office's override may add rules to a field but never loosen the law's (:func:`loosened`); it may
set a field's ``max_length`` either way, never above the ceiling (a bound on cost, not the law's).
A date typed in another ISO form (``20261231``) is stored as ``2026-12-31`` (:func:`normalise`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

EARLIEST_DATE = date(1949, 10, 1)
MAX_MONEY = 10**12  # yuan (一万亿元), when a money field declares no max
MAX_NUMBER = 10**15  # any other number's magnitude, when the field declares no bounds
MAX_DIGITS = 24  # a number written with more digits than this is out of range before it is read
# between names: 、，, ; and line breaks — never a space, which is inside a name (Mary Smith)
NAME_SEPARATORS = re.compile(r"[、，,；;\r\n]+")
# the most characters a text field holds unless it declares ``max_length`` (docs/definitions.md):
# a name, a number, a title on one line; a reason or a 请求事项 of a few printed pages
MAX_LENGTH = {"string": 200, "text": 5000}
MAX_LENGTH_CEILING = 20000  # what no declaration or override may exceed (documents print it)
_NUMERIC_TEXT = re.compile(r"[-+]?[\d,]*\.?\d+(?:[eE][-+]?\d+)?")


@dataclass(frozen=True)
class NameRule:
    """A field holding names (a list, or text separated by 、，, ;): how many, and whether odd."""

    min: int = 1
    max: int | None = None
    odd: bool = False


@dataclass(frozen=True)
class RuleContext:
    """What the date rules compare with: today, the case's legal start (None while opening), the
    back-dating span and how far ahead any date may lie (engine settings)."""

    today: date
    legal_start: date | None = None
    max_backdate_days: int = 366
    years_ahead: int = 50

    @property
    def latest_date(self) -> date:
        try:
            return self.today.replace(year=self.today.year + self.years_ahead)
        except ValueError:  # 29 February
            return self.today.replace(year=self.today.year + self.years_ahead, day=28)


def as_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) <= 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def names_of(value: Any) -> list[str] | None:
    """The names in a list or in text separated by 、，, ; or line breaks (None: neither)."""
    if isinstance(value, str):
        return [n.strip() for n in NAME_SEPARATORS.split(value.strip()) if n.strip()]
    if isinstance(value, list) and all(isinstance(n, str) for n in value):
        return [n.strip() for n in value if n.strip()]
    return None


def max_length(spec: Any) -> int | None:
    """The most characters a ``string`` or ``text`` field holds (declared or its type's default)."""
    if spec.type not in MAX_LENGTH:
        return None
    return getattr(spec, "max_length", None) or MAX_LENGTH[spec.type]


def text_length(value: Any) -> int:
    """A text's characters; a list of names counts as stored (joined by 、)."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list):
        return sum(len(n) if isinstance(n, str) else 0 for n in value) + max(len(value) - 1, 0)
    return 0


def normalise(spec: Any, value: Any) -> Any:
    """The value as stored: names become one text joined by 、 (as documents print them); a date
    in any accepted form becomes ``YYYY-MM-DD``."""
    if spec.type == "date" and isinstance(value, str):
        d = as_date(value)
        return d.isoformat() if d is not None else value
    if spec.names is not None:
        names = names_of(value)
        if names is not None:
            return "、".join(names)
    return value


def _number_problem(spec: Any, value: Any) -> str | None:
    if isinstance(value, int):
        if value.bit_length() > 80:  # far past any bound: said without converting it to text
            return "out of range"
        number: int | float = value
    else:
        if not math.isfinite(value):
            return "must be a finite number"
        number = value
    low = spec.min if spec.min is not None else (0 if spec.type == "money" else -MAX_NUMBER)
    high = spec.max if spec.max is not None else (MAX_MONEY if spec.type == "money" else MAX_NUMBER)
    if number < low:
        return "must not be negative" if spec.type == "money" and low == 0 else f"must be at least {low}"
    if number > high:
        return f"must be at most {high}"
    return None


def numeric_text_problem(value: str) -> str | None:
    """A number typed as text (a form): 'out of range' when it has more digits than any bound
    allows (counted, not converted), else None (the caller says it is not a number)."""
    text = value.strip()
    if len(text) > 400 or (_NUMERIC_TEXT.fullmatch(text) and sum(ch.isdigit() for ch in text) > MAX_DIGITS):
        return "out of range"
    return None


def check(spec: Any, value: Any, ctx: RuleContext | None) -> str | None:
    """The first rule ``value`` (already of the field's type) breaks, or None."""
    t = spec.type
    if t in ("integer", "number", "money") and isinstance(value, (int, float)) and not isinstance(value, bool):
        return _number_problem(spec, value)
    if t == "date":
        d = as_date(value)
        if d is None or ctx is None:
            return None
        if d < EARLIEST_DATE or d > ctx.latest_date:
            return f"out of range ({EARLIEST_DATE.isoformat()} … {ctx.latest_date.isoformat()})"
        if spec.min is not None and d < spec.min:
            return f"must not be before {spec.min.isoformat()}"
        if spec.max is not None and d > spec.max:
            return f"must not be after {spec.max.isoformat()}"
        if spec.past:
            if d > ctx.today:
                return "after today"
            if ctx.legal_start is not None and d < ctx.legal_start:
                return f"before the case's legal start {ctx.legal_start.isoformat()}"
            if d < ctx.today - timedelta(days=ctx.max_backdate_days):
                return f"more than {ctx.max_backdate_days} days ago"
        return None
    limit = max_length(spec)
    if limit is not None and text_length(value) > limit:
        return f"too long: {text_length(value)} characters (at most {limit})"
    if spec.names is not None:
        names = names_of(value)
        if names is None:
            return "must be names (a list, or text separated by 、，,)"
        rule: NameRule = spec.names
        n = len(names)
        if n < rule.min or (rule.max is not None and n > rule.max) or (rule.odd and n % 2 == 0):
            return names_problem(rule)
        if len(set(names)) != n:
            return "names a person twice"
    return None


def names_problem(rule: NameRule) -> str:
    words = "an odd number of names" if rule.odd else "names"
    bounds = f"at least {rule.min}" + (f", at most {rule.max}" if rule.max is not None else "")
    return f"must be {words}, {bounds}"


# --- the loader's side ---------------------------------------------------------------------------

RULE_KEYS = ("min", "max", "past", "names", "max_length")


def parse(f: Mapping[str, Any], ftype: str, path: str, add: Callable[[str, str], None]) -> dict[str, Any]:
    """The rule keys of one raw field spec, validated (problems through ``add``), as FieldSpec
    keyword arguments."""
    out: dict[str, Any] = {}
    for key in ("min", "max"):
        if key not in f:
            continue
        raw = f[key]
        if ftype in ("integer", "number", "money"):
            if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw) \
                    or abs(raw) > MAX_NUMBER:
                add(f"{path}.{key}", f"{key} is a finite number of at most {MAX_NUMBER:,} in size, got {raw!r}")
                continue
            if ftype == "integer" and not isinstance(raw, int):
                add(f"{path}.{key}", f"{key} of a whole-number field is a whole number, got {raw!r}")
                continue
            if ftype == "money" and raw < 0:
                add(f"{path}.{key}", f"an amount in yuan is not negative, got {raw!r}")
                continue
            out[key] = raw
        elif ftype == "date":
            d = as_date(raw)
            if d is None or d < EARLIEST_DATE or d.year > 2200:
                add(f"{path}.{key}", f"{key} of a date field is a date (YYYY-MM-DD) from "
                                     f"{EARLIEST_DATE.isoformat()}, got {raw!r}")
                continue
            out[key] = d
        else:
            add(f"{path}.{key}", f"{key} bounds a number, money or date field, not a {ftype} field")
    if "min" in out and "max" in out and out["min"] > out["max"]:
        add(f"{path}.min", f"min {out['min']} is above max {out['max']}")
    if "past" in f:
        if not isinstance(f["past"], bool):
            add(f"{path}.past", f"past is true or false, got {f['past']!r}")
        elif f["past"] and ftype != "date":
            add(f"{path}.past", f"past marks a date of service or receipt, not a {ftype} field")
        else:
            out["past"] = f["past"]
    if "max_length" in f:
        raw = f["max_length"]
        if ftype not in MAX_LENGTH:
            add(f"{path}.max_length", f"max_length bounds a string or text field, not a {ftype} field")
        elif isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= MAX_LENGTH_CEILING:
            add(f"{path}.max_length", f"max_length is a whole number of characters from 1 to "
                                      f"{MAX_LENGTH_CEILING:,}, got {raw!r}")
        else:
            out["max_length"] = raw
    if "names" in f:
        raw = f["names"]
        if ftype not in ("string", "text"):
            add(f"{path}.names", f"names is a rule of a string or text field, not a {ftype} field")
        elif raw is True:
            out["names"] = NameRule()
        elif isinstance(raw, dict):
            bad = [k for k in raw if k not in ("min", "max", "odd")]
            for k in bad:
                add(f"{path}.names.{k}", f"unknown key {k!r} (allowed: max, min, odd)")
            lo, hi, odd = raw.get("min", 1), raw.get("max"), raw.get("odd", False)
            ok = not bad
            for k, v in (("min", lo), ("max", hi)):
                if v is not None and (isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 1000):
                    add(f"{path}.names.{k}", f"{k} is a whole number from 1 to 1000, got {v!r}")
                    ok = False
            if not isinstance(odd, bool):
                add(f"{path}.names.odd", f"odd is true or false, got {odd!r}")
                ok = False
            if ok and hi is not None and lo > hi:
                add(f"{path}.names.min", f"min {lo} is above max {hi}")
                ok = False
            if ok:
                out["names"] = NameRule(min=lo, max=hi, odd=odd)
        else:
            add(f"{path}.names", f"names is true or {{min, max, odd}}, got {raw!r}")
    return out


def loosened(base: Any, new: Any | None) -> list[str]:
    """How ``new`` (an office's version of the field, None: removed) is looser than ``base``."""
    if new is None:
        return ["removes the field"] if (base.required or _has_rules(base)) else []
    out = []
    if base.required and not new.required:
        out.append("makes a required field optional")
    if base.type != new.type:
        out.append(f"changes its type from {base.type} to {new.type}")
        return out
    if base.min is not None and (new.min is None or new.min < base.min):
        out.append(f"lowers min below {_show(base.min)}")
    if base.max is not None and (new.max is None or new.max > base.max):
        out.append(f"raises max above {_show(base.max)}")
    if base.past and not new.past:
        out.append("drops past")
    if base.names is not None:
        b, n = base.names, new.names
        if n is None or n.min < b.min or (b.max is not None and (n.max is None or n.max > b.max)) or (b.odd and not n.odd):
            out.append("loosens names")
    return out


def _has_rules(spec: Any) -> bool:
    return spec.min is not None or spec.max is not None or spec.past or spec.names is not None


def _show(v: Any) -> str:
    return v.isoformat() if isinstance(v, date) else str(Decimal(v) if isinstance(v, float) else v)
