"""The API's case serialisation is the library's ``Case.to_dict()``, and the fast
``Clock.to_dict()`` (every field at once, only the date fields converted) equals the plain
field-by-field form exactly, key order included."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime
from typing import Any

from adapters import build_engine
from api.deps import case_json
from workflow import Actor
from workflow.legaltime import TZ
from workflow.model import Clock

CLERK = Actor("c", {"clerk", "examiner", "leader", "supervisor"}, org="420100")


def _plain(c: Clock) -> dict[str, Any]:
    """What ``Clock.to_dict()`` was: each field by name, any date or date-time as ISO text."""
    d: dict[str, Any] = {}
    for f in dataclasses.fields(Clock):
        v = getattr(c, f.name)
        d[f.name] = v.isoformat() if isinstance(v, (date, datetime)) else v
    d["paused_spans"] = [[a.isoformat(), b.isoformat() if b else None] for a, b in c.paused_spans]
    d["extensions"] = list(c.extensions)
    return d


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
    assert any(k.paused_spans for c in cases for k in c.clocks.values())
    assert any(k.stopped_on for c in cases for k in c.clocks.values())
    for c in cases:
        assert case_json(c) == c.to_dict()
        for k in c.clocks.values():
            assert json.dumps(k.to_dict()) == json.dumps(_plain(k))  # the same text: same order
