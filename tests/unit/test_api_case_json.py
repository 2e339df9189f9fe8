"""The API's fast case serialisation equals the library's ``Case.to_dict()`` exactly."""

from __future__ import annotations

from datetime import datetime

from adapters import build_engine
from api.deps import case_json
from workflow import Actor
from workflow.legaltime import TZ

CLERK = Actor("c", {"clerk", "examiner", "leader", "supervisor"}, org="420100")


def test_case_json_is_case_to_dict() -> None:
    now = [datetime(2024, 9, 27, 10, 0, tzinfo=TZ)]
    e = build_engine("memory://", now=lambda: now[0])
    pledge = e.open_case("patent_pledge_registration", actor=CLERK, data={
        "request_type": "registration", "channel": "paper", "pledgor": "甲", "pledgee": "乙",
        "patent_numbers": "ZL1"})
    cases = [pledge]
    e.fire(pledge.id, "accept", actor=CLERK)
    cases.append(e.fire(pledge.id, "request_supplement", actor=CLERK, data={"supplement_items": "x"}))
    now[0] = datetime(2024, 10, 9, 10, 0, tzinfo=TZ)
    cases.append(e.fire(pledge.id, "resubmit", actor=CLERK))  # paused spans, held level
    cases.append(e.fire(pledge.id, "approve", actor=CLERK))  # stopped
    dispute = e.open_case("patent_infringement_adjudication", actor=CLERK, data={
        "requester": "甲", "respondent": "乙", "respondent_domicile": "domestic", "patent_number": "ZL2",
        "patent_type": "invention", "claims": "停止侵权"})
    cases.append(dispute)
    for c in cases:
        assert case_json(c) == c.to_dict()
