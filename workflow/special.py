"""特别程序: typed, approved special procedures whose time is not counted (行政许可法第四十五条;
国家知识产权局令第81号 第三十七条).

行政许可法第四十五条: 行政机关作出行政许可决定，依法需要听证、招标、拍卖、检验、检测、检疫、鉴定和专家
评审的，所需时间不计算在本节规定的期限内。行政机关应当将所需时间书面告知申请人。
令第81号 第三十七条 leaves out of the adjudication's three months the periods of 公告送达, 检验鉴定,
管辖异议, 当事人申请延长的举证期限, 中止 and 和解.

A transition into a pausing state declares the kinds of procedure it starts::

    - {trigger: start_appraisal, source: under_examination, dest: appraisal, roles: [examiner],
       special: [verification, appraisal]}

Where another law keeps the time out (a penalty's 听证 under 《市场监督管理行政处罚程序规定》), the
step names it: ``special: {kinds: [hearing], basis: 《…》第…条}``; else each kind's law below is the basis.

The loader implies three required fields on it, given with the call itself (never taken from an
earlier step's data): ``kind`` (a choice of the declared kinds, never preselected), ``approver``
(who approved it) and ``expected_days`` (the time it needs, 1..365, declared at its start: the
notice to the applicant states it). Entering starts the case's ``special_procedure`` clock (kind
``special``): the expected last day is counted as the paused clock counts (working days where the
paused statutory clock counts working days, as 行政许可法第八十二条 counts its periods; natural days,
moved off a rest day, where it counts days or months, as the adjudication's 令第81号 does). Its one
level is ``overrun`` at 00:00 after that day: shown yellow, escalated once (docs/escalation.md).
Leaving the state stops it; the statutory clock is paused and resumed as the state's ``pauses`` say.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, Any

from . import legaltime as lt
from .legaltime import ClockKind, ClockState, Status
from .limits import Limit, Unit

if TYPE_CHECKING:
    from .definition import Definition, FieldSpec
    from .model import CaseRecord

KEY = "special"  # a transition's key
SPECIAL_CLOCK = "special_procedure"  # the case's clock of the procedure under way
MAX_EXPECTED_DAYS = 365
# each kind: its Chinese name, and the law that keeps its time out of the limit
KINDS: dict[str, tuple[str, str]] = {
    # 行政许可法第四十五条
    "hearing": ("听证", "《行政许可法》第四十五条"),
    "tendering": ("招标", "《行政许可法》第四十五条"),
    "auction": ("拍卖", "《行政许可法》第四十五条"),
    "verification": ("检验", "《行政许可法》第四十五条"),
    "testing": ("检测", "《行政许可法》第四十五条"),
    "quarantine": ("检疫", "《行政许可法》第四十五条"),
    "appraisal": ("鉴定", "《行政许可法》第四十五条"),
    "expert_review": ("专家评审", "《行政许可法》第四十五条"),
    # 国家知识产权局令第81号 第三十七条 (检验、鉴定 as above)
    "service_by_publication": ("公告送达", "《专利纠纷行政裁决和调解办法》第三十七条"),
    "jurisdiction_objection": ("管辖异议", "《专利纠纷行政裁决和调解办法》第三十七条"),
    "evidence_extension": ("当事人申请延长举证期限", "《专利纠纷行政裁决和调解办法》第三十七条"),
    "suspension": ("中止", "《专利纠纷行政裁决和调解办法》第三十七条"),
    "settlement": ("和解", "《专利纠纷行政裁决和调解办法》第三十七条"),
}
KIND_LABELS = {k: v[0] for k, v in KINDS.items()}
FIELD_NAMES = ("kind", "approver", "expected_days")  # given anew with each procedure
CLOCK_LABEL = "特别程序预计期限"
OVERRUN_LABEL = "特别程序超出预计期限"  # level ``overrun``: the one wording of pages, notices and the report
EVENT_KEY = "special_procedure"  # the transition event's record of the procedure
# the case's log of its procedures (kept with its data, so a correction undoes an entry with the
# step; hidden from documents and pages like every ``_`` key): what the monthly report counts
LOG = "_special_procedures"


def fields(kinds: tuple[str, ...]) -> tuple[FieldSpec, ...]:
    """The implied, required fields of a transition that starts one of ``kinds``."""
    from .definition import EXTENSION_APPROVER, FieldSpec

    return (
        FieldSpec(name="kind", type="choice", label="特别程序种类", required=True, choices=kinds),
        EXTENSION_APPROVER,  # the same approving official an extension names
        FieldSpec(name="expected_days", type="integer", label="预计所需时间（日数）", required=True,
                  min=1, max=MAX_EXPECTED_DAYS),
    )


def parse(c: Any, raw: Any, path: str, *, own: tuple[FieldSpec, ...],
          extend: bool) -> tuple[tuple[str, ...], str | None, tuple[FieldSpec, ...]]:
    """The declared kinds of a transition's ``special`` key (``()`` when absent or wrong: each
    problem reported through ``c``), the basis it names (or None), and its fields with the implied
    ones."""
    if raw is None:
        return (), None, own
    p = f"{path}.{KEY}"
    basis: str | None = None
    if isinstance(raw, dict):
        c.keys(raw, {"kinds", "basis"}, p)
        basis = raw.get("basis")
        if basis is not None and (not isinstance(basis, str) or not basis.strip()):
            c.add(f"{p}.basis", "basis is the text of the law that keeps the time out")
            basis = None
        raw = raw.get("kinds")
        p = f"{p}.kinds"
    if not isinstance(raw, list) or not raw or not all(isinstance(k, str) for k in raw):
        c.add(p, f"special lists the kinds of special procedure the step starts (some of {', '.join(KINDS)})")
        return (), None, own
    ok = True
    for k in raw:
        if k not in KINDS:
            c.add(p, f"unknown kind {k!r} (one of {', '.join(KINDS)})")
            ok = False
    if len(set(raw)) != len(raw):
        c.add(p, "a kind is listed twice")
        ok = False
    if extend:
        c.add(p, "a special procedure pauses the limit; an extension lengthens it: one step does one or the other")
        ok = False
    clash = [] if extend else [f.name for f in own if f.name in FIELD_NAMES]  # an extension implies its own
    if clash:
        c.add(f"{path}.fields", f"{', '.join(clash)} is implied by special: remove it")
        ok = False
    if not ok:
        return (), None, own
    kinds = tuple(raw)
    return kinds, basis, own + fields(kinds)


def check(c: Any, defn_states: Any, transitions: Any, clocks: Any) -> None:
    """Checks across the file: a special step enters a different, open state that pauses a clock;
    in a file with one, the clock name is the engine's."""
    if SPECIAL_CLOCK in clocks and any(t.special for t in transitions):  # a file with no special step may use the name
        c.add(f"clocks.{SPECIAL_CLOCK}", f"the clock name {SPECIAL_CLOCK!r} is the special procedure's: rename this clock")
    for i, t in enumerate(transitions):
        if not t.special:
            continue
        dest = defn_states.get(t.dest)
        if dest is None:
            continue
        if dest.final or not dest.pauses or t.dest in t.sources:
            c.add(f"transitions[{i}].{KEY}", f"a special procedure enters a state that pauses the limit "
                  f"(states.{t.dest}: pauses), from another state; {t.dest!r} does not")


def unit_for(defn: Definition, state: str) -> Unit:
    """How the expected time counts in ``state``: as the first clock it pauses counts (working days
    for a working-day limit, else natural days)."""
    paused = defn.states[state].pauses
    cdef = defn.clocks.get(paused[0]) if paused else None
    if cdef is not None and cdef.limit.unit is Unit.WORKING_DAYS:
        return Unit.WORKING_DAYS
    return Unit.DAYS


def start(rec_clocks: dict[str, ClockState], defn: Definition, state: str, kind: str, days: int,
          today: date) -> ClockState:
    """The case's special clock, started ``today`` for ``days`` of ``kind`` (a new run)."""
    old = rec_clocks.get(SPECIAL_CLOCK)
    fresh = ClockState(name=SPECIAL_CLOCK, limit=Limit(days, unit_for(defn, state)), kind=ClockKind.SPECIAL,
                       label=f"{CLOCK_LABEL}（{KIND_LABELS.get(kind, kind)}）")
    started = lt.start(fresh, today)
    return replace(started, run=(old.run if old is not None else 0) + 1)


def stop(rec: CaseRecord, today: date) -> None:
    """Stop the procedure under way (the case leaves its state), in place, and close its log entry:
    its length in natural days (start day not counted), and whether it ran past the expected end."""
    st = rec.clocks.get(SPECIAL_CLOCK)
    if st is None or st.status is not Status.RUNNING:
        return
    rec.clocks[SPECIAL_CLOCK] = lt.stop(st, today)
    log = [dict(e) for e in rec.data.get(LOG) or [] if isinstance(e, dict)]
    if log and log[-1].get("ended_on") is None:
        last = log[-1]
        started = date.fromisoformat(str(last["started_on"]))
        expected = last.get("expected_end")
        last.update(ended_on=today.isoformat(), days=(today - started).days,
                    overrun=bool(expected) and today.isoformat() > str(expected))
        rec.data = {**rec.data, LOG: log}


def record(rec: CaseRecord, given: dict[str, Any], expected_end: date | None, today: date,
           basis: str | None = None) -> dict[str, Any]:
    """Log the procedure just started on the case; what its transition event records of it
    (``basis``: the step's own, else the kind's law)."""
    kind = str(given.get("kind", ""))
    entry = {"kind": kind, "started_on": today.isoformat(),
             "expected_end": expected_end.isoformat() if expected_end else None, "ended_on": None}
    rec.data = {**rec.data, LOG: [*(rec.data.get(LOG) or []), entry]}
    return {EVENT_KEY: {"kind": kind, "label": KIND_LABELS.get(kind, kind),
                        "basis": basis or (KINDS[kind][1] if kind in KINDS else None), "approver": given.get("approver"),
                        "expected_days": given.get("expected_days"),
                        "expected_end": expected_end.isoformat() if expected_end else None}}


__all__ = ["CLOCK_LABEL", "EVENT_KEY", "FIELD_NAMES", "KEY", "KINDS", "KIND_LABELS", "LOG", "MAX_EXPECTED_DAYS",
           "OVERRUN_LABEL", "SPECIAL_CLOCK", "check", "fields", "parse", "record", "start", "stop", "unit_for"]
