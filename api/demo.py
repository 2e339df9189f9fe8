"""Demo data: realistic cases across orgs and items, opened in the past, so the board has colour.

No frozen time: the engine is built with a ``now`` function (:class:`SimClock`) that the filler
moves into the past to open and advance each case; at the end the clock returns to the real now
and one sweep fires every escalation that came due meanwhile (yellow and red on the board).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from workflow.definition import Definition, FieldSpec
from workflow.engine import Engine
from workflow.errors import WorkflowError
from workflow.legaltime import TZ
from workflow.model import Actor

# (org, weight): Wuhan busiest, then Yichang, Xiangyang, the province itself, Jingzhou, Huangshi
ORGS = (("420100", 8), ("420500", 4), ("420600", 3), ("420000", 2), ("421000", 2), ("420200", 1))
# service items are most of a window's work; disputes are fewer and longer
ITEM_WEIGHTS = {
    "patent_pledge_registration": 6, "trademark_pledge_registration": 3, "patent_license_filing": 5,
    "patent_right_transfer_filing": 4, "fast_pre_examination": 3, "patent_transfer_and_pledge": 1,
    "patent_dispute_mediation": 2, "patent_infringement_adjudication": 1, "pre_litigation_mediation": 1,
    "judicial_confirmation": 1, "rights_protection_assistance": 2, "ip_administrative_penalty": 1,
    "adr_referral": 1, "overseas_dispute_guidance": 1, "ip_service_request": 2,
}
STAFF_ROLES = ("clerk", "examiner", "supervisor", "leader")
_RARE = ("withdraw", "refuse", "revoke", "not_file", "uphold", "objection", "suspend", "extend",
         "lapse", "correct", "transfer", "fail")
COMPANIES = (
    "武汉光谷智能装备有限公司", "宜昌三峡新材料股份有限公司", "襄阳汽车零部件有限公司",
    "湖北楚天生物科技有限公司", "荆州长江农业机械有限公司", "黄石华新精密制造有限公司",
    "武汉东湖光电子有限公司", "湖北省科技融资担保有限公司", "中国银行湖北省分行",
    "招商银行武汉分行", "汉口银行光谷支行", "宜昌农村商业银行",
)
LENDERS = COMPANIES[7:]  # the guarantor and the banks
PEOPLE = ("张伟", "王芳", "李娜", "刘洋", "陈静", "杨帆", "赵磊", "黄敏", "周杰", "吴婷")


class SimClock:
    """``now()`` for ``build_engine``: the simulated instant while set, else the real time."""

    def __init__(self) -> None:
        self.at: datetime | None = None

    def __call__(self) -> datetime:
        return self.at if self.at is not None else datetime.now(TZ)


@dataclass
class DemoResult:
    opened: int = 0
    transitions: int = 0
    escalations: int = 0
    by_org: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    applications: list[tuple[str, str]] = field(default_factory=list)  # (number, query code)
    ratings: int = 0
    orders: int = 0  # 督办 issued (one answered, one waiting, one overdue per showcase city)


def _working_time(rng: random.Random, day: date) -> datetime:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, time(rng.randint(9, 16), rng.randint(0, 59)), TZ)


def _value(rng: random.Random, spec: FieldSpec, today: date) -> Any:
    n = spec.name
    if spec.type == "choice":
        return rng.choice(spec.choices)
    if spec.type == "date":
        if "hearing" in n or "deadline" in n:
            return (today + timedelta(days=rng.randint(5, 15))).isoformat()
        return (today - timedelta(days=rng.randint(0, 2))).isoformat()
    if spec.type == "integer":
        return rng.randint(1, 12)
    if spec.type in ("number", "money"):
        return rng.randrange(50, 5000) * 10_000
    if spec.type == "boolean":
        return rng.random() < 0.7
    if "pledgee" in n:  # a 质权人 lends: a bank or a guarantor
        return rng.choice(LENDERS)
    if any(k in n for k in ("pledgor", "requester", "respondent", "applicant", "licensor", "licensee",
                            "assignor", "assignee_party", "party", "holder", "transferor", "transferee")):
        return rng.choice(COMPANIES[:7])  # the firms; the lenders are pledgees
    if "patent" in n and ("number" in n or "no" in n):
        return f"ZL20{rng.randint(19, 24)}1{rng.randint(1000000, 9999999)}.{rng.randint(0, 9)}"
    if n == "approver":  # an extension's approving official (行政许可法 第四十二条)
        return f"副局长 {rng.choice(PEOPLE)}"
    if n in ("panel",) or "members" in n:
        return "、".join(rng.sample(PEOPLE, 3))
    label = spec.label or n
    return f"{label}（演示数据）" if spec.type == "text" else f"{label}-{rng.randint(100, 999)}"


def _data(rng: random.Random, specs: tuple[FieldSpec, ...], required: tuple[str, ...], today: date) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for spec in specs:
        if spec.required or rng.random() < 0.5:
            out[spec.name] = _value(rng, spec, today)
    for name in required:
        if name not in out:
            out[name] = _value(rng, FieldSpec(name=name, type="date" if name.endswith(("_on", "date")) else "text"), today)
    if "transferee" in out and "pledgor" in out:  # 受让后即出质: the pledgor is the new owner
        out["pledgor"] = out["transferee"]
    return out


def _step_data(rng: random.Random, defn: Definition, t: Any, case_data: Mapping[str, Any],
               started_on: date | None, today: date) -> dict[str, Any]:
    """A step's data: its own fields, and the materials it requires that the case lacks (收件 may
    have left them out; the clerk keys them in with the step), typed by the case's own field."""
    missing = tuple(n for n in t.required_fields if n not in case_data)
    own = {f.name: f for f in defn.fields if f.name in missing and f.name not in {x.name for x in t.fields}}
    data = {**_data(rng, t.fields, tuple(n for n in missing if n not in own), today),
            **{n: _value(rng, f, today) for n, f in own.items()}}
    for f in t.fields:  # a date of service or receipt lies between the case's start and today
        if f.past and started_on is not None and isinstance(data.get(f.name), str):
            data[f.name] = max(data[f.name], started_on.isoformat())
    return data


def _pick(rng: random.Random, names: list[str]) -> str:
    weights = [0.04 if any(r in n for r in _RARE) else (0.3 if "supplement" in n else 1.0) for n in names]
    return rng.choices(names, weights)[0]


def _actor(org: str, roles: tuple[str, ...]) -> Actor:
    role = next((r for r in STAFF_ROLES if r in roles), roles[0] if roles else "clerk")
    return Actor(id=f"demo.{role}.{org}", roles={role}, org=org, name=f"演示{role}")


def demo_people(orgs: Any) -> list[Any]:
    """A clerk, an examiner, a supervisor and a leader in each demo org (for the escalations)."""
    from adapters.directory import Person

    people = []
    for i, (org, _) in enumerate(ORGS):
        for j, role in enumerate(STAFF_ROLES):
            name = PEOPLE[(i * len(STAFF_ROLES) + j) % len(PEOPLE)]
            people.append(Person(id=f"demo.{role}.{org}", name=f"{name}（{orgs.name(org)}）",
                                 roles=frozenset({role}), org=org,
                                 contacts={"email": f"{role}.{org}@demo.invalid"}))
    return people


def fill(
    engine: Engine, clock: SimClock, *, count: int = 150, days: int = 45, seed: int = 7,
    progress: Callable[[int], None] | None = None,
) -> DemoResult:
    """Open ``count`` cases over the last ``days`` days and walk each some way along its
    definition, plus a showcase of one case per SLA level in Wuhan and Yichang; then sweep at the
    real now. Deterministic for a seed (apart from today's date)."""
    rng = random.Random(seed)
    result = DemoResult()
    real_now = datetime.now(TZ)
    items = [i for i in ITEM_WEIGHTS if _has(engine, i)] or [d.id for d in engine.definitions()]
    weights = [ITEM_WEIGHTS.get(i, 1) for i in items]
    orgs, org_w = zip(*ORGS, strict=True)
    everyone = set(STAFF_ROLES)
    try:
        for n in range(count):
            item = rng.choices(items, weights)[0]
            org = rng.choices(orgs, org_w)[0]
            defn = engine.definition(item)
            # older openings for disputes (months), recent ones for window items (days)
            span = days * (3 if defn.kind == "dispute_case" else 1)
            at = _working_time(rng, (real_now - timedelta(days=rng.triangular(0.1, span, 0.1))).date())
            at = min(at, real_now - timedelta(minutes=5))
            clock.at = at
            try:
                case = engine.open_case(item, actor=_actor(org, ("clerk",)),
                                        data=_data(rng, defn.fields, (), at.date()))
            except WorkflowError as exc:
                result.errors.append(f"open {item}: {exc}")
                continue
            result.opened += 1
            result.by_org[org] = result.by_org.get(org, 0) + 1
            result.transitions += _walk(engine, clock, rng, defn, case.id, org, at, real_now, everyone)
            if progress is not None:
                progress(n + 1)
        _showcase(engine, clock, rng, real_now, result)
        _applications(engine, clock, rng, real_now, result)
        _orders(engine, clock, real_now, result)
    finally:
        clock.at = None
    result.escalations = len(engine.sweep())
    return result


# 督办 in each showcase city, on its most urgent open cases: (working days ago, reply days, answered)
# — one answered, one still within its reply days, one past them (the sweep escalates it)
ORDERS = ((6, 3, True), (1, 3, False), (6, 2, False))
ORDER_TEXT = ("企业来电反映办理进度慢", "核实办理进度，书面答复办理情况及预计办结日期")


def _orders(engine: Engine, clock: SimClock, real_now: datetime, result: DemoResult) -> None:
    for org in SHOWCASE_ORGS:
        supervisor, clerk = _actor(org, ("supervisor",)), _actor(org, ("clerk",))
        cases = [c for c in engine.list_cases(supervisor, org=org, open=True, order="urgent", limit=40)
                 if c.org == org and c.parent_id is None and c.item_id != "rating_rectification"]
        for (back, days, answered), case in zip(ORDERS, cases, strict=False):
            day = _workdays_back(engine, real_now.date(), back)
            clock.at = max(min(datetime.combine(day, time(9, 30), TZ), real_now - timedelta(minutes=2)),
                           case.opened_at + timedelta(minutes=1))
            try:
                order = engine.issue_order(case.id, actor=supervisor, reason=ORDER_TEXT[0], action=ORDER_TEXT[1],
                                           reply_days=days)
                result.orders += 1
                if answered:
                    clock.at = min(clock.at + timedelta(days=1), real_now - timedelta(minutes=1))
                    engine.answer_order(case.id, order.id, actor=clerk,
                                        text="已核实：材料齐全，正在审查，预计三个工作日内办结。")
            except WorkflowError as exc:
                result.errors.append(f"order on {case.number}: {exc}")


SHOWCASE_ORGS = ("420100", "420500")
# paper pledge registrations (5 working days, commitment 3) opened k working days ago are, today,
# on track (0), yellow (2), red (4) and past the statutory limit (7)
SHOWCASE_BACK = (0, 2, 4, 7)


def _workdays_back(engine: Engine, today: date, k: int) -> date:
    day = today
    while k > 0:
        day -= timedelta(days=1)
        if engine.calendar.is_workday(day):
            k -= 1
    return day


def _showcase(engine: Engine, clock: SimClock, rng: random.Random, real_now: datetime, result: DemoResult) -> None:
    """One case per SLA level in Wuhan and Yichang, whatever today's date (the board always has
    every colour). Each is accepted on receipt: held at the window past five working days with no
    补正 notice it would be deemed accepted instead (一次性告知, 行政许可法第三十二条)."""
    if not _has(engine, "patent_pledge_registration"):
        return
    defn = engine.definition("patent_pledge_registration")
    for org in SHOWCASE_ORGS:
        for k in SHOWCASE_BACK:
            day = _workdays_back(engine, real_now.date(), k)
            clock.at = min(datetime.combine(day, time(10, 0), TZ), real_now - timedelta(minutes=1))
            data = {**_data(rng, defn.fields, (), day), "channel": "paper", "request_type": "registration"}
            case = engine.open_case(defn.id, actor=_actor(org, ("clerk",)), data=data)
            accept = defn.transition("accept", defn.initial)
            if accept is not None:
                engine.fire(case.id, "accept", actor=_actor(org, ("clerk",)),
                            data=_step_data(rng, defn, accept, case.data, case.started_on, day))
                result.transitions += 1
            result.opened += 1
            result.by_org[org] = result.by_org.get(org, 0) + 1
    _showcase_provisional(engine, clock, rng, real_now, result)


def _showcase_provisional(engine: Engine, clock: SimClock, rng: random.Random, real_now: datetime,
                          result: DemoResult) -> None:
    """A patent infringement case filed today in each showcase org: its three months reach into
    next year, so from the autumn until the State Council's notice for that year is loaded its
    dates are provisional (暂定) on every page, receipt and report."""
    if not _has(engine, "patent_infringement_adjudication"):
        return
    defn = engine.definition("patent_infringement_adjudication")
    clock.at = real_now - timedelta(minutes=1)
    for org in SHOWCASE_ORGS:
        data = {**_data(rng, defn.fields, (), clock.at.date()), "respondent_domicile": "domestic"}
        case = engine.open_case(defn.id, actor=_actor(org, ("clerk",)), data=data)
        engine.fire(case.id, "file_case", actor=_actor(org, ("examiner",)), data={"panel": "张审查、李审查、王审查"})
        result.opened += 1
        result.by_org[org] = result.by_org.get(org, 0) + 1


# online applications (issue 17): (item, org, working days ago, how far the office got, grade)
APPLICATIONS = (
    ("patent_pledge_registration", "420100", 12, "closed", 5),
    ("patent_pledge_registration", "420100", 10, "closed", 4),
    ("patent_license_filing", "420100", 9, "closed", 5),
    ("patent_pledge_registration", "420100", 8, "closed", 2),  # 差评: rectified and replied on time
    ("patent_right_transfer_filing", "420100", 6, "closed", 1),  # 差评: its rectification still open
    ("trademark_pledge_registration", "420500", 7, "closed", 3),
    ("patent_pledge_registration", "420500", 5, "closed", 5),
    ("patent_license_filing", "420100", 3, "supplement", None),  # waiting for the applicant
    ("patent_pledge_registration", "420100", 1, "supplement", None),
    ("patent_pledge_registration", "420100", 0, "received", None),
    ("patent_license_filing", "420500", 1, "accepted", None),
)
DEMO_PDF = b"%PDF-1.4\n% caseclock demo material\n"
_TO_CLOSE: dict[str, tuple[tuple[str, str, dict[str, Any]], ...]] = {
    "patent_pledge_registration": (("approve", "examiner", {"registration_number": "2026420000{n:03d}"}),),
    "patent_license_filing": (("approve", "examiner", {"filing_number": "2026420000{n:03d}"}),),
    "patent_right_transfer_filing": (("approve", "examiner", {}),),
    "trademark_pledge_registration": (("register", "examiner", {}), ("issue_certificate", "clerk", {})),
}
_COMMENTS = {5: "网上申请很方便，办理很快。", 4: "整体满意。", 3: "还可以，材料要求可以再说清楚些。",
             2: "第一次补正通知没有把材料讲全，多跑了一趟。", 1: "等了很久才有人处理。"}


def _applications(engine: Engine, clock: SimClock, rng: random.Random, real_now: datetime,
                  result: DemoResult) -> None:
    """A few online applications, as the applicants made them: some still waiting for a
    supplement, most closed and rated (好差评), two 差评 with their rectifications."""
    from adapters.online import OnlineService, Upload, check_applicant

    svc = OnlineService(engine)
    for n, (item, org, back, reached, grade) in enumerate(APPLICATIONS, start=1):
        if not _has(engine, item):
            continue
        day = _workdays_back(engine, real_now.date(), back)
        at = min(datetime.combine(day, time(9, 30), TZ), real_now - timedelta(minutes=30))
        clock.at = at
        company = COMPANIES[n % 6]
        applicant = check_applicant({"id": f"9142{org}MA4K{n:06d}", "name": company,
                                     "phone": f"1380000{n:04d}", "email": f"applicant{n}@demo.invalid"})
        defn = engine.definition(item)
        data = {k: v for k, v in _data(rng, defn.fields, (), day).items() if k != "channel"}
        data.update({"request_type": "registration"} if "request_type" in {f.name for f in defn.fields} else {})
        try:
            case, code = svc.apply(item, data, applicant, org=org, via="web",
                                   files=[Upload("申请材料.pdf", DEMO_PDF)])
        except WorkflowError as exc:
            result.errors.append(f"apply {item}: {exc}")
            continue
        result.opened += 1
        result.by_org[org] = result.by_org.get(org, 0) + 1
        result.applications.append((case.number, code))
        clerk, examiner = _actor(org, ("clerk",)), _actor(org, ("examiner",))
        steps: list[tuple[str, Actor, dict[str, Any]]] = []
        if reached != "received":
            accept = defn.transition("accept", defn.initial)
            steps.append(("accept", clerk, _step_data(rng, defn, accept, case.data, case.started_on, day)
                          if accept else {}))
        if reached == "supplement" or (reached == "closed" and grade in (2, 3)):
            ask = {"supplement_items": "1、质押合同（或许可合同）原件扫描件；2、申请人营业执照副本"}
            t = defn.transition("request_supplement", "under_review")
            for f in t.fields if t else ():
                if f.type == "date":  # the date the applicant received the notice, or the deadline
                    ask[f.name] = (day + timedelta(days=10 if "deadline" in f.name else 0)).isoformat()
            steps.append(("request_supplement", examiner, ask))
        try:
            for trigger, actor, data in steps:
                clock.at = at = at + timedelta(hours=2)
                engine.fire(case.id, trigger, actor=actor, data=data)
                result.transitions += 1
            if reached == "closed":
                app = svc.find(case.number, code)
                if steps[-1][0] == "request_supplement":
                    clock.at = at = at + timedelta(hours=20)
                    svc.supplement(app, [Upload("补正材料.pdf", DEMO_PDF)])
                for trigger, role, extra in _TO_CLOSE[item]:
                    clock.at = at = at + timedelta(hours=3)
                    engine.fire(case.id, trigger, actor=_actor(org, (role,)),
                                data={k: v.format(n=n) if isinstance(v, str) else v for k, v in extra.items()})
                    result.transitions += 1
                clock.at = at = at + timedelta(hours=5)
                assert grade is not None  # closed applications are rated
                rating = svc.rate(app, grade, _COMMENTS[grade])
                result.ratings += 1
                if rating.rectification_id and grade == 2:
                    boss = _actor(org, ("supervisor",))
                    for trig, d in (("verify", {"finding": "属实：补正通知未一次告知全部材料"}),
                                    ("revisit", {"revisit_note": "电话回访，申请人认可处理意见"}),
                                    ("reply", {"rectification": "窗口统一使用一次性告知清单",
                                               "reply": "经核实情况属实，已统一一次性告知清单并对窗口人员进行培训，感谢您的监督。"})):
                        clock.at = at = at + timedelta(hours=20)
                        engine.fire(rating.rectification_id, trig, actor=boss, data=d)
                        result.transitions += 1
        except WorkflowError as exc:
            result.errors.append(f"walk {case.number}: {exc}")


def _has(engine: Engine, item: str) -> bool:
    try:
        engine.definition(item)
    except WorkflowError:
        return False
    return True


def _walk(engine: Engine, clock: SimClock, rng: random.Random, defn: Definition, case_id: str, org: str,
          at: datetime, real_now: datetime, roles: set[str]) -> int:
    """Advance one case by plausible steps until it closes, stalls, or reaches the present."""
    fired = 0
    boss = Actor(id="demo.planner", roles=roles, org=org)
    gaps = (2, 4, 6, 20, 24, 28) if defn.kind != "dispute_case" else (24, 48, 72, 120, 168, 240)
    age = (real_now - at).days / (1 if defn.kind != "dispute_case" else 6)
    # recent cases wait on somebody (yellow, some red); old ones were mostly finished long ago
    stall = 0.22 if age < 4 else 0.08 if age < 10 else 0.012
    for _ in range(14):
        if rng.random() < stall:
            break
        at = at + timedelta(hours=rng.choice(gaps))
        if at >= real_now - timedelta(minutes=5):
            break
        clock.at = at
        case = engine.get_case(case_id)
        if case.final:
            break
        names = engine.available_triggers(case_id, actor=boss)
        if not names:
            break
        trigger = _pick(rng, names)
        t = defn.transition(trigger, case.state)
        if t is None:
            break
        data = _step_data(rng, defn, t, case.data, case.started_on, at.date())
        try:
            engine.fire(case_id, trigger, actor=_actor(org, t.roles), data=data)
        except WorkflowError:
            continue
        fired += 1
    return fired


__all__ = ["DemoResult", "SimClock", "fill"]
