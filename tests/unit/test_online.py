"""The applicant's side without HTTP: the definitions' ``online`` terms, notice kinds, query codes,
ratings and their measures (pure), and the service on the memory store."""

from __future__ import annotations

from datetime import datetime

import pytest

from adapters import build_engine
from adapters.applications import AlreadyRated
from adapters.online import OnlineService, Upload, check_applicant
from adapters.reports import ReportService, columns, to_csv
from workflow import TZ, Actor
from workflow.definition import load_text
from workflow.errors import DefinitionError, MissingData, TransitionNotAllowed, UnknownItem
from workflow.online import (
    awaiting_states,
    check_query_code,
    hash_query_code,
    new_query_code,
    notice_kind,
    split_needs,
    status_of,
)
from workflow.ratings import Rating, RatingTally, parse_grade

CLERK = Actor("c1", {"clerk"}, "420100")
EXAMINER = Actor("e1", {"examiner"}, "420100")
SUPERVISOR = Actor("s1", {"supervisor"}, "420100")
PLEDGE = "patent_pledge_registration"
FORM = {"pledgor": "甲公司", "pledgee": "乙银行", "patent_numbers": "ZL1"}
WHO = check_applicant({"id": "A-1", "name": "甲公司", "phone": "13800000000"})
PDF = b"%PDF-1.4 x"

MINI = """
id: mini
name: 小事项
kind: {kind}
initial: received
states:
  received: {{label: 已接收, roles: [clerk]}}
  waiting: {{label: 待补正}}
  done: {{label: 办结, final: true}}
transitions:
  - {{trigger: ask, source: received, dest: waiting, roles: [clerk]}}
  - {{trigger: resubmit, source: waiting, dest: received, roles: [clerk, portal]}}
  - {{trigger: finish, source: received, dest: done, roles: [clerk]}}
{online}
"""


def mini(kind: str = "service_item", online: str = ""):
    return load_text(MINI.format(kind=kind, online=online), "mini.yaml")


# --- the definition format ----------------------------------------------------------------------


def test_service_items_and_bundles_are_open_by_default_disputes_closed():
    assert mini().online.open and mini().online.supplement == "resubmit"
    d = mini("dispute_case")
    assert not d.online.open and d.online.reason
    assert mini("dispute_case", "online: {open: true}").online.open


def test_closing_needs_a_reason_and_every_problem_is_named():
    with pytest.raises(DefinitionError) as exc:
        mini(online="online: {open: false, supplement: finish, notices: {nope: accepted, ask: shouted}, "
                    "materials: [{name: Bad-Name}, {name: x, label: ''}], colour: red}")
    paths = {p.path for p in exc.value.problems}
    assert {"online.reason", "online.supplement", "online.notices.nope", "online.notices.ask",
            "online.materials[0].name", "online.materials[1].label", "online.colour"} <= paths


def test_a_supplement_trigger_the_applicant_cannot_fire_is_refused_when_named():
    text = MINI.format(kind="service_item", online="online: {supplement: ask}")
    with pytest.raises(DefinitionError) as exc:
        load_text(text, "m.yaml")
    assert "add portal to its roles" in str(exc.value)
    # … but a definition that does not name it keeps working without online supplements
    old = load_text(MINI.format(kind="service_item", online="").replace("[clerk, portal]", "[clerk]"), "old.yaml")
    assert old.online.open and old.online.supplement is None and awaiting_states(old) == frozenset()


def test_notice_kinds_follow_from_the_definition():
    engine = build_engine("memory://")
    pledge = engine.definition(PLEDGE)
    assert notice_kind(pledge, "accept", "received", "under_review", accepted=False) == "accepted"
    assert notice_kind(pledge, "request_supplement", "under_review", "awaiting_supplement", accepted=True) == "supplement"
    assert notice_kind(pledge, "resubmit", "awaiting_supplement", "under_review", accepted=True) is None
    assert notice_kind(pledge, "approve", "under_review", "registered", accepted=True) == "closed"
    assert notice_kind(pledge, "refuse", "received", "refused", accepted=False) == "not_accepted"
    assert notice_kind(pledge, "refuse", "under_review", "refused", accepted=True) == "closed"
    assert notice_kind(pledge, "withdraw", "received", "withdrawn", accepted=False) == "closed"
    med = engine.definition("patent_dispute_mediation")
    assert notice_kind(med, "file_case", "consent_received", "mediating", accepted=False) == "accepted"
    assert notice_kind(med, "notify_refusal", "refusal_pending", "not_filed", accepted=False) == "not_accepted"
    assert notice_kind(med, "extend", "mediating", "mediating", accepted=True, extends=True) == "extended"
    assert status_of(pledge, "received", accepted=False) == "received"
    assert status_of(pledge, "awaiting_supplement", accepted=True) == "awaiting_supplement"
    assert status_of(pledge, "refused", accepted=False, not_accepted=True) == "not_accepted"


def test_supplement_items_are_split_into_a_list():
    assert split_needs("1、质押合同原件；2、营业执照\n(3) 委托书。") == ["质押合同原件", "营业执照", "委托书"]
    assert split_needs("一、申请表。二、身份证明") == ["申请表", "身份证明"]
    assert split_needs("  ") == []


def test_query_codes_are_random_and_only_their_hash_is_kept():
    codes = {new_query_code() for _ in range(200)}
    assert len(codes) == 200 and all(len(c) == 12 and c.isalnum() and c.isupper() for c in codes)
    assert not {"0", "O", "1", "I", "L"} & set("".join(codes))
    code = new_query_code()
    stored = hash_query_code(code)
    assert code not in stored and stored != hash_query_code(code)  # salted
    assert check_query_code(code, stored) and check_query_code(f" {code[:6].lower()}-{code[6:]} ", stored)
    assert not check_query_code(code[:-1] + ("A" if code[-1] != "A" else "B"), stored)
    assert not check_query_code("", stored) and not check_query_code(code, None)


def test_grades_and_the_satisfied_rate():
    assert [parse_grade(g) for g in (1, "5", " 3 ")] == [1, 5, 3]
    for bad in (0, 6, True, 2.0, "٥", "５", None, "x"):
        with pytest.raises(ValueError):
            parse_grade(bad)
    at = datetime(2024, 6, 3, 10, tzinfo=TZ)
    t = RatingTally()
    for g, on_time in ((5, None), (4, None), (3, None), (2, True), (1, False)):
        t.add_rating(Rating("c", "n", "420100", PLEDGE, g, at, rectified_on_time=on_time))
    assert t.measures() == {"ratings": 5, "satisfied_rate": 0.6, "bad_ratings": 2, "bad_rectified_on_time": 1}


# --- the service on the memory store ------------------------------------------------------------


@pytest.fixture
def svc(freezer):
    freezer.move_to("2024-06-03 10:00:00+08:00")
    return OnlineService(build_engine("memory://"))


def test_a_closed_item_and_unknown_fields_are_refused(svc):
    with pytest.raises(UnknownItem, match="not open to online application"):
        svc.apply("ip_administrative_penalty", {}, WHO, org="420100", via="web")
    with pytest.raises(MissingData) as exc:
        svc.apply(PLEDGE, {**FORM, "assignee": "someone"}, WHO, org="420100", via="web")
    assert exc.value.fields == {"data.assignee": "not a field of this item"}
    assert svc.engine.list_cases() == []


def test_files_are_checked_before_the_case_opens(svc):
    from adapters.attachments import AttachmentRejected

    with pytest.raises(AttachmentRejected):
        svc.apply(PLEDGE, FORM, WHO, org="420100", via="web", files=[Upload("a.pdf", b"MZ not a pdf")])
    assert svc.engine.list_cases() == []
    case, _ = svc.apply(PLEDGE, FORM, WHO, org="420100", via="web", files=[Upload("申请表.pdf", PDF)])
    assert [a.label for a in svc.attachments.list(case.id, actor=None)] == ["申请材料"]


def test_rating_once_and_a_crash_between_rating_and_rectification_is_mended(svc, freezer):
    case, code = svc.apply(PLEDGE, FORM, WHO, org="420100", via="web")
    app = svc.find(case.number, code)
    svc.engine.fire(case.id, "accept", actor=CLERK)
    svc.engine.fire(case.id, "approve", actor=EXAMINER)
    # the rectification fails to open (the process stops): the rating stays, alone
    opened = svc._open_rectification
    svc._open_rectification = lambda app, rating: rating  # type: ignore[method-assign]
    rating = svc.rate(app, 1, "很差")
    svc._open_rectification = opened  # type: ignore[method-assign]
    assert rating.rectification_id is None and svc.engine.list_cases(item_id="rating_rectification") == []
    with pytest.raises(AlreadyRated):
        svc.rate(app, 5)
    p = svc.progress(app)  # the next look at it opens the rectification, once
    svc.progress(app)
    rects = svc.engine.list_cases(item_id="rating_rectification")
    assert len(rects) == 1 and p["rating"]["rectification"]["number"] == rects[0].number


def test_a_rejected_step_writes_no_notice(svc):
    case, code = svc.apply(PLEDGE, FORM, WHO, org="420100", via="web")
    app = svc.find(case.number, code)
    with pytest.raises(MissingData):
        svc.engine.fire(case.id, "refuse", actor=EXAMINER)  # the reason is required
    assert svc.progress(app)["notices"] == []
    with pytest.raises(TransitionNotAllowed):
        svc.supplement(app, [Upload("a.pdf", PDF)])


def test_ratings_in_the_monthly_report(svc, freezer):
    def closed() -> object:
        case, code = svc.apply(PLEDGE, FORM, WHO, org="420100", via="web")
        svc.engine.fire(case.id, "accept", actor=CLERK)
        svc.engine.fire(case.id, "approve", actor=EXAMINER)
        return svc.find(case.number, code)

    svc.rate(closed(), 5)
    svc.rate(closed(), 3)
    bad = svc.rate(closed(), 2, "慢")
    late = svc.rate(closed(), 1)
    for r, when in ((bad, "2024-06-05 10:00:00+08:00"), (late, "2024-06-28 10:00:00+08:00")):
        freezer.move_to(when)
        for trig, data in (("verify", {"finding": "属实"}), ("revisit", {"revisit_note": "已回访"}),
                           ("reply", {"rectification": "整改", "reply": "已整改"})):
            svc.engine.fire(r.rectification_id, trig, actor=SUPERVISOR, data=data)
    report = ReportService(svc.engine).compute(2024, 6)
    line = report.line("420100", PLEDGE)
    assert {k: line.measures[k] for k in ("ratings", "satisfied_rate", "bad_ratings", "bad_rectified_on_time")} == {
        "ratings": 4, "satisfied_rate": 0.5, "bad_ratings": 2, "bad_rectified_on_time": 1}
    assert report.line("420000").measures["ratings"] == 4  # rolled up to the province
    heads = [h for _, h in columns(report)]
    assert heads[heads.index("评价数"):heads.index("评价数") + 4] == ["评价数", "满意率", "差评数", "差评按时整改数"]
    assert "满意率" in to_csv(report).splitlines()[0]
    freezer.move_to("2024-08-01 10:00:00+08:00")  # July over (a month not begun is refused: month_begun)
    assert ReportService(svc.engine).compute(2024, 7).line("420100") is None  # nothing in July
