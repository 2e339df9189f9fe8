"""The applicant's side of a definition: online application, supplements, notices. PURE.

A definition says how it meets the applicant under its ``online`` key (docs/definitions.md)::

    online:
      open: false                       # default: true for service items and bundles, false for
      reason: 由差评自动生成，不接受申请     #   dispute cases; closing needs the reason shown to people
      supplement: resubmit              # the trigger an applicant's supplement fires (default:
                                        #   ``resubmit`` where the definition has it)
      notices: {file_case: accepted, notify_refusal: not_accepted}   # trigger → notice kind
      materials:                        # what the applicant uploads with the application
        - {name: application_form, label: 专利权质押登记申请表, required: true}

Notice kinds (what the applicant is told, :data:`NOTICE_KINDS`): ``accepted`` 受理, ``supplement``
补正 (the full list, once), ``extended`` 延期 (with the reason), ``special`` 特别程序 (its kind, expected
time and end: 行政许可法第四十五条), ``closed`` 办结, ``not_accepted``
不予受理, and ``none`` to keep a trigger silent. Without an entry in ``notices`` a transition's
kind follows from the definition (:func:`notice_kind`): ``accept`` is 受理; a transition with
``extend`` is 延期; entering a state the applicant's supplement leaves is 补正; reaching a final
state is 办结, or 不予受理 when the case was never accepted (a withdrawal is always 办结).

Query codes (:func:`new_query_code`) are 12 characters of an alphabet without look-alikes
(about 59 bits), stored only as a salted scrypt hash (:func:`hash_query_code`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .definition import Definition

NOTICE_KINDS: dict[str, str] = {
    "accepted": "受理",
    "supplement": "补正",
    "extended": "延期",
    "special": "特别程序",
    "closed": "办结",
    "not_accepted": "不予受理",
    "rating_reply": "评价答复",
}
SILENT = "none"

# what an applicant reads as the status of their matter (the same words for every item)
STATUS_LABELS: dict[str, str] = {
    "received": "已收件，待受理",
    "in_progress": "办理中",
    "awaiting_supplement": "待您补正材料",
    "closed": "已办结",
    "not_accepted": "不予受理",
}

_ID = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Material:
    """One material the applicant uploads with the application (申请材料清单)."""

    name: str
    label: str
    required: bool = False
    note: str = ""


@dataclass(frozen=True)
class OnlineTerms:
    """How a definition meets the applicant (parsed from its ``online`` key)."""

    open: bool = True
    reason: str = ""  # why it is closed to online application
    supplement: str | None = None  # the trigger the applicant's supplement fires
    notices: Mapping[str, str] = field(default_factory=dict)  # trigger → notice kind (or "none")
    materials: tuple[Material, ...] = ()


DEFAULT_MATERIALS = (Material(name="application", label="申请材料", required=False,
                              note="申请书及相关证明材料，可分多个文件上传"),)


def parse_online(value: Any, *, kind: str, triggers: Iterable[str], add: Callable[[str, str], None],
                 applicant_triggers: Iterable[str] = ()) -> OnlineTerms:
    """Validate a definition's ``online`` value (problems go to ``add(path, message)``).
    ``applicant_triggers``: the triggers an applicant (role ``portal``) may fire; the default
    supplement is ``resubmit`` when it is one of them (else supplements come to the window)."""
    known = set(triggers)
    mine = set(applicant_triggers)
    default_open = kind in ("service_item", "bundle")
    default_supplement = "resubmit" if "resubmit" in mine else None
    if value is None:
        return OnlineTerms(open=default_open, supplement=default_supplement,
                           reason="" if default_open else "纠纷案件请到窗口或通过本局指定的方式提出")
    if not isinstance(value, Mapping):
        add("online", "online is a mapping {open, reason, supplement, notices, materials}")
        return OnlineTerms(open=False, reason="")
    allowed = {"open", "reason", "supplement", "notices", "materials"}
    for k in value:
        if k not in allowed:
            add(f"online.{k}", f"unknown key {k!r} (allowed: {', '.join(sorted(allowed))})")
    is_open = value.get("open", default_open)
    if not isinstance(is_open, bool):
        add("online.open", "open is true or false")
        is_open = False
    reason = value.get("reason", "")
    if not isinstance(reason, str):
        add("online.reason", "reason is text")
        reason = ""
    if not is_open and not reason.strip():
        add("online.reason", "a definition closed to online application says why (reason), for the applicant")
    supplement = value.get("supplement", default_supplement)
    if supplement is not None and (not isinstance(supplement, str) or supplement not in known):
        add("online.supplement", f"unknown trigger {supplement!r}")
        supplement = None
    elif supplement is not None and supplement not in mine:
        add("online.supplement", f"the applicant's supplement fires {supplement!r} as the applicant: "
                                 "add portal to its roles")
        supplement = None
    notices: dict[str, str] = {}
    raw = value.get("notices") or {}
    if not isinstance(raw, Mapping):
        add("online.notices", "notices maps a trigger to a notice kind")
        raw = {}
    kinds = (*NOTICE_KINDS, SILENT)
    for trig, nk in raw.items():
        if str(trig) not in known:
            add(f"online.notices.{trig}", f"unknown trigger {trig!r}")
        elif nk not in kinds or nk == "rating_reply":
            add(f"online.notices.{trig}", f"unknown notice kind {nk!r} (one of accepted, supplement, "
                                          "extended, closed, not_accepted, none)")
        else:
            notices[str(trig)] = str(nk)
    materials: list[Material] = []
    raw_m = value.get("materials") or []
    if not isinstance(raw_m, list):
        add("online.materials", "materials is a list of {name, label, required, note}")
        raw_m = []
    names: set[str] = set()
    for i, m in enumerate(raw_m):
        p = f"online.materials[{i}]"
        if not isinstance(m, Mapping):
            add(p, "a material is {name, label, required, note}")
            continue
        for k in m:
            if k not in ("name", "label", "required", "note"):
                add(f"{p}.{k}", f"unknown key {k!r} (allowed: label, name, note, required)")
        name, label = m.get("name"), m.get("label")
        if not isinstance(name, str) or not _ID.match(name):
            add(f"{p}.name", f"a material's name is snake_case, got {name!r}")
            continue
        if name in names:
            add(f"{p}.name", f"material {name!r} is listed twice")
        names.add(name)
        if not isinstance(label, str) or not label.strip():
            add(f"{p}.label", "a material has a label (what the applicant reads)")
            continue
        materials.append(Material(name=name, label=label.strip(), required=bool(m.get("required", False)),
                                  note=str(m.get("note") or "")))
    return OnlineTerms(open=is_open, reason=reason.strip(), supplement=supplement, notices=notices,
                       materials=tuple(materials))


# --- what a definition means to the applicant --------------------------------------------------


def terms(defn: Definition) -> OnlineTerms:
    t = getattr(defn, "online", None)
    return t if isinstance(t, OnlineTerms) else OnlineTerms(open=defn.kind in ("service_item", "bundle"))


def materials(defn: Definition) -> tuple[Material, ...]:
    return terms(defn).materials or DEFAULT_MATERIALS


def awaiting_states(defn: Definition) -> frozenset[str]:
    """States in which the office waits for the applicant's supplement: the sources of the
    supplement trigger."""
    trig = terms(defn).supplement
    if not trig:
        return frozenset()
    return frozenset(s for t in defn.transitions if t.trigger == trig for s in t.sources
                     if s in defn.states and not defn.states[s].final)


def _withdrawal(trigger: str, dest: str) -> bool:
    return trigger.startswith("withdraw") or dest == "withdrawn"


def notice_kind(defn: Definition, trigger: str, source: str, dest: str, *, accepted: bool,
                extends: bool = False, special: bool = False) -> str | None:
    """The notice a transition sends the applicant (a key of :data:`NOTICE_KINDS`), or None.
    ``accepted``: whether the case was accepted (受理) before this transition; ``extends``: the
    transition extends a clock; ``special``: it starts a special procedure (特别程序)."""
    explicit = terms(defn).notices.get(trigger)
    if explicit is not None:
        return None if explicit == SILENT else explicit
    if extends:
        return "extended"
    if special:
        return "special"
    waiting = awaiting_states(defn)
    if dest in waiting and source not in waiting:
        return "supplement"
    final = defn.states[dest].final and not defn.states[source].final
    if final:
        return "closed" if accepted or _withdrawal(trigger, dest) else "not_accepted"
    if trigger == "accept" and not accepted:
        return "accepted"
    return None


def status_of(defn: Definition, state: str, *, accepted: bool, not_accepted: bool = False) -> str:
    """The applicant's status word (:data:`STATUS_LABELS`) for a case in ``state``."""
    if defn.states[state].final:
        return "not_accepted" if not_accepted else "closed"
    if state in awaiting_states(defn):
        return "awaiting_supplement"
    return "in_progress" if accepted or state != defn.initial else "received"


_SPLIT = re.compile(r"[\r\n；;。]+")
_NUMBERED = re.compile(r"^\s*(?:[（(]?\d+[)）.、．]|[一二三四五六七八九十]+[、.．])\s*")


def split_needs(text: str) -> list[str]:
    """The items of a 补正 notice, one per line or sentence (numbering taken off)."""
    out = []
    for part in _SPLIT.split(text or ""):
        item = _NUMBERED.sub("", part or "").strip(" \t。，,")
        if item:
            out.append(item)
    return out


def supplement_fields(defn: Definition, trigger: str, source: str) -> tuple[list[str], list[str]]:
    """(text fields, date fields) of the transition that asked for a supplement: the first say
    what is needed, the second by when (a date field named ``…deadline…`` or ``…_due``, or
    labelled 期限; a date of receipt or service is not a deadline)."""
    t = defn.transition(trigger, source)
    if t is None:
        return [], []
    texts = [f.name for f in sorted(t.fields, key=lambda f: not f.required) if f.type in ("text", "string")]
    dates = [f.name for f in t.fields if f.type == "date"
             and ("deadline" in f.name or f.name.endswith("_due") or "期限" in f.label)]
    return texts, dates


# --- query codes -----------------------------------------------------------------------------------

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L
CODE_LENGTH = 12
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
_MAXMEM = 64 * 1024 * 1024


def new_query_code() -> str:
    """A fresh random query code (12 characters, about 59 bits)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(code: str | None) -> str:
    """What a person typed, as the code was issued: upper case, spaces and dashes dropped."""
    return re.sub(r"[\s\-]", "", code or "").upper()[:64]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_query_code(code: str) -> str:
    """``scrypt$N$r$p$salt$key`` of the normalised code, with a random salt."""
    salt = secrets.token_bytes(16)
    n, r, p = _SCRYPT["n"], _SCRYPT["r"], _SCRYPT["p"]
    key = hashlib.scrypt(normalise_code(code).encode("ascii", "replace"), salt=salt, n=n, r=r, p=p,
                         maxmem=_MAXMEM, dklen=32)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(key)}"


def check_query_code(code: str | None, stored: str | None) -> bool:
    """Whether ``code`` matches ``stored`` (constant time; the same work when ``stored`` is None)."""
    given = normalise_code(code)
    target = stored or _DUMMY
    try:
        scheme, n, r, p, salt, key = target.split("$")
        want = _unb64(key)
        got = hashlib.scrypt(given.encode("ascii", "replace"), salt=_unb64(salt), n=int(n), r=int(r),
                             p=int(p), maxmem=_MAXMEM, dklen=len(want))
    except (ValueError, TypeError):
        return False
    return stored is not None and bool(given) and scheme == "scrypt" and hmac.compare_digest(got, want)


_DUMMY = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$" + _b64(bytes(32))


__all__ = [
    "CODE_ALPHABET", "CODE_LENGTH", "DEFAULT_MATERIALS", "Material", "NOTICE_KINDS", "OnlineTerms",
    "STATUS_LABELS", "awaiting_states", "check_query_code", "hash_query_code", "materials",
    "new_query_code", "normalise_code", "notice_kind", "parse_online", "split_needs", "status_of",
    "supplement_fields", "terms",
]
