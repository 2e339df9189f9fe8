"""The case page's history says when a step's data chose a clock's limit anew (a pledge's channel
given at 受理): the clock, the limit before and after, and the dates that moved."""

from __future__ import annotations

from datetime import datetime

from adapters import build_engine
from api.web.history import timeline
from workflow import Actor
from workflow.legaltime import TZ

CLERK = Actor(id="c1", roles={"clerk"}, org="420100")


def test_the_accept_entry_names_the_limit_the_channel_chose() -> None:
    engine = build_engine("memory://", now=lambda: datetime(2026, 12, 8, 10, 0, tzinfo=TZ))
    case = engine.open_case("patent_pledge_registration", actor=CLERK, data={})
    case = engine.fire(case.id, "accept", actor=CLERK, data={
        "pledgor": "甲公司", "pledgee": "乙银行", "patent_numbers": "ZL1", "channel": "online"})
    defn = engine.definition(case.item_id, case.definition_version)
    entries = timeline(engine.history(case.id), defn, case, who=str, org_name=str)
    accept = entries[-1]
    assert accept.title == "受理"
    assert ("办理时限", "5个工作日 → 2个工作日（法定期限 2026-12-15 → 2026-12-10，承诺期限 2026-12-11 → 2026-12-09）") \
        in accept.fields
    assert not any("limits_changed" in k for k, _ in accept.fields)
