"""统一办理、联合办理、集中办理 (行政许可法第四十二条第二款, 第二十六条第二款; issue 18 part 5): a bundle
handled by several departments together may take at most 45 working days (第八十二条), plus 15
with the approval of the head of the people's government at that level, once: a cap over the
bundle, on top of each child's own limit (``tests/fixtures/joint/fx_joint.yaml``).

Dates run over 元旦 and 春节 2027. The library has no official 2027 calendar and the repo ships no
2027 notice, so 2027 is counted by law (DESIGN rule 10, docs/legal-time.md "A year with no
data") and every 2027 date is provisional: weekends, 元旦 Fri 01-01; 春节 除夕 Fri 02-05 to 初三
Mon 02-08, with Tue 02-09 and Wed 02-10 in lieu of 初一 and 初二 on the weekend. December 2026 is
on the official calendar (no holiday after 元旦 2026's)."""

from datetime import date
from pathlib import Path

import pytest

from adapters import build_engine
from tests.scenarios import conftest as sc
from tests.scenarios.conftest import APPROVED, CLERK, EXAMINER, LEADER, walk
from workflow import SYSTEM, errors

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "joint"
CAP = "joint_handling"
EXTEND = "extend_joint_handling"


@pytest.fixture
def joint():
    return build_engine("memory://", definitions=[FIX])


def open_bundle(engine):
    return engine.open_case("fx_joint", actor=CLERK, data={"applicant": "武汉某生物医药有限公司"})


@pytest.mark.freeze_time("2026-12-21 10:00:00+08:00")
def test_45_working_days_over_the_bundle_across_yuandan_and_chunjie(joint):
    bundle = open_bundle(joint)
    # from Mon 2026-12-21: 12-22..12-25 (4), 12-28..12-31 (8), Fri 01-01 元旦, 01-04..01-08 (13),
    # 01-11..01-15 (18), 01-18..01-22 (23), 01-25..01-29 (28), 02-01..02-04 (32), 02-05..02-10 off
    # (春节 and its two days in lieu), 02-11, 02-12 (34), 02-15..02-19 (39), 02-22..02-26 (44),
    # Mon 03-01 (45). Commitment floor(2/3 × 45) = 30 wd: Tue 02-02.
    assert sc.due(bundle, CAP) == (date(2027, 3, 1), date(2027, 2, 2))
    clock = bundle.clocks[CAP]
    assert clock.provisional and clock.sla == "on_track"
    defn = joint.registry.get("fx_joint")
    assert defn.main_clock == CAP and list(defn.clocks) == [CAP]  # the cap is the bundle's clock: no 一次办 default
    # each child keeps its own limit: 20 wd from 12-21 → Tue 01-19 (commitment 13 wd: Fri 01-08)
    for child in map(joint.get_case, bundle.children):
        assert sc.due(child, "handling") == (date(2027, 1, 19), date(2027, 1, 8))
        assert CAP not in child.clocks


@pytest.mark.freeze_time("2026-12-21 10:00:00+08:00")
def test_the_cap_warns_and_escalates_once_per_level(joint, freezer):
    bundle = open_bundle(joint)
    # warning from 00:00 of the last working day before the commitment's last day (Tue 02-02):
    # Mon 02-01; overdue from 02-03; over the statutory limit from 00:00 after Mon 03-01
    sc.ladder(joint, freezer, [
        ("2027-02-01 00:00", [(CAP, "warning")]),
        ("2027-02-03 00:00", [(CAP, "overdue")]),
        ("2027-03-02 00:00", [(CAP, "over_statutory")]),
    ], bundle.id)
    assert sc.escalations(joint, bundle.id) == sc.levels(CAP)
    assert sc.audiences(joint, bundle.id) == sc.told(CAP, "clerk")  # the bundle's window, then up
    assert joint.get_case(bundle.id).clocks[CAP].sla == "over_statutory"


@pytest.mark.freeze_time("2026-12-21 10:00:00+08:00")
def test_an_approved_extension_adds_15_working_days_once(joint, freezer):
    bundle = open_bundle(joint)
    freezer.move_to("2027-02-26 16:00:00+08:00")  # before the last day, Mon 03-01
    # 行政许可法第四十二条: the reason (told to the applicant) and who approved it come with the call
    err = sc.refused(joint, bundle.id, EXTEND, LEADER, errors.MissingData)
    assert err.fields == {"reason": "required", "approver": "required"}
    err = sc.refused(joint, bundle.id, EXTEND, LEADER, errors.MissingData, {"reason": "涉及三个部门现场核查"})
    assert err.fields == {"approver": "required"}
    sc.refused(joint, bundle.id, EXTEND, CLERK, errors.Forbidden, APPROVED)  # a leader records the approval
    extended = walk(joint, bundle.id, (EXTEND, LEADER, {"reason": "涉及三个部门现场核查", "approver": "副市长 王强"}))
    # 45 + 15 = 60 wd: after Mon 03-01 (45), 03-02..03-05 (49), 03-08..03-12 (54), 03-15..03-19 (59),
    # Mon 03-22 (60). Commitment floor(2/3 × 60) = 40 wd: Mon 02-22 (already past: overdue stays)
    assert sc.due(extended, CAP) == (date(2027, 3, 22), date(2027, 2, 22))
    assert extended.clocks[CAP].extensions == ("15 working days",)
    event = joint.history(bundle.id)[-1]
    assert (event.trigger, event.data["reason"], event.data["approver"]) == (EXTEND, "涉及三个部门现场核查", "副市长 王强")
    # once: a second approval is refused and leaves the case as it was
    sc.refused(joint, bundle.id, EXTEND, LEADER, errors.TransitionNotAllowed, APPROVED)
    pending = {d.level: d.due_at.date() for d in joint.deadlines(bundle.id) if d.state == "pending"}
    assert pending["over_statutory"] == date(2027, 3, 23)


@pytest.mark.freeze_time("2026-12-21 10:00:00+08:00")
def test_no_extension_after_the_last_day(joint, freezer):
    bundle = open_bundle(joint)
    freezer.move_to("2027-03-02 09:00:00+08:00")
    sc.refused(joint, bundle.id, EXTEND, LEADER, errors.TransitionNotAllowed, APPROVED)


@pytest.mark.freeze_time("2026-12-21 10:00:00+08:00")
def test_an_expert_review_is_not_counted(joint, freezer):
    """第四十五条: 专家评审 time is not counted: the bundle's own state pauses the cap (rule 7)."""
    bundle = open_bundle(joint)
    freezer.move_to("2027-01-11 10:00:00+08:00")
    paused = walk(joint, bundle.id, ("start_expert_review", CLERK))
    assert paused.clocks[CAP].status == "paused"
    freezer.move_to("2027-01-18 10:00:00+08:00")
    resumed = walk(joint, bundle.id, ("end_expert_review", CLERK))
    # used through Mon 01-11: 14 (12-22..12-31 8, 01-04..01-08 13, 01-11 14); paused to Mon 01-18;
    # 31 left from Tue 01-19: 01-19..01-22 (18), 01-25..01-29 (23), 02-01..02-04 (27), 春节,
    # 02-11, 02-12 (29), 02-15 (30: the commitment), .. 02-26 (39), 03-01..03-05 (44), Mon 03-08 (45)
    assert sc.due(resumed, CAP) == (date(2027, 3, 8), date(2027, 2, 15))
    # the children's own clocks ran on: an expert review of the bundle pauses only the cap
    for child in map(joint.get_case, bundle.children):
        assert child.clocks["handling"].status == "running"


@pytest.mark.freeze_time("2026-12-21 10:00:00+08:00")
def test_the_last_child_closes_the_bundle_and_stops_the_cap(joint, freezer):
    bundle = open_bundle(joint)
    children = {c.item_id: c for c in map(joint.get_case, bundle.children)}
    permit, record = children["fx_permit"], children["fx_record"]
    freezer.move_to("2027-01-12 10:00:00+08:00")
    walk(joint, record.id, ("record", CLERK))
    walk(joint, permit.id, ("accept", CLERK), ("grant", EXAMINER), ("issue_certificate", CLERK))
    closed = joint.get_case(bundle.id)
    assert closed.state == "closed" and closed.final
    assert closed.clocks[CAP].sla == "met" and closed.clocks[CAP].status == "stopped"
    assert joint.history(bundle.id)[-1].actor_id == SYSTEM.id
    assert [d for d in joint.deadlines(bundle.id) if d.state == "pending"] == []


def test_the_shipped_one_office_bundle_keeps_its_rule(engine):
    """专利转让与质押登记一件事 is one office's window (一件事一次办), not 统一/联合/集中办理 by several
    departments: no cap, no extension; its 一次办 clock as long as its longest child's."""
    defn = engine.registry.get("patent_transfer_and_pledge")
    assert defn.version == 1 and "joint_handling" not in defn.raw
    assert list(defn.clocks) == ["handling"] and str(defn.clocks["handling"].limit) == "5 working days"
    assert EXTEND not in defn.triggers
