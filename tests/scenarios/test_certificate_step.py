"""颁发、送达行政许可证件 (行政许可法第四十四条, issue 18 part 4): after a decision to grant, the
certificate is issued and served within ten working days of the decision (第八十二条: working
days), a step clock on the items whose certificate follows the decision as an act of its own
(a state marked ``certificate: true``); where the decision and its notice are one act (the patent
pledge registration's 准予登记 issues its notice) the decision stays final and no step is added.

No shipped item has a separate certificate act under 第四十四条 (docs/items.md, "Certificates"):
the mechanism is tested on the fixture ``tests/fixtures/joint/fx_permit.yaml``. Dates are 2024 on
the official calendar (National Day 10-01 .. 10-07 off; Sun 09-29 and Sat 10-12 workdays)."""

from datetime import date
from pathlib import Path

import pytest

from adapters import build_engine
from tests.scenarios import conftest as sc
from tests.scenarios.conftest import CLERK, EXAMINER, walk
from workflow import errors
from workflow.certificate import BASIS

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "joint"
SHIPPED = Path(__file__).resolve().parents[2] / "definitions"


@pytest.fixture
def permits():
    return build_engine("memory://", definitions=[FIX])


@pytest.mark.freeze_time("2024-09-23 10:00:00+08:00")
def test_the_certificate_step_runs_ten_working_days_from_the_grant_across_national_day(permits, freezer):
    case = walk(permits, permits.open_case("fx_permit", actor=CLERK).id, ("accept", CLERK))
    assert case.clocks["certifying"].status == "not_started"
    freezer.move_to("2024-09-27 15:00:00+08:00")
    granted = walk(permits, case.id, ("grant", EXAMINER))
    assert granted.state == "certifying" and not granted.final and granted.closed_at is None
    assert granted.clocks["handling"].sla == "met"  # the decision was in time: the decision clock stops
    # decision Fri 09-27: Sun 09-29 (调休 workday) 1, Mon 09-30 2, 10-01..10-07 off, 10-08 3, 10-09 4,
    # 10-10 5, 10-11 6, Sat 10-12 (调休 workday) 7, Mon 10-14 8, 10-15 9, 10-16 10 → 10-16;
    # commitment floor(2/3 × 10) = 6 wd → Fri 10-11
    assert sc.due(granted, "certifying") == (date(2024, 10, 16), date(2024, 10, 11))
    step = permits.registry.get("fx_permit").clocks["certifying"]
    assert (step.step, str(step.limit), step.status, step.basis) == (True, "10 working days", "verified", BASIS)
    freezer.move_to("2024-10-11 16:00:00+08:00")
    done = walk(permits, case.id, ("issue_certificate", CLERK, {"certificate_number": "许可2024-001"}))
    assert done.state == "issued" and done.final and done.closed_at is not None
    assert done.clocks["certifying"].sla == "met" and done.sla == "met"
    assert permits.sweep() == []


@pytest.mark.freeze_time("2024-09-27 15:00:00+08:00")
def test_a_late_certificate_escalates_once_per_level_to_the_window_then_up(permits, freezer):
    case = walk(permits, permits.open_case("fx_permit", actor=CLERK).id, ("accept", CLERK), ("grant", EXAMINER))
    # warning from 00:00 of the last working day before the commitment's last day (Fri 10-11): Thu 10-10;
    # overdue from 10-12 00:00; over the statutory limit from 10-17 00:00
    sc.ladder(permits, freezer, [
        ("2024-10-10 00:00", [("certifying", "warning")]),
        ("2024-10-12 00:00", [("certifying", "overdue")]),
        ("2024-10-17 00:00", [("certifying", "over_statutory")]),
    ], case.id)
    late = walk(permits, case.id, ("issue_certificate", CLERK))
    assert late.clocks["certifying"].sla == "met_over_statutory"
    assert sc.escalations(permits, case.id) == sc.levels("certifying")
    assert sc.audiences(permits, case.id) == sc.told("certifying", "clerk")  # the window issues the certificate


@pytest.mark.freeze_time("2024-09-23 10:00:00+08:00")
def test_a_refusal_has_no_certificate_step(permits):
    case = walk(permits, permits.open_case("fx_permit", actor=CLERK).id, ("accept", CLERK))
    sc.refused(permits, case.id, "issue_certificate", CLERK, errors.TransitionNotAllowed)  # nothing granted yet
    done = walk(permits, case.id, ("refuse", EXAMINER, {"reason": "不符合法定条件"}))
    assert done.final and done.clocks["certifying"].status == "not_started"


@pytest.mark.freeze_time("2024-09-27 15:00:00+08:00")
def test_the_pledge_registrations_grant_is_one_act_with_its_notice(engine):
    """专利权质押登记: 准予登记 issues the 专利权质押登记通知书 with the decision: the decision is final,
    the case closes on it and no certificate step runs after it."""
    case = engine.open_case("patent_pledge_registration", actor=CLERK, data={
        "channel": "paper", "pledgor": "武汉某科技有限公司", "pledgee": "某银行武汉分行",
        "patent_numbers": "ZL202310000001.X"})
    done = walk(engine, case.id, ("accept", CLERK), ("approve", EXAMINER, {"registration_number": "Y2024420000001"}))
    assert done.state == "registered" and done.final and done.closed_at is not None
    assert [n for n, c in done.clocks.items() if c.status in ("running", "paused")] == []
    defn = engine.registry.get("patent_pledge_registration")
    assert not any(s.certificate for s in defn.states.values())


def test_no_shipped_item_declares_a_certificate_step():
    """The judgement of docs/items.md ("Certificates"), pinned: a file that adds a step says so there."""
    engine = build_engine("memory://", definitions=[SHIPPED])
    assert [(d.id, n) for d in engine.registry.latest() for n, s in d.states.items() if s.certificate] == []
