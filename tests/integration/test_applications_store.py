"""The applicant's side on every backend (memory, SQLite, PostgreSQL): applications, notices written
with their step (and rolled back with a refused one), one rating per case even when two race, the
rectification's reply, and the month's ratings."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest

from adapters import build_engine
from adapters.applications import AlreadyRated, application_store_for
from adapters.online import OnlineService, Upload, check_applicant
from tests.backends import pg_schema, sqlite_template, store_url  # noqa: F401  (fixtures)
from workflow import TZ, Actor
from workflow.errors import CaseNotFound, VersionConflict

CLERK = Actor("c1", {"clerk"}, "420100")
EXAMINER = Actor("e1", {"examiner"}, "420100")
SUPERVISOR = Actor("s1", {"supervisor"}, "420100")
FORM = {"pledgor": "甲公司", "pledgee": "乙银行", "patent_numbers": "ZL1"}
WHO = check_applicant({"id": "A-1", "name": "甲公司", "phone": "13800000000", "email": "a@example.org"})
PDF = b"%PDF-1.4 x"


@pytest.fixture
def svc(store_url):  # noqa: F811
    engine = build_engine(store_url)
    yield OnlineService(engine)
    dispose = getattr(engine.store, "dispose", None)
    if dispose is not None:
        dispose()


def test_the_whole_way_on_each_backend(svc):
    case, code = svc.apply("patent_pledge_registration", FORM, WHO, org="420100", via="web",
                           files=[Upload("申请表.pdf", PDF)])
    app = svc.find(case.number, code)
    assert app.applicant == WHO and app.org == "420100" and app.via == "web"
    with pytest.raises(CaseNotFound):
        svc.find(case.number, "ABCDEFGHJKMN")
    e = svc.engine
    e.fire(case.id, "accept", actor=CLERK)
    e.fire(case.id, "request_supplement", actor=EXAMINER, data={"supplement_items": "合同原件\n执照"})
    assert svc.progress(app)["needs"] == ["合同原件", "执照"]
    svc.supplement(app, [Upload("合同.pdf", PDF)])
    e.fire(case.id, "approve", actor=EXAMINER)
    rating = svc.rate(app, 2, "慢")
    for trig, data in (("verify", {"finding": "属实"}), ("revisit", {"revisit_note": "已回访"}),
                       ("reply", {"rectification": "整改", "reply": "已整改，谢谢"})):
        e.fire(rating.rectification_id, trig, actor=SUPERVISOR, data=data)
    p = svc.progress(app)
    assert [n["kind"] for n in p["notices"]] == ["accepted", "supplement", "closed", "rating_reply"]
    assert p["rating"]["rectification"]["reply"] == "已整改，谢谢"
    with e.store.unit_of_work() as uow:
        outbox = [m for m in uow.list_outbox(limit=1000) if m.topic == "applicant_notice"]
    assert len(outbox) == 4 and outbox[0].payload["audience"][0]["person"]["contacts"]["email"] == WHO.email
    month = svc.ratings_between(datetime(2000, 1, 1, tzinfo=TZ), datetime(2100, 1, 1, tzinfo=TZ))
    assert [(r.grade, r.rectified_on_time, r.reply) for r in month] == [(2, True, "已整改，谢谢")]
    listed = application_store_for(e.store)
    with e.store.unit_of_work() as uow:
        assert [a.number for a in listed.by_applicant(uow, WHO.id)] == [case.number]


def test_a_refused_step_leaves_no_notice(svc):
    case, code = svc.apply("patent_pledge_registration", FORM, WHO, org="420100", via="web")
    app = svc.find(case.number, code)
    stale = svc.engine.get_case(case.id).version
    svc.engine.fire(case.id, "accept", actor=CLERK)
    with pytest.raises(VersionConflict):  # a second clerk on the version they read: refused whole
        svc.engine.fire(case.id, "refuse", actor=EXAMINER, data={"reason": "x"}, expected_version=stale)
    assert [n["kind"] for n in svc.progress(app)["notices"]] == ["accepted"]


def test_two_ratings_at_once_make_one(svc, store_url):  # noqa: F811
    if store_url.startswith("memory"):
        pytest.skip("the memory store serialises units of work: no race to lose")
    case, code = svc.apply("patent_pledge_registration", FORM, WHO, org="420100", via="web")
    app = svc.find(case.number, code)
    svc.engine.fire(case.id, "accept", actor=CLERK)
    svc.engine.fire(case.id, "approve", actor=EXAMINER)
    results: list[object] = []
    start = threading.Barrier(2)

    def rate(grade: int) -> None:
        start.wait()
        try:
            results.append(svc.rate(app, grade))
        except (AlreadyRated, VersionConflict) as exc:
            results.append(exc)

    threads = [threading.Thread(target=rate, args=(g,)) for g in (1, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sum(1 for r in results if not isinstance(r, Exception)) == 1
    kept = svc.rating(case.id)
    assert kept is not None
    rated = [ev for ev in svc.engine.history(case.id) if ev.kind == "rated"]
    assert [ev.data["grade"] for ev in rated] == [kept.grade]
    assert len(svc.engine.list_cases(item_id="rating_rectification")) == (1 if kept.grade == 1 else 0)
